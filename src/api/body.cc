#include "api/body.h"

namespace ctk::api {

using nlohmann::json;

namespace {

// The field, or null when absent or null.
const json* field(const json& body, const char* key) {
  auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

bool wrong_type(const char* key, const char* want, Error* err) {
  return err->fail(ErrorCode::invalid, std::string("invalid request: ") + key + " must be " + want);
}

}  // namespace

bool body_object(const json& body, Error* err) {
  if (body.is_object()) return true;
  return err->fail(ErrorCode::invalid, "invalid request: the body must be a JSON object");
}

bool body_string(const json& body, const char* key, std::string* out, Error* err) {
  const json* f = field(body, key);
  if (!f) return true;
  if (!f->is_string()) return wrong_type(key, "a string", err);
  *out = f->get<std::string>();
  return true;
}

bool body_bool(const json& body, const char* key, bool* out, Error* err) {
  const json* f = field(body, key);
  if (!f) return true;
  if (!f->is_boolean()) return wrong_type(key, "a boolean", err);
  *out = f->get<bool>();
  return true;
}

bool body_string_map(const json& body, const char* key, std::map<std::string, std::string>* out, Error* err) {
  const json* f = field(body, key);
  if (!f) return true;
  if (!f->is_object()) return wrong_type(key, "an object of strings", err);
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : f->items()) {
    if (!v.is_string()) return wrong_type(key, "an object of strings", err);
    m[k] = v.get<std::string>();
  }
  *out = std::move(m);
  return true;
}

bool body_string_list(const json& body, const char* key, std::vector<std::string>* out, Error* err) {
  const json* f = field(body, key);
  if (!f) return true;
  if (!f->is_array()) return wrong_type(key, "an array of strings", err);
  std::vector<std::string> list;
  for (const json& v : *f) {
    if (!v.is_string()) return wrong_type(key, "an array of strings", err);
    list.push_back(v.get<std::string>());
  }
  *out = std::move(list);
  return true;
}

bool body_child(const json& body, const char* key, const json** out, Error* err) {
  *out = field(body, key);
  if (*out && !(*out)->is_object()) return wrong_type(key, "an object", err);
  return true;
}

}  // namespace ctk::api
