// The agent's helpers for file copies: a child that does the blocking work
// (writing a file, packing or unpacking a tree) while the agent's loop moves
// its data through a pipe under the channel's flow control.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace ctk::init {

// Which way the host's data goes through the worker's pipe: into its fd 0
// (kIn), or out of its fd 1 (kOut).
enum class WorkerPipe { kIn, kOut };

struct Worker {
  pid_t pid = -1;
  int pipe = -1;    // the agent's end of the data pipe, non-blocking
  int report = -1;  // read end of the worker's fd 2: why it failed
};

// Starts a child born in the cgroup at cgroup_dir (clone3's
// CLONE_INTO_CGROUP; "" where there is no cgroup2), so that what it does
// (tmpfs pages, which never leave RAM; the page cache it fills) is charged
// there, a container's, and not to the agent's small budget. Its fds are the
// data pipe and `fd` as 0 and 1 (in the order `pipe` says) and the report
// pipe as 2; nothing else of the agent's. It runs `work`, then exits 0, or 1
// with work's error written to fd 2. Like fork, no program is run: the
// agent is single-threaded, so its state is whole in the child.
bool spawn_worker(const std::string& cgroup_dir, WorkerPipe pipe, int fd,
                  const std::function<bool(std::string* err)>& work, Worker* out, std::string* err);

// A reaped worker's outcome: true when it exited 0, else false with what it
// reported (or the signal that killed it; `what` names it then).
bool worker_succeeded(int wait_status, int report, const std::string& what, std::string* err);

// The work of a copier: everything from fd 0 written to fd 1; `path` names
// fd 1's file in errors.
bool copy_stdin_to_stdout(const std::string& path, std::string* err);

}  // namespace ctk::init
