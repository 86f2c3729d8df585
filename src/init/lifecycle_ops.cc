// Listing the processes the agent started, and ending the agent: containers
// get SIGTERM, then SIGKILL when the grace period is over; once all have
// exited the agent syncs, replies and stops (as PID 1 the VM then powers off).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "init/agent_state.h"

namespace ctk::init {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

void Agent::for_each_proc(const std::function<void(Container*, Proc*)>& fn) {
  for (auto& [id, ct] : containers_) {
    if (ct->deleted) continue;
    fn(ct.get(), ct->init.get());
    for (auto& [eid, p] : ct->execs) fn(ct.get(), p.get());
  }
}

// {"op":"processes", "container":"ID"?} -> {"processes":[{"container", "exec_id",
//  "pid", "state", "command", "exit_code"?, "message"?}, ...]}
bool Agent::op_processes(Conn*, const json& req, json* result, std::string* code, std::string* err) {
  Container* only;
  if (!optional_container(req, &only, code, err)) return false;
  json list = json::array();
  for_each_proc([&](Container* ct, Proc* p) {
    if (only && ct != only) return;
    static const char* const kStates[] = {"created", "starting", "running", "exited"};  // State's order
    json e = {{"container", ct->id},
              {"exec_id", p->exec_id},
              {"pid", p->pid > 0 ? json(p->pid) : json(nullptr)},
              {"state", kStates[int(p->state)]},
              {"command", p->spec.args}};
    if (p->state == Proc::State::kExited) {
      e["exit_code"] = p->exit_code;
      if (!p->message.empty()) e["message"] = p->message;
    }
    list.push_back(std::move(e));
  });
  *result = {{"processes", list}};
  return true;
}

// {"op":"shutdown", "grace_ms":10000}: the reply comes from shutdown_step.
bool Agent::op_shutdown(Conn* c, const json& req, json*, std::string*, std::string* err) {
  json grace = req.value("grace_ms", json(10000));
  if (!grace.is_number_integer() || grace.get<int64_t>() < 0) {
    *err = "grace_ms must be an integer >= 0";
    return false;
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(grace.get<int64_t>());
  if (shutdown_) {
    // One is under way: this request waits for it too, and a shorter grace
    // period brings SIGKILL forward (as `docker kill` after `docker stop`).
    shutdown_->waiters.push_back({c, req["id"]});
    shutdown_->deadline = std::min(shutdown_->deadline, deadline);
    return true;
  }
  shutdown_ = std::make_unique<Shutdown>();
  shutdown_->waiters.push_back({c, req["id"]});
  shutdown_->deadline = deadline;
  shutdown_->killed = grace.get<int64_t>() == 0;
  signal_live(shutdown_->killed ? SIGKILL : SIGTERM);
  return true;
}

void Agent::signal_live(int sig) {
  for_each_proc([sig](Container*, Proc* p) {
    if (p->pid > 0 && p->state != Proc::State::kExited) ::kill(p->pid, sig);
  });
}

int Agent::shutdown_timeout_ms() const {
  if (!shutdown_ || shutdown_->killed) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(shutdown_->deadline - Clock::now());
  return int(std::max<int64_t>(0, left.count()) + 1);
}

bool Agent::shutdown_step() {
  if (!shutdown_) return false;
  // Done when every process has exited and every wait for one that ran is
  // answered (which needs its output delivered).
  bool busy = false;
  for_each_proc([&](Container*, Proc* p) {
    busy |= p->pid > 0 && (p->state != Proc::State::kExited || !p->waits.empty());
  });
  if (busy) {
    if (!shutdown_->killed && Clock::now() >= shutdown_->deadline) {
      shutdown_->killed = true;
      signal_live(SIGKILL);
    }
    return false;
  }
  // A process created but never started will not run now.
  for_each_proc([&](Container*, Proc* p) {
    for (auto& [c, id] : p->waits) reply_error(c, id, "not_found", "never started; the agent shut down");
    p->waits.clear();
  });
  // What a container left behind (a daemon outside its pid namespace) goes with its cgroup.
  for (auto& [id, ct] : containers_) {
    if (!ct->deleted) cgroups_.remove(ct->cgroup);
    ct->deleted = true;
  }
  ::sync();
  for (auto& [c, id] : shutdown_->waiters) reply(c, id, json::object());
  // The replies must leave before the agent does: up to a second for a peer to take them.
  for (auto& c : conns_) {
    auto deadline = Clock::now() + std::chrono::seconds(1);
    while (!c->dead && !c->mux.output().empty() && Clock::now() < deadline) {
      pollfd p{c->fd, POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      std::string_view out = c->mux.output();
      ssize_t n = ::write(c->fd, out.data(), out.size());
      if (n > 0) c->mux.wrote(size_t(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR) break;
    }
  }
  shutdown_done_ = true;
  return true;
}

}  // namespace ctk::init
