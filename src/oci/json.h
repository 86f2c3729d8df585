// Reading JSON that comes from outside ctk (image configs, manifests,
// indexes, registry replies, archives' files, docker's config.json): parse
// errors are results, never exceptions, and nesting is bounded, because
// serializing, copying or comparing a document recurses once per level and a
// few megabytes of "[[[[" would overflow the stack.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace ctk::oci {

// Far deeper than any image document or registry reply goes.
inline constexpr int kMaxJsonDepth = 64;

// Parses text; on failure *why is "not valid JSON" or "nested deeper than 64 levels".
bool parse_json(std::string_view text, nlohmann::json* out, std::string* why);

// The value's kind with its article, for "expected a string, got a number".
std::string_view json_kind(const nlohmann::json& value);

// A string from outside for an error message: as it is when every byte is
// printable ASCII, else as a JSON string literal (quoted, escaped), so an
// error stays one line whatever the string holds.
std::string printable(std::string_view text);

}  // namespace ctk::oci
