#include "network/networks.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <thread>

#include "base/file_io.h"
#include "base/random.h"
#include "base/test_dir.h"

using namespace ctk;
using namespace ctk::network;

namespace {

uint32_t ip(const char* text) {
  uint32_t a = 0;
  REQUIRE(parse_ipv4(text, &a));
  return a;
}

Subnet subnet(const char* text) {
  Subnet s;
  std::string err;
  REQUIRE_MESSAGE(parse_subnet(text, &s, &err), err);
  return s;
}

std::string generation(const Networks& networks) {
  std::string text, err;
  bool exists;
  REQUIRE(read_file(networks.generation_file(), &text, &exists, &err));
  return exists ? text : "";
}

// A network made as `network create` makes one, under the lock.
Network create(Networks& networks, const std::string& name, const char* cidr = nullptr) {
  Network n;
  n.name = name;
  if (cidr) n.subnet = subnet(cidr);
  oci::FileLock lock;
  Error err;
  REQUIRE(networks.lock(&lock, &err));
  REQUIRE_MESSAGE(networks.create(&n, &err), err.message);
  return n;
}

bool connect(Networks& networks, const std::string& network, Endpoint* ep, Error* err) {
  oci::FileLock lock;
  return networks.lock(&lock, err) && networks.connect(network, ep, err);
}

}  // namespace

