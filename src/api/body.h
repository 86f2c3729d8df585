// Typed fields of a JSON request body. Clients send nulls for fields they
// leave unset (Go's nil maps and slices), so a null is as good as absent;
// a field of another type is the client's error (invalid, naming the
// field), never an exception deep in a handler.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace ctk::api {

// The body itself: an object (an empty body already is one).
bool body_object(const nlohmann::json& body, Error* err);

// Each leaves *out unchanged when the field is absent or null.
bool body_string(const nlohmann::json& body, const char* key, std::string* out, Error* err);
bool body_bool(const nlohmann::json& body, const char* key, bool* out, Error* err);
// {"k": "v", ...}: Labels, Options, DriverOpts.
bool body_string_map(const nlohmann::json& body, const char* key, std::map<std::string, std::string>* out,
                     Error* err);
// ["a", "b"]: Aliases.
bool body_string_list(const nlohmann::json& body, const char* key, std::vector<std::string>* out, Error* err);
// A nested object (IPAM, EndpointConfig): *out points into body, or is null
// when the field is absent or null.
bool body_child(const nlohmann::json& body, const char* key, const nlohmann::json** out, Error* err);

}  // namespace ctk::api
