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

namespace ctk::api {

// docker exec's two-step life: POST /containers/{id}/exec makes one,
// /exec/{id}/start runs it, /exec/{id}/json reports it.
struct ExecInstance {
  std::string id;            // 64 hex
  std::string container_id;
  nlohmann::json config;     // the create body (Cmd, Env, Tty, Attach*, User, WorkingDir)
  bool running = false, started = false;
  int exit_code = 0;
  bool exited = false;
};

class ServerState {
 public:
  explicit ServerState(std::string data_root) : data_root_(std::move(data_root)) {}
  const std::string& data_root() const { return data_root_; }

  // Exec instances, by id.
  std::shared_ptr<ExecInstance> add_exec(ExecInstance e);
  std::shared_ptr<ExecInstance> find_exec(const std::string& id);
  // Under this lock an ExecInstance's fields may be read and written.
  std::mutex& exec_mutex() { return exec_mu_; }
  std::condition_variable& exec_changed() { return exec_cv_; }
  // Exec ids of a container (its inspect's ExecIDs).
  std::vector<std::string> execs_of(const std::string& container_id);

 private:
  std::string data_root_;
  std::mutex exec_mu_;
  std::condition_variable exec_cv_;
  std::map<std::string, std::shared_ptr<ExecInstance>> execs_;
};

}  // namespace ctk::api
