#include "net/switch.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "base/random.h"

namespace ctk::net {

namespace {

// A guest inventing source MACs cannot grow the table without bound: when it
// is full it starts again, and flooding reaches the MACs it forgot.
constexpr size_t kMaxLearned = 4096;

bool overlap(const std::vector<size_t>& a, const std::vector<size_t>& b) {
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] == b[j]) return true;
    a[i] < b[j] ? ++i : ++j;
  }
  return false;
}

bool answers_to(const Endpoint& e, std::string_view name) {
  auto is = [&](const std::string& s) { return !s.empty() && same_dns_name(s, name); };
  return is(e.name) || is(e.hostname) || is(port_name(e.container_id)) ||
         std::any_of(e.aliases.begin(), e.aliases.end(), is);
}

}  // namespace

std::vector<uint8_t> dns_reply_frame(const Asker& asker, Bytes message) {
  std::vector<uint8_t> m(message.begin(), message.end());
  if (m.size() >= 2) store_be16(m.data(), asker.id);
  return build_udp({kGatewayMac, asker.gateway}, kDnsPort, asker.host, asker.udp_port, m);
}

void Switch::set_topology(Topology topology) {
  std::set<std::tuple<std::string, uint32_t, Mac>> before;
  for (const Network& n : topology_.networks)
    for (const Endpoint& e : n.endpoints) before.emplace(n.name, e.ipv4, e.mac);
  announce_.clear();
  // A first topology (a switch that just started) changes no address's MAC.
  for (size_t n = 0; n < topology.networks.size() && has_topology_; ++n)
    for (const Endpoint& e : topology.networks[n].endpoints)
      if (!before.count({topology.networks[n].name, e.ipv4, e.mac})) announce_.emplace_back(n, e);
  topology_ = std::move(topology);
  has_topology_ = true;
  ports_.clear();
  pinned_.clear();
  for (size_t n = 0; n < topology_.networks.size(); ++n) {
    for (const Endpoint& e : topology_.networks[n].endpoints) {
      std::string port = port_name(e.container_id);
      Networks& networks = ports_[port];
      if (networks.empty() || networks.back() != n) networks.push_back(n);
      if (e.mac != Mac{} && !is_group(e.mac)) pinned_.emplace(e.mac, port);
    }
  }
}

std::vector<Announcement> Switch::take_announcements() {
  std::vector<Announcement> out;
  for (const auto& [n, e] : announce_) {
    Announcement a;
    std::string owner = port_name(e.container_id);
    for (const std::string& port : live_)
      if (port != owner && shares_network(port, {n})) a.ports.push_back(port);
    if (a.ports.empty()) continue;
    Host self{e.mac, e.ipv4};
    a.frame = build_arp(kArpRequest, self, {Mac{}, e.ipv4});
    out.push_back(std::move(a));
  }
  announce_.clear();
  return out;
}

void Switch::set_live_ports(std::set<std::string> ports) {
  live_ = std::move(ports);
  std::erase_if(learned_, [&](const auto& entry) { return !live_.count(entry.second); });
}

void Switch::port_gone(const std::string& port) {
  live_.erase(port);
  std::erase_if(learned_, [&](const auto& entry) { return entry.second == port; });
}

bool Switch::shares_network(const std::string& port, const Networks& with) const {
  auto it = ports_.find(port);
  return it != ports_.end() && overlap(it->second, with);
}

void Switch::learn(const Mac& mac, const std::string& port) {
  if (pinned_.count(mac)) return;
  auto it = learned_.find(mac);
  if (it != learned_.end()) {
    it->second = port;
    return;
  }
  if (learned_.size() >= kMaxLearned) learned_.clear();
  learned_.emplace(mac, port);
}

const std::string* Switch::owner(const Mac& mac) const {
  auto it = pinned_.find(mac);
  if (it != pinned_.end()) return &it->second;
  it = learned_.find(mac);
  return it != learned_.end() ? &it->second : nullptr;
}

Actions Switch::handle(const std::string& from, Bytes frame) {
  Actions out;
  Ethernet eth;
  auto self = ports_.find(from);
  if (self == ports_.end() || !parse_ethernet(frame, &eth) || is_group(eth.src)) return out;
  const Networks& networks = self->second;
  learn(eth.src, from);
  if (eth.dst == kGatewayMac) {
    answer(from, networks, eth, &out);
    return out;
  }
  const std::string* to = owner(eth.dst);
  if (is_group(eth.dst) || !to) {
    for (const std::string& port : live_)
      if (port != from && shares_network(port, networks)) out.ports.push_back(port);
    // ARP requests for the gateway are broadcasts.
    if (is_group(eth.dst)) answer(from, networks, eth, &out);
  } else if (*to != from && live_.count(*to) && shares_network(*to, networks)) {
    out.ports.push_back(*to);
  }
  return out;
}

