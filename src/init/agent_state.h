// The agent's bookkeeping, shared by its loop (agent.cc) and its request
// handlers (ops.cc). Objects that die are only marked; Agent::settle() frees
// them after every handler of the poll round has run.
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>

#include "base/file_io.h"
#include "init/agent.h"

namespace ctk::init {

struct Agent::Conn {
  int fd = -1;
  proto::Mux mux;
  bool hello = false;
  bool dead = false;
  bool owns_agent = false;  // an inherited fd: the agent ends with it
};

// Each end of a stream is absent, waiting for its fd (a process not started
// yet), open, or finished.
enum class End { kNone, kPending, kOpen, kDone };

// One data channel bound to the fds it moves bytes between: what the peer
// sends is written to sink, what source yields is sent to the peer.
struct Agent::Stream {
  Conn* conn = nullptr;
  uint32_t ch = 0;
  End sink = End::kNone, source = End::kNone;
  int sink_fd = -1, source_fd = -1;
  Proc* proc = nullptr;  // whose output this carries: wait holds for its EOF
  // A copy (copy_in, copy_out of an archive) replies once its worker
  // (spawn_worker) is done and so is the channel: `result` and the bytes
  // moved, or the worker's error.
  bool reply_pending = false;
  json reply_id;
  json result;
  pid_t worker = -1;
  bool worker_reaped = false;
  int worker_status = 0;
  UniqueFd worker_report;
  std::string path;  // what is copied, for errors
  uint64_t bytes = 0;
  // A forwarded TCP connection (forward.cc): sink_fd and source_fd are the
  // same socket, so ending the sink must shut down its sending half.
  bool socket = false;
  // A forwarded UDP socket: the channel carries datagrams (proto/datagram.h).
  bool datagrams = false;
  // A pty master's output: a line the terminal driver hands over in two
  // pieces (text, then ONLCR's "\r\n") is read as one.
  bool pty = false;
  std::string connecting;  // "connect HOST:PORT" while in progress; the reply waits
  bool dead = false;
};

struct Agent::Proc {
  enum class State { kCreated, kStarting, kRunning, kExited };
  Container* container = nullptr;
  std::string exec_id;  // "" for the container's init
  ProcessSpec spec;
  State state = State::kCreated;
  pid_t pid = -1;
  int status_fd = -1;  // until EOF: the child's setup/exec outcome
  std::string report;
  bool reaped = false;
  int wait_status = 0;
  int pty = -1;  // master, for resize
  Conn* conn = nullptr;
  uint32_t in_ch = 0, out_ch = 0, err_ch = 0;
  int exit_code = 0;
  std::string message;  // why it never ran
  Conn* start_conn = nullptr;  // the start/exec request waiting for the outcome
  json start_id;
  std::vector<std::pair<Conn*, json>> waits;
  uint64_t oom_base = 0;  // the cgroup's OOM kills when it started
  bool oom_killed = false;
  bool hold = false;  // start's hold: the container's root is set up, nothing runs
};

struct Agent::Container {
  std::string id;
  Spec spec;
  std::unique_ptr<Proc> init;
  std::map<std::string, std::unique_ptr<Proc>> execs;
  std::string cgroup;  // its cgroup's path; "" without cgroup2
  bool deleted = false;
};

// A shutdown under way (lifecycle_ops.cc): the requests waiting for its
// reply, and when SIGTERM's grace period ends.
struct Agent::Shutdown {
  std::vector<std::pair<Conn*, json>> waiters;
  std::chrono::steady_clock::time_point deadline;
  bool killed = false;  // SIGKILL sent
};

struct Agent::Poll {
  std::vector<pollfd> fds;
  std::vector<std::function<void(short)>> handlers;
  void add(int fd, short events, std::function<void(short)> handler) {
    fds.push_back({fd, events, 0});
    handlers.push_back(std::move(handler));
  }
};

}  // namespace ctk::init
