// The route handlers, one function per endpoint, grouped by the file that
// defines them; api/routes.cc maps methods and paths to them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "oci/credentials.h"
#include "oci/images.h"

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

// events.cc
void system_events(Context& c);
void not_implemented(Context& c);  // build, swarm, plugins: 501 saying so
// POST /swarm/leave: 503, as docker answers a node that is in no swarm
// (ctk never is; clients leaving with force=true take it as done).
void swarm_leave(Context& c);

// containers.cc
void containers_list(Context& c);
void containers_create(Context& c);
void containers_inspect(Context& c);
void containers_start(Context& c);
void containers_stop(Context& c);
void containers_restart(Context& c);
void containers_kill(Context& c);
void containers_delete(Context& c);
void containers_rename(Context& c);
void containers_prune(Context& c);
void containers_wait(Context& c);
void containers_resize(Context& c);
void containers_top(Context& c);
void containers_logs(Context& c);
void containers_stats(Context& c);

// attach.cc
void containers_attach(Context& c);
// GET /ui/ws/attach/{id}: the web UI's attach, the main process's stdio as WebSocket messages.
void containers_attach_websocket(Context& c);

// exec.cc
void exec_create(Context& c);
void exec_start(Context& c);
// GET /ui/ws/exec/{id}?h=ROWS&w=COLS: the web UI's terminal, the exec's pty as WebSocket messages.
void exec_start_websocket(Context& c);
void exec_inspect(Context& c);
void exec_resize(Context& c);

// profiles.cc: GET /ui/api/profiles, ctk's sandbox profiles for the web UI's
// run form: [{"name", "source", "toml"}].
void profiles_list(Context& c);

// archive.cc: docker cp (HEAD, GET and PUT /containers/{id}/archive)
void archive_stat(Context& c);
void archive_get(Context& c);
void archive_put(Context& c);
// GET /ui/api/containers/{id}/ls?path=: a directory's entries, for the web UI's file browser.
void archive_list(Context& c);
// Go's os.FileMode of a path the agent's stat op describes (its type and
// mode, 07777): the permission bits, setuid/setgid/sticky and the type as
// Go's high bits, as docker's path stat carries them.
uint32_t go_file_mode(std::string_view type, uint32_t mode);
// X-Docker-Container-Path-Stat: base64 of {"name","size","mode","mtime",
// "linkTarget"} from the agent's stat JSON.
std::string path_stat_header(const nlohmann::json& stat, const std::string& name, const std::string& link_target);

// images.cc
void image_list(Context& c);
void image_inspect(Context& c);
void image_history(Context& c);
void image_create(Context& c);  // pull; import (fromSrc) is 501
void image_tag(Context& c);
void image_delete(Context& c);
void image_prune(Context& c);
void image_get(Context& c);      // one image's docker-save stream
void image_get_all(Context& c);  // ?names=A&names=B
void image_load(Context& c);
void image_push(Context& c);     // 501: ctk's registry client does not push
void image_search(Context& c);   // 501
void auth_login(Context& c);

// X-Registry-Auth: base64 (URL-safe or not) of a JSON object with
// username, password and identitytoken, as docker clients send it; none,
// "{}" or empty fields are no credentials (an anonymous pull).
bool decode_registry_auth(std::string_view header, std::optional<oci::Credential>* out, std::string* err);

// GET /images/json's filters.
struct ImageFilters {
  std::vector<std::string> reference, label, before, since;
  std::optional<bool> dangling;
};
// "key=value" strings (Context::filters) into ImageFilters; an unknown key
// or a dangling value other than true/false is an error.
bool parse_image_filters(const std::vector<std::string>& filters, ImageFilters* out, std::string* err);
// docker's reference filter: a glob (path.Match's: * stops at /) against
// a familiar "name:tag", or against its name alone.
bool reference_matches(std::string_view pattern, std::string_view name);
// Whether an image passes reference, label and dangling (before and since
// are the caller's: they name other images); *tags gets the RepoTags to
// show (those the reference filter matched).
bool image_matches(const oci::StoredImage& image, const ImageFilters& f, std::vector<std::string>* tags);

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
