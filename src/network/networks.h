// Networks: which containers of one data root reach each other through the
// user-space switch (docs/ARCHITECTURE.md, "Networks"), on disk under
// <data root>/networks/:
//   .lock                      held while networks are made or removed and
//                              while addresses are taken or freed
//   .generation                a counter rewritten after every change: the
//                              switch reloads when its mtime moves
//   NAME/network.json          subnet, gateway, internal, labels, id
//   NAME/endpoints/ID.json     one container (ID: its 64-hex id) on it: its
//                              address, MAC, aliases
// The endpoint files are both the address allocation (IPAM) and the
// membership: an address is taken by writing its file under the lock, so
// concurrent `ctk run`s never share one. They stay while their container
// exists (stop and start keep the address). Names and hostnames are the
// containers' own, read from their configs by container/networks.h: this
// folder never reads containers (container depends on network, not back).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/filter.h"
#include "net/topology.h"
#include "oci/fsutil.h"

namespace ctk::network {

// IPv4 addresses in host byte order, as net::Topology has them.
bool parse_ipv4(std::string_view text, uint32_t* out);  // dotted quad, decimal only
std::string format_ipv4(uint32_t address);

struct Subnet {
  uint32_t address = 0;  // its host bits clear
  unsigned prefix_len = 0;

  uint32_t mask() const { return prefix_len == 0 ? 0 : ~uint32_t(0) << (32 - prefix_len); }
  uint32_t broadcast() const { return address | ~mask(); }
  bool contains(uint32_t a) const { return (a & mask()) == address; }
  bool overlaps(const Subnet& o) const { return contains(o.address) || o.contains(address); }
};

// "172.18.0.0/16". Refused (err says why): no /LEN, host bits set, a prefix
// longer than /29 (no room: 6 host addresses, the gateway one of them) or
// shorter than /8.
bool parse_subnet(std::string_view text, Subnet* out, std::string* err);
std::string format_subnet(const Subnet& s);
// docker's --ip-range: ADDRESS/LENGTH inside `subnet` (up to /32), where
// addresses are picked for containers that ask for none.
bool parse_ip_range(std::string_view text, const Subnet& subnet, Subnet* out, std::string* err);

// "02:42:ac:12:00:02", hex digits in either case.
bool parse_mac(std::string_view text, net::Mac* out);
std::string format_mac(const net::Mac& mac);
// docker's MAC for an address: 02:42 (locally administered) and its 4 bytes,
// so a MAC is unique where the address is.
net::Mac mac_for(uint32_t ipv4);

// docker's default network, on 172.17.0.0/16; never removed.
inline constexpr std::string_view kDefaultNetwork = "bridge";

struct Network {
  std::string name;
  std::string id;       // 64 hex digits
  std::string created;  // RFC 3339
  std::string driver = "bridge";  // the only one
  Subnet subnet;        // prefix_len 0 at create: the first free default pool
  uint32_t gateway = 0;  // the switch's address on it; 0 at create: the subnet's first host
  Subnet ip_range;      // where connect picks addresses; prefix_len 0: the whole subnet
  bool internal = false;  // no way out, no outside names
  std::map<std::string, std::string> labels;
};

// One container on one network.
struct Endpoint {
  std::string id;  // docker's EndpointID: 64 hex digits; "" at connect: a new one
  std::string container_id;
  std::vector<std::string> aliases;
  uint32_t ipv4 = 0;  // 0 at connect: the lowest free address
  bool static_ipv4 = false;  // the address was asked for (docker's IPAMConfig)
  net::Mac mac{};     // all zero at connect: mac_for(ipv4)
  // docker's endpoint DriverOpts: kept and reported; ctk's switch has no
  // options to take from them.
  std::map<std::string, std::string> driver_opts;
};

// docker takes nearly any network name ("test 01"); ctk keeps each in a
// directory of that name, beside its own dot-files: 1 to 255 bytes, no '/',
// ':' (--network's container:ID) or control characters, not starting with
// '.' or '-'.
bool valid_name(const std::string& name);

// docker's predefined networks: bridge is ctk's too; host and none are
// names docker reserves (removing them is forbidden, not "no such network").
bool predefined(std::string_view name);

// `network ls --filter` (the CLI's and the API's): name=TEXT and id=TEXT (a
// part of it), label=KEY[=VALUE], driver=, scope=local|swarm|global,
// type=custom|builtin, dangling=true|false (no container on it; bridge never
// is); for prune, label=KEY[=VALUE] and label!=KEY[=VALUE].
bool parse_filter(const std::string& text, bool prune, Filter* out, std::string* err);
bool matches(const Network& n, bool in_use, const std::vector<Filter>& filters);

class Networks {
 public:
  // data_root: "" = the default (the image store's root).
  bool open(const std::string& data_root, Error* err);
  std::string dir(const std::string& name) const { return path_ + "/" + name; }
  // What the switch watches: rewritten after every change.
  std::string generation_file() const { return path_ + "/.generation"; }

  // Holds networks/.lock: what changes networks or endpoints runs under it.
  bool lock(oci::FileLock* lock, Error* err) const;

  // Creates `bridge` on 172.17.0.0/16 unless it exists. Takes the lock
  // itself: never call it under lock().
  bool ensure_default(Error* err);

  // Makes the network; fills in id, created and, when not given, subnet
  // (172.18.0.0/16 ... 172.31.0.0/16, then 192.168.0.0/20, 192.168.16.0/20
  // ...: the first that overlaps no network; 172.17.0.0/16 is bridge's) and
  // gateway. invalid: a bad name, subnet or gateway, a driver other than
  // bridge; conflict: the name exists, the subnet overlaps a network's.
  // Call under lock().
  bool create(Network* n, Error* err);
  bool load(const std::string& name, Network* n, Error* err) const;  // not_found when missing
  // A name, an id or a unique id prefix, as docker finds networks.
  bool find(const std::string& ref, Network* n, Error* err) const;
  bool list(std::vector<Network>* out, Error* err) const;  // by name
  // Removes it and its endpoints (invalid for bridge); the caller has
  // checked, under lock(), that no container is on it
  // (container::remove_network).
  bool remove(const std::string& name, Error* err);

  // Puts a container on a network: takes ep->ipv4 when given (invalid
  // outside the subnet or on its network or broadcast address; conflict
  // when it is the gateway's or taken), else the lowest free address (of
  // the network's ip_range when it has one); fills
  // in ep's id and mac where empty (the container's MAC on its other
  // networks: one NIC carries them all; else mac_for(ipv4)). conflict when the container is on the
  // network already. Call under lock().
  bool connect(const std::string& network, Endpoint* ep, Error* err);
  // Takes the container off the network, freeing its address: not_found
  // when it is not on it. Call under lock().
  bool disconnect(const std::string& network, const std::string& container_id, Error* err);
  bool endpoints(const std::string& network, std::vector<Endpoint>* out, Error* err) const;  // by container id

  // The networks a container is on, by name (an order that needs no record
  // of when each was joined; the switch and DNS treat them all alike).
  struct Attachment {
    Network network;
    Endpoint endpoint;
  };
  bool networks_of(const std::string& container_id, std::vector<Attachment>* out, Error* err) const;

 private:
  bool load_endpoint(const std::string& path, Endpoint* ep, Error* err) const;
  bool bump_generation(Error* err) const;

  std::string path_;
};

}  // namespace ctk::network
