#include <doctest/doctest.h>

#include "api/handlers.h"

namespace ctk::api {

using nlohmann::json;

namespace {

// network_from_body's error for a body, "" when it is accepted.
std::string refusal(const char* text, ErrorCode* code = nullptr) {
  network::Network n;
  std::string warning;
  Error err;
  if (network_from_body(json::parse(text), &n, &warning, &err)) return "";
  if (code) *code = err.code;
  return err.message;
}

}  // namespace

TEST_CASE("POST /networks/create bodies") {
  // What docker network create --subnet --ip-range --gateway --internal --label -o sends.
  network::Network n;
  std::string warning;
  Error err;
  REQUIRE_MESSAGE(network_from_body(json::parse(R"({"Name": "front", "CheckDuplicate": true, "Driver": "bridge",
      "Scope": "", "EnableIPv6": false, "IPAM": {"Driver": "default", "Options": {},
      "Config": [{"Subnet": "10.9.0.0/16", "IPRange": "10.9.4.0/24", "Gateway": "10.9.0.254"}]},
      "Internal": true, "Attachable": true, "Ingress": false, "ConfigOnly": false,
      "ConfigFrom": null, "Options": {"com.docker.network.bridge.name": "br0"}, "Labels": {"a": "b"}})"),
                                    &n, &warning, &err),
                  err.message);
  CHECK(n.name == "front");
  CHECK(network::format_subnet(n.subnet) == "10.9.0.0/16");
  CHECK(network::format_subnet(n.ip_range) == "10.9.4.0/24");
  CHECK(network::format_ipv4(n.gateway) == "10.9.0.254");
  CHECK(n.internal);
  CHECK(n.labels == std::map<std::string, std::string>{{"a", "b"}});
  CHECK(warning == "ctk ignores the driver options com.docker.network.bridge.name");

  // docker-compose's: no IPAM config, the pools pick the subnet.
  network::Network auto_subnet;
  REQUIRE(network_from_body(json::parse(R"({"Name": "p_default", "Driver": "bridge", "IPAM": null,
      "Labels": {"com.docker.compose.network": "default", "com.docker.compose.project": "p"}})"),
                            &auto_subnet, &warning, &err));
  CHECK(auto_subnet.subnet.prefix_len == 0);
  CHECK(warning.empty());

  ErrorCode code{};
  CHECK(refusal(R"({"Name": "x", "EnableIPv6": true})", &code) ==
        "ctk networks are IPv4 only: EnableIPv6 is not supported");
  CHECK(code == ErrorCode::invalid);
  CHECK(refusal(R"({"Name": "x", "Driver": "overlay"})", &code).find("not supported") != std::string::npos);
  CHECK(code == ErrorCode::invalid);
  CHECK(refusal(R"({"Name": "x", "Driver": "weave"})", &code) == "plugin \"weave\" not found");
  CHECK(code == ErrorCode::not_found);
  CHECK(refusal(R"({"Name": "x", "IPAM": {"Driver": "dhcp"}})", &code) == "plugin \"dhcp\" not found");
  CHECK_FALSE(
      refusal(R"({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.1.0.0/16"}, {"Subnet": "10.2.0.0/16"}]}})").empty());
  CHECK_FALSE(refusal(R"({"Name": "x", "IPAM": {"Config": [{"Subnet": "fd00::/64"}]}})").empty());
  CHECK_FALSE(refusal(R"({"Name": "x", "IPAM": {"Config": [{"Gateway": "10.1.0.1"}]}})").empty());
  CHECK_FALSE(
      refusal(R"({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.1.0.0/16", "IPRange": "10.2.0.0/24"}]}})").empty());
  CHECK_FALSE(refusal(R"({"Name": "x", "IPAM": {"Config": [{"Subnet": "nonsense"}]}})").empty());
  CHECK_FALSE(
      refusal(R"({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.1.0.0/16", "Gateway": "10.1.0.300"}]}})").empty());
  CHECK_FALSE(refusal(R"({"Name": "x", "IPAM": {"Config": {"Subnet": "10.1.0.0/16"}}})").empty());
  CHECK_FALSE(refusal(R"({"Name": "x", "Ingress": true})").empty());
  CHECK_FALSE(refusal(R"({"Name": "x", "Scope": "swarm"})").empty());
  CHECK(refusal(R"({"Driver": "bridge"})") == "a network needs a Name");
  CHECK(refusal(R"({"Name": ["x"]})", &code) == "invalid request: Name must be a string");
  CHECK(code == ErrorCode::invalid);
  CHECK_FALSE(refusal(R"({"Name": "x", "Internal": "yes"})").empty());
  CHECK_FALSE(refusal(R"({"Name": "x", "Labels": {"a": 1}})").empty());
  CHECK_FALSE(refusal("[]").empty());
}

TEST_CASE("network connect and disconnect bodies") {
  std::string container;
  bool force = false;
  network::Endpoint ep;
  Error err;
  REQUIRE(endpoint_from_body(json::parse(R"({"Container": "c1", "EndpointConfig": {"Aliases": ["web"],
      "IPAMConfig": {"IPv4Address": "10.9.0.20", "IPv6Address": ""}, "Links": null, "MacAddress": ""}})"),
                             &container, &force, &ep, &err));
  CHECK(container == "c1");
  CHECK_FALSE(force);
  CHECK(ep.aliases == std::vector<std::string>{"web"});
  CHECK(network::format_ipv4(ep.ipv4) == "10.9.0.20");

  network::Endpoint plain;
  REQUIRE(endpoint_from_body(json::parse(R"({"Container": "c1", "Force": true})"), &container, &force, &plain, &err));
  CHECK(force);
  CHECK(plain.ipv4 == 0);

  auto refused = [&](const char* text) {
    network::Endpoint e;
    std::string ct;
    bool f = false;
    INFO(text);
    CHECK_FALSE(endpoint_from_body(json::parse(text), &ct, &f, &e, &err));
    CHECK(err.code == ErrorCode::invalid);
  };
  refused(R"({})");
  refused(R"({"Container": 7})");
  refused(R"({"Container": "c1", "Force": "yes"})");
  refused(R"({"Container": "c1", "EndpointConfig": []})");
  refused(R"({"Container": "c1", "EndpointConfig": {"Aliases": "web"}})");
  refused(R"({"Container": "c1", "EndpointConfig": {"IPAMConfig": {"IPv4Address": "10.1"}}})");
  refused(R"({"Container": "c1", "EndpointConfig": {"IPAMConfig": {"IPv6Address": "fd00::5"}}})");
  refused(R"({"Container": "c1", "EndpointConfig": {"Links": ["db:db"]}})");
  refused(R"({"Container": "c1", "EndpointConfig": {"MacAddress": "02:42:00:00:00:01"}})");
}

}  // namespace ctk::api
