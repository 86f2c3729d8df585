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

bool body_child(const json& body, const char* key, const json** out, Error* err) {
  *out = field(body, key);
  if (*out && !(*out)->is_object()) return wrong_type(key, "an object", err);
  return true;
}

}  // namespace ctk::api
