#include "container/guest_setup.h"

#include <algorithm>

#include "init/security.h"

namespace ctk::container {

using nlohmann::json;

namespace {

// Where the agent assembles the container's root.
constexpr const char* kLower = "/run/ctk/lower";
constexpr const char* kWritable = "/run/ctk/rw";
constexpr const char* kRoot = kGuestRoot;

}  // namespace

std::vector<proto::Client::Call> root_setup_calls(const Spec& spec, const MountPlan& mounts,
                                                  vz::ShareTransport transport, const Networking& networking) {
  std::vector<proto::Client::Call> calls = {
      {"mount", {{"destination", kLower}, {"type", "ext4"}, {"source", "/dev/vda"}, {"options", {"ro"}}}},
      // The writable layer survives stop and start; after a crash the
      // kernel replays its journal here. A --rm container's ends with it:
      // memory, as fast to set up as it gets.
      spec.auto_remove
          ? proto::Client::Call{"mount", {{"destination", kWritable}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                          {"options", {"mode=0755"}}}}
          : proto::Client::Call{"mount", {{"destination", kWritable}, {"type", "ext4"}, {"source", "/dev/vdb"},
                                          {"options", json::array()}}},
      {"mkdir", {{"path", std::string(kWritable) + "/upper"}}},
      {"mkdir", {{"path", std::string(kWritable) + "/work"}}},
      {"mount", {{"destination", kRoot}, {"type", "overlay"}, {"source", "overlay"},
                 {"options", {std::string("lowerdir=") + kLower, std::string("upperdir=") + kWritable + "/upper",
                              std::string("workdir=") + kWritable + "/work"}}}}};
  std::vector<proto::Client::Call> shares = guest_calls(mounts, transport);
  calls.insert(calls.end(), shares.begin(), shares.end());
  std::vector<proto::Client::Call> network = network_calls(spec, networking, kRoot);
  calls.insert(calls.end(), network.begin(), network.end());
  return calls;
}

std::vector<std::string> capabilities(const Spec& spec) {
  // docker's default capabilities for a container's root.
  static const char* const kDefaults[] = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
      "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  auto in = [](const std::vector<std::string>& list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  // docker's rules (moby's TweakCapabilities): --cap-add ALL is every
  // capability but the dropped; --cap-drop ALL leaves only the added;
  // otherwise the defaults less the dropped, plus the added.
  std::vector<std::string> caps;
  if (in(spec.cap_add, "ALL")) {
    for (const char* c : init::capability_names())
      if (!in(spec.cap_drop, c)) caps.push_back(c);
    return caps;
  }
  if (!in(spec.cap_drop, "ALL"))
    for (const char* c : kDefaults)
      if (!in(spec.cap_drop, c)) caps.push_back(c);
  for (const std::string& c : spec.cap_add)
    if (!in(caps, c)) caps.push_back(c);
  return caps;
}

json main_process_config(const Spec& spec, const MountPlan& mounts, unsigned rows, unsigned cols) {
  json caps = capabilities(spec);
  json process = {{"terminal", spec.tty},
                  {"args", spec.args},
                  {"env", spec.env},
                  {"cwd", spec.workdir.empty() ? "/" : spec.workdir},
                  {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
                  {"noNewPrivileges", spec.no_new_privileges}};
  // A name is resolved by the agent from the image's /etc/passwd and /etc/group.
  if (!spec.user.empty()) process["user"] = spec.user;
  if (!spec.group_add.empty()) process["groupAdd"] = spec.group_add;
  if (spec.tty && rows && cols) process["consoleSize"] = {{"height", rows}, {"width", cols}};
  json mounts_json = json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
      {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      // Its own cgroup (the cgroup namespace's root), where it sees its limits.
      {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup2"}, {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
  });
  mounts_json.insert(mounts_json.end(), mounts.oci_mounts.begin(), mounts.oci_mounts.end());
  // The VM is the isolation boundary for the network: the container shares
  // the VM's interfaces (none, or the NAT link).
  json namespaces = json::array(
      {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "uts"}}, {{"type", "ipc"}}, {{"type", "cgroup"}}});
  json resources = json::object();
  if (spec.memory_limit) resources["memory"] = {{"limit", spec.memory_limit}};
  if (spec.cpus > 0) resources["cpu"] = {{"quota", int64_t(spec.cpus * 100000)}, {"period", 100000}};
  if (spec.pids_limit) resources["pids"] = {{"limit", spec.pids_limit}};
  // docker's defaults: kernel interfaces a container has no business with.
  json masked = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                 "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                 "/sys/firmware", "/sys/devices/virtual/powercap"};
  json readonly = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  json config = {{"ociVersion", "1.0.2"},
                 {"process", process},
                 {"root", {{"path", kRoot}, {"readonly", spec.read_only}}},
                 {"mounts", mounts_json},
                 {"linux", {{"namespaces", namespaces}, {"resources", resources},
                            {"maskedPaths", masked}, {"readonlyPaths", readonly}}}};
  if (!spec.hostname.empty()) config["hostname"] = spec.hostname;
  return config;
}

int exit_code_for_agent_error(const std::string& code) {
  if (code == "not_found") return 127;
  if (code == "invalid_argument") return 126;
  return 125;
}

}  // namespace ctk::container
