// The top op: what runs in a container, as ps shows it (`ctk top`): every
// process in its cgroup, read from /proc.
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "init/agent_state.h"
#include "init/procfs.h"
#include "init/users.h"

namespace ctk::init {

namespace {

int64_t clock_ns(clockid_t clock) {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

// {"op":"top", "container":"ID"} -> {"processes":[{"pid", "agent_pid", "ppid",
//  "uid", "user", "gid", "state", "threads", "tty", "cpu_usec", "rss", "vsz",
//  "start_ns", "comm", "args"}, ...], "memory_total": N}
bool Agent::op_top(Conn*, const json& req, json* result, std::string* code, std::string* err) {
  Container* ct = find_container(req, code, err);
  if (!ct) return false;
  // Without cgroup2 (an agent outside a VM): the processes the agent started.
  std::vector<pid_t> pids;
  if (!ct->cgroup.empty()) pids = cgroup_procs(ct->cgroup);
  else
    for_each_proc([&](Container* c, Proc* p) {
      if (c == ct && p->pid > 0 && !p->reaped) pids.push_back(p->pid);
    });
  std::vector<ProcInfo> procs;
  for (pid_t pid : pids)
    if (ProcInfo p; read_proc(pid, &p)) procs.push_back(std::move(p));
  std::sort(procs.begin(), procs.end(), [](const ProcInfo& a, const ProcInfo& b) {
    return std::pair{a.ns_pid, a.pid} < std::pair{b.ns_pid, b.pid};
  });
  // Parents as the container sees them; 0 for one outside it (the agent).
  std::map<pid_t, pid_t> ns_pids;
  for (const ProcInfo& p : procs) ns_pids[p.pid] = p.ns_pid;
  std::map<uint32_t, std::string> names = user_names(container_path(ct, ""));
  const int64_t hz = ::sysconf(_SC_CLK_TCK), page = ::sysconf(_SC_PAGESIZE);
  const int64_t boot_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
  json list = json::array();
  for (const ProcInfo& p : procs) {
    auto parent = ns_pids.find(p.ppid);
    auto name = names.find(p.uid);
    list.push_back({{"pid", p.ns_pid},
                    {"agent_pid", p.pid},
                    {"ppid", parent == ns_pids.end() ? 0 : parent->second},
                    {"uid", p.uid},
                    {"user", name == names.end() ? std::to_string(p.uid) : name->second},
                    {"gid", p.gid},
                    {"state", std::string(1, p.state)},
                    {"threads", p.threads},
                    {"tty", tty_name(p.tty_nr)},
                    {"cpu_usec", int64_t(p.cpu_ticks) * 1000000 / hz},
                    {"rss", int64_t(p.rss_pages) * page},
                    {"vsz", p.vsize},
                    {"start_ns", boot_ns + int64_t(p.start_ticks) * (1000000000 / hz)},
                    {"comm", p.comm},
                    {"args", p.args}});
  }
  *result = {{"processes", list}, {"memory_total", memory_total()}};
  return true;
}

}  // namespace ctk::init
