// The Docker Engine API routes ctk serves: one table (ninja's tool table),
// the only place a path is bound to its handler.
#include "api/handlers.h"

namespace ctk::api {

namespace {

const Route kRoutes[] = {
    {"GET", "/_ping", system_ping},
    {"GET", "/version", system_version},
    {"GET", "/info", system_info},

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
