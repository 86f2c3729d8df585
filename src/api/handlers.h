// The route handlers, one function per endpoint, grouped by the file that
// defines them; api/routes.cc maps methods and paths to them.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "network/networks.h"
#include "volume/volumes.h"

namespace ctk::api {

// system.cc
void system_ping(Context& c);
void system_version(Context& c);
void system_info(Context& c);
void not_implemented(Context& c);  // build, swarm, plugins: 501 saying so

// volumes.cc
void volume_list(Context& c);
void volume_create(Context& c);
void volume_inspect(Context& c);
void volume_delete(Context& c);
void volume_prune(Context& c);
// POST /volumes/create's body as a volume to make (a generated name when it
// has none): invalid for what ctk's volumes cannot be (driver options, a
// cluster volume), not_found for a driver other than local, as docker has
// no plugin for it.
bool volume_from_body(const nlohmann::json& body, volume::Volume* v, Error* err);

// networks.cc
void network_list(Context& c);
void network_inspect(Context& c);
void network_create(Context& c);
void network_delete(Context& c);
void network_connect(Context& c);
void network_disconnect(Context& c);
void network_prune(Context& c);
// POST /networks/create's body as a network to make; *warning names what is
// accepted but ignored (the bridge driver's options). invalid for what ctk
// cannot make (IPv6, several subnets, swarm's kinds), not_found for a driver
// or IPAM driver docker would look for as a plugin.
bool network_from_body(const nlohmann::json& body, network::Network* n, std::string* warning, Error* err);
// The body of /networks/{id}/connect and /disconnect: the container's name or
// id, Force (disconnect's), and the endpoint's aliases and IPv4 address.
bool endpoint_from_body(const nlohmann::json& body, std::string* container, bool* force, network::Endpoint* ep,
                        Error* err);

}  // namespace ctk::api
