#include "base/filter.h"

#include <algorithm>

namespace ctk {

bool parse_filter(std::string_view text, std::span<const std::string_view> keys, Filter* out, std::string* err) {
  size_t eq = text.find('=');
  *out = Filter{};
  out->key = text.substr(0, eq);
  out->value = eq == std::string_view::npos ? "" : text.substr(eq + 1);
  bool known = std::find(keys.begin(), keys.end(), out->key) != keys.end();
  if (known && out->key == "label!") {
    out->key = "label";
    out->negated = true;
  }
  if (eq == std::string_view::npos || !known) {
    std::string want;
    for (size_t i = 0; i < keys.size(); ++i)
      want += (i == 0 ? "" : i + 1 == keys.size() ? " or " : ", ") + std::string(keys[i]) + "=";
    *err = "invalid filter '" + std::string(text) + "': want " + want;
    return false;
  }
  if (out->key == "dangling" && out->value != "true" && out->value != "false" && out->value != "1" &&
      out->value != "0") {
    *err = "invalid filter '" + std::string(text) + "': dangling takes true or false";
    return false;
  }
  return true;
}

bool label_matches(const std::map<std::string, std::string>& labels, const Filter& f) {
  size_t eq = f.value.find('=');
  auto it = labels.find(f.value.substr(0, eq));
  bool has = it != labels.end() && (eq == std::string::npos || it->second == f.value.substr(eq + 1));
  return has != f.negated;
}

bool filter_is_true(const Filter& f) { return f.value == "true" || f.value == "1"; }

}  // namespace ctk