TEST_CASE("network parsing: IPv4, subnets, MACs") {
  CHECK(ip("172.18.0.1") == 0xac120001);
  CHECK(ip("0.0.0.0") == 0);
  CHECK(ip("255.255.255.255") == 0xffffffff);
  uint32_t a;
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..3.4", "a.b.c.d", "1.2.3.4 ", "-1.2.3.4"})
    CHECK_MESSAGE(!parse_ipv4(bad, &a), bad);
  CHECK(format_ipv4(0xc0a81001) == "192.168.16.1");

  Subnet s = subnet("10.1.0.0/16");
  CHECK(s.address == 0x0a010000);
  CHECK(s.prefix_len == 16);
  CHECK(s.mask() == 0xffff0000);
  CHECK(s.broadcast() == 0x0a01ffff);
  CHECK(s.contains(ip("10.1.200.3")));
  CHECK_FALSE(s.contains(ip("10.2.0.1")));
  CHECK(s.overlaps(subnet("10.0.0.0/8")));
  CHECK(subnet("10.0.0.0/8").overlaps(s));
  CHECK_FALSE(s.overlaps(subnet("10.2.0.0/16")));
  CHECK(format_subnet(subnet("192.168.16.0/20")) == "192.168.16.0/20");
  CHECK(subnet("10.0.0.8/29").broadcast() == ip("10.0.0.15"));
  std::string err;
  CHECK_FALSE(parse_subnet("10.1.0.1/16", &s, &err));
  CHECK(err == "invalid subnet 10.1.0.1/16: host bits set (did you mean 10.1.0.0/16?)");
  CHECK_FALSE(parse_subnet("10.0.0.0/30", &s, &err));
  CHECK(err == "invalid subnet 10.0.0.0/30: too small, the longest prefix is /29");
  CHECK_FALSE(parse_subnet("10.0.0.0/7", &s, &err));
  CHECK(err.find("too large") != std::string::npos);
  for (const char* bad : {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/016", "10.0.0/16", "fd00::/64"}) {
    CHECK_MESSAGE(!parse_subnet(bad, &s, &err), bad);
    CHECK(err == "invalid subnet '" + std::string(bad) + "': want an IPv4 ADDRESS/LENGTH such as 172.18.0.0/16");
  }

  net::Mac mac;
  REQUIRE(parse_mac("02:42:AC:12:00:0a", &mac));
  CHECK(mac == net::Mac{0x02, 0x42, 0xac, 0x12, 0x00, 0x0a});
  CHECK(format_mac(mac) == "02:42:ac:12:00:0a");
  for (const char* bad : {"", "02:42:ac:12:00", "02:42:ac:12:00:0a:01", "2:42:ac:12:00:0a", "02-42-ac-12-00-0a",
                          "02:42:ac:12:00:0g"})
    CHECK_MESSAGE(!parse_mac(bad, &mac), bad);
  // docker's: 02:42 and the address.
  CHECK(mac_for(ip("172.17.0.2")) == net::Mac{0x02, 0x42, 0xac, 0x11, 0x00, 0x02});

  CHECK(valid_name("a"));
  CHECK(valid_name("my-net_1.x"));
  CHECK_FALSE(valid_name(""));
  CHECK(valid_name("test 01"));
  CHECK_FALSE(valid_name("-net"));
  CHECK_FALSE(valid_name(".lock"));
  CHECK_FALSE(valid_name("a/b"));
  CHECK_FALSE(valid_name("a:b"));
  CHECK_FALSE(valid_name("tab\there"));
  CHECK_FALSE(valid_name(std::string(256, 'n')));
}

TEST_CASE("networks: create, load, find, list, remove") {
  testing::TempDir dir;
  Networks networks;
  Error err;
  REQUIRE(networks.open(dir.path, &err));
  CHECK(generation(networks).empty());

  REQUIRE(networks.ensure_default(&err));
  Network bridge;
  REQUIRE(networks.load("bridge", &bridge, &err));
  CHECK(format_subnet(bridge.subnet) == "172.17.0.0/16");
  CHECK(format_ipv4(bridge.gateway) == "172.17.0.1");
  CHECK(bridge.driver == "bridge");
  CHECK(bridge.id.size() == 64);
  CHECK_FALSE(bridge.created.empty());
  CHECK(generation(networks) == "1\n");
  REQUIRE(networks.ensure_default(&err));  // there already: nothing changes
  CHECK(generation(networks) == "1\n");

  // Without --subnet: docker's pools in order, never bridge's.
  CHECK(format_subnet(create(networks, "a").subnet) == "172.18.0.0/16");
  CHECK(format_subnet(create(networks, "mine", "172.19.128.0/24").subnet) == "172.19.128.0/24");
  CHECK(format_subnet(create(networks, "b").subnet) == "172.20.0.0/16");  // 172.19/16 overlaps mine
  CHECK(generation(networks) == "4\n");
  Network given;
  given.name = "given";
  given.subnet = subnet("10.9.0.0/24");
  given.gateway = ip("10.9.0.254");
  given.internal = true;
  given.labels = {{"k", "v"}};
  {
    oci::FileLock lock;
    REQUIRE(networks.lock(&lock, &err));
    REQUIRE(networks.create(&given, &err));
  }
  Network loaded;
  REQUIRE(networks.load("given", &loaded, &err));
  CHECK(format_ipv4(loaded.gateway) == "10.9.0.254");
  CHECK(loaded.internal);
  CHECK(loaded.labels == given.labels);
  CHECK(loaded.id == given.id);
  CHECK(loaded.created == given.created);

  // Refusals leave nothing behind.
  struct Refusal {
    const char* name;
    Subnet subnet;
    const char* gateway;
    const char* driver;
    ErrorCode code;
    const char* message;
  };
  const Refusal refusals[] = {
      {"over", subnet("172.18.5.0/24"), "", "bridge", ErrorCode::conflict,
       "subnet 172.18.5.0/24 overlaps network a (172.18.0.0/16)"},
      {"over", subnet("10.0.0.0/8"), "", "bridge", ErrorCode::conflict,
       "subnet 10.0.0.0/8 overlaps network given (10.9.0.0/24)"},
      {"over", subnet("10.10.0.0/24"), "10.10.0.255", "bridge", ErrorCode::invalid,
       "gateway 10.10.0.255 is not a host address of subnet 10.10.0.0/24"},
      {"over", subnet("10.10.0.0/24"), "10.11.0.1", "bridge", ErrorCode::invalid,
       "gateway 10.11.0.1 is not a host address of subnet 10.10.0.0/24"},
      {"over", {ip("10.10.0.0"), 30}, "", "bridge", ErrorCode::invalid,
       "invalid subnet 10.10.0.0/30: too small, the longest prefix is /29"},
      {"a", {}, "", "bridge", ErrorCode::conflict, "network with name a already exists"},
      {"bad/name", {}, "", "bridge", ErrorCode::invalid,
       "invalid network name 'bad/name': 1 to 255 characters, without '/', ':' or control characters, not starting with '.' or '-'"},
      {"none", {}, "", "bridge", ErrorCode::invalid, "network name 'none' is reserved: it is a mode of --network"},
      {"ov", {}, "", "overlay", ErrorCode::invalid, "network driver 'overlay' is not supported: only bridge"},
  };
  for (const Refusal& r : refusals) {
    Network n;
    n.name = r.name;
    n.subnet = r.subnet;
    if (*r.gateway) n.gateway = ip(r.gateway);
    n.driver = r.driver;
    oci::FileLock lock;
    REQUIRE(networks.lock(&lock, &err));
    CHECK_FALSE(networks.create(&n, &err));
    CHECK(err.code == r.code);
    CHECK(err.message == r.message);
  }
  CHECK(generation(networks) == "5\n");

  // Left-overs of a create that died half-way are no networks.
  REQUIRE(::mkdir((dir.path + "/networks/.new-half").c_str(), 0700) == 0);
  REQUIRE(::mkdir((dir.path + "/networks/nojson").c_str(), 0700) == 0);
  std::vector<Network> all;
  REQUIRE(networks.list(&all, &err));
  std::vector<std::string> names;
  for (const Network& o : all) names.push_back(o.name);
  CHECK(names == std::vector<std::string>{"a", "b", "bridge", "given", "mine"});

  Network found;
  REQUIRE(networks.find("given", &found, &err));
  REQUIRE(networks.find(given.id, &found, &err));
  CHECK(found.name == "given");
  REQUIRE(networks.find(given.id.substr(0, 12), &found, &err));
  CHECK(found.name == "given");
  CHECK_FALSE(networks.find("nosuch", &found, &err));
  CHECK(err.code == ErrorCode::not_found);
  CHECK(err.message == "no such network: nosuch");
  CHECK_FALSE(networks.load("../x", &found, &err));
  CHECK(err.code == ErrorCode::not_found);

  REQUIRE(networks.remove("a", &err));
  CHECK(::access(networks.dir("a").c_str(), F_OK) != 0);
  CHECK(generation(networks) == "6\n");
  CHECK_FALSE(networks.remove("a", &err));
  CHECK(err.code == ErrorCode::not_found);
  CHECK_FALSE(networks.remove("bridge", &err));
  CHECK(err.message == "bridge is a pre-defined network and cannot be removed");
  // Its pool is free again.
  CHECK(format_subnet(create(networks, "c").subnet) == "172.18.0.0/16");
}

TEST_CASE("networks: the /16 pools, then the /20 ones") {
  testing::TempDir dir;
  Networks networks;
  Error err;
  REQUIRE(networks.open(dir.path, &err));
  REQUIRE(networks.ensure_default(&err));
  for (int i = 18; i <= 31; ++i) create(networks, std::to_string(i));
  CHECK(format_subnet(create(networks, "x").subnet) == "192.168.0.0/20");
  CHECK(format_subnet(create(networks, "y", "192.168.20.0/24").subnet) == "192.168.20.0/24");
  CHECK(format_subnet(create(networks, "z").subnet) == "192.168.32.0/20");
}

TEST_CASE("networks: connect and disconnect take and free addresses") {
  testing::TempDir dir;
  Networks networks;
  Error err;
  REQUIRE(networks.open(dir.path, &err));
  create(networks, "small", "10.0.0.8/29");  // 10.0.0.9 the gateway, .10 to .14 for containers
  std::string before = generation(networks);

  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(random_id());
  Endpoint a;
  a.container_id = ids[0];
  a.aliases = {"web", "www"};
  REQUIRE(connect(networks, "small", &a, &err));
  CHECK(format_ipv4(a.ipv4) == "10.0.0.10");
  CHECK(a.mac == mac_for(a.ipv4));
  CHECK(a.id.size() == 64);
  CHECK(generation(networks) != before);

  // A chosen address: inside the subnet, neither its ends nor the gateway's, free.
  Endpoint b;
  b.container_id = ids[1];
  auto refused = [&](const char* address, ErrorCode code, const std::string& message) {
    b.ipv4 = ip(address);
    CHECK_FALSE(connect(networks, "small", &b, &err));
    CHECK(err.code == code);
    CHECK(err.message == message);
  };
  refused("10.0.0.10", ErrorCode::conflict, "10.0.0.10 is in use on network small (10.0.0.8/29)");
  refused("10.0.0.9", ErrorCode::conflict, "10.0.0.9 is the gateway's address on network small (10.0.0.8/29)");
  refused("10.0.0.8", ErrorCode::invalid, "10.0.0.8 is not a host address on network small (10.0.0.8/29)");
  refused("10.0.0.15", ErrorCode::invalid, "10.0.0.15 is not a host address on network small (10.0.0.8/29)");
  refused("10.0.0.16", ErrorCode::invalid, "10.0.0.16 is not a host address on network small (10.0.0.8/29)");
  b.ipv4 = ip("10.0.0.13");
  b.mac = {0x02, 0, 0, 0, 0, 0x13};
  REQUIRE(connect(networks, "small", &b, &err));
  CHECK(b.mac == net::Mac{0x02, 0, 0, 0, 0, 0x13});

  // The lowest free addresses, then none.
  std::vector<std::string> got;
  for (int i = 2; i < 6; ++i) {
    Endpoint e;
    e.container_id = ids[i];
    if (connect(networks, "small", &e, &err)) got.push_back(format_ipv4(e.ipv4));
  }
  CHECK(got == std::vector<std::string>{"10.0.0.11", "10.0.0.12", "10.0.0.14"});
  CHECK(err.code == ErrorCode::conflict);
  CHECK(err.message == "no free address on network small (10.0.0.8/29)");
  Endpoint again;
  again.container_id = ids[0];
  CHECK_FALSE(connect(networks, "small", &again, &err));
  CHECK(err.code == ErrorCode::conflict);
  CHECK(err.message == "container " + ids[0].substr(0, 12) + " is already connected to network small");

  std::vector<Endpoint> eps;
  REQUIRE(networks.endpoints("small", &eps, &err));
  REQUIRE(eps.size() == 5);
  auto it = std::find_if(eps.begin(), eps.end(), [&](const Endpoint& e) { return e.container_id == ids[0]; });
  REQUIRE(it != eps.end());
  CHECK(it->id == a.id);
  CHECK(it->aliases == a.aliases);
  CHECK(it->ipv4 == a.ipv4);
  CHECK(it->mac == a.mac);

  // The networks of a container, by name.
  create(networks, "aaa", "10.1.0.0/24");
  Endpoint other;
  other.container_id = ids[0];
  REQUIRE(connect(networks, "aaa", &other, &err));
  std::vector<Networks::Attachment> of;
  REQUIRE(networks.networks_of(ids[0], &of, &err));
  REQUIRE(of.size() == 2);
  CHECK(of[0].network.name == "aaa");
  CHECK(format_ipv4(of[0].endpoint.ipv4) == "10.1.0.2");
  CHECK(of[1].network.name == "small");
  CHECK(of[1].endpoint.aliases == a.aliases);

  before = generation(networks);
  {
    oci::FileLock lock;
    REQUIRE(networks.lock(&lock, &err));
    REQUIRE(networks.disconnect("small", ids[0], &err));
    CHECK(generation(networks) != before);
    CHECK_FALSE(networks.disconnect("small", ids[0], &err));
    CHECK(err.code == ErrorCode::not_found);
    CHECK(err.message == "container " + ids[0].substr(0, 12) + " is not connected to network small");
    CHECK_FALSE(networks.disconnect("nosuch", ids[0], &err));
    CHECK(err.message == "no such network: nosuch");
  }
  of.clear();
  REQUIRE(networks.networks_of(ids[0], &of, &err));
  REQUIRE(of.size() == 1);
  CHECK(of[0].network.name == "aaa");
  // Its address is free again.
  Endpoint last;
  last.container_id = ids[5];
  REQUIRE(connect(networks, "small", &last, &err));
  CHECK(format_ipv4(last.ipv4) == "10.0.0.10");

  Endpoint bad;
  bad.container_id = "abc";
  CHECK_FALSE(connect(networks, "aaa", &bad, &err));
  CHECK(err.code == ErrorCode::invalid);
  bad.container_id = ids[1];
  CHECK_FALSE(connect(networks, "nosuch", &bad, &err));
  CHECK(err.code == ErrorCode::not_found);

  // A damaged endpoint is an error, never a free address.
  std::ofstream(networks.dir("aaa") + "/endpoints/" + ids[3] + ".json") << "{";
  CHECK_FALSE(connect(networks, "aaa", &bad, &err));
  CHECK(err.code == ErrorCode::failure);

  // Removing a network takes its endpoints.
  REQUIRE(networks.remove("small", &err));
  of.clear();
  REQUIRE(networks.networks_of(ids[5], &of, &err));
  CHECK(of.empty());
}

TEST_CASE("networks: concurrent connects get distinct addresses") {
  testing::TempDir dir;
  Networks networks;
  Error err;
  REQUIRE(networks.open(dir.path, &err));
  create(networks, "busy", "10.2.0.0/24");
  // Each as a `ctk run` of its own would: its own Networks, its own lock.
  constexpr int kRuns = 8;
  std::vector<Endpoint> eps(kRuns);
  std::vector<Error> errors(kRuns);
  std::vector<bool> ok(kRuns);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i)
    threads.emplace_back([&, i] {
      Networks mine;
      eps[i].container_id = random_id();
      ok[i] = mine.open(dir.path, &errors[i]) && connect(mine, "busy", &eps[i], &errors[i]);
    });
  for (std::thread& t : threads) t.join();
  std::set<uint32_t> addresses;
  for (int i = 0; i < kRuns; ++i) {
    CHECK_MESSAGE(ok[i], errors[i].message);
    addresses.insert(eps[i].ipv4);
  }
  CHECK(addresses.size() == kRuns);
  CHECK(*addresses.begin() == ip("10.2.0.2"));
  CHECK(*addresses.rbegin() == ip("10.2.0.9"));
  std::vector<Endpoint> listed;
  REQUIRE(networks.endpoints("busy", &listed, &err));
  CHECK(listed.size() == kRuns);
  CHECK(generation(networks) == std::to_string(1 + kRuns) + "\n");
}

