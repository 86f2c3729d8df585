#include "oci/image_config.h"

#include "oci/json.h"

namespace ctk::oci {

namespace {

using nlohmann::json;

// name: where the value is ("Config.Env[2]"); "" for the document itself.
bool wrong_type(const std::string& name, std::string_view expected, const json& got, std::string* err) {
  *err = "image config: " + (name.empty() ? "" : name + ": ") + "expected " + std::string(expected) + ", got " +
         std::string(json_kind(got));
  return false;
}

// The member `key` of obj; null when it is missing or null.
const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

bool read_string(const json& obj, const char* key, const std::string& name, std::string* out, std::string* err) {
  const json* v = member(obj, key);
  if (!v) return true;
  if (!v->is_string()) return wrong_type(name, "a string", *v, err);
  *out = v->get<std::string>();
  return true;
}

bool read_strings(const json& obj, const char* key, const std::string& name, std::vector<std::string>* out,
                  std::string* err) {
  const json* v = member(obj, key);
  if (!v) return true;
  if (!v->is_array()) return wrong_type(name, "an array of strings", *v, err);
  for (size_t i = 0; i < v->size(); ++i) {
    const json& s = (*v)[i];
    if (!s.is_string()) return wrong_type(name + "[" + std::to_string(i) + "]", "a string", s, err);
    out->push_back(s.get<std::string>());
  }
  return true;
}

// An object used as a set ({"80/tcp": {}}): its keys. The values carry
// nothing (always {}), so they are not checked.
bool read_keys(const json& obj, const char* key, const std::string& name, std::vector<std::string>* out,
               std::string* err) {
  const json* v = member(obj, key);
  if (!v) return true;
  if (!v->is_object()) return wrong_type(name, "an object", *v, err);
  for (auto it = v->begin(); it != v->end(); ++it) out->push_back(it.key());
  return true;
}

bool read_string_map(const json& obj, const char* key, const std::string& name,
                     std::map<std::string, std::string>* out, std::string* err) {
  const json* v = member(obj, key);
  if (!v) return true;
  if (!v->is_object()) return wrong_type(name, "an object", *v, err);
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_string()) return wrong_type(name + "[" + json(it.key()).dump() + "]", "a string", *it, err);
    (*out)[it.key()] = it->get<std::string>();
  }
  return true;
}

}  // namespace

bool parse_image_config(std::string_view text, ImageConfig* out, std::string* err) {
  json doc;
  std::string why;
  if (!parse_json(text, &doc, &why)) {
    *err = "image config: " + why;
    return false;
  }
  if (!doc.is_object()) return wrong_type("", "an object", doc, err);
  ImageConfig c;
  if (!read_string(doc, "os", "os", &c.os, err) ||
      !read_string(doc, "architecture", "architecture", &c.architecture, err))
    return false;
  // The process defaults sit in "config" (lower case in the document;
  // "Config" as docker inspect and the image-spec's prose name it).
  if (const json* config = member(doc, "config")) {
    if (!config->is_object()) return wrong_type("Config", "an object", *config, err);
    const json& j = *config;
    if (!read_strings(j, "Entrypoint", "Config.Entrypoint", &c.entrypoint, err) ||
        !read_strings(j, "Cmd", "Config.Cmd", &c.cmd, err) || !read_strings(j, "Env", "Config.Env", &c.env, err) ||
        !read_string(j, "WorkingDir", "Config.WorkingDir", &c.working_dir, err) ||
        !read_string(j, "User", "Config.User", &c.user, err) ||
        !read_string(j, "StopSignal", "Config.StopSignal", &c.stop_signal, err) ||
        !read_keys(j, "ExposedPorts", "Config.ExposedPorts", &c.exposed_ports, err) ||
        !read_keys(j, "Volumes", "Config.Volumes", &c.volumes, err) ||
        !read_string_map(j, "Labels", "Config.Labels", &c.labels, err))
      return false;
  }
  *out = std::move(c);
  return true;
}

}  // namespace ctk::oci
