#include "net/frame.h"

#include <doctest/doctest.h>

#include <string>

using namespace ctk::net;

namespace {

const Host kA{{0x02, 0x42, 0xac, 0x12, 0x00, 0x02}, 0xac120002};  // 172.18.0.2
const Host kB{{0x02, 0x42, 0xac, 0x12, 0x00, 0x03}, 0xac120003};

Bytes text(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// The layers of a UDP frame, each parsed from the one before.
bool parse_udp_frame(Bytes frame, Ethernet* eth, Ipv4* ip, Udp* udp) {
  return parse_ethernet(frame, eth) && eth->type == kEtherTypeIpv4 && parse_ipv4(eth->payload, ip) &&
         ip->protocol == kProtoUdp && parse_udp(ip->payload, udp);
}

}  // namespace

TEST_CASE("frame: the internet checksum of RFC 1071") {
  // An IPv4 header whose checksum field (b861) is filled in sums to zero.
  const uint8_t header[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  CHECK(internet_checksum(header) == 0);
  uint8_t zeroed[sizeof header];
  std::copy(std::begin(header), std::end(header), zeroed);
  zeroed[10] = zeroed[11] = 0;
  CHECK(internet_checksum(zeroed) == 0xb861);
  const uint8_t odd[] = {0x01};  // an odd length pads with a zero byte
  CHECK(internet_checksum(odd) == 0xfeff);
}

TEST_CASE("frame: a UDP frame built is parsed back, with valid checksums") {
  std::vector<uint8_t> f = build_udp(kA, 40000, kB, 53, text("hello"));
  CHECK(f.size() == 14 + 20 + 8 + 5);
  Ethernet eth;
  Ipv4 ip;
  Udp udp;
  REQUIRE(parse_udp_frame(f, &eth, &ip, &udp));
  CHECK(eth.dst == kB.mac);
  CHECK(eth.src == kA.mac);
  CHECK(ip.src == kA.ip);
  CHECK(ip.dst == kB.ip);
  CHECK(udp.src_port == 40000);
  CHECK(udp.dst_port == 53);
  CHECK(std::string(udp.payload.begin(), udp.payload.end()) == "hello");
  // The UDP checksum over the pseudo-header and the datagram sums to zero.
  uint32_t pseudo = (kA.ip >> 16) + (kA.ip & 0xffff) + (kB.ip >> 16) + (kB.ip & 0xffff) + kProtoUdp + 13;
  CHECK(internet_checksum(ip.payload, pseudo) == 0);
}

TEST_CASE("frame: ARP requests go to the broadcast address, replies to the target") {
  std::vector<uint8_t> request = build_arp(kArpRequest, kA, {{}, kB.ip});
  Ethernet eth;
  Arp arp;
  REQUIRE(parse_ethernet(request, &eth));
  CHECK(eth.dst == kBroadcastMac);
  CHECK(is_group(eth.dst));
  CHECK_FALSE(is_group(kA.mac));
  CHECK(eth.type == kEtherTypeArp);
  REQUIRE(parse_arp(eth.payload, &arp));
  CHECK(arp.op == kArpRequest);
  CHECK(arp.sender_mac == kA.mac);
  CHECK(arp.sender_ip == kA.ip);
  CHECK(arp.target_ip == kB.ip);

  std::vector<uint8_t> reply = build_arp(kArpReply, kB, kA);
  REQUIRE(parse_ethernet(reply, &eth));
  CHECK(eth.dst == kA.mac);
  REQUIRE(parse_arp(eth.payload, &arp));
  CHECK(arp.op == kArpReply);
  CHECK(arp.sender_mac == kB.mac);
  CHECK(arp.target_mac == kA.mac);

  // Another hardware type, or IPv6 addresses: not ours.
  std::vector<uint8_t> other(eth.payload.begin(), eth.payload.end());
  other[1] = 6;
  CHECK_FALSE(parse_arp(other, &arp));
  other[1] = 1;
  other[5] = 16;
  CHECK_FALSE(parse_arp(other, &arp));
}

TEST_CASE("frame: ICMP carries its id, sequence and data through") {
  const uint8_t rest[] = {0x12, 0x34, 0x00, 0x07, 'p', 'i', 'n', 'g'};
  std::vector<uint8_t> f = build_icmp(kA, kB, kIcmpEchoRequest, 0, rest);
  Ethernet eth;
  Ipv4 ip;
  Icmp icmp;
  REQUIRE(parse_ethernet(f, &eth));
  REQUIRE(parse_ipv4(eth.payload, &ip));
  CHECK(ip.protocol == kProtoIcmp);
  CHECK(internet_checksum(ip.payload) == 0);
  REQUIRE(parse_icmp(ip.payload, &icmp));
  CHECK(icmp.type == kIcmpEchoRequest);
  CHECK(std::vector<uint8_t>(icmp.rest.begin(), icmp.rest.end()) == std::vector<uint8_t>(rest, rest + 8));
}

TEST_CASE("frame: truncated and inconsistent frames fail to parse") {
  std::vector<uint8_t> f = build_udp(kA, 40000, kB, 53, text("payload"));
  Ethernet eth;
  Ipv4 ip;
  Udp udp;
  // Every proper prefix fails at some layer.
  for (size_t n = 0; n < f.size(); ++n)
    CHECK_FALSE(parse_udp_frame(Bytes(f).first(n), &eth, &ip, &udp));
  REQUIRE(parse_udp_frame(f, &eth, &ip, &udp));

  // Ethernet padding after the datagram is not part of it.
  std::vector<uint8_t> padded = f;
  padded.resize(f.size() + 10);
  REQUIRE(parse_udp_frame(padded, &eth, &ip, &udp));
  CHECK(udp.payload.size() == 7);

  // One byte of the IP packet changed, the header checksum made right again
  // (unless that is the test), so each check fails on its own.
  auto broken = [&](size_t offset, uint8_t value, bool fix_checksum = true) {
    std::vector<uint8_t> g = f;
    uint8_t* header = &g[14];
    header[offset] = value;
    if (fix_checksum) {
      store_be16(header + 10, 0);
      store_be16(header + 10, internet_checksum(Bytes(header, 20)));
    }
    return !parse_udp_frame(g, &eth, &ip, &udp);
  };
  CHECK_FALSE(broken(8, 0x20));  // another TTL is fine
  CHECK(broken(0, 0x65));        // version 6
  CHECK(broken(0, 0x44));        // a header of 4 words
  CHECK(broken(0, 0x4f));        // a header longer than the packet
  CHECK(broken(2, 0xff));        // a total length past the frame
  CHECK(broken(3, 0x05));        // a total length shorter than the header
  CHECK(broken(6, 0x60));        // more fragments
  CHECK(broken(7, 0x01));        // a fragment's offset
  CHECK(broken(12, 0x0b, false));  // a bad header checksum
  CHECK(broken(20 + 5, 0x07));   // a UDP length under its header
  CHECK(broken(20 + 5, 0xff));   // a UDP length past the packet

  Icmp icmp;
  const uint8_t short_icmp[] = {8, 0, 0};
  CHECK_FALSE(parse_icmp(short_icmp, &icmp));
}
