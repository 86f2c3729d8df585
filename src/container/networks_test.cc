#include "container/networks.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/file_io.h"
#include "base/test_dir.h"

using namespace ctk;
using namespace ctk::container;

namespace {

struct Root {
  testing::TempDir dir;
  Containers containers;
  network::Networks networks;
  Error err;

  Root() {
    REQUIRE(containers.open(dir.path, &err));
    REQUIRE(networks.open(dir.path, &err));
    REQUIRE(networks.ensure_default(&err));
  }

  std::string container(const std::string& name, const std::string& hostname = "") {
    Spec s;
    s.name = name;
    REQUIRE(containers.create(&s, &err));
    // As create() sets it: the name unless --hostname.
    Container ct(containers, s.id);
    REQUIRE(ct.load(&err));
    ct.spec.hostname = hostname.empty() ? name : hostname;
    REQUIRE(ct.save_spec(&err));
    return s.id;
  }

  network::Endpoint connect(const std::string& network, const std::string& id, std::vector<std::string> aliases = {}) {
    network::Endpoint ep;
    ep.container_id = id;
    ep.aliases = std::move(aliases);
    REQUIRE_MESSAGE(connect_network(containers, networks, network, &ep, &err), err.message);
    return ep;
  }

  void create_network(const std::string& name) {
    network::Network n;
    n.name = name;
    oci::FileLock lock;
    REQUIRE(networks.lock(&lock, &err));
    REQUIRE(networks.create(&n, &err));
  }
};

}  // namespace

TEST_CASE("container networks: the topology has the containers' names") {
  Root r;
  r.create_network("app");
  std::string web = r.container("web", "www.example"), db = r.container("db");
  r.connect("app", web, {"frontend"});
  r.connect("app", db);
  r.connect("bridge", db);

  net::Topology t;
  REQUIRE(load_topology(r.dir.path, &t, &r.err));
  REQUIRE(t.networks.size() == 2);
  const net::Network& app = t.networks[0];
  CHECK(app.name == "app");
  CHECK(network::format_ipv4(app.subnet) == "172.18.0.0");
  CHECK(app.prefix_len == 16);
  CHECK(network::format_ipv4(app.gateway) == "172.18.0.1");
  REQUIRE(app.endpoints.size() == 2);
  for (const net::Endpoint& ep : app.endpoints) {
    if (ep.container_id == web) {
      CHECK(ep.name == "web");
      CHECK(ep.hostname == "www.example");
      CHECK(ep.aliases == std::vector<std::string>{"frontend"});
    } else {
      CHECK(ep.container_id == db);
      CHECK(ep.name == "db");
      CHECK(ep.hostname == "");  // the default: its name
    }
    CHECK(ep.mac == network::mac_for(ep.ipv4));
  }
  CHECK(t.networks[1].name == "bridge");
  REQUIRE(t.networks[1].endpoints.size() == 1);
  CHECK(network::format_ipv4(t.networks[1].endpoints[0].ipv4) == "172.17.0.2");

  // A rename is seen at once.
  REQUIRE(r.containers.rename(db, "database", &r.err));
  t = {};
  REQUIRE(load_topology(r.dir.path, &t, &r.err));
  CHECK(t.networks[1].endpoints[0].name == "database");
}

