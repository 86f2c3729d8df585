#include "container/stats.h"

#include <time.h>

#include "container/lifecycle.h"

namespace ctk::container {

StatsSample sample_stats(const Container& ct) {
  StatsSample s;
  proto::Client conn;
  Error err;
  nlohmann::json r;
  std::string why;
  if (!connect(ct, &conn, &err) || !conn.call("stats", {{"container", ""}}, &r, &why)) return s;
  auto num = [&r](const char* group, const char* key) -> uint64_t {
    auto g = r.find(group);
    if (g == r.end() || !g->is_object()) return 0;
    auto v = g->find(key);
    return v != g->end() && v->is_number_unsigned() ? v->get<uint64_t>() : 0;
  };
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  s.ok = true;
  s.at = double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
  s.cpu_usec = num("cpu", "usage_usec");
  s.user_usec = num("cpu", "user_usec");
  s.system_usec = num("cpu", "system_usec");
  s.memory = num("memory", "current");
  s.memory_max = num("memory", "max");
  s.pids = num("pids", "current");
  s.vm_rss = num("vm", "rss");
  s.vm_memory = num("vm", "memory_mib") << 20;
  return s;
}

}  // namespace ctk::container
