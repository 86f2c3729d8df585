#include "applets/list_format.h"

#include <algorithm>

#include "base/strings.h"

namespace ctk {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// docker's tabwriter (minimum width 10, padding 3): a cell ended by a tab is
// padded to its column's width; the last cell of a line is not.
std::string aligned(const std::vector<std::string>& rows) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  for (const std::string& row : rows)
    for (const std::string& line : split(row, '\n')) {
      cells.push_back(split(line, '\t'));
      for (size_t i = 0; i + 1 < cells.back().size(); ++i) {
        if (widths.size() <= i) widths.push_back(10);
        widths[i] = std::max(widths[i], cells.back()[i].size() + 3);
      }
    }
  std::string out;
  for (const std::vector<std::string>& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) out.append(widths[i] - line[i].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace

bool ListFormat::parse(std::string_view text, std::span<const Column> columns, std::string_view default_table,
                       std::string* err) {
  columns_ = columns;
  std::string format(trim(text));
  if (format.empty() || format == "table") format = "table " + std::string(default_table);
  if (format == "json") format = "{{json .}}";
  table_ = format.starts_with("table ");
  if (table_) format = trim(std::string_view(format).substr(6));
  for (size_t at = 0; at < format.size();) {
    size_t open = format.find("{{", at);
    std::string literal = format.substr(at, open - at);
    // The two escapes docker reads in a format (the shell passes them as typed).
    for (size_t p; (p = literal.find("\\t")) != std::string::npos;) literal.replace(p, 2, "\t");
    for (size_t p; (p = literal.find("\\n")) != std::string::npos;) literal.replace(p, 2, "\n");
    if (!literal.empty()) parts_.push_back({literal, Part::literal});
    if (open == std::string::npos) break;
    size_t close = format.find("}}", open);
    if (close == std::string::npos) {
      *err = "invalid --format '" + std::string(text) + "': {{ without }}";
      return false;
    }
    std::string_view action = trim(std::string_view(format).substr(open + 2, close - open - 2));
    auto column = std::find_if(columns.begin(), columns.end(),
                               [&](const Column& c) { return action.size() > 1 && action.substr(1) == c.field; });
    if (action == "json .") {
      parts_.push_back({"", Part::json});
    } else if (action.starts_with(".") && column != columns.end()) {
      parts_.push_back({std::string(column->field), Part::field});
    } else {
      std::string known;
      for (const Column& c : columns) known += ", {{." + std::string(c.field) + "}}";
      *err = "invalid --format '" + std::string(text) + "': {{" + std::string(action) +
             "}} is none of table, json or a template of {{json .}}" + known;
      return false;
    }
    at = close + 2;
  }
  return true;
}

std::string ListFormat::render(const nlohmann::json& row, bool header) const {
  std::string out;
  for (const Part& p : parts_) {
    if (p.kind == Part::literal) {
      out += p.text;
    } else if (p.kind == Part::json) {
      out += header ? "" : row.dump();
    } else if (header) {
      for (const Column& c : columns_)
        if (c.field == p.text) out += c.header;
    } else {
      out += row.value(p.text, "");
    }
  }
  return out;
}

void ListFormat::add(const nlohmann::json& row) { lines_.push_back(render(row, false)); }

std::string ListFormat::output() const {
  if (table_) {
    std::vector<std::string> rows = {render(nlohmann::json::object(), true)};
    rows.insert(rows.end(), lines_.begin(), lines_.end());
    return aligned(rows);
  }
  std::string out;
  for (const std::string& line : lines_) out += line + "\n";
  return out;
}

}  // namespace ctk
