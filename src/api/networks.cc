// /networks: docker's network endpoints over ctk's networks (network/, and
// container/networks.h for what involves containers), which `ctk network`
// shares. Every handler sees `bridge`, made on first use as the CLI makes it.
#include <algorithm>

#include "api/body.h"
#include "api/handlers.h"
#include "api/server_state.h"
#include "container/networks.h"

namespace ctk::api {

using nlohmann::json;

namespace {

struct NetworkState {
  container::Containers containers;
  network::Networks networks;
};

bool open_state(Context& c, NetworkState* s) {
  Error err;
  if (s->containers.open(c.server.data_root(), &err) && s->networks.open(s->containers.data_root(), &err) &&
      s->networks.ensure_default(&err))
    return true;
  c.reply_error(err);
  return false;
}

// docker's network events: the network's id, its name and driver, and for
// connect and disconnect the container's id.
void publish(Context& c, const network::Network& n, const char* action, const std::string& container = "") {
  std::map<std::string, std::string> attributes = {{"name", n.name}, {"type", "bridge"}};
  if (!container.empty()) attributes["container"] = container;
  c.server.events().publish("network", action, n.id, std::move(attributes));
}

bool network_filters(Context& c, bool prune, std::vector<Filter>* out) {
  std::vector<std::string> texts;
  if (!c.filters(&texts)) return false;
  for (const std::string& text : texts) {
    std::string why;
    out->emplace_back();
    if (!network::parse_filter(text, prune, &out->back(), &why)) return c.reply_error(400, why), false;
  }
  return true;
}

// The route's {id}: a name, an id or a unique id prefix.
bool find_network(Context& c, const NetworkState& s, network::Network* n) {
  Error err;
  if (s.networks.find(c.param("id"), n, &err)) return true;
  c.reply_error(err);
  return false;
}

// docker's answer for what only its own predefined networks are.
void reply_predefined(Context& c, const std::string& name, const char* what) {
  c.reply_error(403, name + " is a pre-defined network and cannot be " + what);
}

// docker's drivers other than bridge, which it has built in: ctk refuses
// them as unsupported; any other name is a plugin docker would look for.
bool docker_builtin_driver(const std::string& d) {
  return d == "host" || d == "null" || d == "overlay" || d == "macvlan" || d == "ipvlan";
}

// docker's answer for a driver it has no plugin for.
bool plugin_not_found(const std::string& driver, Error* err) {
  return err->fail(ErrorCode::not_found, "plugin \"" + driver + "\" not found");
}

bool driver_from_body(const std::string& driver, Error* err) {
  if (driver.empty() || driver == "bridge") return true;
  if (docker_builtin_driver(driver))
    return err->fail(ErrorCode::invalid, "network driver " + driver + " is not supported by ctk: only bridge");
  return plugin_not_found(driver, err);
}

// IPAM: {"Driver": "default", "Config": [{"Subnet", "IPRange", "Gateway"}]},
// one IPv4 subnet at most.
bool ipam_from_body(const json& ipam, network::Network* n, Error* err) {
  std::string driver;
  std::map<std::string, std::string> options;
  if (!body_field(ipam, "Driver", &driver, err) || !body_field(ipam, "Options", &options, err)) return false;
  if (!driver.empty() && driver != "default") return plugin_not_found(driver, err);
  auto config = ipam.find("Config");
  if (config == ipam.end() || config->is_null()) return true;
  if (!config->is_array()) return err->fail(ErrorCode::invalid, "invalid request: IPAM.Config must be an array");
  if (config->size() > 1)
    return err->fail(ErrorCode::invalid, "a ctk network has one IPv4 subnet: give one IPAM config");
  for (const json& pool : *config) {
    std::string subnet, range, gateway, why;
    std::map<std::string, std::string> aux;
    if (!body_object(pool, err) || !body_field(pool, "Subnet", &subnet, err) ||
        !body_field(pool, "IPRange", &range, err) || !body_field(pool, "Gateway", &gateway, err) ||
        !body_field(pool, "AuxiliaryAddresses", &aux, err))
      return false;
    if (subnet.find(':') != std::string::npos) return err->fail(ErrorCode::invalid, "ctk networks are IPv4 only");
    if (!aux.empty()) return err->fail(ErrorCode::invalid, "ctk does not reserve auxiliary addresses");
    if (subnet.empty() && (!range.empty() || !gateway.empty()))
      return err->fail(ErrorCode::invalid, "an IP range or gateway needs a subnet");
    if (!subnet.empty() && !network::parse_subnet(subnet, &n->subnet, &why))
      return err->fail(ErrorCode::invalid, why);
    if (!range.empty() && !network::parse_ip_range(range, n->subnet, &n->ip_range, &why))
      return err->fail(ErrorCode::invalid, why);
    if (!gateway.empty() && !network::parse_ipv4(gateway, &n->gateway))
      return err->fail(ErrorCode::invalid, "invalid gateway '" + gateway + "': want an IPv4 address");
  }
  return true;
}

// The flags docker's create takes that mean something elsewhere only: true
// ones are refused, as ctk cannot honour them.
bool unsupported_flags(const json& body, Error* err) {
  bool ipv6 = false, ipv4 = true, ingress = false, config_only = false;
  std::string scope;
  const json* config_from = nullptr;
  if (!body_field(body, "EnableIPv6", &ipv6, err) || !body_field(body, "EnableIPv4", &ipv4, err) ||
      !body_field(body, "Ingress", &ingress, err) || !body_field(body, "ConfigOnly", &config_only, err) ||
      !body_field(body, "Scope", &scope, err) || !body_child(body, "ConfigFrom", &config_from, err))
    return false;
  if (ipv6) return err->fail(ErrorCode::invalid, "ctk networks are IPv4 only: EnableIPv6 is not supported");
  if (!ipv4) return err->fail(ErrorCode::invalid, "ctk networks are IPv4 networks: EnableIPv4 cannot be false");
  if (ingress) return err->fail(ErrorCode::invalid, "ctk has no swarm: no ingress network");
  if (config_only || (config_from && !config_from->value("Network", std::string()).empty()))
    return err->fail(ErrorCode::invalid, "ctk has no configuration-only networks");
  if (!scope.empty() && scope != "local") return err->fail(ErrorCode::invalid, "ctk has no swarm: scope must be local");
  return true;
}

}  // namespace

bool network_from_body(const json& body, network::Network* n, std::string* warning, Error* err) {
  std::string driver;
  bool check_duplicate = true, attachable = false;
  std::map<std::string, std::string> options;
  const json* ipam = nullptr;
  if (!body_object(body, err) || !body_field(body, "Name", &n->name, err) ||
      !body_field(body, "Driver", &driver, err) || !body_field(body, "Internal", &n->internal, err) ||
      !body_field(body, "CheckDuplicate", &check_duplicate, err) || !body_field(body, "Attachable", &attachable, err) ||
      !body_field(body, "Labels", &n->labels, err) || !body_field(body, "Options", &options, err) ||
      !body_child(body, "IPAM", &ipam, err) || !unsupported_flags(body, err) || !driver_from_body(driver, err) ||
      (ipam && !ipam_from_body(*ipam, n, err)))
    return false;
  if (n->name.empty()) return err->fail(ErrorCode::invalid, "a network needs a Name");
  // Duplicate names are always refused (docker's CheckDuplicate, which API
  // 1.44 made the rule); any container may connect, so Attachable is moot.
  // The bridge driver's options tune a Linux bridge ctk does not have.
  warning->clear();
  for (const auto& [k, v] : options) *warning += (warning->empty() ? "ctk ignores the driver options " : ", ") + k;
  return true;
}

bool endpoint_from_body(const json& body, std::string* container, bool* force, network::Endpoint* ep, Error* err) {
  const json* config = nullptr;
  if (!body_object(body, err) || !body_field(body, "Container", container, err) ||
      !body_field(body, "Force", force, err) || !body_child(body, "EndpointConfig", &config, err))
    return false;
  if (container->empty()) return err->fail(ErrorCode::invalid, "no Container given");
  if (!config) return true;
  const json* ipam = nullptr;
  std::vector<std::string> links;
  std::string mac, ipv4, ipv6;
  if (!body_field(*config, "Aliases", &ep->aliases, err) || !body_field(*config, "Links", &links, err) ||
      !body_field(*config, "MacAddress", &mac, err) || !body_field(*config, "DriverOpts", &ep->driver_opts, err) ||
      !body_child(*config, "IPAMConfig", &ipam, err) ||
      (ipam && (!body_field(*ipam, "IPv4Address", &ipv4, err) || !body_field(*ipam, "IPv6Address", &ipv6, err))))
    return false;
  if (!links.empty()) return err->fail(ErrorCode::invalid, "ctk has no legacy links: use the network's names");
  // One NIC carries all of a container's networks: its MAC is the one of its first.
  if (!mac.empty())
    return err->fail(ErrorCode::invalid, "ctk chooses a container's MAC address: MacAddress is not supported");
  if (!ipv6.empty()) return err->fail(ErrorCode::invalid, "ctk networks are IPv4 only");
  if (!ipv4.empty() && !network::parse_ipv4(ipv4, &ep->ipv4))
    return err->fail(ErrorCode::invalid, "invalid IPv4Address '" + ipv4 + "'");
  ep->static_ipv4 = !ipv4.empty();
  return true;
}

void network_list(Context& c) {
  std::vector<Filter> filters;
  NetworkState s;
  if (!network_filters(c, false, &filters) || !open_state(c, &s)) return;
  std::vector<network::Network> all;
  Error err;
  if (!s.networks.list(&all, &err)) return c.reply_error(err);
  json out = json::array();
  for (const network::Network& n : all) {
    std::vector<std::string> users;
    json j;
    if (!container::network_users(s.containers, s.networks, n.name, &users, &err)) return c.reply_error(err);
    if (!network::matches(n, !users.empty(), filters)) continue;
    if (!container::network_inspect_json(s.containers, s.networks, n, &j, &err)) return c.reply_error(err);
    // docker's list leaves the containers out (API 1.28 on).
    j["Containers"] = json::object();
    out.push_back(std::move(j));
  }
  c.reply_json(200, out);
}

void network_inspect(Context& c) {
  NetworkState s;
  network::Network n;
  if (!open_state(c, &s) || !find_network(c, s, &n)) return;
  // Every network is local: one looked for in the swarm is not there.
  std::string scope = c.query("scope");
  if (!scope.empty() && scope != "local") return c.reply_error(404, "network " + c.param("id") + " not found");
  json j;
  Error err;
  if (!container::network_inspect_json(s.containers, s.networks, n, &j, &err)) return c.reply_error(err);
  c.reply_json(200, j);
}

void network_create(Context& c) {
  json body;
  network::Network n;
  std::string warning;
  Error err;
  if (!c.json_body(&body)) return;
  if (!network_from_body(body, &n, &warning, &err)) return c.reply_error(err);
  if (n.name != network::kDefaultNetwork && network::predefined(n.name))
    return c.reply_error(403, "operation is not permitted on predefined " + n.name + " network");
  NetworkState s;
  if (!open_state(c, &s)) return;
  oci::FileLock lock;
  if (!s.networks.lock(&lock, &err) || !s.networks.create(&n, &err)) return c.reply_error(err);
  publish(c, n, "create");
  c.reply_json(201, {{"Id", n.id}, {"Warning", warning}});
}

void network_delete(Context& c) {
  NetworkState s;
  if (!open_state(c, &s)) return;
  network::Network n;
  Error err;
  if (!s.networks.find(c.param("id"), &n, &err)) {
    // host and none are docker's even where ctk has no such network.
    if (err.code == ErrorCode::not_found && network::predefined(c.param("id")))
      return reply_predefined(c, c.param("id"), "removed");
    return c.reply_error(err);
  }
  if (network::predefined(n.name)) return reply_predefined(c, n.name, "removed");
  oci::FileLock lock;
  if (!s.networks.lock(&lock, &err) || !container::remove_network(s.containers, s.networks, n.name, &err))
    return c.reply_error(err);
  publish(c, n, "destroy");
  c.reply_empty(204);
}

void network_connect(Context& c) {
  json body;
  std::string container;
  bool force = false;
  network::Endpoint ep;
  Error err;
  if (!c.json_body(&body)) return;
  if (!endpoint_from_body(body, &container, &force, &ep, &err)) return c.reply_error(err);
  NetworkState s;
  network::Network n;
  if (!open_state(c, &s) || !find_network(c, s, &n)) return;
  if (!s.containers.find(container, &ep.container_id, &err) ||
      !container::connect_network(s.containers, s.networks, n.name, &ep, &err))
    return c.reply_error(err);
  publish(c, n, "connect", ep.container_id);
  c.reply_empty(200);
}

void network_disconnect(Context& c) {
  json body;
  std::string container, id;
  bool force = false;
  network::Endpoint ignored;
  Error err;
  if (!c.json_body(&body)) return;
  if (!endpoint_from_body(body, &container, &force, &ignored, &err)) return c.reply_error(err);
  NetworkState s;
  network::Network n;
  if (!open_state(c, &s) || !find_network(c, s, &n)) return;
  if (!s.containers.find(container, &id, &err)) {
    // Force: a container that is gone is no error (docker's force is for
    // endpoints whose container went); one that is not on the network is.
    if (!(err.code == ErrorCode::not_found && force)) return c.reply_error(err);
    return c.reply_empty(200);
  }
  if (!container::disconnect_network(s.containers, s.networks, n.name, id, &err)) return c.reply_error(err);
  publish(c, n, "disconnect", id);
  c.reply_empty(200);
}

void network_prune(Context& c) {
  std::vector<Filter> filters;
  NetworkState s;
  if (!network_filters(c, true, &filters) || !open_state(c, &s)) return;
  std::vector<std::string> removed;
  std::vector<network::Network> before;
  Error err;
  if (!s.networks.list(&before, &err) || !container::prune_networks(s.containers, s.networks, filters, &removed, &err))
    return c.reply_error(err);
  for (const network::Network& n : before)
    if (std::find(removed.begin(), removed.end(), n.name) != removed.end()) publish(c, n, "destroy");
  c.reply_json(200, {{"NetworksDeleted", removed}});
}

}  // namespace ctk::api
