// One reading of a running container's resource use: its cgroup inside the
// VM (CPU time, memory, processes) and what its VM costs the host (the
// VMM's and supervisor's resident memory). `ctk stats` and the Docker API's
// stats both take two readings apart for CPU rates.
#pragma once

#include <cstdint>

#include "container/state.h"

namespace ctk::container {

struct StatsSample {
  bool ok = false;      // false: not running (or it stopped meanwhile)
  double at = 0;        // CLOCK_MONOTONIC seconds
  uint64_t cpu_usec = 0, user_usec = 0, system_usec = 0;
  uint64_t memory = 0, memory_max = 0;  // memory_max 0: no limit
  uint64_t pids = 0;
  uint64_t vm_rss = 0, vm_memory = 0;   // the VM's host RSS, and its configured memory
};

StatsSample sample_stats(const Container& ct);

}  // namespace ctk::container