TEST_CASE("container networks: in use until the container is removed") {
  Root r;
  r.create_network("app");
  std::string web = r.container("web"), db = r.container("db");
  network::Endpoint first = r.connect("app", web);
  r.connect("app", db);

  std::vector<std::string> users;
  REQUIRE(network_users(r.containers, r.networks, "app", &users, &r.err));
  CHECK(users == std::vector<std::string>{"db", "web"});
  {
    oci::FileLock lock;
    REQUIRE(r.networks.lock(&lock, &r.err));
    CHECK_FALSE(remove_network(r.containers, r.networks, "app", &r.err));
    CHECK(r.err.code == ErrorCode::conflict);
    CHECK(r.err.message == "network app is in use by containers db, web");
    CHECK_FALSE(remove_network(r.containers, r.networks, "bridge", &r.err));
    CHECK(r.err.message == "bridge is a pre-defined network and cannot be removed");
  }

  // rm frees its address, which the next container gets.
  REQUIRE(r.containers.remove(web, &r.err));
  std::vector<network::Networks::Attachment> on;
  REQUIRE(r.networks.networks_of(web, &on, &r.err));
  CHECK(on.empty());
  std::string api = r.container("api");
  CHECK(r.connect("app", api).ipv4 == first.ipv4);

  // The network inspect object.
  network::Network app;
  REQUIRE(r.networks.load("app", &app, &r.err));
  nlohmann::json j;
  REQUIRE(network_inspect_json(r.containers, r.networks, app, &j, &r.err));
  CHECK(j["Name"] == "app");
  CHECK(j["Id"] == app.id);
  CHECK(j["Driver"] == "bridge");
  CHECK(j["Scope"] == "local");
  CHECK(j["IPAM"]["Config"] == nlohmann::json::parse(R"([{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}])"));
  CHECK(j["Labels"] == nlohmann::json::object());
  REQUIRE(j["Containers"].size() == 2);
  const nlohmann::json& c = j["Containers"][api];
  CHECK(c["Name"] == "api");
  CHECK(c["IPv4Address"] == "172.18.0.2/16");
  CHECK(c["MacAddress"] == "02:42:ac:12:00:02");
  CHECK(c["EndpointID"].get<std::string>().size() == 64);

  REQUIRE(r.containers.remove(db, &r.err));
  REQUIRE(r.containers.remove(api, &r.err));
  oci::FileLock lock;
  REQUIRE(r.networks.lock(&lock, &r.err));
  REQUIRE(remove_network(r.containers, r.networks, "app", &r.err));
}

TEST_CASE("container networks: endpoints of containers that are gone") {
  Root r;
  r.create_network("app");
  std::string web = r.container("web");
  network::Endpoint ep = r.connect("app", web);
  // A removal that died before freeing the address: the directory gone, the endpoint left.
  REQUIRE(::rename(r.containers.dir(web).c_str(), (r.dir.path + "/elsewhere").c_str()) == 0);
  net::Topology t;
  REQUIRE(load_topology(r.dir.path, &t, &r.err));
  CHECK(t.networks[0].endpoints.empty());
  std::vector<std::string> users;
  REQUIRE(network_users(r.containers, r.networks, "app", &users, &r.err));
  CHECK(users.empty());
  // The next connect drops it: its address is the next container's.
  CHECK(r.connect("app", r.container("db")).ipv4 == ep.ipv4);
  std::vector<network::Endpoint> eps;
  REQUIRE(r.networks.endpoints("app", &eps, &r.err));
  CHECK(eps.size() == 1);
}

TEST_CASE("container networks: a running container whose supervisor does not answer keeps its records as they were") {
  Root r;
  r.create_network("app");
  std::string web = r.container("web");
  network::Endpoint ep = r.connect("app", web, {"w"});
  // Its supervisor's lock held: it runs; but no supervisor serves its socket.
  UniqueFd held(::open(Container(r.containers, web).path("lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(::flock(held.get(), LOCK_EX) == 0);

  network::Endpoint more;
  more.container_id = web;
  CHECK_FALSE(connect_network(r.containers, r.networks, "bridge", &more, &r.err));
  CHECK_FALSE(r.err.message.empty());
  std::vector<network::Networks::Attachment> on;
  REQUIRE(r.networks.networks_of(web, &on, &r.err));
  REQUIRE(on.size() == 1);  // the record undone

  CHECK_FALSE(disconnect_network(r.containers, r.networks, "app", web, &r.err));
  on.clear();
  REQUIRE(r.networks.networks_of(web, &on, &r.err));
  REQUIRE(on.size() == 1);  // restored as it was
  CHECK(on[0].endpoint.ipv4 == ep.ipv4);
  CHECK(on[0].endpoint.id == ep.id);
  CHECK(on[0].endpoint.aliases == ep.aliases);

  held.reset();
  REQUIRE(disconnect_network(r.containers, r.networks, "app", web, &r.err));
  CHECK_FALSE(disconnect_network(r.containers, r.networks, "app", web, &r.err));
  CHECK(r.err.code == ErrorCode::not_found);
}
