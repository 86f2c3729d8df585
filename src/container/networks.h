// Networks seen with their containers: the switch's topology, which
// containers keep a network in use, connecting and disconnecting, docker's
// `network inspect`. The network files (network/networks.h) know containers
// only by id; names, hostnames and whether a container still exists come
// from the containers' own files here, so a rename is seen at once.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "container/state.h"
#include "net/topology.h"
#include "network/networks.h"

namespace ctk::container {

// Every network of the data root with its endpoints, each with its
// container's current name and hostname; endpoints whose container is gone
// (a removal that died before freeing them) are left out.
bool load_topology(const std::string& data_root, net::Topology* out, Error* err);

// The names of the containers, running or not, on the network; sorted.
bool network_users(const Containers& all, const network::Networks& networks, const std::string& name,
                   std::vector<std::string>* out, Error* err);

// Removes the network unless a container, running or not, is on it: then
// conflict, naming them. Call under the networks' lock, which connecting
// takes too, so none can join it between the check and the removal.
bool remove_network(const Containers& all, network::Networks& networks, const std::string& name, Error* err);

// `network prune`: removes every network but bridge that matches the filters
// (network::parse_filter's, prune = true) and that no container is on (those
// are kept, as docker keeps them); their names in `removed`. Takes the
// networks' lock itself. Another failure skips that network: err has the
// last one and the result is false, the others removed all the same.
bool prune_networks(const Containers& all, network::Networks& networks, const std::vector<Filter>& filters,
                    std::vector<std::string>* removed, Error* err);

// `network connect`: puts the container ep->container_id on the network
// (network::Networks::connect: ep's address, MAC and aliases) and, when it
// runs, its VM too (apply_live_network_change); the record is undone when
// that fails. Endpoints left by containers that are gone are dropped first,
// so their addresses are free. Takes the networks' lock itself.
bool connect_network(const Containers& all, network::Networks& networks, const std::string& network,
                     network::Endpoint* ep, Error* err);
// `network disconnect`: the reverse, the endpoint restored when the running
// VM cannot follow. not_found when the container is not on the network.
bool disconnect_network(const Containers& all, network::Networks& networks, const std::string& network,
                        const std::string& container_id, Error* err);

// Frees every address of a container being removed (Containers::detach
// calls it, for rm, run --rm and a failed create alike).
bool disconnect_all(const std::string& data_root, const std::string& container_id, Error* err);

// docker's `network inspect` object. Containers lists every container on
// the network, running or not (docker lists only running ones: ctk keeps
// an address from create to rm).
bool network_inspect_json(const Containers& all, const network::Networks& networks, const network::Network& n,
                          nlohmann::json* out, Error* err);

// Makes a running container's VM follow its endpoint files after a connect
// or disconnect: its supervisor adds or takes off the addresses on the VM's
// switch NIC (invalid when the VM has none: started without a network).
// True at once for a container that is not running (its next start reads them).
bool apply_live_network_change(const std::string& data_root, const std::string& id, Error* err);

}  // namespace ctk::container
