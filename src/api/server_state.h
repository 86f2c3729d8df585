// What `ctk serve` keeps in memory, all of it what dockerd too keeps only in
// its process: exec instances (created, then started by a second request),
// attach clients waiting for their container's start, and the events bus.
// Containers themselves are never here (api.h).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/events.h"
#include "proto/client.h"

namespace ctk::api {

// docker exec's two-step life: POST /containers/{id}/exec makes one,
// /exec/{id}/start runs it, /exec/{id}/json reports it.
struct ExecInstance {
  std::string id;            // 64 hex
  std::string container_id;
  nlohmann::json config;     // the create body (Cmd, Env, Tty, Attach*, User, WorkingDir)
  std::string detach_keys;   // its DetachKeys as bytes (container/detach_keys.h)
  bool running = false, started = false;
  int exit_code = 0;
  bool exited = false;
  // A resize for the running exec's pty, passed to the thread that relays
  // it (only that thread may use its supervisor connection): the size, and
  // a byte on the pipe to wake it.
  unsigned rows = 0, cols = 0;
  int resize_pipe[2] = {-1, -1};
  ~ExecInstance();
};

// A wait that began before its container's start (docker run's order:
// wait, then start). The start asks the supervisor for the exit on its own
// connection, before the process runs, and whoever holds that connection
// fills this in: no exit is missed, not even a --rm container's, gone from
// the disk by the time a poll of it would look.
struct PendingExit {
  std::string container_id;
  bool done = false;     // exit_code is the exit; or `unknown`
  bool unknown = false;  // the start failed or its supervisor went: read the state
  int exit_code = 0;
  bool abandoned = false;  // the waiting client left before the start
};
using PendingExits = std::vector<std::shared_ptr<PendingExit>>;

// An attach client (docker run, start -a) waiting for its container's
// start: the start hands it the supervisor connection its output arrives on.
struct PendingAttach {
  std::string container_id;
  bool want_stdin = false;
  std::unique_ptr<proto::Client> conn;  // set by the start, with attach channels open
  int64_t wait_id = 0;                  // the start's wait for the exit
  PendingExits exits;                   // waits the exit is told to, by the attach
  bool handed = false, abandoned = false;
};

class ServerState {
 public:
  explicit ServerState(std::string data_root) : data_root_(std::move(data_root)) {}
  const std::string& data_root() const { return data_root_; }
  // --registry-mirror: where pulls of Docker Hub's images go first.
  void set_hub_mirror(std::string mirror) { hub_mirror_ = std::move(mirror); }
  const std::string& hub_mirror() const { return hub_mirror_; }

  // Exec instances, by id.
  std::shared_ptr<ExecInstance> add_exec(ExecInstance e);
  std::shared_ptr<ExecInstance> find_exec(const std::string& id);
  // Under this lock an ExecInstance's fields may be read and written.
  std::mutex& exec_mutex() { return exec_mu_; }
  std::condition_variable& exec_changed() { return exec_cv_; }
  // Exec ids of a container (its inspect's ExecIDs).
  std::vector<std::string> execs_of(const std::string& container_id);

  // Attach clients and waits waiting for a start; their fields under
  // start_mutex().
  void add_pending_attach(std::shared_ptr<PendingAttach> p);
  // The waiting attach of a container (removed from the list), or null.
  std::shared_ptr<PendingAttach> take_pending_attach(const std::string& container_id);
  void remove_pending_attach(const std::shared_ptr<PendingAttach>& p);
  void add_pending_exit(std::shared_ptr<PendingExit> p);
  // The waits for a container's start (removed from the list).
  PendingExits take_pending_exits(const std::string& container_id);
  void remove_pending_exit(const std::shared_ptr<PendingExit>& p);
  // Tells waits the exit (nullptr: unknown, they read the state).
  void tell_exits(const PendingExits& exits, const int* exit_code);
  // Reads the exit reply to wait_id on conn and tells it to exits.
  void deliver_exit(proto::Client& conn, int64_t wait_id, const PendingExits& exits);
  std::mutex& start_mutex() { return start_mu_; }
  std::condition_variable& start_changed() { return start_cv_; }

  // docker events: handlers publish what they do to images, volumes and
  // networks; container events come from the watcher (events.h).
  EventBus& events() { return events_; }
  // Starts watching the data root's containers for events.
  void start_events() { events_.start_watcher(data_root_); }

 private:
  std::string data_root_, hub_mirror_;
  std::mutex exec_mu_;
  std::condition_variable exec_cv_;
  std::map<std::string, std::shared_ptr<ExecInstance>> execs_;
  std::mutex start_mu_;
  std::condition_variable start_cv_;
  std::vector<std::shared_ptr<PendingAttach>> attaches_;
  PendingExits exits_;
  EventBus events_;
};

}  // namespace ctk::api
