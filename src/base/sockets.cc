#include "base/sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/error.h"

namespace ctk {

namespace {

// sun_path for `name` in `dir`: the plain path when it fits, else through
// /proc/self/fd of an O_PATH descriptor of the directory (held in *dir_fd).
bool unix_address(const std::string& dir, const std::string& name, sockaddr_un* sa, int* dir_fd,
                  std::string* err) {
  *sa = {};
  sa->sun_family = AF_UNIX;
  std::string path = dir + "/" + name;
  *dir_fd = -1;
  if (path.size() >= sizeof sa->sun_path) {
    *dir_fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dir_fd < 0) {
      *err = sys_error(dir);
      return false;
    }
    path = "/proc/self/fd/" + std::to_string(*dir_fd) + "/" + name;
  }
  std::memcpy(sa->sun_path, path.data(), path.size());
  return true;
}

}  // namespace

int listen_unix(const std::string& dir, const std::string& name, std::string* err) {
  sockaddr_un sa;
  int dir_fd;
  if (!unix_address(dir, name, &sa, &dir_fd, err)) return -1;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0) {
    *err = sys_error(dir + "/" + name);
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  if (dir_fd >= 0) ::close(dir_fd);
  return fd;
}

int connect_unix(const std::string& dir, const std::string& name, std::string* err) {
  sockaddr_un sa;
  int dir_fd;
  if (!unix_address(dir, name, &sa, &dir_fd, err)) return -1;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    *err = sys_error(dir + "/" + name);
    if (fd >= 0) ::close(fd);
    fd = -1;
    errno = e;
  }
  if (dir_fd >= 0) ::close(dir_fd);
  return fd;
}

int bind_inet(const std::string& ip, uint16_t port, bool udp, uint16_t* bound, std::string* err) {
  sockaddr_storage ss{};
  socklen_t len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  std::string what = (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port) +
                     (udp ? "/udp" : "");
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    *err = "invalid host address '" + ip + "'";
    return -1;
  }
  int fd = ::socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd >= 0 && !udp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || (!udp && ::listen(fd, 128) != 0)) {
    *err = sys_error("publish " + what);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *bound = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  return fd;
}

}  // namespace ctk
