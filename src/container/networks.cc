#include "container/networks.h"

#include <unistd.h>

#include <algorithm>

#include "container/lifecycle.h"
#include "oci/fsutil.h"

namespace ctk::container {

using nlohmann::json;

namespace {

// Whether the container of an endpoint still exists: its directory, there
// from the start of its create to its removal.
bool exists(const Containers& all, const std::string& id) { return ::access(all.dir(id).c_str(), F_OK) == 0; }

// Drops the network's endpoints whose container is gone: a removal that
// died between taking the container out and freeing its addresses. Call
// under the networks' lock.
void drop_left_overs(const Containers& all, network::Networks& networks, const std::string& network) {
  std::vector<network::Endpoint> eps;
  Error ignored;
  if (!networks.endpoints(network, &eps, &ignored)) return;
  for (const network::Endpoint& ep : eps)
    if (!exists(all, ep.container_id)) networks.disconnect(network, ep.container_id, &ignored);
}

}  // namespace

bool load_topology(const std::string& data_root, net::Topology* out, Error* err) {
  Containers all;
  network::Networks networks;
  std::vector<network::Network> list;
  if (!all.open(data_root, err) || !networks.open(data_root, err) || !networks.list(&list, err)) return false;
  for (const network::Network& n : list) {
    std::vector<network::Endpoint> eps;
    Error read;
    if (!networks.endpoints(n.name, &eps, &read)) {
      if (read.code == ErrorCode::not_found) continue;  // removed since the listing
      return err->fail(read.code, read.message);
    }
    net::Network& to = out->networks.emplace_back();
    to.name = n.name;
    to.subnet = n.subnet.address;
    to.prefix_len = n.subnet.prefix_len;
    to.gateway = n.gateway;
    to.internal = n.internal;
    for (network::Endpoint& ep : eps) {
      Container ct(all, ep.container_id);
      Error gone;
      if (!ct.load(&gone)) continue;
      // ctk's default hostname is the name: then it has none of its own.
      std::string hostname = ct.spec.hostname == ct.spec.name ? "" : ct.spec.hostname;
      to.endpoints.push_back({ep.container_id, ct.spec.name, hostname, std::move(ep.aliases), ep.ipv4, ep.mac});
    }
  }
  return true;
}

bool network_users(const Containers& all, const network::Networks& networks, const std::string& name,
                   std::vector<std::string>* out, Error* err) {
  std::vector<network::Endpoint> eps;
  if (!networks.endpoints(name, &eps, err)) return false;
  for (const network::Endpoint& ep : eps) {
    Container ct(all, ep.container_id);
    Error gone;
    if (ct.load(&gone)) out->push_back(ct.spec.name);
  }
  std::sort(out->begin(), out->end());
  return true;
}

bool remove_network(const Containers& all, network::Networks& networks, const std::string& name, Error* err) {
  network::Network n;
  if (!networks.load(name, &n, err)) return false;
  // bridge is refused by remove() whoever is on it, as docker refuses it.
  std::vector<std::string> users;
  if (name != network::kDefaultNetwork && !network_users(all, networks, name, &users, err)) return false;
  if (!users.empty()) {
    std::string list;
    for (const std::string& u : users) list += (list.empty() ? "" : ", ") + u;
    return err->fail(ErrorCode::conflict, "network " + name + " is in use by container" +
                                              (users.size() > 1 ? "s " : " ") + list);
  }
  return networks.remove(name, err);
}

bool prune_networks(const Containers& all, network::Networks& networks, const std::vector<Filter>& filters,
                    std::vector<std::string>* removed, Error* err) {
  oci::FileLock lock;
  std::vector<network::Network> list;
  if (!networks.lock(&lock, err) || !networks.list(&list, err)) return false;
  bool ok = true;
  for (const network::Network& n : list) {
    if (network::predefined(n.name) || !network::matches(n, false, filters)) continue;
    Error why;
    if (remove_network(all, networks, n.name, &why)) {
      removed->push_back(n.name);
    } else if (why.code != ErrorCode::conflict) {
      *err = why;
      ok = false;
    }
  }
  return ok;
}

bool connect_network(const Containers& all, network::Networks& networks, const std::string& network,
                     network::Endpoint* ep, Error* err) {
  {
    oci::FileLock lock;
    if (!networks.lock(&lock, err)) return false;
    drop_left_overs(all, networks, network);
    if (!networks.connect(network, ep, err)) return false;
  }
  // Not under the lock: a running VM's change may take a while, and other
  // containers' starts wait for none of it.
  Error live;
  if (apply_live_network_change(all.data_root(), ep->container_id, &live)) return true;
  oci::FileLock lock;
  Error ignored;
  if (networks.lock(&lock, &ignored)) networks.disconnect(network, ep->container_id, &ignored);
  return err->fail(live.code, live.message);
}

bool disconnect_network(const Containers& all, network::Networks& networks, const std::string& network,
                        const std::string& container_id, Error* err) {
  network::Endpoint old;
  {
    oci::FileLock lock;
    std::vector<network::Endpoint> eps;
    if (!networks.lock(&lock, err) || !networks.endpoints(network, &eps, err)) return false;
    auto it = std::find_if(eps.begin(), eps.end(),
                           [&](const network::Endpoint& ep) { return ep.container_id == container_id; });
    if (it != eps.end()) old = *it;
    if (!networks.disconnect(network, container_id, err)) return false;
  }
  Error live;
  if (apply_live_network_change(all.data_root(), container_id, &live)) return true;
  // Back as it was: the same address, MAC and endpoint id.
  oci::FileLock lock;
  Error ignored;
  if (networks.lock(&lock, &ignored)) networks.connect(network, &old, &ignored);
  return err->fail(live.code, live.message);
}

bool disconnect_all(const std::string& data_root, const std::string& container_id, Error* err) {
  network::Networks networks;
  oci::FileLock lock;
  std::vector<network::Networks::Attachment> on;
  if (!networks.open(data_root, err) || !networks.lock(&lock, err) || !networks.networks_of(container_id, &on, err))
    return false;
  bool ok = true;
  for (const network::Networks::Attachment& a : on) ok = networks.disconnect(a.network.name, container_id, err) && ok;
  return ok;
}

bool network_inspect_json(const Containers& all, const network::Networks& networks, const network::Network& n,
                          json* out, Error* err) {
  std::vector<network::Endpoint> eps;
  if (!networks.endpoints(n.name, &eps, err)) return false;
  json containers = json::object();
  for (const network::Endpoint& ep : eps) {
    Container ct(all, ep.container_id);
    Error gone;
    if (!ct.load(&gone)) continue;
    containers[ep.container_id] = {
        {"Name", ct.spec.name},
        {"EndpointID", ep.id},
        {"MacAddress", network::format_mac(ep.mac)},
        {"IPv4Address", network::format_ipv4(ep.ipv4) + "/" + std::to_string(n.subnet.prefix_len)},
        {"IPv6Address", ""}};
  }
  json pool = {{"Subnet", network::format_subnet(n.subnet)}, {"Gateway", network::format_ipv4(n.gateway)}};
  if (n.ip_range.prefix_len) pool["IPRange"] = network::format_subnet(n.ip_range);
  json config = json::array({pool});
  *out = {{"Name", n.name},
          {"Id", n.id},
          {"Created", n.created},
          {"Scope", "local"},
          {"Driver", n.driver},
          {"EnableIPv6", false},
          {"IPAM", {{"Driver", "default"}, {"Options", json::object()}, {"Config", config}}},
          {"Internal", n.internal},
          {"Attachable", false},
          {"Ingress", false},
          {"ConfigFrom", {{"Network", ""}}},
          {"ConfigOnly", false},
          {"Containers", containers},
          {"Options", json::object()},
          {"Labels", n.labels.empty() ? json::object() : json(n.labels)}};
  return true;
}

bool apply_live_network_change(const std::string& data_root, const std::string& id, Error* err) {
  Containers all;
  if (!all.open(data_root, err)) return false;
  Container ct(all, id);
  if (!ct.supervised()) return true;
  if (!ct.load(err)) return false;
  proto::Client conn;
  nlohmann::json ignored;
  std::string why, code;
  if (!connect(ct, &conn, err)) return false;
  if (conn.call("networks", nlohmann::json::object(), &ignored, &why, &code)) return true;
  return err->fail(code == "invalid_argument" ? ErrorCode::invalid : ErrorCode::failure, why);
}

}  // namespace ctk::container
