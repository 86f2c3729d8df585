// What the network switch needs to know about the networks of one data root:
// which container is on which network, with which address, MAC, names. Built
// from the data root's files (container/networks.h, load_topology) and handed
// to the switch (net/switch.h), which never reads container files itself.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ctk::net {

using Mac = std::array<uint8_t, 6>;

// The MTU of a container's NIC on the switch. Its frames never leave the
// data root's VMs (the way out is the NAT NIC, at 1500), so they can be as
// large as a datagram the switch takes: under TCG, where each frame costs
// the guests and the switch a wake-up, a 1 GB TCP transfer between two
// containers went from 25 MB/s at 1500 to 88 at 9000 and 121 at 65000.
constexpr unsigned kMtu = 65520;

// One container on one network.
struct Endpoint {
  std::string container_id;  // 64 hex digits; its switch port is ports/<first 12>
  std::string name;          // the container's name (no leading '/')
  std::string hostname;      // "" when it has none of its own
  std::vector<std::string> aliases;  // --network-alias, compose's service names
  uint32_t ipv4 = 0;                 // host byte order
  Mac mac{};
};

struct Network {
  std::string name;
  uint32_t subnet = 0;     // host byte order, e.g. 0xac120000 for 172.18.0.0
  unsigned prefix_len = 16;
  uint32_t gateway = 0;    // the switch answers ARP, ping and DNS here
  bool internal = false;   // no outbound access, no forwarding of outside names
  std::vector<Endpoint> endpoints;
};

struct Topology {
  std::vector<Network> networks;
};

// The short id a switch port is named by: the first 12 hex digits.
inline std::string port_name(const std::string& container_id) { return container_id.substr(0, 12); }

}  // namespace ctk::net
