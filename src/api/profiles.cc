#include "api/profiles.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "api/handlers.h"
#include "base/strings.h"

namespace ctk::api {

using json = nlohmann::json;

namespace {

// docker's zero values count as unset: the CLI sends 0, "" and false for a
// flag not given.
bool unset(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (it->is_number()) return *it == 0;
  if (it->is_string()) return it->get_ref<const std::string&>().empty();
  if (it->is_boolean()) return !it->get<bool>();
  return false;
}

void set_default(json* object, const char* key, json value) {
  if (unset(*object, key)) (*object)[key] = std::move(value);
}

// The profile's values before the body's.
void prepend(json* object, const char* key, const std::vector<std::string>& values) {
  json& list = (*object)[key];
  if (list.is_null()) list = json::array();
  if (!list.is_array()) return;
  json first(values);
  list.insert(list.begin(), first.begin(), first.end());
}

}  // namespace

bool apply_profile(const profile::Profile& p, json* body, uint64_t* timeout, Error* err) {
  *timeout = 0;
  if (!body->is_object()) return true;  // create reports it
  json& host_config = (*body)["HostConfig"];
  if (host_config.is_null()) host_config = json::object();
  json* hc = host_config.is_object() ? &host_config : nullptr;
  // The request's mounts win over the profile's at the same destination.
  std::set<std::string> mounted;
  if (hc) {
    for (const json& bind : hc->value("Binds", json::array()))
      if (bind.is_string()) mounted.insert(profile::mount_destination("volume", bind.get<std::string>()));
    for (const json& m : hc->value("Mounts", json::array()))
      if (m.is_object() && m.contains("Target") && m["Target"].is_string()) mounted.insert(m["Target"].get<std::string>());
    if (json tmpfs = hc->value("Tmpfs", json::object()); tmpfs.is_object())
      for (const auto& [path, ignored] : tmpfs.items()) mounted.insert(path);
  }
  for (const profile::Setting& setting : p.settings) {
    profile::Setting s = setting;
    std::erase_if(s.values, [&](const std::string& v) {
      std::string destination = profile::mount_destination(s.flag, v);
      return !destination.empty() && mounted.contains(destination);
    });
    if (s.values.empty()) continue;
    const std::string& value = s.values.front();
    bool applied = true;
    if (s.flag == "env") prepend(body, "Env", s.values);
    else if (s.flag == "user") set_default(body, "User", value);
    else if (s.flag == "workdir") set_default(body, "WorkingDir", value);
    else if (s.flag == "timeout") *timeout = parse_duration(value).value_or(0);
    else if (!hc) continue;
    else if (s.flag == "memory") set_default(hc, "Memory", parse_size(value).value_or(0));
    else if (s.flag == "cpus") {
      if (unset(*hc, "NanoCpus") && unset(*hc, "CpuQuota")) (*hc)["NanoCpus"] = std::llround(std::atof(value.c_str()) * 1e9);
    } else if (s.flag == "pids-limit") set_default(hc, "PidsLimit", std::atoll(value.c_str()));
    else if (s.flag == "read-only") set_default(hc, "ReadonlyRootfs", true);
    else if (s.flag == "network") {
      if (unset(*hc, "NetworkMode") || (*hc)["NetworkMode"] == "default") (*hc)["NetworkMode"] = value;
    } else if (s.flag == "volume") prepend(hc, "Binds", s.values);
    else if (s.flag == "tmpfs") {
      json& tmpfs = (*hc)["Tmpfs"];
      if (tmpfs.is_null()) tmpfs = json::object();
      if (!tmpfs.is_object()) continue;
      for (const std::string& t : s.values) {
        size_t colon = t.find(':');
        std::string path = t.substr(0, colon), options = colon == std::string::npos ? "" : t.substr(colon + 1);
        tmpfs[path] = options;
      }
    } else if (s.flag == "cap-add") prepend(hc, "CapAdd", s.values);
    else if (s.flag == "cap-drop") prepend(hc, "CapDrop", s.values);
    else if (s.flag == "security-opt") prepend(hc, "SecurityOpt", s.values);
    else applied = false;
    // Every key a profile may have maps to a field: a new one must be added here.
    if (!applied) return err->fail(ErrorCode::failure, "profile " + p.name + ": --" + s.flag + " has no Docker API field");
  }
  if (p.bind_read_only && hc && hc->contains("Binds") && (*hc)["Binds"].is_array())
    for (json& bind : (*hc)["Binds"])
      if (bind.is_string() && profile::bind_without_mode(bind.get_ref<const std::string&>()))
        bind = bind.get<std::string>() + ":ro";
  return true;
}

void profiles_list(Context& c) {
  json out = json::array();
  for (const profile::Entry& e : profile::list()) {
    profile::Profile p;
    std::string why;
    // A user's file that does not parse is listed with its error, which
    // create would answer too.
    json entry = {{"name", e.name}, {"source", e.source}, {"toml", ""}};
    if (profile::load(e.name, &p, &why)) entry["toml"] = p.toml;
    else entry["error"] = why;
    out.push_back(std::move(entry));
  }
  c.reply_json(200, out);
}

}  // namespace ctk::api
