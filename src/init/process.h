// Starting a container's processes: the cloned child's side (namespaces,
// mounts, pivot_root, user, exec) and the agent's side (clone, setns, the
// status pipe that carries a setup or exec failure back).
#pragma once

#include <sys/types.h>

#include <string>

#include "init/spec.h"

namespace ctk::init {

// Docker's exit codes for a process that never ran.
constexpr int kExitSetupFailed = 125;
constexpr int kExitCannotExecute = 126;
constexpr int kExitNotFound = 127;

// The child's standard streams: -1 is /dev/null. With tty, the child opens a
// pty in the container's own /dev/pts (so `tty` names a device that exists
// there), makes its slave all three streams and the controlling terminal, and
// sends the master back on the status socket.
struct Stdio {
  int in = -1, out = -1, err = -1;
  bool tty = false;
  unsigned rows = 0, cols = 0;
};

struct Spawned {
  pid_t pid = -1;
  // The agent's end of the status socket (SOCK_SEQPACKET): the pty master
  // when asked for, then EOF alone when exec succeeded, or "CODE message"
  // (see parse_status_report) when setup or exec failed.
  int status_fd = -1;
};

// Reads one message from a status socket: its bytes into data, a passed fd
// (the pty master) into *fd. Returns what recvmsg does: 0 at EOF.
ssize_t read_status(int status_fd, std::string* data, int* fd);

// Clones a child into new namespaces that sets up the container and execs the
// spec's process. cgroup_procs (-1: none) is the container cgroup's
// cgroup.procs, which the child joins first of all, so that its cgroup
// namespace is rooted there and everything it sets up is charged there.
// With hold, the child stops short of the process: once the root and its
// mounts are set up it reports success and waits, without exec, until it is
// killed (a stopped container's files, volumes included, for a copy).
bool spawn_container(const Spec& spec, const Stdio& stdio, int cgroup_procs, bool hold, Spawned* out,
                     std::string* err);

// Starts another process inside the namespaces (and the cgroup) of the
// running container whose init is init_pid.
bool spawn_exec(pid_t init_pid, int namespaces, const ProcessSpec& process, const Stdio& stdio,
                int cgroup_procs, Spawned* out, std::string* err);

// Splits a status report into its exit code and message; false if malformed.
bool parse_status_report(const std::string& report, int* code, std::string* message);

// The shell's view of a wait status: the exit code, or 128+N for signal N.
int exit_code_of(int wait_status);

}  // namespace ctk::init
