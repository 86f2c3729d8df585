#include "vz/qemu.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "boot/arch.h"
#include "vz/child.h"
#include "vz/kvm_probe.h"
#include "vz/virtiofsd.h"

namespace ctk::vz {

namespace {

class QemuVm : public Vm {
 public:
  // kvm_broken: why a /dev/kvm that opens cannot run guests ("" when it can
  // or there is none).
  QemuVm(VmConfig config, const HostFacts& host, std::string kvm_broken)
      : config_(std::move(config)), host_(host), kvm_broken_(std::move(kvm_broken)) {
    if (config_.arch.empty()) config_.arch = boot::host_arch();
  }
  ~QemuVm() override { kill(); }

  bool start(std::string* err) override {
    if (!start_shares(err)) return false;
    std::vector<std::string> args = qemu_argv(config_, host_);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // QEMU's own messages go beside the console log, for errors to quote.
    std::string log = config_.console_log.empty() ? "/dev/null" : config_.console_log + ".qemu";
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      *err = sys_error("fork");
      return false;
    }
    if (pid_ == 0) {
      // The VM must not outlive ctk, even after kill -9.
      prepare_child(parent, log_fd);
      exec_child(argv.data());
    }
    if (log_fd >= 0) ::close(log_fd);
    return true;
  }

  bool wait(int timeout_ms, int* status) override {
    if (pid_ <= 0) {
      *status = exit_status_;
      return true;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int st;
      pid_t r = ::waitpid(pid_, &st, timeout_ms < 0 ? 0 : WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        exit_status_ = st;
        *status = st;
        end_shares();
        return true;
      }
      if (r < 0 && errno != EINTR) return false;
      if (timeout_ms >= 0 && std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void kill() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
      exit_status_ = st;
      pid_ = -1;
    }
    end_shares();
  }

  pid_t pid() const override { return pid_; }

  // QEMU maps the kernel file (and keeps the initramfs) for a reset, which
  // -no-reboot turns into an exit: after boot those pages are dead weight in
  // its RSS (~50 MiB for Debian's cloud kernel). MADV_PAGEOUT asks the host
  // kernel to reclaim them now; it needs CAP_SYS_NICE, and without it they
  // stay, as clean page cache the host may reclaim anyway.
  void release_boot_images() override {
    if (pid_ <= 0) return;
    int pidfd = int(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) return;
    std::ifstream maps("/proc/" + std::to_string(pid_) + "/maps");
    std::string line;
    std::vector<iovec> ranges;
    while (std::getline(maps, line)) {
      // "start-end perms offset dev inode path"
      size_t path = line.find('/');
      if (path == std::string::npos) continue;
      std::string file = line.substr(path);
      if (file != config_.kernel && file != config_.initrd) continue;
      unsigned long start, end;
      if (std::sscanf(line.c_str(), "%lx-%lx", &start, &end) != 2) continue;
      ranges.push_back({reinterpret_cast<void*>(start), end - start});
    }
    if (!ranges.empty()) ::syscall(SYS_process_madvise, pidfd, ranges.data(), ranges.size(), MADV_PAGEOUT, 0);
    ::close(pidfd);
  }

  std::string notice() const override {
    if (host_.kvm) return "";
    if (!kvm_broken_.empty()) return "/dev/kvm does not work here (" + kvm_broken_ + "): running the guest under software emulation (TCG)";
    return "no usable /dev/kvm: running the guest under software emulation (TCG)";
  }

 private:
  // One virtiofsd per share, listening before QEMU starts (9p needs none:
  // QEMU serves it).
  bool start_shares(std::string* err) {
    if (config_.shares.empty() || config_.share_transport != ShareTransport::virtiofs) return true;
    std::string binary = find_virtiofsd();
    if (binary.empty()) {
      *err = "sharing host directories needs virtiofsd (/usr/lib/qemu/virtiofsd, from qemu-system-common; or set "
             "$CTK_VIRTIOFSD)";
      return false;
    }
    std::string log = config_.runtime_dir + "/virtiofsd.log";
    for (size_t i = 0; i < config_.shares.size(); ++i) {
      pid_t pid;
      if (!start_virtiofsd(binary, config_.shares[i], share_socket(config_.runtime_dir, i), log, &pid, err)) {
        end_shares();
        return false;
      }
      share_pids_.push_back(pid);
    }
    return true;
  }

  // virtiofsd leaves when QEMU closes its socket; one stuck in a request is killed.
  void end_shares() {
    for (pid_t pid : share_pids_) {
      ::kill(pid, SIGKILL);
      int st;
      ::waitpid(pid, &st, 0);
    }
    share_pids_.clear();
  }

  VmConfig config_;
  HostFacts host_;
  std::string kvm_broken_;
  std::vector<pid_t> share_pids_;
  pid_t pid_ = -1;
  int exit_status_ = 0;
};

// A value inside a QEMU option list, where a comma ends it unless doubled.
std::string option_value(const std::string& s) {
  std::string out;
  for (char ch : s) out += ch == ',' ? ",," : std::string(1, ch);
  return out;
}

}  // namespace

HostFacts probe_host() {
  HostFacts h;
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    h.kvm = true;
    ::close(fd);
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) h.tsc_khz = unsigned(std::stod(line.substr(colon + 1)) * 1000);
      break;
    }
  }
  return h;
}

