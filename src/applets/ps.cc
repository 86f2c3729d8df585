// ctk ps: list containers.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/inspect.h"

namespace ctk {

extern const Applet kPsApplet;

namespace {

const Option kOptions[] = {
    {"all", 'a', "", "Show all containers (default: running ones)"},
    {"quiet", 'q', "", "Only print ids"},
    {"no-trunc", 0, "", "Do not truncate ids and commands"},
    {"filter", 'f', "KEY=VALUE", "Only containers that match: id, name, status, label (KEY or KEY=VALUE), ancestor, volume, network", true},
    {"format", 0, "FORMAT", "table (default) or json (one object per line)"},
    kRootOption,
};

std::string shorten(const std::string& s, size_t n) { return s.size() > n ? s.substr(0, n - 1) + "…" : s; }

int ps_main(const Flags& flags) {
  const Applet& self = kPsApplet;
  std::string format = flags.get("format", "table");
  if (format != "table" && format != "json") return fail(self, "--format must be table or json"), kExitUsage;
  std::vector<container::Filter> filters;
  std::string why;
  for (const std::string& f : flags.all("filter")) {
    container::Filter filter;
    if (!container::parse_filter(f, &filter, &why)) return fail(self, why), kExitUsage;
    filters.push_back(filter);
  }
  Error err;
  container::Containers all;
  std::vector<container::Summary> list;
  if (!open_containers(flags, &all, &err) || !container::list(all, flags.has("all"), filters, &list, &err))
    return container_fail(self, err);
  bool trunc = !flags.has("no-trunc");
  if (flags.has("quiet")) {
    for (const container::Summary& c : list) std::printf("%s\n", trunc ? c.id.substr(0, 12).c_str() : c.id.c_str());
    return 0;
  }
  if (format == "json") {
    for (const container::Summary& c : list) std::printf("%s\n", container::summary_json(c).dump().c_str());
    return 0;
  }
  // Columns as wide as their widest cell, three spaces apart (docker's tabwriter).
  std::vector<std::vector<std::string>> rows = {{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"}};
  for (const container::Summary& c : list)
    rows.push_back({trunc ? c.id.substr(0, 12) : c.id, trunc ? shorten(c.image, 24) : c.image,
                    "\"" + (trunc ? shorten(c.command, 20) : c.command) + "\"", c.created_ago, c.status_text,
                    c.ports_text, c.name});
  std::vector<size_t> width(rows[0].size(), 0);
  auto cells = [](const std::string& s) {  // display width: UTF-8 continuation bytes take none
    return size_t(std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
  };
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], cells(row[i]));
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - cells(row[i]) + 3, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace

extern const Applet kPsApplet = {
    .name = "ps",
    .synopsis = "[OPTIONS]",
    .summary = "List containers",
    .description = "Reads every container's state under the data root; a container whose supervisor\n"
                   "is gone shows as exited, never as running. Newest first.",
    .options = kOptions,
    .run = ps_main,
};

}  // namespace ctk
