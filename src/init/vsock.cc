#include "init/vsock.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>  // before linux/vm_sockets.h, which uses struct sockaddr
#include <unistd.h>

#include <linux/vm_sockets.h>

#include <charconv>

#include "base/error.h"

namespace ctk::init {

bool parse_vsock_address(std::string_view address, uint32_t* port, std::string* err) {
  constexpr std::string_view kScheme = "vsock:";
  if (!address.starts_with(kScheme)) {
    *err = "'" + std::string(address) + "' is not a vsock address";
    return false;
  }
  std::string_view digits = address.substr(kScheme.size());
  if (digits.empty()) {
    *port = kVsockPort;
    return true;
  }
  uint32_t p = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  // VMADDR_PORT_ANY (-1U) would ask for any port: the host could not know which.
  if (ec != std::errc() || end != digits.data() + digits.size() || p == VMADDR_PORT_ANY) {
    *err = "bad vsock port in '" + std::string(address) + "' (want vsock:PORT, PORT below 4294967295)";
    return false;
  }
  *port = p;
  return true;
}

int vsock_listen(uint32_t port, std::string* err) {
  std::string what = "vsock port " + std::to_string(port);
  int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    // EAFNOSUPPORT: the kernel has no vsock (module not loaded or not built).
    *err = sys_error(what + ": socket") +
           (errno == EAFNOSUPPORT ? " (no vsock support: is the vsock module loaded?)" : "");
    return -1;
  }
  sockaddr_vm sa{};
  sa.svm_family = AF_VSOCK;
  sa.svm_cid = VMADDR_CID_ANY;
  sa.svm_port = port;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 16) != 0) {
    *err = sys_error(what);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool vsock_guest_transport() {
  int fd = ::open("/dev/vsock", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned cid = VMADDR_CID_ANY;
  bool ok = ::ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) == 0;
  ::close(fd);
  return ok && cid != VMADDR_CID_ANY && cid > VMADDR_CID_HOST;
}

}  // namespace ctk::init
