// ctk top: the processes running in a container.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/lifecycle.h"
#include "container/top.h"

namespace ctk {

extern const Applet kTopApplet;

namespace {

const Option kOptions[] = {
    {"format", 0, "FORMAT", "table (default) or json (one object per process and line)"},
    kRootOption,
};

// Columns as wide as their widest cell, two blanks apart.
void print_table(const container::TopTable& t) {
  std::vector<size_t> width;
  for (const std::string& title : t.titles) width.push_back(title.size());
  for (const auto& row : t.processes)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += i + 1 < row.size() ? row[i] + std::string(width[i] - row[i].size() + 2, ' ') : row[i];
    std::printf("%s\n", line.c_str());
  };
  print(t.titles);
  for (const auto& row : t.processes) print(row);
}

int top_main(const Flags& flags) {
  const Applet& self = kTopApplet;
  const auto& args = flags.positional();
  if (args.empty()) return fail(self, "want CONTAINER [ps OPTIONS]"), kExitUsage;
  std::string format = flags.get("format", "table"), why;
  if (format != "table" && format != "json") return fail(self, "--format must be table or json"), kExitUsage;
  std::vector<std::string> columns;
  if (!container::top_columns({args.begin() + 1, args.end()}, &columns, &why)) return fail(self, why), kExitUsage;
  Error err;
  container::Containers all;
  std::unique_ptr<container::Container> ct;
  proto::Client conn;
  if (!open_containers(flags, &all, &err) || !find_container(all, args[0], &ct, &err) ||
      !container::connect(*ct, &conn, &err))
    return container_fail(self, err);
  nlohmann::json reply;
  if (!conn.call("top", nlohmann::json::object(), &reply, &why)) return fail(self, why);
  if (format == "json") {
    for (const auto& p : reply.value("processes", nlohmann::json::array())) std::printf("%s\n", p.dump().c_str());
    return 0;
  }
  timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  print_table(container::top_table(reply, columns, int64_t(now.tv_sec) * 1000000000 + now.tv_nsec));
  return 0;
}

}  // namespace

extern const Applet kTopApplet = {
    .name = "top",
    .synopsis = "[OPTIONS] CONTAINER [ps OPTIONS]",
    .summary = "Display the running processes of a container",
    .description = "Every process in the container's cgroup, read from the guest's /proc: PIDs as\n"
                   "the container sees them. Columns as ps -ef prints them, or as ps options\n"
                   "choose: -o LIST (pid ppid uid user gid c pcpu pmem stime etime time tty s\n"
                   "stat rss vsz nlwp comm args cmd) or aux.",
    .options = kOptions,
    .run = top_main,
    .stop_at_positional = true,
};

}  // namespace ctk
