#include "net/frame.h"

#include <algorithm>

namespace ctk::net {

namespace {

Mac load_mac(const uint8_t* p) {
  Mac m;
  std::copy(p, p + m.size(), m.begin());
  return m;
}

uint8_t* store_mac(uint8_t* p, const Mac& m) { return std::copy(m.begin(), m.end(), p); }

constexpr size_t kArpSize = 28;
constexpr size_t kIpv4Header = 20;
constexpr size_t kUdpHeader = 8;
constexpr size_t kIcmpHeader = 4;

}  // namespace

bool parse_ethernet(Bytes frame, Ethernet* out) {
  if (frame.size() < kEthernetHeader) return false;
  out->dst = load_mac(frame.data());
  out->src = load_mac(frame.data() + 6);
  out->type = load_be16(frame.data() + 12);
  out->payload = frame.subspan(kEthernetHeader);
  return true;
}

// htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4, then op and the addresses.
bool parse_arp(Bytes p, Arp* out) {
  if (p.size() < kArpSize || load_be16(&p[0]) != 1 || load_be16(&p[2]) != kEtherTypeIpv4 || p[4] != 6 ||
      p[5] != 4)
    return false;
  out->op = load_be16(&p[6]);
  out->sender_mac = load_mac(&p[8]);
  out->sender_ip = load_be32(&p[14]);
  out->target_mac = load_mac(&p[18]);
  out->target_ip = load_be32(&p[24]);
  return true;
}

bool parse_ipv4(Bytes p, Ipv4* out) {
  if (p.size() < kIpv4Header || p[0] >> 4 != 4) return false;
  size_t header = size_t(p[0] & 0xf) * 4;
  size_t total = load_be16(&p[2]);
  bool fragment = (load_be16(&p[6]) & 0x3fff) != 0;  // more-fragments or an offset
  if (header < kIpv4Header || total < header || total > p.size() || fragment) return false;
  if (internet_checksum(p.first(header)) != 0) return false;
  out->protocol = p[9];
  out->src = load_be32(&p[12]);
  out->dst = load_be32(&p[16]);
  out->payload = p.subspan(header, total - header);
  return true;
}

bool parse_udp(Bytes p, Udp* out) {
  if (p.size() < kUdpHeader) return false;
  size_t length = load_be16(&p[4]);
  if (length < kUdpHeader || length > p.size()) return false;
  out->src_port = load_be16(&p[0]);
  out->dst_port = load_be16(&p[2]);
  out->payload = p.subspan(kUdpHeader, length - kUdpHeader);
  return true;
}

bool parse_icmp(Bytes p, Icmp* out) {
  if (p.size() < kIcmpHeader) return false;
  out->type = p[0];
  out->code = p[1];
  out->rest = p.subspan(kIcmpHeader);
  return true;
}

uint16_t internet_checksum(Bytes data, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += load_be16(&data[i]);
  if (i < data.size()) sum += uint32_t(data[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

std::vector<uint8_t> build_ethernet(const Mac& dst, const Mac& src, uint16_t type, Bytes payload) {
  std::vector<uint8_t> f(kEthernetHeader + payload.size());
  store_mac(store_mac(f.data(), dst), src);
  store_be16(&f[12], type);
  std::copy(payload.begin(), payload.end(), f.begin() + kEthernetHeader);
  return f;
}

std::vector<uint8_t> build_arp(uint16_t op, const Host& sender, const Host& target) {
  uint8_t a[kArpSize];
  store_be16(&a[0], 1);
  store_be16(&a[2], kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(&a[6], op);
  store_be32(store_mac(&a[8], sender.mac), sender.ip);
  store_be32(store_mac(&a[18], target.mac), target.ip);
  return build_ethernet(op == kArpRequest ? kBroadcastMac : target.mac, sender.mac, kEtherTypeArp, a);
}

std::vector<uint8_t> build_ipv4(const Host& from, const Host& to, uint8_t protocol, Bytes payload) {
  std::vector<uint8_t> p(kIpv4Header + payload.size());
  p[0] = 0x45;  // version 4, 5 words of header
  store_be16(&p[2], uint16_t(p.size()));
  store_be16(&p[6], 0x4000);  // don't fragment
  p[8] = 64;
  p[9] = protocol;
  store_be32(&p[12], from.ip);
  store_be32(&p[16], to.ip);
  store_be16(&p[10], internet_checksum(Bytes(p).first(kIpv4Header)));
  std::copy(payload.begin(), payload.end(), p.begin() + kIpv4Header);
  return build_ethernet(to.mac, from.mac, kEtherTypeIpv4, p);
}

std::vector<uint8_t> build_udp(const Host& from, uint16_t src_port, const Host& to, uint16_t dst_port,
                               Bytes payload) {
  std::vector<uint8_t> u(kUdpHeader + payload.size());
  store_be16(&u[0], src_port);
  store_be16(&u[2], dst_port);
  store_be16(&u[4], uint16_t(u.size()));
  std::copy(payload.begin(), payload.end(), u.begin() + kUdpHeader);
  // The pseudo-header: source, destination, protocol, UDP length.
  uint32_t pseudo = (from.ip >> 16) + (from.ip & 0xffff) + (to.ip >> 16) + (to.ip & 0xffff) + kProtoUdp +
                    uint32_t(u.size());
  uint16_t sum = internet_checksum(u, pseudo);
  store_be16(&u[6], sum ? sum : 0xffff);  // 0 would mean "no checksum"
  return build_ipv4(from, to, kProtoUdp, u);
}

std::vector<uint8_t> build_icmp(const Host& from, const Host& to, uint8_t type, uint8_t code, Bytes rest) {
  std::vector<uint8_t> m(kIcmpHeader + rest.size());
  m[0] = type;
  m[1] = code;
  std::copy(rest.begin(), rest.end(), m.begin() + kIcmpHeader);
  store_be16(&m[2], internet_checksum(m));
  return build_ipv4(from, to, kProtoIcmp, m);
}

}  // namespace ctk::net