TEST_CASE("network filters") {
  Network n;
  n.name = "proj_default";
  n.id = "4f2a" + std::string(60, '0');
  n.labels = {{"com.docker.compose.project", "proj"}, {"team", ""}};
  Network bridge;
  bridge.name = "bridge";
  auto match = [](const Network& net, const std::string& text, bool in_use, bool prune = false) {
    Filter f;
    std::string err;
    INFO(text);
    REQUIRE_MESSAGE(parse_filter(text, prune, &f, &err), err);
    return matches(net, in_use, {f});
  };
  // name and id: a part of them, as docker's filters match.
  CHECK(match(n, "name=proj_default", false));
  CHECK(match(n, "name=default", false));
  CHECK_FALSE(match(n, "name=other", false));
  CHECK(match(n, "id=4f2a", false));
  CHECK_FALSE(match(n, "id=ffff", false));
  CHECK(match(n, "driver=bridge", false));
  CHECK_FALSE(match(n, "driver=overlay", false));
  CHECK(match(n, "scope=local", false));
  CHECK_FALSE(match(n, "scope=swarm", false));
  CHECK(match(n, "type=custom", false));
  CHECK_FALSE(match(n, "type=builtin", false));
  CHECK(match(bridge, "type=builtin", false));
  CHECK(match(n, "label=com.docker.compose.project=proj", false));
  CHECK_FALSE(match(n, "label=com.docker.compose.project=other", false));
  CHECK(match(n, "label=team", false));
  // dangling: nobody on it; bridge never is.
  CHECK(match(n, "dangling=true", false));
  CHECK_FALSE(match(n, "dangling=true", true));
  CHECK(match(n, "dangling=false", true));
  CHECK_FALSE(match(bridge, "dangling=true", false));
  CHECK(match(n, "label!=team=x", false, true));
  CHECK_FALSE(match(n, "label!=team", false, true));
  Filter f;
  std::string err;
  CHECK_FALSE(parse_filter("type=other", false, &f, &err));
  CHECK(err.find("custom or builtin") != std::string::npos);
  CHECK_FALSE(parse_filter("scope=galaxy", false, &f, &err));
  CHECK_FALSE(parse_filter("name=x", true, &f, &err));  // prune takes labels only
  CHECK_FALSE(parse_filter("label!=x", false, &f, &err));
  CHECK_FALSE(parse_filter("color=red", false, &f, &err));
}

