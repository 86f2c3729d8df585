// Small string utilities: size parsing and printing, closest-match suggestions,
// docker's object names, base64.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ctk {

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, or "" when nothing is reasonably close.
std::string_view closest_match(std::string_view word,
                               std::span<const std::string_view> candidates);

// "4096", "512K", "64M", "2G", "1T" (binary units, optional trailing "iB"/"B").
std::optional<uint64_t> parse_size(std::string_view text);

// A duration in whole seconds: "90" or "90s", "10m", "1h"; nullopt when
// malformed or zero.
std::optional<uint64_t> parse_duration(std::string_view text);

// 1536 -> "1.5 KiB".
std::string format_size(uint64_t bytes);

bool starts_with(std::string_view s, std::string_view prefix);

// docker's rule for the names of containers, volumes and networks,
// [a-zA-Z0-9][a-zA-Z0-9_.-]*, with min_size to max_size characters.
bool valid_object_name(std::string_view name, size_t min_size, size_t max_size);

// The fields of `text` between each `sep`: "a::b" -> {"a", "", "b"}; "" -> {""}.
std::vector<std::string> split(std::string_view text, char sep);

// Standard base64 with padding. Decoding also takes the URL-safe alphabet,
// missing padding and line breaks; anything else fails.
std::string base64_encode(std::string_view data);
bool base64_decode(std::string_view text, std::string* out);

}  // namespace ctk
