// Typed fields of a JSON request body. Clients send nulls for fields they
// leave unset (Go's nil maps and slices), so a null is as good as absent;
// a field of another type is the client's error (invalid, naming the
// field), never an exception deep in a handler.
#pragma once

#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace ctk::api {

// The body itself: an object (an empty body already is one).
bool body_object(const nlohmann::json& body, Error* err);

// What a field of type T must be, for the error.
template <typename T>
constexpr const char* body_type_name() {
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  else if constexpr (std::is_same_v<T, bool>) return "a boolean";
  else if constexpr (std::is_arithmetic_v<T>) return "a number";
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "an array of strings";
  else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) return "an object of strings";
  else return "of another type";
}

// body[key] as a T (a string, bool, number, ["a", "b"], {"k": "v"} ...);
// *out is left unchanged when the field is absent or null.
template <typename T>
bool body_field(const nlohmann::json& body, const char* key, T* out, Error* err) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return true;
  try {
    T value = it->template get<T>();
    *out = std::move(value);
    return true;
  } catch (const nlohmann::json::exception&) {
    return err->fail(ErrorCode::invalid, std::string("invalid request: ") + key + " must be " + body_type_name<T>());
  }
}
// A nested object (IPAM, EndpointConfig): *out points into body, or is null
// when the field is absent or null.
bool body_child(const nlohmann::json& body, const char* key, const nlohmann::json** out, Error* err);

}  // namespace ctk::api
