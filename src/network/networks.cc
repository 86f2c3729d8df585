#include "network/networks.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/dirs.h"
#include "base/random.h"
#include "base/strings.h"
#include "oci/json.h"
#include "oci/store.h"

namespace ctk::network {

using nlohmann::json;

namespace {

// A decimal number of 1 to max_digits digits without a leading zero (which
// some parsers read as octal), at most max.
bool parse_number(std::string_view text, size_t max_digits, unsigned max, unsigned* out) {
  if (text.empty() || text.size() > max_digits || text.find_first_not_of("0123456789") != std::string_view::npos ||
      (text.size() > 1 && text[0] == '0'))
    return false;
  unsigned v = 0;
  for (char c : text) v = v * 10 + unsigned(c - '0');
  if (v > max) return false;
  *out = v;
  return true;
}

// What every subnet must be, parsed or given to create().
bool check_subnet(const Subnet& s, std::string* err) {
  std::string text = format_subnet(s);
  if (s.prefix_len > 29) {
    *err = "invalid subnet " + text + ": too small, the longest prefix is /29";
  } else if (s.prefix_len < 8) {
    *err = "invalid subnet " + text + ": too large, the shortest prefix is /8";
  } else if (s.address & ~s.mask()) {
    *err = "invalid subnet " + text + ": host bits set (did you mean " +
           format_subnet({s.address & s.mask(), s.prefix_len}) + "?)";
  } else {
    return true;
  }
  return false;
}

// docker's address pools for networks made without --subnet, after
// bridge's 172.17.0.0/16: 172.18-31.0.0/16, then 192.168.0-240.0/20.
std::vector<Subnet> default_pools() {
  std::vector<Subnet> pools;
  for (uint32_t b = 18; b <= 31; ++b) pools.push_back({(172u << 24) | (b << 16), 16});
  for (uint32_t c = 0; c < 256; c += 16) pools.push_back({(192u << 24) | (168u << 16) | (c << 8), 20});
  return pools;
}

constexpr Subnet kDefaultSubnet = {(172u << 24) | (17u << 16), 16};

bool is_container_id(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string endpoint_file(const std::string& network_dir, const std::string& container_id) {
  return network_dir + "/endpoints/" + container_id + ".json";
}

bool write_json(const std::string& path, const json& j, Error* err) {
  std::string why;
  if (!oci::write_file_atomic(path, j.dump(2) + "\n", 0600, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

json network_json(const Network& n) {
  json j = {{"name", n.name},         {"id", n.id},
          {"created", n.created},   {"driver", n.driver},
          {"subnet", format_subnet(n.subnet)}, {"gateway", format_ipv4(n.gateway)},
          {"internal", n.internal}, {"labels", n.labels}};
  if (n.ip_range.prefix_len) j["ip_range"] = format_subnet(n.ip_range);
  return j;
}

// A JSON object from a file of ours; not_found when it is missing.
bool read_object(const std::string& path, json* out, Error* err) {
  std::string text, why;
  bool exists = true;
  if (!read_file(path, &text, &exists, &why)) return err->fail(ErrorCode::failure, why);
  if (!exists) return err->fail(ErrorCode::not_found, path + ": missing");
  if (!oci::parse_json(text, out, &why)) return err->fail(ErrorCode::failure, path + ": " + why);
  if (!out->is_object()) return err->fail(ErrorCode::failure, path + ": not an object");
  return true;
}

std::string string_field(const json& j, const char* key) {
  const json& v = j.value(key, json());
  return v.is_string() ? v.get<std::string>() : "";
}

}  // namespace

bool parse_ipv4(std::string_view text, uint32_t* out) {
  std::vector<std::string> parts = split(text, '.');
  if (parts.size() != 4) return false;
  uint32_t a = 0;
  for (const std::string& p : parts) {
    unsigned byte;
    if (!parse_number(p, 3, 255, &byte)) return false;
    a = a << 8 | byte;
  }
  *out = a;
  return true;
}

std::string format_ipv4(uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return buf;
}

namespace {

// ADDRESS/LENGTH, nothing checked beyond its syntax.
bool parse_cidr(std::string_view text, Subnet* out) {
  size_t slash = text.find('/');
  return slash != std::string_view::npos && parse_ipv4(text.substr(0, slash), &out->address) &&
         parse_number(text.substr(slash + 1), 2, 32, &out->prefix_len);
}

}  // namespace

bool parse_subnet(std::string_view text, Subnet* out, std::string* err) {
  Subnet s;
  if (!parse_cidr(text, &s)) {
    *err = "invalid subnet '" + std::string(text) + "': want an IPv4 ADDRESS/LENGTH such as 172.18.0.0/16";
    return false;
  }
  if (!check_subnet(s, err)) return false;
  *out = s;
  return true;
}

bool parse_ip_range(std::string_view text, const Subnet& subnet, Subnet* out, std::string* err) {
  Subnet r;
  std::string t(text);
  if (!parse_cidr(text, &r)) {
    *err = "invalid IP range '" + t + "': want an IPv4 ADDRESS/LENGTH such as 172.18.5.0/24";
  } else if (r.address & ~r.mask()) {
    *err = "invalid IP range " + t + ": host bits set";
  } else if (r.prefix_len < subnet.prefix_len || !subnet.contains(r.address)) {
    *err = "IP range " + t + " is not inside subnet " + format_subnet(subnet);
  } else {
    *out = r;
    return true;
  }
  return false;
}

std::string format_subnet(const Subnet& s) { return format_ipv4(s.address) + "/" + std::to_string(s.prefix_len); }

bool parse_mac(std::string_view text, net::Mac* out) {
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() != 6) return false;
  net::Mac mac;
  for (size_t i = 0; i < 6; ++i) {
    if (parts[i].size() != 2 || parts[i].find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      return false;
    mac[i] = uint8_t(std::stoul(parts[i], nullptr, 16));
  }
  *out = mac;
  return true;
}

std::string format_mac(const net::Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

net::Mac mac_for(uint32_t a) {
  return {0x02, 0x42, uint8_t(a >> 24), uint8_t(a >> 16), uint8_t(a >> 8), uint8_t(a)};
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name[0] == '.' || name[0] == '-') return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '/' || c == ':';
  });
}

bool predefined(std::string_view name) { return name == kDefaultNetwork || name == "host" || name == "none"; }

bool parse_filter(const std::string& text, bool prune, Filter* out, std::string* err) {
  static constexpr std::string_view kLs[] = {"name", "id", "label", "driver", "scope", "dangling", "type"},
                                    kPrune[] = {"label", "label!"};
  if (!ctk::parse_filter(text, prune ? std::span<const std::string_view>(kPrune) : kLs, out, err)) return false;
  if (out->key == "type" && out->value != "custom" && out->value != "builtin") {
    *err = "invalid filter '" + text + "': type takes custom or builtin";
    return false;
  }
  if (out->key == "scope" && out->value != "local" && out->value != "swarm" && out->value != "global") {
    *err = "invalid filter '" + text + "': scope takes local, swarm or global";
    return false;
  }
  return true;
}

namespace {

bool matches_one(const Network& n, bool in_use, const Filter& f) {
  bool builtin = n.name == kDefaultNetwork;
  if (f.key == "name") return n.name.find(f.value) != std::string::npos;
  if (f.key == "id") return n.id.find(f.value) != std::string::npos;
  if (f.key == "driver") return n.driver == f.value;
  if (f.key == "scope") return f.value == "local";  // no swarm: every network is local
  if (f.key == "type") return builtin == (f.value == "builtin");
  // bridge, docker's default, is never unused.
  if (f.key == "dangling") return (!in_use && !builtin) == filter_is_true(f);
  return label_matches(n.labels, f);
}

}  // namespace

bool matches(const Network& n, bool in_use, const std::vector<Filter>& filters) {
  return std::all_of(filters.begin(), filters.end(), [&](const Filter& f) { return matches_one(n, in_use, f); });
}

bool Networks::open(const std::string& data_root, Error* err) {
  path_ = (data_root.empty() ? oci::Store::default_root() : data_root) + "/networks";
  std::string why;
  if (!oci::make_dirs(path_, 0700, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

bool Networks::lock(oci::FileLock* lock, Error* err) const {
  std::string why;
  if (!lock->lock(path_ + "/.lock", true, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

// A counter, so that each change writes something new; the switch needs
// only the mtime, which the rename of a fresh file always moves.
bool Networks::bump_generation(Error* err) const {
  std::string text, why;
  uint64_t generation = 0;
  if (read_file(generation_file(), &text, nullptr, &why)) generation = std::strtoull(text.c_str(), nullptr, 10);
  if (!oci::write_file_atomic(generation_file(), std::to_string(generation + 1) + "\n", 0600, &why))
    return err->fail(ErrorCode::failure, why);
  return true;
}

bool Networks::ensure_default(Error* err) {
  Network n;
  Error missing;
  if (load(std::string(kDefaultNetwork), &n, &missing)) return true;
  if (missing.code != ErrorCode::not_found) return err->fail(missing.code, missing.message);
  oci::FileLock lock;
  if (!this->lock(&lock, err)) return false;
  // Someone else may have made it while this waited for the lock.
  if (load(std::string(kDefaultNetwork), &n, &missing)) return true;
  n = Network{};
  n.name = kDefaultNetwork;
  n.subnet = kDefaultSubnet;
  return create(&n, err);
}

bool Networks::create(Network* n, Error* err) {
  if (!valid_name(n->name))
    return err->fail(ErrorCode::invalid,
                     "invalid network name '" + n->name + "': 1 to 255 characters, without '/', ':' or control "
                     "characters, not starting with '.' or '-'");
  // The modes of --network, which a network of that name would shadow.
  if (n->name == "none" || n->name == "nat" || n->name == "host")
    return err->fail(ErrorCode::invalid, "network name '" + n->name + "' is reserved: it is a mode of --network");
  if (n->driver != "bridge")
    return err->fail(ErrorCode::invalid, "network driver '" + n->driver + "' is not supported: only bridge");
  if (::access(dir(n->name).c_str(), F_OK) == 0)
    return err->fail(ErrorCode::conflict, "network with name " + n->name + " already exists");
  std::vector<Network> all;
  if (!list(&all, err)) return false;
  auto overlapping = [&](const Subnet& s) {
    return std::find_if(all.begin(), all.end(), [&](const Network& o) { return o.subnet.overlaps(s); });
  };
  std::string why;
  if (n->subnet.prefix_len == 0) {
    for (const Subnet& pool : default_pools())
      if (overlapping(pool) == all.end()) {
        n->subnet = pool;
        break;
      }
    if (n->subnet.prefix_len == 0)
      return err->fail(ErrorCode::conflict, "all default address pools are taken: give --subnet");
  } else if (!check_subnet(n->subnet, &why)) {
    return err->fail(ErrorCode::invalid, why);
  } else if (auto o = overlapping(n->subnet); o != all.end()) {
    return err->fail(ErrorCode::conflict, "subnet " + format_subnet(n->subnet) + " overlaps network " + o->name +
                                              " (" + format_subnet(o->subnet) + ")");
  }
  if (n->gateway == 0) n->gateway = n->subnet.address + 1;
  if (!n->subnet.contains(n->gateway) || n->gateway == n->subnet.address || n->gateway == n->subnet.broadcast())
    return err->fail(ErrorCode::invalid, "gateway " + format_ipv4(n->gateway) + " is not a host address of subnet " +
                                             format_subnet(n->subnet));
  bool range_inside = n->ip_range.prefix_len >= n->subnet.prefix_len && n->subnet.contains(n->ip_range.address);
  if (n->ip_range.prefix_len && !range_inside)
    return err->fail(ErrorCode::invalid, "IP range " + format_subnet(n->ip_range) + " is not inside subnet " +
                                             format_subnet(n->subnet));
  n->id = random_id();
  n->created = now_rfc3339();
  // Made under a temporary name and renamed: a network is there whole or not at all.
  std::string temp = path_ + "/.new-" + n->name;
  remove_tree(temp);
  if (!oci::make_dirs(temp + "/endpoints", 0700, &why)) return err->fail(ErrorCode::failure, why);
  if (!write_json(temp + "/network.json", network_json(*n), err)) {
    remove_tree(temp);
    return false;
  }
  if (::rename(temp.c_str(), dir(n->name).c_str()) != 0) {
    err->fail_errno(dir(n->name));
    remove_tree(temp);
    return false;
  }
  return bump_generation(err);
}

bool Networks::load(const std::string& name_ref, Network* n, Error* err) const {
  std::string name = name_ref;  // may be n->name, which is reset below
  if (!valid_name(name)) return err->fail(ErrorCode::not_found, "no such network: " + name);
  json j;
  Error read;
  if (!read_object(dir(name) + "/network.json", &j, &read)) {
    if (read.code == ErrorCode::not_found) return err->fail(ErrorCode::not_found, "no such network: " + name);
    return err->fail(read.code, read.message);
  }
  Network out;
  out.name = name;
  out.id = string_field(j, "id");
  out.created = string_field(j, "created");
  out.driver = string_field(j, "driver");
  std::string why;
  if (!parse_subnet(string_field(j, "subnet"), &out.subnet, &why) ||
      !parse_ipv4(string_field(j, "gateway"), &out.gateway) || !is_container_id(out.id))
    return err->fail(ErrorCode::failure, dir(name) + "/network.json: a bad id, subnet or gateway (damaged?)");
  std::string range = string_field(j, "ip_range");
  if (!range.empty() && !parse_ip_range(range, out.subnet, &out.ip_range, &why))
    return err->fail(ErrorCode::failure, dir(name) + "/network.json: " + why);
  out.internal = j.value("internal", json(false)).is_boolean() && j.value("internal", false);
  const json& labels = j.value("labels", json::object());
  if (labels.is_object())
    for (const auto& [k, v] : labels.items())
      if (v.is_string()) out.labels[k] = v.get<std::string>();
  *n = std::move(out);
  return true;
}

bool Networks::find(const std::string& ref, Network* n, Error* err) const {
  Error by_name;
  if (load(ref, n, &by_name)) return true;
  if (by_name.code != ErrorCode::not_found) return err->fail(by_name.code, by_name.message);
  std::vector<Network> all, matches;
  if (!list(&all, err)) return false;
  if (!ref.empty() && ref.find_first_not_of("0123456789abcdef") == std::string::npos)
    for (const Network& o : all)
      if (o.id.starts_with(ref)) matches.push_back(o);
  if (matches.size() > 1)
    return err->fail(ErrorCode::invalid, "'" + ref + "' matches " + std::to_string(matches.size()) +
                                             " networks: give more of the id");
  if (matches.empty()) return err->fail(ErrorCode::not_found, "no such network: " + ref);
  *n = matches[0];
  return true;
}

bool Networks::list(std::vector<Network>* out, Error* err) const {
  DIR* d = ::opendir(path_.c_str());
  if (!d) return err->fail_errno(path_);
  while (dirent* e = ::readdir(d)) {
    Network n;
    Error ignored;  // a half-made or foreign entry is not a network
    if (valid_name(e->d_name) && load(e->d_name, &n, &ignored)) out->push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(out->begin(), out->end(), [](const Network& a, const Network& b) { return a.name < b.name; });
  return true;
}

bool Networks::remove(const std::string& name, Error* err) {
  if (name == kDefaultNetwork)
    return err->fail(ErrorCode::invalid, name + " is a pre-defined network and cannot be removed");
  Network n;
  if (!load(name, &n, err)) return false;
  // Out of the listing at once, then its files.
  std::string doomed = path_ + "/.removing-" + name;
  if (::rename(dir(name).c_str(), doomed.c_str()) != 0) return err->fail_errno(dir(name));
  remove_tree(doomed);
  return bump_generation(err);
}

bool Networks::load_endpoint(const std::string& path, Endpoint* ep, Error* err) const {
  json j;
  if (!read_object(path, &j, err)) return false;
  Endpoint out;
  out.id = string_field(j, "id");
  out.container_id = string_field(j, "container_id");
  const json& aliases = j.value("aliases", json::array());
  if (aliases.is_array())
    for (const json& a : aliases)
      if (a.is_string()) out.aliases.push_back(a.get<std::string>());
  out.static_ipv4 = j.value("static_ipv4", false) == true;
  const json& opts = j.value("driver_opts", json::object());
  if (opts.is_object())
    for (const auto& [k, v] : opts.items())
      if (v.is_string()) out.driver_opts[k] = v.get<std::string>();
  if (!is_container_id(out.container_id) || !parse_ipv4(string_field(j, "ipv4"), &out.ipv4) ||
      !parse_mac(string_field(j, "mac"), &out.mac))
    return err->fail(ErrorCode::failure, path + ": a bad container id, address or MAC (damaged?)");
  *ep = std::move(out);
  return true;
}

bool Networks::endpoints(const std::string& network, std::vector<Endpoint>* out, Error* err) const {
  Network n;
  if (!load(network, &n, err)) return false;
  std::string path = dir(network) + "/endpoints";
  DIR* d = ::opendir(path.c_str());
  if (!d) return err->fail_errno(path);
  bool ok = true;
  while (dirent* e = ::readdir(d)) {
    // <64 hex>.json; write_file_atomic's temporary files start with a dot.
    std::string_view file = e->d_name;
    if (!file.ends_with(".json") || !is_container_id(file.substr(0, file.size() - 5))) continue;
    Endpoint ep;
    // A damaged endpoint is an error, not a free address.
    if (!(ok = load_endpoint(path + "/" + e->d_name, &ep, err))) break;
    out->push_back(std::move(ep));
  }
  ::closedir(d);
  std::sort(out->begin(), out->end(),
            [](const Endpoint& a, const Endpoint& b) { return a.container_id < b.container_id; });
  return ok;
}

bool Networks::connect(const std::string& network, Endpoint* ep, Error* err) {
  Network n;
  std::vector<Endpoint> taken;
  if (!load(network, &n, err) || !endpoints(network, &taken, err)) return false;
  if (!is_container_id(ep->container_id))
    return err->fail(ErrorCode::invalid, "not a container id: '" + ep->container_id + "'");
  std::set<uint32_t> used = {n.gateway};
  for (const Endpoint& o : taken) {
    if (o.container_id == ep->container_id)
      return err->fail(ErrorCode::conflict, "container " + net::port_name(ep->container_id) +
                                                " is already connected to network " + network);
    used.insert(o.ipv4);
  }
  std::string where = " on network " + network + " (" + format_subnet(n.subnet) + ")";
  if (ep->ipv4 != 0) {
    if (!n.subnet.contains(ep->ipv4) || ep->ipv4 == n.subnet.address || ep->ipv4 == n.subnet.broadcast())
      return err->fail(ErrorCode::invalid, format_ipv4(ep->ipv4) + " is not a host address" + where);
    if (ep->ipv4 == n.gateway)
      return err->fail(ErrorCode::conflict, format_ipv4(ep->ipv4) + " is the gateway's address" + where);
    if (used.count(ep->ipv4)) return err->fail(ErrorCode::conflict, format_ipv4(ep->ipv4) + " is in use" + where);
  } else {
    // The range's addresses, less the subnet's network and broadcast ones.
    const Subnet& pick = n.ip_range.prefix_len ? n.ip_range : n.subnet;
    uint32_t first = std::max(pick.address, n.subnet.address + 1);
    uint32_t last = std::min(pick.broadcast(), n.subnet.broadcast() - 1);
    for (uint64_t a = first; a <= last && ep->ipv4 == 0; ++a)
      if (!used.count(uint32_t(a))) ep->ipv4 = uint32_t(a);
    if (ep->ipv4 == 0) return err->fail(ErrorCode::conflict, "no free address" + where);
  }
  // A container has one NIC on the switch, whatever networks it is on: its
  // MAC on the others, if any.
  if (ep->mac == net::Mac{}) {
    std::vector<Attachment> on;
    if (!networks_of(ep->container_id, &on, err)) return false;
    ep->mac = on.empty() ? mac_for(ep->ipv4) : on.front().endpoint.mac;
  }
  if (ep->id.empty()) ep->id = random_id();
  json j = {{"id", ep->id},
            {"container_id", ep->container_id},
            {"aliases", ep->aliases},
            {"ipv4", format_ipv4(ep->ipv4)},
            {"static_ipv4", ep->static_ipv4},
            {"mac", format_mac(ep->mac)},
            {"driver_opts", ep->driver_opts}};
  return write_json(endpoint_file(dir(network), ep->container_id), j, err) && bump_generation(err);
}

bool Networks::disconnect(const std::string& network, const std::string& container_id, Error* err) {
  Network n;
  if (!load(network, &n, err)) return false;
  std::string path = endpoint_file(dir(network), container_id);
  bool connected = is_container_id(container_id);
  if (connected && ::unlink(path.c_str()) != 0) {
    if (errno != ENOENT) return err->fail_errno(path);
    connected = false;
  }
  if (!connected)
    return err->fail(ErrorCode::not_found,
                     "container " + net::port_name(container_id) + " is not connected to network " + network);
  return bump_generation(err);
}

bool Networks::networks_of(const std::string& container_id, std::vector<Attachment>* out, Error* err) const {
  std::vector<Network> all;
  if (!list(&all, err)) return false;
  if (!is_container_id(container_id)) return true;
  for (Network& n : all) {
    Endpoint ep;
    Error read;
    if (load_endpoint(endpoint_file(dir(n.name), container_id), &ep, &read)) {
      out->push_back({std::move(n), std::move(ep)});
    } else if (read.code != ErrorCode::not_found) {
      return err->fail(read.code, read.message);
    }
  }
  return true;
}

}  // namespace ctk::network
