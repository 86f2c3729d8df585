// libFuzzer target: the network switch (src/net/switch) takes any frame from
// any port without crashing, sends nothing back to the sender or to a port
// that shares no network with it, and every reply it makes is a frame that
// parses back.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "net/switch.h"

using namespace ctk::net;

namespace {

std::string id(char c) { return std::string(64, c); }

// a on x and y, b on x and an internal network, c on y; d on none.
Topology topology() {
  auto endpoint = [](char c, uint32_t ip, std::vector<std::string> aliases) {
    Endpoint e;
    e.container_id = id(c);
    e.name = std::string("ctr-") + c;
    e.aliases = std::move(aliases);
    e.ipv4 = ip;
    e.mac = {0x02, 0x42, 0, 0, 0, uint8_t(c)};
    return e;
  };
  auto network = [](uint32_t subnet, bool internal, std::vector<Endpoint> endpoints) {
    Network n;
    n.subnet = subnet;
    n.gateway = subnet + 1;
    n.internal = internal;
    n.endpoints = std::move(endpoints);
    return n;
  };
  Topology t;
  t.networks.push_back(network(0xac120000, false, {endpoint('a', 0xac120002, {}), endpoint('b', 0xac120003, {"db"})}));
  t.networks.push_back(network(0xac130000, false, {endpoint('a', 0xac130002, {"svc"}), endpoint('c', 0xac130003, {})}));
  t.networks.push_back(network(0xac140000, true, {endpoint('b', 0xac140003, {})}));
  return t;
}

// Which ports share a network: a-b, a-c.
bool shares(char x, char y) {
  std::string pair{std::min(x, y), std::max(x, y)};
  return pair == "ab" || pair == "ac";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Switch* sw = [] {
    auto* s = new Switch;
    s->set_topology(topology());
    s->set_live_ports({port_name(id('a')), port_name(id('b')), port_name(id('c')), port_name(id('d'))});
    return s;
  }();
  if (size == 0) return 0;
  // The first byte picks the sender; the rest is the frame.
  char from = char('a' + data[0] % 4);
  Bytes frame(data + 1, size - 1);
  Actions actions = sw->handle(port_name(id(from)), frame);
  for (const std::string& to : actions.ports)
    if (to == port_name(id(from)) || !shares(from, to[0])) std::abort();
  Ethernet eth;
  if (!actions.reply.empty() && (!parse_ethernet(actions.reply, &eth) || eth.src != kGatewayMac)) std::abort();
  if (actions.forward) {
    DnsQuery q;
    if (actions.forward->asker.port != port_name(id(from)) || !parse_dns_query(actions.forward->message, &q))
      std::abort();
  }
  return 0;
}
