#include "init/netlink.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/error.h"

namespace ctk::init {

namespace {

// One request being built: the header, the fixed part, then attributes, each
// padded to 4 bytes; the header's length is filled in at the end.
class Message {
 public:
  Message(uint16_t type, uint16_t flags, uint32_t seq) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = uint16_t(NLM_F_REQUEST | NLM_F_ACK | flags);
    h.nlmsg_seq = seq;
    put(&h, sizeof h);
  }
  void put(const void* data, size_t len) {
    buf_.append(static_cast<const char*>(data), len);
    buf_.resize(NLMSG_ALIGN(buf_.size()), '\0');
  }
  void attr(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = uint16_t(RTA_LENGTH(len));
    put(&a, sizeof a);
    put(data, len);
  }
  std::string finish() {
    uint32_t len = uint32_t(buf_.size());
    std::memcpy(buf_.data(), &len, sizeof len);  // nlmsg_len comes first
    return std::move(buf_);
  }

 private:
  std::string buf_;
};

bool is_loopback(const IpAddress& a) {
  static const unsigned char kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a.family == AF_INET ? a.bytes[0] == 127 : std::memcmp(a.bytes, kLoopback6, 16) == 0;
}

}  // namespace

size_t IpAddress::size() const { return family == AF_INET ? 4 : 16; }

std::string IpAddress::text() const {
  char buf[INET6_ADDRSTRLEN] = "";
  ::inet_ntop(family, bytes, buf, sizeof buf);
  return buf;
}

std::string IpAddress::cidr() const { return text() + "/" + std::to_string(prefix); }

bool parse_ip(const std::string& text, bool want_prefix, IpAddress* out) {
  size_t slash = text.find('/');
  if (slash != std::string::npos && !want_prefix) return false;
  std::string host = text.substr(0, slash);
  *out = IpAddress{};
  if (::inet_pton(AF_INET, host.c_str(), out->bytes) == 1) out->family = AF_INET;
  else if (::inet_pton(AF_INET6, host.c_str(), out->bytes) == 1) out->family = AF_INET6;
  else return false;
  unsigned max = unsigned(out->size() * 8);
  out->prefix = max;
  if (slash == std::string::npos) return true;
  std::string digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out->prefix = unsigned(std::stoul(digits));
  return out->prefix <= max;
}

std::string link_up_message(uint32_t ifindex, uint32_t seq, uint32_t mtu) {
  Message m(RTM_NEWLINK, 0, seq);
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = int(ifindex);
  info.ifi_flags = IFF_UP;
  info.ifi_change = IFF_UP;
  m.put(&info, sizeof info);
  if (mtu) m.attr(IFLA_MTU, &mtu, sizeof mtu);
  return m.finish();
}

std::string add_address_message(uint32_t ifindex, const IpAddress& address, uint32_t seq) {
  Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, seq);
  ifaddrmsg ifa{};
  ifa.ifa_family = uint8_t(address.family);
  ifa.ifa_prefixlen = uint8_t(address.prefix);
  // As ip(8) does: loopback addresses get host scope, the rest global.
  ifa.ifa_scope = is_loopback(address) ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
  ifa.ifa_index = ifindex;
  m.put(&ifa, sizeof ifa);
  m.attr(IFA_LOCAL, address.bytes, address.size());
  m.attr(IFA_ADDRESS, address.bytes, address.size());
  if (address.family == AF_INET && address.prefix < 31) {
    // The subnet's broadcast address, which `ip addr add ... brd +` sets.
    uint32_t host_bits = address.prefix ? ~0u >> address.prefix : ~0u;
    uint32_t a;
    std::memcpy(&a, address.bytes, 4);
    uint32_t broadcast = htonl(ntohl(a) | host_bits);
    m.attr(IFA_BROADCAST, &broadcast, 4);
  }
  return m.finish();
}

std::string remove_address_message(uint32_t ifindex, const IpAddress& address, uint32_t seq) {
  Message m(RTM_DELADDR, 0, seq);
  ifaddrmsg ifa{};
  ifa.ifa_family = uint8_t(address.family);
  ifa.ifa_prefixlen = uint8_t(address.prefix);
  ifa.ifa_index = ifindex;
  m.put(&ifa, sizeof ifa);
  m.attr(IFA_LOCAL, address.bytes, address.size());
  return m.finish();
}

std::string default_route_message(uint32_t ifindex, const IpAddress& gateway, uint32_t seq) {
  Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, seq);
  rtmsg rt{};
  rt.rtm_family = uint8_t(gateway.family);
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  m.put(&rt, sizeof rt);
  m.attr(RTA_GATEWAY, gateway.bytes, gateway.size());
  m.attr(RTA_OIF, &ifindex, sizeof ifindex);
  return m.finish();
}

bool parse_ack(std::string_view buf, uint32_t seq, int* error, std::string* message) {
  size_t off = 0;
  while (off + NLMSG_HDRLEN <= buf.size()) {
    nlmsghdr h;
    std::memcpy(&h, buf.data() + off, sizeof h);
    if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > buf.size() - off) return false;
    std::string_view msg = buf.substr(off, h.nlmsg_len);
    off += NLMSG_ALIGN(h.nlmsg_len);
    if (h.nlmsg_type != NLMSG_ERROR || h.nlmsg_seq != seq || msg.size() < NLMSG_LENGTH(sizeof(nlmsgerr)))
      continue;
    nlmsgerr e;
    std::memcpy(&e, msg.data() + NLMSG_HDRLEN, sizeof e);
    *error = -e.error;
    message->clear();
    if (!(h.nlmsg_flags & NLM_F_ACK_TLVS)) return true;
    // The extended ack's attributes follow the echoed request: its header
    // alone when capped (NETLINK_CAP_ACK), else all of it.
    size_t at = NLMSG_HDRLEN + sizeof e;
    if (!(h.nlmsg_flags & NLM_F_CAPPED) && e.msg.nlmsg_len > NLMSG_HDRLEN) at += e.msg.nlmsg_len - NLMSG_HDRLEN;
    at = NLMSG_ALIGN(at);
    while (at + sizeof(nlattr) <= msg.size()) {
      nlattr a;
      std::memcpy(&a, msg.data() + at, sizeof a);
      if (a.nla_len < sizeof a || a.nla_len > msg.size() - at) break;
      if (a.nla_type == NLMSGERR_ATTR_MSG) {
        std::string_view text = msg.substr(at + sizeof a, a.nla_len - sizeof a);
        *message = std::string(text.substr(0, text.find('\0')));
      }
      at += NLA_ALIGN(a.nla_len);
    }
    return true;
  }
  return false;
}

Netlink::~Netlink() {
  if (fd_ >= 0) ::close(fd_);
}

bool Netlink::open(std::string* err) {
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) {
    *err = sys_error("netlink socket");
    return false;
  }
  // Short acks, with the kernel's reason for a refusal (older kernels lack both).
  int on = 1;
  ::setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  ::setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  return true;
}

int Netlink::call(const std::string& message, std::string* why) {
  nlmsghdr header;
  std::memcpy(&header, message.data(), sizeof header);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    int e = errno;
    *why = std::strerror(e);
    return e;
  }
  // rtnetlink handles a request while it is sent: its ack is already queued.
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      *why = std::strerror(e);
      return e;
    }
    int error;
    std::string text;
    if (!parse_ack(std::string_view(buf, size_t(n)), header.nlmsg_seq, &error, &text)) continue;
    *why = error ? std::strerror(error) + (text.empty() ? "" : " (" + text + ")") : "";
    return error;
  }
}

}  // namespace ctk::init
