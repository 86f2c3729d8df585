#include "vz/machine.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/dirs.h"
#include "base/error.h"
#include "base/sha256.h"
#include "boot/arch.h"
#include "boot/initfs.h"
#include "boot/kernel.h"
#include "boot/modules.h"
#include "boot/vmlinux.h"

namespace ctk::vz {

bool apply_environment(MachineConfig* config, std::string* err) {
  if (const char* t = std::getenv("CTK_AGENT_TIMEOUT"); t && *t) {
    int seconds = std::atoi(t);
    if (seconds <= 0) {
      *err = std::string("invalid CTK_AGENT_TIMEOUT '") + t + "' (seconds)";
      return false;
    }
    config->agent_timeout_ms = seconds * 1000;
  }
  return true;
}

namespace {

using Clock = std::chrono::steady_clock;

int ms_since(Clock::time_point t) {
  return int(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

bool file_digest(const std::string& path, Sha256* h, std::string* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = sys_error(path);
    return false;
  }
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) h->update(buf, size_t(n));
  ::close(fd);
  if (n < 0) *err = sys_error(path);
  return n == 0;
}

// virtio-fs where the kernel has it (why first: see ShareTransport), else 9p
// over virtio; a kernel with neither is named with both missing.
bool choose_share_transport(const boot::Kernel& k, ShareTransport* out, std::string* err) {
  auto has = [&](const char* module, const char* option) {
    return boot::kernel_has(k.image, k.release, k.modules_dir, module, option);
  };
  if (has("virtiofs", "CONFIG_VIRTIO_FS")) {
    *out = ShareTransport::virtiofs;
    return true;
  }
  if (has("9p", "CONFIG_9P_FS") && has("9pnet_virtio", "CONFIG_NET_9P_VIRTIO")) {
    *out = ShareTransport::ninep;
    return true;
  }
  *err = "the guest kernel " + k.image + " has neither virtio-fs (module virtiofs or CONFIG_VIRTIO_FS=y) nor 9p "
         "(modules 9p and 9pnet_virtio or CONFIG_9P_FS=y and CONFIG_NET_9P_VIRTIO=y), one of which bind mounts and "
         "volumes need";
  return false;
}

}  // namespace

Machine::~Machine() { shutdown(); }

// The initramfs depends on this ctk binary and the kernel's modules: both go
// into the cache key, so a stale one is never used.
bool Machine::prepare_initfs(const MachineConfig& config, const boot::Kernel& kernel, std::string* path,
                             std::string* err) {
  if (!config.initfs.empty()) {
    *path = config.initfs;
    return true;
  }
  boot::InitfsRequest req;
  req.kernel = kernel;
  if (!boot::guest_ctk(kernel.arch, &req.ctk_binary, err)) return false;
  Sha256 key;
  if (!file_digest(req.ctk_binary, &key, err)) return false;
  // A kernel without modules (all built in) is keyed by its image's path alone.
  std::string kernel_id = req.kernel.image + "\n", modules_id, no_modules;
  if (file_identity(req.kernel.modules_dir + "/modules.dep", &modules_id, &no_modules)) kernel_id += modules_id;
  key.update(kernel_id.data(), kernel_id.size());
  std::string dir;
  if (!cache_dir("initfs", &dir, err)) return false;
  Digest d = key.finish();
  *path = dir + "/" + to_hex(std::span(d).first(12)) + ".img";
  if (::access(path->c_str(), R_OK) == 0) return true;
  req.output = *path;
  boot::InitfsResult result;
  return boot::build_initfs(req, &result, err);
}

bool Machine::boot(const MachineConfig& config, Timings& timings, std::string* err) {
  VmConfig vm;
  vm.cpus = config.cpus;
  vm.memory_mib = config.memory_mib;
  vm.disks = config.disks;
  vm.shares = config.shares;
  writable_ = std::any_of(config.disks.begin(), config.disks.end(), [](const Disk& d) { return !d.read_only; }) ||
              std::any_of(config.shares.begin(), config.shares.end(), [](const Share& s) { return !s.read_only; });
  vm.network = config.network;
  vm.nics = config.nics;
  {
    Timer t(timings, "kernel and initramfs");
    boot::Kernel kernel;
    if (!boot::find_kernel(config.kernel, config.arch, &kernel, err)) return false;
    vm.kernel = kernel.image;
    vm.arch = kernel.arch;
    if (!config.shares.empty() && !choose_share_transport(kernel, &share_transport_, err)) return false;
    vm.share_transport = share_transport_;
    std::string pvh;
    if (kernel.arch == "x86_64" && !boot::cached_pvh_kernel(kernel.image, &pvh, err)) return false;
    if (!pvh.empty()) vm.kernel = pvh;
    if (!prepare_initfs(config, kernel, &vm.initrd, err)) return false;
  }
  if (!make_runtime_dir(&dir_, err)) return false;
  vm.runtime_dir = dir_;
  vm.agent_socket = dir_ + "/agent.sock";
  console_log_ = vm.console_log = dir_ + "/console.log";
  {
    Timer t(timings, "vm start");
    vm_ = make_vm(vm);
    notice_ = vm_->notice();
    if (!vm_->start(err)) return false;
    if (config.console) console_thread_ = std::thread([this] { follow_console(); });
  }
  Timer t(timings, "kernel to agent ready");
  if (!connect_agent(config.agent_timeout_ms, err)) return false;
  vm_->release_boot_images();
  return true;
}

bool Machine::connect_agent(int timeout_ms, std::string* err) {
  auto start = Clock::now();
  // wait_ms: how long to give a VMM that is going down (its socket already closed).
  auto died = [&](std::string* why, int wait_ms = 0) {
    int status;
    if (!vm_->wait(wait_ms, &status)) return false;
    std::ifstream qemu(console_log_ + ".qemu");
    std::string line, last;
    while (std::getline(qemu, line))
      if (!line.empty()) last = line;
    *why = "the VM exited during boot" + (last.empty() ? "" : " (" + last + ")") +
           "; console: " + console_tail(3);
    return true;
  };
  std::string socket = dir_ + "/agent.sock";
  // QEMU creates the socket as it starts.
  for (;;) {
    std::string cerr;
    if (::access(socket.c_str(), F_OK) == 0 && agent_.connect_unix(socket, &cerr)) break;
    if (died(err)) return false;
    if (ms_since(start) > timeout_ms) {
      *err = "the VMM did not open the agent socket within " + std::to_string(timeout_ms / 1000) + " s";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // The guest opens its port only when vminitd runs; what the host sends
  // before is lost, so the hello is repeated (every 10 ms: a late answer is
  // boot time lost, an extra hello costs the guest nothing) until one is
  // answered. A new one goes out only when QEMU has taken the last from the
  // socket: QEMU may stop reading while the port is closed, and hellos piling
  // up in the socket would fill it and block this loop for good.
  int64_t id = -1;
  int last_sent = -1000;
  for (;;) {
    int unread = 0;
    if (::ioctl(agent_.fd(), SIOCOUTQ, &unread) != 0) unread = 0;
    if (unread == 0 && ms_since(start) - last_sent >= 10) {
      id = agent_.request("hello", {{"version", proto::kVersion}});
      last_sent = ms_since(start);
    }
    if (!agent_.pump(10, err)) {
      died(err, 5000);  // a VM going down closes the socket first: say why
      return false;
    }
    nlohmann::json reply;
    // Any hello answered will do: earlier ones are as good as the last.
    for (int64_t k = 1; k <= id; ++k) {
      if (!agent_.take_reply(k, &reply)) continue;
      if (reply.contains("error")) {
        *err = "agent: " + reply["error"].value("message", "");
        return false;
      }
      agent_ready_ = true;
      return true;
    }
    if (died(err)) return false;
    if (ms_since(start) > timeout_ms) {
      *err = "the guest agent did not answer within " + std::to_string(timeout_ms / 1000) +
             " s; console: " + console_tail(3);
      return false;
    }
  }
}

proto::Client::Call Machine::clock_call() const {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return {"set_time", {{"sec", int64_t(now.tv_sec)}, {"nsec", int64_t(now.tv_nsec)}}};
}

std::string Machine::console_tail(size_t lines) const {
  std::ifstream in(console_log_);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line.back() == '\r') line.pop_back(), all.push_back(line);
    else if (!line.empty()) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += (out.empty() ? "" : " | ") + all[i];
  return out.empty() ? "(empty)" : out;
}

void Machine::follow_console() {
  int fd = -1;
  char buf[4096];
  while (!stop_console_) {
    if (fd < 0) fd = ::open(console_log_.c_str(), O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? 0 : ::read(fd, buf, sizeof buf);
    if (n > 0) {
      (void)!::write(2, buf, size_t(n));
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The guest's last words (its shutdown) came before the stop.
  ssize_t n;
  while (fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0) (void)!::write(2, buf, size_t(n));
  if (fd >= 0) ::close(fd);
}

// Asks the agent to shut down and waits up to timeout_ms for the VMM to exit.
bool Machine::power_off(int timeout_ms) {
  if (!vm_ || !agent_ready_) return !vm_;
  agent_ready_ = false;  // asked once
  auto start = Clock::now();
  // Whatever still runs gets a grace period to end on SIGTERM.
  int64_t id = agent_.request("shutdown", {{"grace_ms", timeout_ms / 2}});
  nlohmann::json reply;
  std::string ignored;
  // A guest going down closes the channel; the reply may never come.
  while (ms_since(start) < timeout_ms && !agent_.take_reply(id, &reply))
    if (!agent_.pump(timeout_ms - ms_since(start), &ignored)) break;
  int status;
  return vm_->wait(std::max(0, timeout_ms - ms_since(start)), &status);
}

bool Machine::shutdown() {
  constexpr int kPowerOffMs = 10000;  // a TCG guest powers off in well under this
  bool clean = !writable_ || power_off(kPowerOffMs);
  if (vm_) vm_->kill();  // one that did not power off in time
  stop_console_ = true;
  if (console_thread_.joinable()) console_thread_.join();
  if (!dir_.empty()) remove_tree(dir_);
  dir_.clear();
  return clean;
}

}  // namespace ctk::vz
