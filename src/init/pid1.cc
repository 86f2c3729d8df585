#include "init/pid1.h"

#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "boot/modules.h"
#include "init/netlink.h"

namespace ctk::init {

namespace {

void mount_one(const char* source, const char* target, const char* type, unsigned long flags,
               const char* data, std::vector<std::string>* problems) {
  ::mkdir(target, 0755);
  if (::mount(source, target, type, flags, data) != 0 && errno != EBUSY)
    problems->push_back(sys_error(std::string("mount ") + type + " on " + target));
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// pivot_root refuses a process whose root is the kernel's initramfs (rootfs,
// the one mount without a parent), and every container root is set up with
// pivot_root. A bind mount of rootfs moved over "/" and chroot'ed into is a
// root that has a parent: nothing is copied (switch_root's way, moving the
// files onto a tmpfs, costs ~0.1 s of an emulated guest's boot).
void leave_initramfs(std::vector<std::string>* problems) {
  struct statfs sf;
  constexpr long kRamfsMagic = 0x858458f6, kTmpfsMagic = 0x01021994;
  if (::statfs("/", &sf) != 0 || (sf.f_type != kRamfsMagic && sf.f_type != kTmpfsMagic)) return;
  const char* next = "/.root";
  ::mkdir(next, 0755);
  if (::mount("/", next, nullptr, MS_BIND, nullptr) != 0) {
    problems->push_back(sys_error("bind-mount the initramfs"));
    return;
  }
  if (::chdir(next) != 0 || ::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0 || ::chroot(".") != 0 ||
      ::chdir("/") != 0)
    problems->push_back(sys_error("moving the initramfs's bind mount to /"));
}

void raise_disk_readahead() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/block", ec))
    if (e.path().filename().string().starts_with("vd"))
      std::ofstream(e.path() / "queue/read_ahead_kb") << kReadAheadKb;
}

}  // namespace

int load_modules(const std::string& dir, const std::string& skip, std::vector<std::string>* problems) {
  std::ifstream dep(dir + "/modules.dep");
  if (!dep) return 0;  // a kernel with everything built in
  int loaded = 0;
  std::string line;
  while (std::getline(dep, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string path = dir + "/" + line.substr(0, colon);
    if (("," + skip + ",").find("," + boot::module_name(path) + ",") != std::string::npos) continue;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      problems->push_back(sys_error(path));
      continue;
    }
    // Compressed modules are decompressed by the kernel (MODULE_INIT_COMPRESSED_FILE).
    int flags = path.ends_with(".ko") ? 0 : 4;
    if (::syscall(SYS_finit_module, fd, "", flags) == 0) ++loaded;
    else if (errno != EEXIST) problems->push_back(sys_error("load " + path));
    ::close(fd);
  }
  return loaded;
}

void pid1_setup(std::vector<std::string>* problems) {
  leave_initramfs(problems);
  constexpr unsigned long kSecure = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  mount_one("proc", "/proc", "proc", kSecure, nullptr, problems);
  mount_one("sysfs", "/sys", "sysfs", kSecure, nullptr, problems);
  mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", problems);
  mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", problems);
  mount_one("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", problems);
  mount_one("run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", problems);
  mount_one("tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", problems);
  mount_one("cgroup2", "/sys/fs/cgroup", "cgroup2", kSecure, "nsdelegate", problems);

  struct utsname uts;
  std::string cmdline = read_line("/proc/cmdline"), skip;
  if (size_t at = cmdline.find("ctk.skip_modules="); at != std::string::npos) {
    skip = cmdline.substr(at + 17);
    skip = skip.substr(0, skip.find(' '));
  }
  if (::uname(&uts) == 0) load_modules(std::string("/lib/modules/") + uts.release, skip, problems);
  raise_disk_readahead();

  Netlink nl;
  std::string why;
  if (!nl.open(&why)) problems->push_back(why);
  else if (nl.call(link_up_message(::if_nametoindex("lo"), nl.next_seq()), &why) != 0)
    problems->push_back("bringing up lo: " + why);
}

std::string find_virtio_port(const std::string& name, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  do {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/sys/class/virtio-ports", ec)) {
      if (read_line(e.path().string() + "/name") == name)
        return "/dev/" + e.path().filename().string();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (std::chrono::steady_clock::now() < deadline);
  return "";
}

std::string uptime() {
  std::string line = read_line("/proc/uptime");
  return line.substr(0, line.find(' '));
}

void pid1_poweroff() {
  // What still runs gets a moment to end (nothing does after a shutdown
  // request: then kill fails with ESRCH and no time is spent).
  if (::kill(-1, SIGTERM) == 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    // Every process descends from PID 1: no children left means none at all.
    while (std::chrono::steady_clock::now() < deadline) {
      pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
      if (pid < 0 && errno == ECHILD) break;
      if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(-1, SIGKILL);
  }
  ::sync();
  // Innermost first: a container's overlay before the disk under it.
  std::vector<std::string> targets;
  std::ifstream mounts("/proc/self/mounts");
  std::string source, target, rest;
  while (mounts >> source >> target && std::getline(mounts, rest))
    if (target != "/") targets.push_back(target);
  for (auto it = targets.rbegin(); it != targets.rend(); ++it)
    if (::umount2(it->c_str(), 0) != 0) ::umount2(it->c_str(), MNT_DETACH);
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();  // reboot() only returns on failure; PID 1 must not exit
}

}  // namespace ctk::init
