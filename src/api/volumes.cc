// /volumes: docker's volume endpoints over ctk's named volumes (volume/),
// which `ctk volume` shares: a volume made on either side is seen on both.
#include "api/body.h"
#include "api/handlers.h"
#include "api/server_state.h"
#include "base/random.h"
#include "container/lifecycle.h"
#include "volume/volumes.h"

namespace ctk::api {

using nlohmann::json;

namespace {

// What every volume handler opens: the containers (which use volumes) and
// the volumes of the server's data root.
struct VolumeState {
  container::Containers containers;
  volume::Volumes volumes;
};

bool open_state(Context& c, VolumeState* s) {
  Error err;
  if (s->containers.open(c.server.data_root(), &err) && s->volumes.open(s->containers.data_root(), &err)) return true;
  c.reply_error(err);
  return false;
}

// The query's filters as volume filters; false after a 400. `named` (prune
// only): docker's all=true filter, which lets prune take named volumes too.
bool volume_filters(Context& c, bool prune, std::vector<volume::Filter>* out, bool* named) {
  std::vector<std::string> texts;
  if (!c.filters(&texts)) return false;
  for (const std::string& text : texts) {
    if (prune && text.starts_with("all=")) {
      std::string v = text.substr(4);
      if (v != "true" && v != "1" && v != "false" && v != "0")
        return c.reply_error(400, "invalid filter 'all=" + v + "': want true or false"), false;
      *named = v == "true" || v == "1";
      continue;
    }
    std::string why;
    out->emplace_back();
    if (!volume::parse_filter(text, prune, &out->back(), &why)) return c.reply_error(400, why), false;
  }
  return true;
}

}  // namespace

bool volume_from_body(const json& body, volume::Volume* v, Error* err) {
  std::string driver;
  std::map<std::string, std::string> opts;
  const json* cluster = nullptr;
  if (!body_object(body, err) || !body_field(body, "Name", &v->name, err) ||
      !body_field(body, "Driver", &driver, err) || !body_field(body, "DriverOpts", &opts, err) ||
      !body_field(body, "Labels", &v->labels, err) || !body_child(body, "ClusterVolumeSpec", &cluster, err))
    return false;
  // docker's answer for a driver it has no plugin for.
  if (!driver.empty() && driver != "local")
    return err->fail(ErrorCode::not_found, "plugin \"" + driver + "\" not found");
  // The local driver's options mount a device or NFS (type, device, o): a
  // volume here is a directory shared into VMs, so they would be dropped.
  if (!opts.empty())
    return err->fail(ErrorCode::invalid, "ctk's local volumes take no driver options (" + opts.begin()->first + ")");
  if (cluster) return err->fail(ErrorCode::invalid, "ctk has no cluster volumes");
  // Unnamed: docker's generated names are 64 hex digits too.
  if (v->name.empty()) v->name = random_id();
  return true;
}

void volume_list(Context& c) {
  std::vector<volume::Filter> filters;
  bool named = false;
  VolumeState s;
  if (!volume_filters(c, false, &filters, &named) || !open_state(c, &s)) return;
  std::vector<volume::Volume> all;
  Error err;
  if (!s.volumes.list(&all, &err)) return c.reply_error(err);
  json out = json::array();
  for (const volume::Volume& v : all)
    if (volume::matches(v, !s.containers.volume_users(v.name).empty(), filters))
      out.push_back(volume::inspect_json(s.volumes, v));
  c.reply_json(200, {{"Volumes", out}, {"Warnings", json::array()}});
}

void volume_create(Context& c) {
  json body;
  volume::Volume v;
  VolumeState s;
  Error err;
  if (!c.json_body(&body)) return;
  if (!volume_from_body(body, &v, &err)) return c.reply_error(err);
  if (!open_state(c, &s)) return;
  oci::FileLock lock;
  bool created;
  // An existing volume is no error: docker answers with it as it is.
  if (!s.volumes.lock(&lock, &err) || !s.volumes.create(&v, false, &created, &err)) return c.reply_error(err);
  if (created) c.server.events().publish("volume", "create", v.name, {{"driver", "local"}});
  c.reply_json(201, volume::inspect_json(s.volumes, v));
}

void volume_inspect(Context& c) {
  VolumeState s;
  if (!open_state(c, &s)) return;
  volume::Volume v;
  Error err;
  if (!s.volumes.load(c.param("name"), &v, &err)) return c.reply_error(err);
  c.reply_json(200, volume::inspect_json(s.volumes, v));
}

void volume_delete(Context& c) {
  VolumeState s;
  if (!open_state(c, &s)) return;
  oci::FileLock lock;
  Error err;
  if (!s.volumes.lock(&lock, &err)) return c.reply_error(err);
  if (container::remove_volume(s.containers, s.volumes, c.param("name"), &err))
    c.server.events().publish("volume", "destroy", c.param("name"), {{"driver", "local"}});
  else if (!(err.code == ErrorCode::not_found && c.flag("force")))
    return c.reply_error(err);
  c.reply_empty(204);
}

void volume_prune(Context& c) {
  std::vector<volume::Filter> filters;
  // Before API 1.42 prune took every unused volume, named ones too.
  bool named = !c.version_at_least("1.42");
  VolumeState s;
  if (!volume_filters(c, true, &filters, &named) || !open_state(c, &s)) return;
  container::PrunedVolumes pruned;
  Error err;
  if (!container::prune_volumes(s.containers, s.volumes, named, filters, &pruned, &err)) return c.reply_error(err);
  for (const std::string& name : pruned.names) c.server.events().publish("volume", "destroy", name, {{"driver", "local"}});
  c.reply_json(200, {{"VolumesDeleted", pruned.names}, {"SpaceReclaimed", pruned.reclaimed}});
}

}  // namespace ctk::api
