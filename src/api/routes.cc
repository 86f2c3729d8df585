// The Docker Engine API routes ctk serves: one table (ninja's tool table),
// the only place a path is bound to its handler.
#include "api/handlers.h"

namespace ctk::api {

namespace {

const Route kRoutes[] = {
    {"GET", "/_ping", system_ping},
    {"GET", "/version", system_version},
    {"GET", "/info", system_info},

    {"GET", "/images/json", image_list},
    {"POST", "/images/create", image_create},
    {"POST", "/images/load", image_load},
    {"POST", "/images/prune", image_prune},
    {"GET", "/images/get", image_get_all},
    {"GET", "/images/search", image_search},
    {"GET", "/images/{name*}/json", image_inspect},
    {"GET", "/images/{name*}/history", image_history},
    {"GET", "/images/{name*}/get", image_get},
    {"POST", "/images/{name*}/tag", image_tag},
    {"POST", "/images/{name*}/push", image_push},
    {"DELETE", "/images/{name*}", image_delete},
    {"POST", "/auth", auth_login},

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
