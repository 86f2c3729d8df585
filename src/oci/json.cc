#include "oci/json.h"

#include <algorithm>

namespace ctk::oci {

using nlohmann::json;

bool parse_json(std::string_view text, json* out, std::string* why) {
  // What lies deeper than the limit is dropped as it is read (never built),
  // and the document is then refused.
  bool too_deep = false;
  json::parser_callback_t limit = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  *out = json::parse(text, limit, false);
  if (too_deep || out->is_discarded()) {
    *why = too_deep ? "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels" : "not valid JSON";
    return false;
  }
  return true;
}

std::string_view json_kind(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "binary data";
  }
}

std::string printable(std::string_view text) {
  bool plain = std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (plain) return std::string(text);
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ctk::oci
