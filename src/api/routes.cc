// The Docker Engine API routes ctk serves: one table (ninja's tool table),
// the only place a path is bound to its handler.
#include "api/handlers.h"

namespace ctk::api {

namespace {

const Route kRoutes[] = {
    {"GET", "/_ping", system_ping},
    {"GET", "/version", system_version},
    {"GET", "/info", system_info},

    {"GET", "/volumes", volume_list},
    {"POST", "/volumes/create", volume_create},
    {"POST", "/volumes/prune", volume_prune},
    {"GET", "/volumes/{name}", volume_inspect},
    {"DELETE", "/volumes/{name}", volume_delete},

    {"GET", "/networks", network_list},
    {"POST", "/networks/create", network_create},
    {"POST", "/networks/prune", network_prune},
    {"GET", "/networks/{id}", network_inspect},
    {"DELETE", "/networks/{id}", network_delete},
    {"POST", "/networks/{id}/connect", network_connect},
    {"POST", "/networks/{id}/disconnect", network_disconnect},

    {"POST", "/build", not_implemented},
    {"POST", "/build/prune", not_implemented},
    {"GET", "/swarm", not_implemented},
    {"POST", "/swarm/init", not_implemented},
    {"POST", "/swarm/join", not_implemented},
    {"GET", "/services", not_implemented},
    {"GET", "/nodes", not_implemented},
    {"GET", "/tasks", not_implemented},
    {"GET", "/secrets", not_implemented},
    {"GET", "/configs", not_implemented},
    {"GET", "/plugins", not_implemented},
};

}  // namespace

std::span<const Route> routes() { return kRoutes; }

}  // namespace ctk::api
