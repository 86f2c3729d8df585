#include "init/netlink.h"

#include <cerrno>
#include <string>

#include <doctest/doctest.h>

using namespace ctk::init;

namespace {

// The expected bytes are written out from the kernel's ABI (linux/netlink.h,
// linux/rtnetlink.h, linux/if_addr.h), little-endian, not from the encoder.
std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(char(b));
  return s;
}

IpAddress ip(const std::string& text, bool prefix = true) {
  IpAddress a;
  REQUIRE(parse_ip(text, prefix, &a));
  return a;
}

}  // namespace

TEST_CASE("parse_ip: CIDRs and plain addresses of both families") {
  IpAddress a = ip("10.0.2.15/24");
  CHECK(a.family == 2);
  CHECK(a.prefix == 24);
  CHECK(a.cidr() == "10.0.2.15/24");
  CHECK(a.text() == "10.0.2.15");
  CHECK(ip("10.0.2.15").prefix == 32);
  CHECK(ip("fd00::1/64").cidr() == "fd00::1/64");
  CHECK(ip("::1").prefix == 128);
  CHECK(ip("10.0.2.2", false).prefix == 32);
  IpAddress bad;
  for (const char* text : {"10.0.0.1/33", "fd00::1/129", "10.0.0.1/", "10.0.0.1/+8", "10.0.0.1/-1",
                           "10.0.0.1/8x", "10.0.0.1/0008", "x", "", "10.0.0/8", "10.0.0.1 /8"})
    CHECK_MESSAGE(!parse_ip(text, true, &bad), text);
  CHECK(!parse_ip("10.0.0.1/24", false, &bad));  // a gateway has no prefix
}

TEST_CASE("link up: RTM_NEWLINK with IFF_UP in flags and change") {
  CHECK(link_up_message(2, 7) == bytes({
                                     32, 0, 0, 0, 16, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0,  // nlmsghdr
                                     0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,    // ifinfomsg
                                 }));
  CHECK(link_up_message(3, 1, 65520) == bytes({
                                           40, 0, 0, 0, 16, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0,  //
                                           0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,    //
                                           8, 0, 4, 0, 0xf0, 0xff, 0, 0,                      // IFLA_MTU
                                       }));
}

TEST_CASE("add address: IPv4 with local, address and broadcast; loopback has host scope") {
  CHECK(add_address_message(1, ip("127.0.0.2/8"), 9) ==
        bytes({
            48, 0, 0, 0, 20, 0, 5, 5, 9, 0, 0, 0, 0, 0, 0, 0,  // RTM_NEWADDR, REQUEST|ACK|CREATE|REPLACE
            2, 8, 0, 254, 1, 0, 0, 0,                          // AF_INET, /8, host scope, lo
            8, 0, 2, 0, 127, 0, 0, 2,                          // IFA_LOCAL
            8, 0, 1, 0, 127, 0, 0, 2,                          // IFA_ADDRESS
            8, 0, 4, 0, 127, 255, 255, 255,                    // IFA_BROADCAST
        }));
  // A /31 or /32 has no broadcast address; other addresses have global scope.
  CHECK(add_address_message(3, ip("10.1.2.3/32"), 1) ==
        bytes({
            40, 0, 0, 0, 20, 0, 5, 5, 1, 0, 0, 0, 0, 0, 0, 0,  //
            2, 32, 0, 0, 3, 0, 0, 0,                           //
            8, 0, 2, 0, 10, 1, 2, 3,                           //
            8, 0, 1, 0, 10, 1, 2, 3,                           //
        }));
}

TEST_CASE("add address: IPv6") {
  CHECK(add_address_message(3, ip("fd00::7/64"), 1) ==
        bytes({
            64, 0, 0, 0, 20, 0, 5, 5, 1, 0, 0, 0, 0, 0, 0, 0,                  //
            10, 64, 0, 0, 3, 0, 0, 0,                                          // AF_INET6
            20, 0, 2, 0, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,    // IFA_LOCAL
            20, 0, 1, 0, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,    // IFA_ADDRESS
        }));
}

TEST_CASE("remove address: RTM_DELADDR with the local address, no create or replace") {
  CHECK(remove_address_message(2, ip("172.18.0.5/16"), 7) ==
        bytes({
            32, 0, 0, 0, 21, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0,  // RTM_DELADDR, REQUEST|ACK
            2, 16, 0, 0, 2, 0, 0, 0,                           // AF_INET, /16, eth index 2
            8, 0, 2, 0, 172, 18, 0, 5,                         // IFA_LOCAL
        }));
}

TEST_CASE("default route: main table, gateway and output interface") {
  CHECK(default_route_message(4, ip("10.0.2.2", false), 3) ==
        bytes({
            44, 0, 0, 0, 24, 0, 5, 5, 3, 0, 0, 0, 0, 0, 0, 0,  // RTM_NEWROUTE
            2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0,              // main, boot, universe, unicast
            8, 0, 5, 0, 10, 0, 2, 2,                           // RTA_GATEWAY
            8, 0, 4, 0, 4, 0, 0, 0,                            // RTA_OIF
        }));
}

TEST_CASE("parse_ack: finds its sequence number, the errno and the kernel's reason") {
  // NLMSG_ERROR, capped (the request's header only echoed), error -ENODEV.
  std::string other = bytes({36, 0, 0, 0, 2, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0xed, 0xff, 0xff, 0xff}) +
                      std::string(16, '\0');
  std::string nodev = bytes({36, 0, 0, 0, 2, 0, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0xed, 0xff, 0xff, 0xff}) +
                      std::string(16, '\0');
  int error = -1;
  std::string message = "stale";
  CHECK(parse_ack(other + nodev, 5, &error, &message));
  CHECK(error == ENODEV);
  CHECK(message == "");
  CHECK(!parse_ack(other, 5, &error, &message));
  CHECK(!parse_ack(nodev.substr(0, 30), 5, &error, &message));  // truncated

  // Success: error 0.
  std::string ok = bytes({36, 0, 0, 0, 2, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) + std::string(16, '\0');
  CHECK(parse_ack(ok, 6, &error, &message));
  CHECK(error == 0);

  // With an extended ack (NLM_F_ACK_TLVS): NLMSGERR_ATTR_MSG after the echoed header.
  std::string text = "Nexthop has invalid gateway";
  std::string attr = bytes({int(4 + text.size() + 1), 0, 1, 0}) + text + std::string(1, '\0');
  attr.resize((attr.size() + 3) & ~size_t(3), '\0');
  std::string ext = bytes({0, 0, 0, 0, 2, 0, 0, 3, 8, 0, 0, 0, 0, 0, 0, 0, 0xea, 0xff, 0xff, 0xff}) +
                    std::string(16, '\0') + attr;
  ext[0] = char(ext.size());
  CHECK(parse_ack(ext, 8, &error, &message));
  CHECK(error == EINVAL);
  CHECK(message == text);
}
