// cgroup v2 for containers: the agent keeps one cgroup per container under a
// base it owns (/sys/fs/cgroup/ctk), applies config.json's linux.resources
// there, reads statistics and the OOM-kill count, and removes it on delete.
// The agent itself lives in base/agent: cgroup v2 lets a cgroup either hold
// processes or hand controllers to children, not both.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ctk::init {

// linux.resources, the part cgroup v2 can express. -1 / 0 mean "not set".
struct Resources {
  int64_t memory_limit = -1;  // memory.limit: bytes
  int64_t cpu_quota = -1;     // cpu.quota: microseconds per period
  uint64_t cpu_period = 0;    // cpu.period: microseconds
  uint64_t cpu_shares = 0;    // cpu.shares: cgroup v1's 2..262144
  int64_t pids_limit = 0;     // pids.limit: > 0, or -1 for unlimited
  std::map<std::string, std::string> unified;  // linux.resources.unified: file -> value
};

bool parse_resources(const nlohmann::json& resources, Resources* out, std::string* err);

// The cgroup files and values that express r, in the order they are written.
std::vector<std::pair<std::string, std::string>> cgroup_values(const Resources& r);

// cpu.shares (v1) to cpu.weight (v2), as runc converts: 2..262144 -> 1..10000.
uint64_t shares_to_weight(uint64_t shares);

class Cgroups {
 public:
  // Sets up base (and moves this process into base/agent); false with why
  // when cgroup2 is not mounted on the parent of base or cannot be used.
  bool init(const std::string& base, std::string* err);
  bool available() const { return available_; }
  // Where copy_in's writer goes for files in the agent's own filesystem:
  // base's sibling "<base>-files", so that they are not charged to the agent
  // (a tmpfs file never leaves RAM). "" without cgroup2.
  const std::string& files() const { return files_; }
  // Sets memory.max of the agent's own cgroup (base/agent); false with why
  // when the memory controller cannot be had there.
  bool limit_agent_memory(uint64_t bytes, std::string* err);
  // Creates base/id with r applied; its path into *path.
  bool create(const std::string& id, const Resources& r, std::string* path, std::string* err);
  // Kills what is left in the cgroup and removes it; a cgroup whose
  // processes are still dying is retried by retry_removals().
  void remove(const std::string& path);
  void retry_removals();
  // {"memory": {"current", "max", "oom_kills"}, "cpu": {"usage_usec", ...},
  //  "pids": {"current", "max"}}; null where the controller is not enabled.
  bool stats(const std::string& path, nlohmann::json* out, std::string* err) const;
  // The same for the cgroup this process is in (by /proc/self/cgroup), with
  // "cgroup": its path below the cgroup2 mount.
  bool own_stats(nlohmann::json* out, std::string* err) const;

 private:
  bool available_ = false;
  std::string base_;
  std::string mount_;  // base's parent: where cgroup2 is mounted
  std::string files_;
  std::string why_;
  std::vector<std::string> doomed_;
};

// memory.events' oom_kill count of the cgroup at path (0 without the memory controller).
uint64_t oom_kills(const std::string& path);

// The processes in the cgroup at path and the cgroups below it (which a
// container with a cgroup namespace may make).
std::vector<pid_t> cgroup_procs(const std::string& path);

}  // namespace ctk::init
