#include "container/networking.h"

#include <doctest/doctest.h>

using namespace ctk;
using namespace ctk::container;
using nlohmann::json;

namespace {

const std::string kWeb(64, 'a'), kDb(64, 'b');

net::Topology two_networks() {
  net::Topology t;
  net::Network app{"app", 0xac120000, 16, 0xac120001, false, {}};
  app.endpoints = {{kWeb, "web", "", {"www"}, 0xac120002, {2, 0x42, 0xac, 0x12, 0, 2}},
                   {kDb, "db", "", {}, 0xac120003, {2, 0x42, 0xac, 0x12, 0, 3}}};
  net::Network sealed{"sealed", 0xac130000, 24, 0xac130001, true, {}};
  sealed.endpoints = {{kDb, "db", "", {}, 0xac130002, {2, 0x42, 0xac, 0x12, 0, 3}}};
  t.networks = {app, sealed};
  return t;
}

Spec spec_of(const std::string& id, const std::string& mode) {
  Spec s;
  s.id = id;
  s.hostname = id == kWeb ? "web" : "db";
  s.network = mode;
  return s;
}

}  // namespace

TEST_CASE("networking: a container's addresses, its NIC's MAC, NAT unless every network is internal") {
  net::Topology t = two_networks();
  Networking db = plan_networking(spec_of(kDb, "app"), t);
  REQUIRE(db.attachments.size() == 2);
  CHECK(db.attachments[0].network == "app");
  CHECK(db.attachments[1].prefix_len == 24);
  CHECK(db.mac == "02:42:ac:12:00:03");
  CHECK(db.nat);  // app is not internal

  t.networks.erase(t.networks.begin());
  Networking sealed = plan_networking(spec_of(kDb, "sealed"), t);
  CHECK_FALSE(sealed.nat);
  CHECK(plan_networking(spec_of(kWeb, "none"), t).attachments.empty());
  CHECK(plan_networking(spec_of(kWeb, "nat"), t).nat);
}

TEST_CASE("networking: the VM's NICs, the NAT one first, the switch port named by the short id") {
  Networking n = plan_networking(spec_of(kWeb, "app"), two_networks());
  vz::VmConfig vm;
  add_nics(n, "/run/ctk/net-x", kWeb, &vm);
  CHECK(vm.network == vz::Network::nat);
  REQUIRE(vm.nics.size() == 1);
  CHECK(vm.nics[0].local == "/run/ctk/net-x/ports/aaaaaaaaaaaa");
  CHECK(vm.nics[0].remote == "/run/ctk/net-x/switch.sock");
  CHECK(vm.nics[0].mac == "02:42:ac:12:00:02");
  vz::VmConfig none;
  add_nics(plan_networking(spec_of(kWeb, "none"), {}), "/d", kWeb, &none);
  CHECK(none.network == vz::Network::none);
  CHECK(none.nics.empty());
}

TEST_CASE("networking: guest calls set the addresses, NAT's route, resolv.conf at the gateway and hosts") {
  Networking n = plan_networking(spec_of(kDb, "app"), two_networks());
  auto calls = network_calls(spec_of(kDb, "app"), n, "/run/ctk/rootfs");
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].args["mac"] == vz::kNatMac);
  CHECK(calls[0].args["gateway"] == "10.0.2.2");
  CHECK(calls[1].args == json{{"mac", "02:42:ac:12:00:03"},
                              {"addresses", {"172.18.0.3/16", "172.19.0.2/24"}},
                              {"mtu", 65520}});
  CHECK(calls[2].op == "dns");
  CHECK(calls[2].args["nameservers"] == json{"172.18.0.1"});
  CHECK(calls[2].args["options"] == json{"ndots:0"});
  CHECK(calls[2].args["hosts"] == json{{{"address", "172.18.0.3"}, {"names", {"db"}}}});

  auto nat_only = network_calls(spec_of(kWeb, "nat"), plan_networking(spec_of(kWeb, "nat"), {}), "/r");
  REQUIRE(nat_only.size() == 2);
  CHECK(nat_only[1].args["nameservers"] == json{"10.0.2.3"});
  auto none = network_calls(spec_of(kWeb, "none"), {}, "/r");
  REQUIRE(none.size() == 1);
  CHECK_FALSE(none[0].args.contains("nameservers"));
}

TEST_CASE("networking: a running VM's change adds and removes addresses on its NIC; none without a NIC") {
  net::Topology t = two_networks();
  Networking before = plan_networking(spec_of(kDb, "app"), t);
  t.networks[0].endpoints.pop_back();  // db leaves app
  t.networks[1].endpoints[0].ipv4 = 0xac130009;
  Networking after = plan_networking(spec_of(kDb, "app"), t);
  proto::Client::Call call;
  Error err;
  REQUIRE(change_call(before, after, &call, &err));
  CHECK(call.op == "network");
  CHECK(call.args["mac"] == before.mac);
  CHECK(call.args["addresses"] == json{"172.19.0.9/24"});
  CHECK(call.args["remove"] == json{"172.18.0.3/16", "172.19.0.2/24"});

  CHECK_FALSE(change_call(Networking{}, after, &call, &err));
  CHECK(err.code == ErrorCode::invalid);
}
