#include "net/switch.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "base/file_io.h"
#include "base/test_dir.h"
#include "net/test_dns.h"

using namespace ctk::net;
using ctk::net::testing::dns_query;

namespace {

// Four containers, a to d, on three networks in this order:
//   x 172.18/16: a .2, b .3 (alias db)
//   y 172.19/16: a .2 (alias svc), c .3 (alias svc)
//   i 172.20/16, internal: a .2, b .3, d .4
std::string id(char c) { return std::string(64, c); }
std::string port(char c) { return port_name(id(c)); }
Mac mac(char c) { return {0x02, 0x42, 0, 0, 0, uint8_t(c)}; }
constexpr uint32_t kX = 0xac120000, kY = 0xac130000, kI = 0xac140000;

Endpoint endpoint(char c, uint32_t ip, std::vector<std::string> aliases = {}) {
  Endpoint e;
  e.container_id = id(c);
  e.name = std::string("ctr-") + c;
  e.hostname = std::string("host-") + c;
  e.aliases = std::move(aliases);
  e.ipv4 = ip;
  e.mac = mac(c);
  return e;
}

Network network(const std::string& name, uint32_t subnet, bool internal, std::vector<Endpoint> endpoints) {
  Network n;
  n.name = name;
  n.subnet = subnet;
  n.gateway = subnet + 1;
  n.internal = internal;
  n.endpoints = std::move(endpoints);
  return n;
}

Topology topology() {
  Topology t;
  t.networks.push_back(network("x", kX, false, {endpoint('a', kX + 2), endpoint('b', kX + 3, {"db"})}));
  t.networks.push_back(network("y", kY, false, {endpoint('a', kY + 2, {"svc"}), endpoint('c', kY + 3, {"svc"})}));
  t.networks.push_back(network("i", kI, true, {endpoint('a', kI + 2), endpoint('b', kI + 3), endpoint('d', kI + 4)}));
  return t;
}

Switch make_switch() {
  Switch s;
  s.set_topology(topology());
  s.set_live_ports({port('a'), port('b'), port('c'), port('d')});
  return s;
}

std::vector<uint8_t> frame(const Mac& dst, char from) {
  const uint8_t payload[46] = {};
  return build_ethernet(dst, mac(from), 0x88b5, payload);  // the local experimental EtherType
}

std::vector<std::string> ports(std::initializer_list<char> cs) {
  std::vector<std::string> out;
  for (char c : cs) out.push_back(port(c));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// A DNS query from container c (its address on the network at subnet) to that network's gateway.
std::vector<uint8_t> dns_frame(char c, uint32_t subnet, uint32_t host, const std::vector<uint8_t>& query) {
  return build_udp({mac(c), subnet + host}, 33333, {kGatewayMac, subnet + 1}, kDnsPort, query);
}

struct Answer {
  uint16_t id = 0;
  unsigned rcode = 0;
  std::vector<uint32_t> addresses;
};

// The DNS answer in a reply frame, checked to come from the gateway's port 53
// to the asker's address and port.
Answer dns_answer(const std::vector<uint8_t>& reply, char to, uint32_t subnet, uint32_t host) {
  Ethernet eth;
  Ipv4 ip;
  Udp udp;
  Answer a;
  REQUIRE(parse_ethernet(reply, &eth));
  CHECK(eth.src == kGatewayMac);
  CHECK(eth.dst == mac(to));
  REQUIRE(parse_ipv4(eth.payload, &ip));
  CHECK(ip.src == subnet + 1);
  CHECK(ip.dst == subnet + host);
  REQUIRE(ip.protocol == kProtoUdp);
  REQUIRE(parse_udp(ip.payload, &udp));
  CHECK(udp.src_port == kDnsPort);
  CHECK(udp.dst_port == 33333);
  Bytes m = udp.payload;
  REQUIRE(m.size() >= 12);
  a.id = load_be16(&m[0]);
  a.rcode = m[3] & 0xf;
  CHECK((m[2] & 0x80) != 0);  // a response
  // The answers follow the question; each ends with its 4-byte address.
  size_t count = load_be16(&m[6]), end = m.size();
  REQUIRE(end >= count * 16);
  for (size_t i = 0; i < count; ++i) a.addresses.push_back(load_be32(&m[end - (count - i) * 16 + 12]));
  return a;
}

}  // namespace

TEST_CASE("switch: frames go between ports that share a network, never across") {
  Switch s = make_switch();
  // a is on every network: its broadcasts reach everyone, not itself.
  CHECK(sorted(s.handle(port('a'), frame(kBroadcastMac, 'a')).ports) == ports({'b', 'c', 'd'}));
  // b (x, i) reaches a and d, c (y) only a: x and y are not bridged through a.
  CHECK(sorted(s.handle(port('b'), frame(kBroadcastMac, 'b')).ports) == ports({'a', 'd'}));
  CHECK(s.handle(port('c'), frame(kBroadcastMac, 'c')).ports == ports({'a'}));
  // Multicast floods like broadcast.
  CHECK(s.handle(port('c'), frame({0x01, 0x00, 0x5e, 0, 0, 1}, 'c')).ports == ports({'a'}));

  // Unicast to a known MAC goes to its port alone, if they share a network.
  CHECK(s.handle(port('b'), frame(mac('a'), 'b')).ports == ports({'a'}));
  CHECK(s.handle(port('a'), frame(mac('c'), 'a')).ports == ports({'c'}));
  CHECK(s.handle(port('c'), frame(mac('b'), 'c')).ports.empty());
  CHECK(s.handle(port('b'), frame(mac('c'), 'b')).ports.empty());
  CHECK(s.handle(port('a'), frame(mac('a'), 'a')).ports.empty());  // not back to the sender
}

TEST_CASE("switch: MACs outside the topology are learned; the topology's cannot be taken") {
  Switch s = make_switch();
  const Mac other = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  // Unknown unicast floods to the sender's networks.
  CHECK(sorted(s.handle(port('b'), frame(other, 'b')).ports) == ports({'a', 'd'}));
  // c starts using another MAC: learned from its frame.
  std::vector<uint8_t> from_other = build_ethernet(kBroadcastMac, other, 0x88b5, frame(kBroadcastMac, 'c'));
  s.handle(port('c'), from_other);
  CHECK(s.handle(port('a'), frame(other, 'a')).ports == ports({'c'}));
  CHECK(s.handle(port('b'), frame(other, 'b')).ports.empty());  // b and c share no network

  // c forging b's MAC draws none of b's frames.
  s.handle(port('c'), frame(kBroadcastMac, 'b'));
  CHECK(s.handle(port('a'), frame(mac('b'), 'a')).ports == ports({'b'}));

  // A port that goes loses what it learned: flooding again, without it.
  s.port_gone(port('c'));
  CHECK(sorted(s.handle(port('a'), frame(other, 'a')).ports) == ports({'b', 'd'}));
  CHECK(s.handle(port('a'), frame(mac('c'), 'a')).ports.empty());
}

TEST_CASE("switch: only live ports get frames; ports on no network send nothing") {
  Switch s = make_switch();
  s.set_live_ports({port('a'), port('c')});
  CHECK(s.handle(port('b'), frame(kBroadcastMac, 'b')).ports == ports({'a'}));
  CHECK(s.handle(port('a'), frame(mac('b'), 'a')).ports.empty());
  CHECK(s.handle(port('a'), frame(kBroadcastMac, 'a')).ports == ports({'c'}));

  s.set_live_ports({port('a'), port('b'), port('e')});
  Actions none = s.handle(port('e'), frame(kBroadcastMac, 'e'));
  CHECK(none.ports.empty());
  CHECK(s.handle(port('e'), build_arp(kArpRequest, {mac('e'), kX + 9}, {{}, kX + 1})).reply.empty());
  CHECK(s.handle(port('a'), frame(mac('e'), 'a')).ports == ports({'b'}));  // e is unknown: a flood
}

TEST_CASE("switch: the gateway answers ARP and ping on the sender's networks only") {
  Switch s = make_switch();
  Actions a = s.handle(port('a'), build_arp(kArpRequest, {mac('a'), kY + 2}, {{}, kY + 1}));
  CHECK(sorted(a.ports) == ports({'b', 'c', 'd'}));  // still a broadcast
  Ethernet eth;
  Arp arp;
  REQUIRE(parse_ethernet(a.reply, &eth));
  CHECK(eth.dst == mac('a'));
  CHECK(eth.src == kGatewayMac);
  REQUIRE(parse_arp(eth.payload, &arp));
  CHECK(arp.op == kArpReply);
  CHECK(arp.sender_mac == kGatewayMac);
  CHECK(arp.sender_ip == kY + 1);
  CHECK(arp.target_mac == mac('a'));
  CHECK(arp.target_ip == kY + 2);
  // Unicast ARP to the gateway, as a cache entry is confirmed.
  std::vector<uint8_t> unicast = build_arp(kArpRequest, {mac('a'), kX + 2}, {{}, kX + 1});
  std::copy(kGatewayMac.begin(), kGatewayMac.end(), unicast.begin());
  a = s.handle(port('a'), unicast);
  CHECK(a.ports.empty());
  CHECK_FALSE(a.reply.empty());

  CHECK(s.handle(port('b'), build_arp(kArpRequest, {mac('b'), kX + 3}, {{}, kY + 1})).reply.empty());
  CHECK(s.handle(port('b'), build_arp(kArpRequest, {mac('b'), kX + 3}, {{}, kX + 2})).reply.empty());

  const uint8_t echo[] = {0, 1, 0, 2, 'd', 'a', 't', 'a'};
  a = s.handle(port('c'), build_icmp({mac('c'), kY + 3}, {kGatewayMac, kY + 1}, kIcmpEchoRequest, 0, echo));
  CHECK(a.ports.empty());
  Ipv4 ip;
  Icmp icmp;
  REQUIRE(parse_ethernet(a.reply, &eth));
  CHECK(eth.dst == mac('c'));
  REQUIRE(parse_ipv4(eth.payload, &ip));
  CHECK(ip.src == kY + 1);
  CHECK(ip.dst == kY + 3);
  CHECK(internet_checksum(ip.payload) == 0);
  REQUIRE(parse_icmp(ip.payload, &icmp));
  CHECK(icmp.type == kIcmpEchoReply);
  CHECK(std::vector<uint8_t>(icmp.rest.begin(), icmp.rest.end()) == std::vector<uint8_t>(echo, echo + 8));
  // The gateway of x is not c's; an echo reply is no request.
  CHECK(s.handle(port('c'), build_icmp({mac('c'), kY + 3}, {kGatewayMac, kX + 1}, kIcmpEchoRequest, 0, echo))
            .reply.empty());
  CHECK(s.handle(port('c'), build_icmp({mac('c'), kY + 3}, {kGatewayMac, kY + 1}, kIcmpEchoReply, 0, echo))
            .reply.empty());
}

TEST_CASE("switch: DNS answers the names of live containers on a shared network") {
  Switch s = make_switch();
  // Name, hostname, alias and short id, in any case, with a trailing dot.
  for (const std::string& name : std::vector<std::string>{"ctr-b", "HOST-B", "db", port('b'), "Ctr-B."}) {
    CAPTURE(name);
    Actions a = s.handle(port('a'), dns_frame('a', kX, 2, dns_query(0x1234, name, kDnsTypeA)));
    CHECK(a.ports.empty());
    CHECK_FALSE(a.forward);
    Answer r = dns_answer(a.reply, 'a', kX, 2);
    CHECK(r.id == 0x1234);
    CHECK(r.rcode == 0);
    CHECK(r.addresses == std::vector<uint32_t>{kX + 3});
  }
  // The address on the first network they share, whichever gateway is asked.
  Answer r = dns_answer(s.handle(port('a'), dns_frame('a', kI, 2, dns_query(1, "ctr-b", kDnsTypeA))).reply, 'a', kI, 2);
  CHECK(r.addresses == std::vector<uint32_t>{kX + 3});
  r = dns_answer(s.handle(port('d'), dns_frame('d', kI, 4, dns_query(2, "ctr-b", kDnsTypeA))).reply, 'd', kI, 4);
  CHECK(r.addresses == std::vector<uint32_t>{kI + 3});
  r = dns_answer(s.handle(port('a'), dns_frame('a', kX, 2, dns_query(3, "ctr-c", kDnsTypeA))).reply, 'a', kX, 2);
  CHECK(r.addresses == std::vector<uint32_t>{kY + 3});
  // An alias several containers share names them all.
  r = dns_answer(s.handle(port('c'), dns_frame('c', kY, 3, dns_query(4, "svc", kDnsTypeA))).reply, 'c', kY, 3);
  CHECK(r.addresses == std::vector<uint32_t>{kY + 2, kY + 3});
  // AAAA and other types of a known name: an empty answer.
  r = dns_answer(s.handle(port('a'), dns_frame('a', kX, 2, dns_query(5, "ctr-b", 28))).reply, 'a', kX, 2);
  CHECK(r.rcode == 0);
  CHECK(r.addresses.empty());
}

TEST_CASE("switch: other names go to the host's resolvers, or are refused on internal networks") {
  Switch s = make_switch();
  // Unknown, on another network only (c is not b's), an alias of another
  // network (db is b's on x, not on i), a container not running.
  std::vector<uint8_t> query = dns_query(0x4242, "example.com", kDnsTypeA);
  std::vector<uint8_t> f = dns_frame('a', kX, 2, query);  // what forward->message points into
  Actions a = s.handle(port('a'), f);
  CHECK(a.reply.empty());
  REQUIRE(a.forward);
  CHECK(a.forward->asker.port == port('a'));
  CHECK(a.forward->asker.host.mac == mac('a'));
  CHECK(a.forward->asker.host.ip == kX + 2);
  CHECK(a.forward->asker.udp_port == 33333);
  CHECK(a.forward->asker.gateway == kX + 1);
  CHECK(a.forward->asker.id == 0x4242);
  CHECK(a.forward->query.name == "example.com");
  CHECK(std::vector<uint8_t>(a.forward->message.begin(), a.forward->message.end()) == query);
  CHECK(s.handle(port('b'), dns_frame('b', kX, 3, dns_query(1, "ctr-c", kDnsTypeA))).forward);

  for (std::string name : {"example.com", "ctr-c", "db"}) {
    CAPTURE(name);
    Actions refused = s.handle(port('d'), dns_frame('d', kI, 4, dns_query(6, name, kDnsTypeA)));
    CHECK_FALSE(refused.forward);
    Answer r = dns_answer(refused.reply, 'd', kI, 4);
    CHECK(r.id == 6);
    CHECK(r.rcode == 5);
  }

  s.set_live_ports({port('a'), port('c'), port('d')});
  CHECK(s.handle(port('a'), dns_frame('a', kX, 2, dns_query(7, "ctr-b", kDnsTypeA))).forward);
  CHECK(dns_answer(s.handle(port('d'), dns_frame('d', kI, 4, dns_query(8, "ctr-b", kDnsTypeA))).reply, 'd', kI, 4)
            .rcode == 5);

  // The answer of a resolver goes back with the asker's id.
  const uint8_t answer[] = {0x99, 0x99, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0};
  Answer r = dns_answer(dns_reply_frame(a.forward->asker, answer), 'a', kX, 2);
  CHECK(r.id == 0x4242);
}

TEST_CASE("switch: malformed frames are dropped") {
  Switch s = make_switch();
  std::vector<uint8_t> dns = dns_frame('a', kX, 2, dns_query(1, "ctr-b", kDnsTypeA));
  std::vector<uint8_t> arp = build_arp(kArpRequest, {mac('a'), kX + 2}, {{}, kX + 1});
  const uint8_t echo[] = {0, 1, 0, 2};
  std::vector<uint8_t> ping = build_icmp({mac('a'), kX + 2}, {kGatewayMac, kX + 1}, kIcmpEchoRequest, 0, echo);
  for (const std::vector<uint8_t>* f : {&dns, &arp, &ping}) {
    REQUIRE_FALSE(s.handle(port('a'), *f).reply.empty());
    for (size_t n = 0; n < f->size(); ++n) {
      Actions a = s.handle(port('a'), Bytes(*f).first(n));
      CHECK(a.reply.empty());
      CHECK_FALSE(a.forward);
    }
  }
  // A DNS name that points to itself.
  std::vector<uint8_t> loop = {0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
  Actions a = s.handle(port('a'), dns_frame('a', kX, 2, loop));
  CHECK(a.reply.empty());
  CHECK_FALSE(a.forward);
  // A group address as a source.
  CHECK(s.handle(port('a'), build_ethernet(kBroadcastMac, kBroadcastMac, 0x88b5, echo)).ports.empty());
}

TEST_CASE("switch: forwarded queries are found by their fresh id, once, until they expire") {
  PendingQueries pending;
  auto now = PendingQueries::Clock::now();
  Asker first{port('a'), {mac('a'), kX + 2}, 1000, kX + 1, 7}, second = first;
  second.id = 8;
  uint16_t id1, id2;
  REQUIRE(pending.add(first, now, &id1));
  REQUIRE(pending.add(second, now, &id2));
  CHECK(id1 != id2);
  Asker got;
  uint16_t unknown = 0;
  while (unknown == id1 || unknown == id2) ++unknown;
  CHECK_FALSE(pending.take(unknown, now, &got));
  REQUIRE(pending.take(id2, now, &got));
  CHECK(got.id == 8);
  CHECK_FALSE(pending.take(id2, now, &got));  // a second answer
  CHECK_FALSE(pending.take(id1, now + PendingQueries::kTimeout, &got));

  // Full, until some expire.
  uint16_t id;
  for (size_t i = 0; i < PendingQueries::kMax; ++i) REQUIRE(pending.add(first, now, &id));
  CHECK_FALSE(pending.add(first, now, &id));
  CHECK(pending.add(first, now + PendingQueries::kTimeout, &id));
}

TEST_CASE("switch: host resolvers come from resolv.conf's nameserver lines") {
  ctk::testing::TempDir dir;
  std::string path = dir.path + "/resolv.conf", err;
  auto write = [&](const std::string& text) {
    ctk::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
    REQUIRE(ctk::write_all(fd.get(), text.data(), text.size(), path, &err));
  };
  write("# comment\nsearch example.com\nnameserver 10.0.0.53\nnameserver ::1\n  nameserver\t192.168.1.1 \n"
        "nameserver 300.1.1.1\noptions ndots:0\n");
  std::vector<Resolver> r = host_resolvers(path);
  REQUIRE(r.size() == 2);
  CHECK(r[0].ipv4 == 0x0a000035);
  CHECK(r[0].port == 53);
  CHECK(r[1].ipv4 == 0xc0a80101);
  write("nameserver fe80::1\n");
  CHECK(host_resolvers(path).empty());
  write("search example.com\n");
  REQUIRE(host_resolvers(path).size() == 1);
  CHECK(host_resolvers(path)[0].ipv4 == 0x7f000001);
  CHECK(host_resolvers(dir.path + "/missing").size() == 1);
}

TEST_CASE("switch: the runtime directory is named by a hash of the data root") {
  const char* old = ::getenv("XDG_RUNTIME_DIR");
  std::string saved = old ? old : "";
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  std::string a = switch_dir("/var/lib/ctk"), b = switch_dir("/home/u/.local/share/ctk");
  CHECK(a.starts_with("/run/user/1000/ctk/net-"));
  CHECK(a.size() == std::string("/run/user/1000/ctk/net-").size() + 12);
  CHECK(a != b);
  CHECK(a == switch_dir("/var/lib/ctk"));
  ::unsetenv("XDG_RUNTIME_DIR");
  CHECK(switch_dir("/var/lib/ctk") == "/tmp/ctk-" + std::to_string(::getuid()) + a.substr(a.rfind('/')));
  if (old) ::setenv("XDG_RUNTIME_DIR", saved.c_str(), 1);
}

namespace {

// A VM's end of a port: a datagram socket bound at ports/<name>.
struct TestPort {
  ctk::UniqueFd fd;
  std::string name;
  TestPort(const std::string& dir, char c) : name(port(c)) {
    fd.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.get() >= 0);
    sockaddr_un a = address(dir + "/ports/" + name);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    // Only so that a broken switch fails the test instead of hanging it.
    timeval guard{30, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  }
  static sockaddr_un address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof a.sun_path);
    path.copy(a.sun_path, path.size());
    return a;
  }
  void send(const std::string& dir, const std::vector<uint8_t>& f) {
    sockaddr_un a = address(dir + "/switch.sock");
    REQUIRE(::sendto(fd.get(), f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
            ssize_t(f.size()));
  }
  std::vector<uint8_t> receive() {
    std::vector<uint8_t> f(65536);
    ssize_t n = ::recv(fd.get(), f.data(), f.size(), 0);
    REQUIRE(n >= 0);
    f.resize(size_t(n));
    return f;
  }
};

// run_switch in a thread; it has bound switch.sock once it loads the
// topology, which the tests wait for.
struct RunningSwitch {
  SwitchConfig config;
  std::atomic<bool> stop{false};
  std::mutex mu;
  Topology current = topology();
  std::promise<void> loaded;
  bool first_load = true;
  bool ok = false;
  std::atomic<bool> returned{false};
  std::string err;
  std::thread thread;

  explicit RunningSwitch(const std::string& dir, std::vector<Resolver> resolvers = {},
                         std::chrono::milliseconds idle_timeout = std::chrono::seconds(10)) {
    config.dir = dir;
    config.idle_timeout = idle_timeout;
    config.generation_path = dir + "/generation";
    config.resolvers = std::move(resolvers);
    config.stop = &stop;
    config.load_topology = [this](Topology* t, std::string*) {
      std::lock_guard<std::mutex> lock(mu);
      *t = current;
      if (first_load) loaded.set_value();
      first_load = false;
      return true;
    };
    std::future<void> ready = loaded.get_future();
    thread = std::thread([this] {
      ok = run_switch(config, &err);
      returned = true;
      // Failed before loading: the test goes on, and fails.
      std::lock_guard<std::mutex> lock(mu);
      if (first_load) loaded.set_value();
      first_load = false;
    });
    ready.wait();
  }
  ~RunningSwitch() {
    stop = true;
    thread.join();
  }
};

}  // namespace

TEST_CASE("switch: run_switch carries a broadcast to the network's ports and no further") {
  ctk::testing::TempDir tmp;
  std::string dir = tmp.path + "/sw";
  std::filesystem::create_directories(dir + "/ports");
  TestPort b(dir, 'b'), c(dir, 'c'), d(dir, 'd');
  {
    RunningSwitch sw(dir);
    b.send(dir, frame(kBroadcastMac, 'b'));
    CHECK(d.receive() == frame(kBroadcastMac, 'b'));
    // c pings its gateway after b's broadcast was handled: had the
    // broadcast reached c, it would come before the echo reply.
    const uint8_t echo[] = {0, 1, 0, 1};
    c.send(dir, build_icmp({mac('c'), kY + 3}, {kGatewayMac, kY + 1}, kIcmpEchoRequest, 0, echo));
    std::vector<uint8_t> reply = c.receive();
    Ethernet eth;
    REQUIRE(parse_ethernet(reply, &eth));
    CHECK(eth.src == kGatewayMac);
    CHECK(eth.type == kEtherTypeIpv4);
    // Unicast from d to b, learned or not, arrives.
    d.send(dir, frame(mac('b'), 'd'));
    CHECK(b.receive() == frame(mac('b'), 'd'));
  }
}

TEST_CASE("switch: run_switch holds frames for a port that reads slower than they come") {
  ctk::testing::TempDir tmp;
  std::string dir = tmp.path + "/sw";
  std::filesystem::create_directories(dir + "/ports");
  TestPort b(dir, 'b'), d(dir, 'd');
  RunningSwitch sw(dir);
  // More than a datagram socket queues (net.unix.max_dgram_qlen, 10 by
  // default), all sent before d reads any.
  std::vector<std::vector<uint8_t>> sent;
  for (uint8_t i = 0; i < 100; ++i) {
    sent.push_back(frame(kBroadcastMac, 'b'));
    sent.back().back() = i;
    b.send(dir, sent.back());
  }
  for (const std::vector<uint8_t>& f : sent) CHECK(d.receive() == f);
}

TEST_CASE("switch: run_switch reaches a VM started again at its port's path") {
  ctk::testing::TempDir tmp;
  std::string dir = tmp.path + "/sw";
  std::filesystem::create_directories(dir + "/ports");
  TestPort b(dir, 'b');
  std::optional<TestPort> d(std::in_place, dir, 'd');
  RunningSwitch sw(dir);
  b.send(dir, frame(kBroadcastMac, 'b'));
  CHECK(d->receive() == frame(kBroadcastMac, 'b'));
  // As QEMU does: the old socket closed, the path unlinked and bound again.
  d.reset();
  REQUIRE(::unlink((dir + "/ports/" + port('d')).c_str()) == 0);
  d.emplace(dir, 'd');
  // A ping of the gateway first: the switch looks at the ports before answering.
  const uint8_t echo[] = {0, 1, 0, 1};
  b.send(dir, build_icmp({mac('b'), kX + 3}, {kGatewayMac, kX + 1}, kIcmpEchoRequest, 0, echo));
  b.receive();
  b.send(dir, frame(mac('d'), 'b'));
  CHECK(d->receive() == frame(mac('d'), 'b'));
}

TEST_CASE("switch: run_switch forwards unknown names, and reloads names when the generation changes") {
  ctk::testing::TempDir tmp;
  std::string dir = tmp.path + "/sw";
  std::filesystem::create_directories(dir + "/ports");
  // The host's resolver, on a port of the loopback address.
  ctk::UniqueFd resolver(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in ra{};
  ra.sin_family = AF_INET;
  ra.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t ra_len = sizeof ra;
  REQUIRE(::bind(resolver.get(), reinterpret_cast<sockaddr*>(&ra), sizeof ra) == 0);
  REQUIRE(::getsockname(resolver.get(), reinterpret_cast<sockaddr*>(&ra), &ra_len) == 0);
  TestPort a(dir, 'a'), b(dir, 'b');
  RunningSwitch sw(dir, {{INADDR_LOOPBACK, ntohs(ra.sin_port)}});

  std::vector<uint8_t> query = dns_query(0x5151, "example.com", kDnsTypeA);
  a.send(dir, dns_frame('a', kX, 2, query));
  uint8_t got[512];
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  ssize_t n = ::recvfrom(resolver.get(), got, sizeof got, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
  REQUIRE(n == ssize_t(query.size()));
  CHECK(std::equal(query.begin() + 2, query.end(), got + 2));  // the same query under another id
  DnsQuery q;
  REQUIRE(parse_dns_query(Bytes(got, size_t(n)), &q));
  const uint32_t address[] = {0x5db8d822};
  std::vector<uint8_t> response = build_dns_response(q, DnsRcode::kNoError, address);
  REQUIRE(::sendto(resolver.get(), response.data(), response.size(), 0, reinterpret_cast<sockaddr*>(&from),
                   from_len) == ssize_t(response.size()));
  Answer r = dns_answer(a.receive(), 'a', kX, 2);
  CHECK(r.id == 0x5151);
  CHECK(r.addresses == std::vector<uint32_t>{0x5db8d822});

  // b gets a new alias; the generation file says so.
  {
    std::lock_guard<std::mutex> lock(sw.mu);
    sw.current.networks[0].endpoints[1].aliases.push_back("cache");
  }
  std::string err;
  ctk::UniqueFd g(::open((dir + "/generation").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
  REQUIRE(ctk::write_all(g.get(), "2\n", 2, dir + "/generation", &err));
  a.send(dir, dns_frame('a', kX, 2, dns_query(0x5252, "cache", kDnsTypeA)));
  r = dns_answer(a.receive(), 'a', kX, 2);
  CHECK(r.id == 0x5252);
  CHECK(r.addresses == std::vector<uint32_t>{kX + 3});
}

TEST_CASE("switch: run_switch leaves when idle, or when another switch holds the lock") {
  ctk::testing::TempDir tmp;
  std::string dir = tmp.path + "/sw", err;
  SwitchConfig config;
  config.dir = dir;
  int loads = 0;
  config.load_topology = [&](Topology*, std::string*) {
    ++loads;
    return true;
  };
  config.idle_timeout = std::chrono::milliseconds(0);
  CHECK(run_switch(config, &err));
  CHECK(err.empty());
  CHECK(loads == 1);
  CHECK(std::filesystem::is_directory(dir + "/ports"));
  CHECK_FALSE(std::filesystem::exists(dir + "/switch.sock"));  // an idle switch leaves no socket

  ctk::UniqueFd lock(::open((dir + "/switch.lock").c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(::flock(lock.get(), LOCK_EX | LOCK_NB) == 0);
  config.idle_timeout = std::chrono::hours(1);
  CHECK(run_switch(config, &err));
  CHECK(loads == 1);
}

TEST_CASE("switch: an address with a new MAC is announced by gratuitous ARP to the live ports on its network") {
  Switch s = make_switch();
  CHECK(s.take_announcements().empty());  // a switch that starts changes nobody's MAC
  // c leaves y; d takes c's address there: b's and a's caches may hold c's MAC.
  Topology t = topology();
  t.networks[1].endpoints[1] = endpoint('d', kY + 3);
  s.set_topology(t);
  std::vector<Announcement> a = s.take_announcements();
  REQUIRE(a.size() == 1);
  CHECK(a[0].ports == ports({'a'}));  // y's live ports but d's own (c is on y no more)
  Ethernet eth;
  Arp arp;
  REQUIRE(parse_ethernet(a[0].frame, &eth));
  REQUIRE(parse_arp(eth.payload, &arp));
  CHECK(eth.dst == kBroadcastMac);
  CHECK(arp.op == kArpRequest);
  CHECK(arp.sender_mac == mac('d'));
  CHECK(arp.sender_ip == kY + 3);
  CHECK(arp.target_ip == kY + 3);
  CHECK(s.take_announcements().empty());  // once
  s.set_topology(t);  // nothing new
  CHECK(s.take_announcements().empty());
}

TEST_CASE("switch: run_switch leaves once idle when its directory is removed under a live port") {
  ctk::testing::TempDir tmp;
  std::string dir = tmp.path + "/sw";
  std::filesystem::create_directories(dir + "/ports");
  TestPort b(dir, 'b');
  RunningSwitch sw(dir, {}, std::chrono::milliseconds(0));
  // b's socket is still bound, but nothing can find it or the switch now.
  std::filesystem::remove_all(dir);
  for (int i = 0; i < 3000 && !sw.returned; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(sw.returned);
  CHECK(sw.ok);
}
