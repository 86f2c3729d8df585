// rtnetlink, the kernel's routing socket: bringing a link up, adding
// addresses and a default route, as `ip link set up`, `ip addr replace` and
// `ip route replace default` do. The message encoders are separate from the
// socket so that their bytes can be checked without one (netlink_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ctk::init {

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  unsigned char bytes[16] = {};
  unsigned prefix = 0;  // the CIDR's length; the full length without one
  size_t size() const;
  std::string text() const;  // "10.0.2.15"
  std::string cidr() const;  // "10.0.2.15/24"
};

// "10.0.2.15/24", "fd00::1/64", or with want_prefix false a plain address.
// Without "/N" a CIDR has the full length (/32, /128).
bool parse_ip(const std::string& text, bool want_prefix, IpAddress* out);

// Requests with NLM_F_REQUEST | NLM_F_ACK, and NLM_F_CREATE | NLM_F_REPLACE
// where that makes them idempotent (a repeated request changes nothing).
// `ip link set up` (and `mtu N` when mtu is not 0).
std::string link_up_message(uint32_t ifindex, uint32_t seq, uint32_t mtu = 0);
std::string add_address_message(uint32_t ifindex, const IpAddress& address, uint32_t seq);
// `ip addr del`: the kernel answers EADDRNOTAVAIL when it is not there.
std::string remove_address_message(uint32_t ifindex, const IpAddress& address, uint32_t seq);
std::string default_route_message(uint32_t ifindex, const IpAddress& gateway, uint32_t seq);

// Looks for the kernel's acknowledgement of seq in buf: true when found, with
// *error 0 for success or the errno, and *message the extended ack's text
// (NLMSGERR_ATTR_MSG) when the kernel gave one.
bool parse_ack(std::string_view buf, uint32_t seq, int* error, std::string* message);

class Netlink {
 public:
  Netlink() = default;
  ~Netlink();
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  // The socket for this process's network namespace.
  bool open(std::string* err);
  uint32_t next_seq() { return ++seq_; }
  // Sends a request (built with next_seq()) and waits for its ack. Returns 0
  // or the errno; *why gets strerror's text plus the kernel's reason when it gave one.
  int call(const std::string& message, std::string* why);

 private:
  int fd_ = -1;
  uint32_t seq_ = 0;
};

}  // namespace ctk::init