std::vector<std::string> qemu_argv(const VmConfig& c, const HostFacts& host) {
  bool x86 = c.arch != "aarch64";
  bool virtiofs = !c.shares.empty() && c.share_transport == ShareTransport::virtiofs;
  bool ninep = !c.shares.empty() && c.share_transport == ShareTransport::ninep;
  // microvm has only virtio-mmio; "virt" offers it too.
  std::vector<std::string> a = {
      x86 ? "qemu-system-x86_64" : "qemu-system-aarch64",
      "-accel", host.kvm ? "kvm" : "tcg",
      "-M", std::string(x86 ? "microvm" : "virt") + (virtiofs ? ",memory-backend=ram" : ""),
      // Under TCG, "max" costs ~0.6 s of boot on x86 emulating features the
      // guest does not need; on arm64 it is 3x slower (pointer authentication).
      "-cpu", host.kvm ? "host" : (x86 ? "qemu64" : "cortex-a57"),
      "-smp", std::to_string(c.cpus),
      "-m", std::to_string(c.memory_mib),
      "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
      // Modern virtio over MMIO (both boards default to the legacy
      // interface, which vhost-user back ends such as virtiofsd refuse).
      "-global", "virtio-mmio.force-legacy=false",
      "-kernel", c.kernel,
  };
  if (!c.initrd.empty()) a.insert(a.end(), {"-initrd", c.initrd});
  // vhost-user devices need the guest's memory in a file virtiofsd maps too.
  if (virtiofs)
    a.insert(a.end(), {"-object", "memory-backend-memfd,id=ram,share=on,size=" + std::to_string(c.memory_mib) + "M"});
  // panic=-1 with -no-reboot: a dying guest ends QEMU instead of hanging it.
  std::string cmdline = std::string("console=") + (x86 ? "ttyS0" : "ttyAMA0") + " quiet panic=-1";
  // Under TCG microvm hangs calibrating the TSC unless told its rate.
  if (x86 && !host.kvm && host.tsc_khz) cmdline += " tsc_early_khz=" + std::to_string(host.tsc_khz);
  // Modules for devices this VM does not have cost boot time under TCG; the
  // guest's PID 1 skips them (microvm has no PCI; no vsock device here).
  std::string skip = "vsock,vmw_vsock_virtio_transport_common,vmw_vsock_virtio_transport";
  if (x86) skip += ",virtio_pci,virtio_pci_modern_dev,virtio_pci_legacy_dev";
  if (c.network == Network::none && c.nics.empty()) skip += ",virtio_net,net_failover,failover";
  if (!virtiofs) skip += ",virtiofs,fuse";
  if (!ninep) skip += ",9p,9pnet_virtio,9pnet,fscache,netfs";
  cmdline += " ctk.skip_modules=" + skip;
  if (!c.cmdline.empty()) cmdline += " " + c.cmdline;
  a.insert(a.end(), {"-append", cmdline});
  a.insert(a.end(), {"-chardev", "file,id=console,path=" + (c.console_log.empty() ? "/dev/null" : c.console_log),
                     "-serial", "chardev:console"});
  // The virt board hands its virtio-mmio slots out from the top, and Linux
  // probes them from the bottom: there the last disk given is /dev/vda. So
  // disks go in reverse, and disks[0] is /dev/vda on both boards.
  for (size_t k = 0; k < c.disks.size(); ++k) {
    size_t i = x86 ? k : c.disks.size() - 1 - k;
    std::string id = "disk" + std::to_string(i);
    std::string drive = "file=" + c.disks[i].path + ",format=raw,if=none,id=" + id + ",cache=unsafe";
    if (c.disks[i].read_only) drive += ",readonly=on";
    a.insert(a.end(), {"-drive", drive, "-device", "virtio-blk-device,drive=" + id});
  }
  if (!c.agent_socket.empty()) {
    a.insert(a.end(), {"-device", "virtio-serial-device",
                       "-chardev", "socket,id=agent,server=on,wait=off,path=" + c.agent_socket,
                       "-device", "virtserialport,chardev=agent,name=ctk.agent"});
  }
  for (size_t i = 0; i < c.shares.size(); ++i) {
    const Share& s = c.shares[i];
    std::string id = "fs" + std::to_string(i);
    if (virtiofs) {
      a.insert(a.end(), {"-chardev", "socket,id=" + id + ",path=" + share_socket(c.runtime_dir, i),
                         "-device", "vhost-user-fs-device,chardev=" + id + ",tag=" + s.tag});
      continue;
    }
    // passthrough: owners and modes as the guest sets them, as virtiofsd
    // keeps them. multidevs=remap: a share spanning host file systems
    // would otherwise show the guest one inode number for two files.
    // readonly=on: QEMU refuses every write (EROFS), whatever the guest mounts.
    std::string fsdev =
        "local,id=" + id + ",path=" + option_value(s.path) + ",security_model=passthrough,multidevs=remap";
    if (s.read_only) fsdev += ",readonly=on";
    a.insert(a.end(), {"-fsdev", fsdev, "-device", "virtio-9p-device,fsdev=" + id + ",mount_tag=" + s.tag});
  }
  if (c.network == Network::nat)
    a.insert(a.end(), {"-netdev", "user,id=net0", "-device", std::string("virtio-net-device,netdev=net0,mac=") + kNatMac});
  for (size_t i = 0; i < c.nics.size(); ++i) {
    std::string id = "nic" + std::to_string(i);
    a.insert(a.end(), {"-netdev", "dgram,id=" + id + ",local.type=unix,local.path=" + c.nics[i].local +
                                      ",remote.type=unix,remote.path=" + c.nics[i].remote,
                       "-device", "virtio-net-device,netdev=" + id + ",mac=" + c.nics[i].mac});
  }
  a.insert(a.end(), {"-device", "virtio-rng-device"});
  // The guest reports the memory it frees (free page reporting, in blocks of
  // 2 MiB by default); QEMU hands it back to the host (MADV_DONTNEED).
  a.insert(a.end(), {"-device", "virtio-balloon-device,free-page-reporting=on"});
  return a;
}

std::unique_ptr<Vm> make_qemu_vm(const VmConfig& config, const HostFacts& host) {
  return std::make_unique<QemuVm>(config, host, "");
}

std::unique_ptr<Vm> make_vm(const VmConfig& config) {
  HostFacts host = probe_host();
  std::string kvm_broken;
  // KVM only helps a guest of the host's own architecture, and only where it
  // runs one (kvm_probe.h).
  if (!config.arch.empty() && config.arch != boot::host_arch()) host.kvm = false;
  else if (host.kvm && !kvm_boots(config.kernel, &kvm_broken)) host.kvm = false;
  return std::make_unique<QemuVm>(config, host, std::move(kvm_broken));
}

}  // namespace ctk::vz
