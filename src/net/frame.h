// The wire formats the switch reads and writes: Ethernet II, ARP for IPv4,
// IPv4, UDP and ICMP. Every frame comes from a guest and is untrusted: the
// parsers check each length against the bytes there and return false for
// anything malformed, which the switch then drops. Addresses are in host
// byte order, as in net/topology.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "net/topology.h"

namespace ctk::net {

using Bytes = std::span<const uint8_t>;

constexpr size_t kEthernetHeader = 14;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoUdp = 17;
constexpr uint16_t kArpRequest = 1;
constexpr uint16_t kArpReply = 2;
constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr Mac kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// Broadcast and multicast: the group bit of the first octet.
inline bool is_group(const Mac& mac) { return mac[0] & 1; }

inline uint16_t load_be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  store_be16(p, uint16_t(v >> 16));
  store_be16(p + 2, uint16_t(v));
}

struct Ethernet {
  Mac dst{}, src{};
  uint16_t type = 0;
  Bytes payload;
};
bool parse_ethernet(Bytes frame, Ethernet* out);

// ARP for IPv4 over Ethernet; any other hardware or protocol type fails.
struct Arp {
  uint16_t op = 0;
  Mac sender_mac{};
  uint32_t sender_ip = 0;
  Mac target_mac{};
  uint32_t target_ip = 0;
};
bool parse_arp(Bytes payload, Arp* out);

// Whole datagrams only: a fragment fails, as does a bad header checksum.
// The payload ends where the total length says (Ethernet pads short frames).
struct Ipv4 {
  uint32_t src = 0, dst = 0;
  uint8_t protocol = 0;
  Bytes payload;
};
bool parse_ipv4(Bytes packet, Ipv4* out);

// The checksums of UDP and ICMP are not verified: a guest that offloads them
// leaves partial sums, and a corrupt request only earns its sender a reply.
struct Udp {
  uint16_t src_port = 0, dst_port = 0;
  Bytes payload;
};
bool parse_udp(Bytes datagram, Udp* out);

// rest: what follows type, code and checksum (an echo's id, sequence, data).
struct Icmp {
  uint8_t type = 0, code = 0;
  Bytes rest;
};
bool parse_icmp(Bytes message, Icmp* out);

// The one's complement sum of RFC 1071 over data, continuing from `sum`.
uint16_t internet_checksum(Bytes data, uint32_t sum = 0);

// One address of each layer, for the builders.
struct Host {
  Mac mac{};
  uint32_t ip = 0;
};

std::vector<uint8_t> build_ethernet(const Mac& dst, const Mac& src, uint16_t type, Bytes payload);
// A request goes to the broadcast address, a reply to the target's MAC.
std::vector<uint8_t> build_arp(uint16_t op, const Host& sender, const Host& target);
// TTL 64, no options, don't fragment.
std::vector<uint8_t> build_ipv4(const Host& from, const Host& to, uint8_t protocol, Bytes payload);
std::vector<uint8_t> build_udp(const Host& from, uint16_t src_port, const Host& to, uint16_t dst_port,
                               Bytes payload);
std::vector<uint8_t> build_icmp(const Host& from, const Host& to, uint8_t type, uint8_t code, Bytes rest);

}  // namespace ctk::net
