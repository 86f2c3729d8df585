// ctk stats: containers' CPU and memory, and what their VMs cost the host.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "base/strings.h"
#include "container/inspect.h"
#include "container/lifecycle.h"
#include "container/stats.h"

namespace ctk {

extern const Applet kStatsApplet;

namespace {

const Option kOptions[] = {
    {"no-stream", 0, "", "Print one sample and exit (default: refresh every second)"},
    {"all", 'a', "", "Show every container (default: running ones)"},
    {"format", 0, "FORMAT", "table (default) or json (one object per line and sample)"},
    kRootOption,
};

int stats_main(const Flags& flags) {
  const Applet& self = kStatsApplet;
  std::string format = flags.get("format", "table");
  if (format != "table" && format != "json") return fail(self, "--format must be table or json"), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return container_fail(self, err);
  std::vector<std::unique_ptr<container::Container>> cts;
  if (flags.positional().empty()) {
    std::vector<container::Summary> list;
    if (!container::list(all, flags.has("all"), {}, &list, &err)) return container_fail(self, err);
    for (const container::Summary& s : list) cts.push_back(std::make_unique<container::Container>(all, s.id));
    for (auto& ct : cts) ct->load(&err);
  } else {
    for (const std::string& ref : flags.positional()) {
      std::unique_ptr<container::Container> ct;
      if (!find_container(all, ref, &ct, &err)) return container_fail(self, err);
      cts.push_back(std::move(ct));
    }
  }
  bool stream = !flags.has("no-stream");
  std::map<std::string, container::StatsSample> last;
  for (auto& ct : cts) last[ct->id()] = container::sample_stats(*ct);
  for (;;) {
    ::usleep(stream ? 1000000 : 500000);  // CPU use is a rate: two readings apart
    if (stream && format == "table") std::printf("\033[2J\033[H");
    if (format == "table")
      std::printf("%-14s %-20s %8s %24s %8s %6s %10s\n", "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                  "PIDS", "VM RSS");
    for (auto& ct : cts) {
      container::StatsSample now = container::sample_stats(*ct), before = last[ct->id()];
      last[ct->id()] = now;
      double cpu = now.ok && before.ok && now.at > before.at
                       ? double(now.cpu_usec - before.cpu_usec) / ((now.at - before.at) * 1e6) * 100
                       : 0;
      // Without a limit the container can use the VM's memory.
      uint64_t limit = now.memory_max ? now.memory_max : now.vm_memory;
      double mem_pct = limit ? double(now.memory) * 100 / double(limit) : 0;
      if (format == "json") {
        nlohmann::json j = {{"ID", ct->id()}, {"Name", ct->spec.name}, {"CPUPerc", cpu}, {"MemUsage", now.memory},
                            {"MemLimit", limit}, {"MemPerc", mem_pct}, {"PIDs", now.pids}, {"VMRss", now.vm_rss},
                            {"Running", now.ok}};
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::string usage = format_size(now.memory) + " / " + format_size(limit);
        std::printf("%-14s %-20s %7.2f%% %24s %7.2f%% %6llu %10s\n", ct->id().substr(0, 12).c_str(),
                    ct->spec.name.c_str(), cpu, usage.c_str(), mem_pct, static_cast<unsigned long long>(now.pids),
                    format_size(now.vm_rss).c_str());
      }
    }
    std::fflush(stdout);
    if (!stream) return 0;
  }
}

}  // namespace

extern const Applet kStatsApplet = {
    .name = "stats",
    .synopsis = "[OPTIONS] [CONTAINER...]",
    .summary = "Show containers' CPU and memory use, and their VMs' cost to the host",
    .description = "CPU % and memory come from each container's cgroup inside its VM; VM RSS is what\n"
                   "its QEMU and supervisor hold in host memory. A container that is not running shows\n"
                   "zeros.",
    .options = kOptions,
    .run = stats_main,
};

}  // namespace ctk
