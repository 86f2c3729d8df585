// docker's `ls --format` for the listing commands: "table" (the default
// columns), "json" (one object per line), or a Go template of {{.Field}}
// and {{json .}} with \t and \n for tab and newline, which "table TEMPLATE"
// prints under a header row. Tables are aligned as docker's tabwriter
// aligns them: each column as wide as its widest cell plus 3, at least 10.
// Only these forms of Go's templates are known; anything else is refused
// when parsed, never printed half-done.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ctk {

struct Column {
  std::string_view field;   // {{.ID}}
  std::string_view header;  // NETWORK ID
};

class ListFormat {
 public:
  // text: --format's value ("" or "table": default_table, a template of
  // the fields below); columns: every field a row has.
  bool parse(std::string_view text, std::span<const Column> columns, std::string_view default_table,
             std::string* err);
  // One row: an object of strings, one per column's field (as docker's
  // `--format json` shows it).
  void add(const nlohmann::json& row);
  // The header (tables) and the rows added, each line ended.
  std::string output() const;

 private:
  struct Part {
    std::string text;  // literal text, or the field's name
    enum Kind { literal, field, json } kind = literal;
  };
  std::string render(const nlohmann::json& row, bool header) const;

  std::span<const Column> columns_;
  std::vector<Part> parts_;
  bool table_ = false;
  std::vector<std::string> lines_;
};

}  // namespace ctk
