// docker's --filter KEY=VALUE of the listing and prune commands (ps, volume
// ls, network ls, the prunes): one parser and the matching every object kind
// shares (labels, dangling); what each other key means is its command's.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>

namespace ctk {

struct Filter {
  std::string key, value;
  bool negated = false;  // label!=KEY[=VALUE] (prune's)
};

// Parses KEY=VALUE for a KEY among `keys`; "label!" among them allows
// label!=, parsed as key "label", negated. dangling= takes true, false, 1 or
// 0. The error names the keys: "invalid filter 'x': want name= or label=".
bool parse_filter(std::string_view text, std::span<const std::string_view> keys, Filter* out, std::string* err);

// label=KEY or label=KEY=VALUE: whether the labels have it (negated: have it not).
bool label_matches(const std::map<std::string, std::string>& labels, const Filter& f);

// dangling=true|1 (parse_filter allows nothing else but false|0).
bool filter_is_true(const Filter& f);

}  // namespace ctk
