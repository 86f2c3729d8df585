#include "vz/virtiofsd.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "vz/child.h"

namespace ctk::vz {

std::string find_virtiofsd() {
  if (const char* env = std::getenv("CTK_VIRTIOFSD"); env && *env) return env;
  for (const char* path : {"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"})
    if (::access(path, X_OK) == 0) return path;
  return "";
}

std::string share_socket(const std::string& runtime_dir, size_t index) {
  return runtime_dir + "/fs" + std::to_string(index) + ".sock";
}

namespace {

// The child's side, after fork: async-signal-safe calls only.
[[noreturn]] void exec_daemon(const Share& share, int listen_fd, int log_fd, pid_t parent, char* const argv[]) {
  prepare_child(parent, log_fd);
  if (share.read_only) {
    const char* dir = share.path.c_str();
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(dir, dir, nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
        ::mount(nullptr, dir, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      std::fprintf(stderr, "read-only share %s: %s\n", dir, std::strerror(errno));
      ::_exit(126);
    }
  }
  // The listener becomes fd 3, the one inherited descriptor.
  if (listen_fd != 3) {
    ::dup2(listen_fd, 3);
  } else {
    ::fcntl(3, F_SETFD, 0);
  }
  exec_child(argv);
}

}  // namespace

bool start_virtiofsd(const std::string& binary, const Share& share, const std::string& socket,
                     const std::string& log, pid_t* pid, std::string* err) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.size() >= sizeof(addr.sun_path)) {
    *err = socket + ": socket path too long";
    return false;
  }
  std::memcpy(addr.sun_path, socket.c_str(), socket.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = sys_error("socket");
    return false;
  }
  ::unlink(socket.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0) {
    *err = sys_error("listen on " + socket);
    ::close(fd);
    return false;
  }
  // cache=auto: the guest caches what it read for a second and revalidates
  // on open, so two VMs sharing a volume see each other's writes. xattrs
  // pass through (capabilities of binaries on a bind mount).
  std::vector<std::string> args = {binary, "--fd=3", "-o", "source=" + share.path, "-o", "cache=auto",
                                   "-o", "xattr", "-o", "sandbox=namespace"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t parent = ::getpid();
  *pid = ::fork();
  if (*pid == 0) exec_daemon(share, fd, log_fd, parent, argv.data());
  int fork_errno = errno;
  ::close(fd);
  if (log_fd >= 0) ::close(log_fd);
  if (*pid < 0) {
    errno = fork_errno;
    *err = sys_error("fork");
    return false;
  }
  return true;
}

}  // namespace ctk::vz
