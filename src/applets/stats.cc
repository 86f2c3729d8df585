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

namespace ctk {

extern const Applet kStatsApplet;

namespace {

const Option kOptions[] = {
    {"no-stream", 0, "", "Print one sample and exit (default: refresh every second)"},
    {"all", 'a', "", "Show every container (default: running ones)"},
    {"format", 0, "FORMAT", "table (default) or json (one object per line and sample)"},
    kRootOption,
};

double now_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

struct Sample {
  bool ok = false;
  double at = 0;
  uint64_t cpu_usec = 0, memory = 0, memory_max = 0, pids = 0, vm_rss = 0, vm_memory = 0;
};

// One reading of a running container's cgroup and VM (stats through its supervisor).
Sample sample(const container::Container& ct) {
  Sample s;
  proto::Client conn;
  Error err;
  nlohmann::json r;
  std::string why;
  if (!container::connect(ct, &conn, &err) || !conn.call("stats", {{"container", ""}}, &r, &why)) return s;
  auto num = [](const nlohmann::json& j, const char* a, const char* b) -> uint64_t {
    const nlohmann::json* g = j.contains(a) && j[a].is_object() ? &j[a] : nullptr;
    return g && g->contains(b) && (*g)[b].is_number_unsigned() ? (*g)[b].get<uint64_t>() : 0;
  };
  s.ok = true;
  s.at = now_s();
  s.cpu_usec = num(r, "cpu", "usage_usec");
  s.memory = num(r, "memory", "current");
  s.memory_max = num(r, "memory", "max");
  s.pids = num(r, "pids", "current");
  s.vm_rss = num(r, "vm", "rss");
  s.vm_memory = num(r, "vm", "memory_mib") << 20;
  return s;
}

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
  std::map<std::string, Sample> last;
  for (auto& ct : cts) last[ct->id()] = sample(*ct);
  for (;;) {
    ::usleep(stream ? 1000000 : 500000);  // CPU use is a rate: two readings apart
    if (stream && format == "table") std::printf("\033[2J\033[H");
    if (format == "table")
      std::printf("%-14s %-20s %8s %24s %8s %6s %10s\n", "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                  "PIDS", "VM RSS");
    for (auto& ct : cts) {
      Sample now = sample(*ct), before = last[ct->id()];
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
