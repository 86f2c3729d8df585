// Command-line flags for applets: one table of options per applet drives
// parsing, --help text and the closest-match suggestion for a typo.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ctk {

struct Option {
  std::string_view name;        // long name without dashes: "size"
  char short_name = 0;          // 'o', or 0
  std::string_view value_name;  // "N" when the option takes a value; "" for a switch
  std::string_view help;
  bool repeatable = false;      // -e A -e B
};

class Flags {
 public:
  // Parses argv[0..argc). With stop_at_positional, the first positional
  // argument ends option parsing (docker's `run IMAGE CMD -x`). "--" always does.
  // On error fills err with one line naming the flag (and a suggestion) and returns false.
  bool parse(std::span<char* const> args, std::span<const Option> options,
             bool stop_at_positional, std::string* err);

  bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  std::string get(std::string_view name, std::string_view fallback = {}) const;
  const std::vector<std::string>& all(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Settings from elsewhere (a profile) under the command line's: a value for
  // a single-valued flag the command line did not set, and values before the
  // command line's for a repeatable one (whose last word wins where it matters).
  void set_default(std::string_view name, std::string value);
  void prepend(std::string_view name, const std::vector<std::string>& values);
  // Replaces a flag's values with rewritten ones.
  void set_all(std::string_view name, std::vector<std::string> values);

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// The OPTIONS section of --help, one line per option.
std::string format_options(std::span<const Option> options);

}  // namespace ctk
