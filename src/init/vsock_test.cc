#include "init/vsock.h"

#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

using ctk::init::parse_vsock_address;

TEST_CASE("vsock addresses: the default port and explicit ones") {
  uint32_t port = 0;
  std::string err;
  CHECK(parse_vsock_address("vsock:", &port, &err));
  CHECK(port == 1024);
  CHECK(parse_vsock_address("vsock:5000", &port, &err));
  CHECK(port == 5000);
  CHECK(parse_vsock_address("vsock:4294967294", &port, &err));
  CHECK(port == 4294967294u);
}

TEST_CASE("vsock addresses: garbage is refused with the address named") {
  uint32_t port = 7;
  for (const char* bad : {"vsock:x", "vsock:12x", "vsock:-1", "vsock:4294967295",
                          "vsock:99999999999", "unix:/x", "vsock"}) {
    std::string err;
    CHECK_MESSAGE(!parse_vsock_address(bad, &port, &err), bad);
    CHECK(err.find(bad) != std::string::npos);
  }
  CHECK(port == 7);
}

TEST_CASE("vsock_listen: a listening socket, or an error naming the port") {
  std::string err;
  int fd = ctk::init::vsock_listen(47011, &err);
  if (fd < 0) {
    // A kernel without vsock: the error says so and names the port.
    CHECK(err.rfind("vsock port 47011", 0) == 0);
    return;
  }
  int listening = 0;
  socklen_t len = sizeof listening;
  CHECK(::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0);
  CHECK(listening == 1);
  // The port is taken now: a second listener gets the error.
  CHECK(ctk::init::vsock_listen(47011, &err) < 0);
  CHECK(err.find("vsock port 47011: Address already in use") == 0);
  ::close(fd);
}
