#include "init/security.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>

#include "base/error.h"

namespace ctk::init {

namespace {

// Indexed by capability number (linux/capability.h).
constexpr const char* kCapabilities[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

constexpr std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

}  // namespace

int rlimit_number(const std::string& name) {
  for (const auto& [n, r] : kRlimits)
    if (name == n) return r;
  return -1;
}

std::span<const char* const> capability_names() { return kCapabilities; }

std::string canonical_capability(std::string_view name) {
  std::string upper;
  for (char c : name) upper += char(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "ALL") return upper;
  if (!upper.starts_with("CAP_")) upper = "CAP_" + upper;
  return capability_number(upper) < 0 ? "" : upper;
}

int capability_number(const std::string& name) {
  for (size_t i = 0; i < std::size(kCapabilities); ++i)
    if (name == kCapabilities[i]) return int(i);
  return -1;
}

bool capability_mask(const std::vector<std::string>& names, uint64_t* mask, std::string* err) {
  *mask = 0;
  for (const std::string& name : names) {
    int n = capability_number(name);
    if (n < 0) {
      *err = "unknown capability '" + name + "'";
      return false;
    }
    *mask |= uint64_t(1) << n;
  }
  return true;
}

bool apply_rlimits(const std::vector<Rlimit>& rlimits, std::string* err) {
  for (const Rlimit& r : rlimits) {
    rlimit lim{r.soft, r.hard};
    if (::setrlimit(r.resource, &lim)) {
      *err = sys_error("setrlimit " + std::to_string(r.resource));
      return false;
    }
  }
  return true;
}

bool drop_bounding(const Capabilities& caps, std::string* err) {
  if (!caps.set) return true;
  // Up to the kernel's last capability, which PR_CAPBSET_READ reports as EINVAL past it.
  for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    if (caps.bounding & (uint64_t(1) << cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) {
      *err = sys_error("drop capability " + std::to_string(cap) + " from the bounding set");
      return false;
    }
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
    *err = sys_error("prctl PR_SET_KEEPCAPS");
    return false;
  }
  return true;
}

bool apply_capabilities(const Capabilities& caps, std::string* err) {
  if (!caps.set) return true;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = uint32_t(caps.effective >> (32 * i));
    data[i].permitted = uint32_t(caps.permitted >> (32 * i));
    data[i].inheritable = uint32_t(caps.inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &header, data)) {
    *err = sys_error("capset");
    return false;
  }
  for (int cap = 0; cap < 64; ++cap) {
    if (!(caps.ambient & (uint64_t(1) << cap))) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)) {
      *err = sys_error("raise ambient capability " + std::string(kCapabilities[cap]));
      return false;
    }
  }
  return true;
}

}  // namespace ctk::init