const Network* Switch::gateway_network(const Networks& networks, uint32_t ip) const {
  for (size_t n : networks)
    if (ip != 0 && topology_.networks[n].gateway == ip) return &topology_.networks[n];
  return nullptr;
}

// The gateway of each of the sender's networks answers ARP for its address,
// echo requests to it, and DNS queries to it; the gateways of other networks
// are not there for this sender.
void Switch::answer(const std::string& from, const Networks& networks, const Ethernet& eth, Actions* out) const {
  if (eth.type == kEtherTypeArp) {
    Arp arp;
    if (parse_arp(eth.payload, &arp) && arp.op == kArpRequest && gateway_network(networks, arp.target_ip))
      out->reply = build_arp(kArpReply, {kGatewayMac, arp.target_ip}, {arp.sender_mac, arp.sender_ip});
    return;
  }
  Ipv4 ip;
  if (eth.dst != kGatewayMac || eth.type != kEtherTypeIpv4 || !parse_ipv4(eth.payload, &ip) ||
      !gateway_network(networks, ip.dst))
    return;
  Host gateway{kGatewayMac, ip.dst}, sender{eth.src, ip.src};
  Icmp icmp;
  Udp udp;
  if (ip.protocol == kProtoIcmp && parse_icmp(ip.payload, &icmp) && icmp.type == kIcmpEchoRequest)
    out->reply = build_icmp(gateway, sender, kIcmpEchoReply, 0, icmp.rest);
  else if (ip.protocol == kProtoUdp && parse_udp(ip.payload, &udp) && udp.dst_port == kDnsPort)
    answer_dns(networks, {from, sender, udp.src_port, ip.dst, 0}, udp.payload, out);
}

void Switch::answer_dns(const Networks& networks, Asker asker, Bytes message, Actions* out) const {
  DnsQuery q;
  if (!parse_dns_query(message, &q)) return;
  asker.id = q.id;
  std::vector<uint32_t> found = lookup(networks, q.name);
  bool internal = std::all_of(networks.begin(), networks.end(),
                              [&](size_t n) { return topology_.networks[n].internal; });
  if (!found.empty()) {
    // A container has an IPv4 address only: other types get an empty answer,
    // which tells the asker the name exists.
    std::span<const uint32_t> addresses;
    if (q.type == kDnsTypeA && q.qclass == kDnsClassIn) addresses = found;
    out->reply = dns_reply_frame(asker, build_dns_response(q, DnsRcode::kNoError, addresses));
  } else if (internal) {
    out->reply = dns_reply_frame(asker, build_dns_response(q, DnsRcode::kRefused));
  } else {
    out->forward = DnsForward{std::move(asker), std::move(q), message};
  }
}

// The addresses of the live containers answering to name on the first of the
// asker's networks where there are any: several for an alias that several
// containers share (the replicas of a service).
std::vector<uint32_t> Switch::lookup(const Networks& networks, std::string_view name) const {
  std::vector<uint32_t> found;
  if (name.empty()) return found;
  for (size_t n : networks) {
    for (const Endpoint& e : topology_.networks[n].endpoints)
      if (e.ipv4 && live_.count(port_name(e.container_id)) && answers_to(e, name) &&
          std::find(found.begin(), found.end(), e.ipv4) == found.end())
        found.push_back(e.ipv4);
    if (!found.empty()) break;
  }
  return found;
}

bool PendingQueries::add(const Asker& asker, Clock::time_point now, uint16_t* id) {
  if (entries_.size() >= kMax)
    std::erase_if(entries_, [&](const auto& entry) { return entry.second.expires <= now; });
  if (entries_.size() >= kMax) return false;
  do *id = uint16_t(random_u64());
  while (entries_.count(*id));
  entries_[*id] = {asker, now + kTimeout};
  return true;
}

bool PendingQueries::take(uint16_t id, Clock::time_point now, Asker* asker) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  bool live = now < it->second.expires;
  if (live) *asker = std::move(it->second.asker);
  entries_.erase(it);
  return live;
}

}  // namespace ctk::net
