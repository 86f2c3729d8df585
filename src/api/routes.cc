// The Docker Engine API routes ctk serves: one table (ninja's tool table),
// the only place a path is bound to its handler.
#include "api/handlers.h"

namespace ctk::api {

namespace {

const Route kRoutes[] = {
    {"GET", "/_ping", system_ping},
    {"GET", "/version", system_version},
    {"GET", "/info", system_info},
    {"GET", "/events", system_events},

    {"GET", "/containers/json", containers_list},
    {"POST", "/containers/create", containers_create},
    {"POST", "/containers/prune", containers_prune},
    {"GET", "/containers/{id}/json", containers_inspect},
    {"POST", "/containers/{id}/start", containers_start},
    {"POST", "/containers/{id}/stop", containers_stop},
    {"POST", "/containers/{id}/restart", containers_restart},
    {"POST", "/containers/{id}/kill", containers_kill},
    {"DELETE", "/containers/{id}", containers_delete},
    {"POST", "/containers/{id}/rename", containers_rename},
    {"POST", "/containers/{id}/wait", containers_wait},
    {"POST", "/containers/{id}/resize", containers_resize},
    {"GET", "/containers/{id}/top", containers_top},
    {"GET", "/containers/{id}/logs", containers_logs},
    {"GET", "/containers/{id}/stats", containers_stats},
    {"POST", "/containers/{id}/attach", containers_attach},
    {"POST", "/containers/{id}/exec", exec_create},
    {"POST", "/exec/{id}/start", exec_start},
    {"GET", "/ui/ws/exec/{id}", exec_start_websocket},
    {"GET", "/ui/ws/attach/{id}", containers_attach_websocket},
    {"GET", "/exec/{id}/json", exec_inspect},
    {"POST", "/exec/{id}/resize", exec_resize},
    {"POST", "/containers/{id}/pause", not_implemented},
    {"POST", "/containers/{id}/unpause", not_implemented},
    {"POST", "/containers/{id}/update", not_implemented},
    {"GET", "/containers/{id}/changes", not_implemented},
    {"GET", "/containers/{id}/export", not_implemented},
    {"HEAD", "/containers/{id}/archive", archive_stat},
    {"GET", "/containers/{id}/archive", archive_get},
    {"PUT", "/containers/{id}/archive", archive_put},
    {"GET", "/ui/api/containers/{id}/ls", archive_list},
    {"GET", "/ui/api/profiles", profiles_list},

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

    {"POST", "/commit", not_implemented},
    {"GET", "/distribution/{name*}/json", not_implemented},
    {"POST", "/build", not_implemented},
    {"POST", "/build/prune", not_implemented},
    {"GET", "/swarm", not_implemented},
    {"POST", "/swarm/init", not_implemented},
    {"POST", "/swarm/join", not_implemented},
    {"POST", "/swarm/leave", swarm_leave},
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