TEST_CASE("predefined networks") {
  CHECK(predefined("bridge"));
  CHECK(predefined("host"));
  CHECK(predefined("none"));
  CHECK_FALSE(predefined("bridge2"));
  CHECK_FALSE(predefined(""));
}

TEST_CASE("networks: an IP range is where addresses are picked") {
  Subnet s = subnet("10.1.0.0/16"), r;
  std::string why;
  CHECK(parse_ip_range("10.1.5.0/24", s, &r, &why));
  CHECK(format_subnet(r) == "10.1.5.0/24");
  CHECK(parse_ip_range("10.1.5.7/32", s, &r, &why));  // one address is a range too
  CHECK_FALSE(parse_ip_range("10.2.0.0/24", s, &r, &why));
  CHECK(why == "IP range 10.2.0.0/24 is not inside subnet 10.1.0.0/16");
  CHECK_FALSE(parse_ip_range("10.0.0.0/8", s, &r, &why));  // larger than the subnet
  CHECK_FALSE(parse_ip_range("10.1.5.1/24", s, &r, &why));
  CHECK(why.find("host bits") != std::string::npos);
  CHECK_FALSE(parse_ip_range("10.1.5.0", s, &r, &why));

  testing::TempDir dir;
  Networks networks;
  Error err;
  REQUIRE(networks.open(dir.path, &err));
  Network n;
  n.name = "ranged";
  n.subnet = s;
  REQUIRE(parse_ip_range("10.1.7.252/30", s, &n.ip_range, &why));
  {
    oci::FileLock lock;
    REQUIRE(networks.lock(&lock, &err));
    REQUIRE_MESSAGE(networks.create(&n, &err), err.message);
  }
  Network loaded;
  REQUIRE(networks.load("ranged", &loaded, &err));
  CHECK(format_subnet(loaded.ip_range) == "10.1.7.252/30");
  CHECK(format_ipv4(loaded.gateway) == "10.1.0.1");  // the subnet's, not the range's
  // The range's four addresses, then none; a chosen one outside it still works.
  for (const char* want : {"10.1.7.252", "10.1.7.253", "10.1.7.254", "10.1.7.255"}) {
    Endpoint ep;
    ep.container_id = random_id();
    REQUIRE_MESSAGE(connect(networks, "ranged", &ep, &err), err.message);
    CHECK(format_ipv4(ep.ipv4) == want);
  }
  Endpoint full;
  full.container_id = random_id();
  CHECK_FALSE(connect(networks, "ranged", &full, &err));
  CHECK(err.code == ErrorCode::conflict);
  full.ipv4 = ip("10.1.0.50");
  CHECK(connect(networks, "ranged", &full, &err));

  // A range outside the subnet is refused at create too.
  Network bad;
  bad.name = "bad";
  bad.subnet = subnet("10.2.0.0/16");
  bad.ip_range = subnet("10.3.0.0/24");
  oci::FileLock lock;
  REQUIRE(networks.lock(&lock, &err));
  CHECK_FALSE(networks.create(&bad, &err));
  CHECK(err.code == ErrorCode::invalid);
}
