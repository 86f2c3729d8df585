#include "api/server_state.h"

#include <unistd.h>

namespace ctk::api {

ExecInstance::~ExecInstance() {
  for (int fd : resize_pipe)
    if (fd >= 0) ::close(fd);
}

std::shared_ptr<ExecInstance> ServerState::add_exec(ExecInstance e) {
  std::lock_guard<std::mutex> lock(exec_mu_);
  auto p = std::make_shared<ExecInstance>(std::move(e));
  execs_[p->id] = p;
  return p;
}

std::shared_ptr<ExecInstance> ServerState::find_exec(const std::string& id) {
  std::lock_guard<std::mutex> lock(exec_mu_);
  auto it = execs_.find(id);
  if (it != execs_.end()) return it->second;
  // A unique prefix, as docker accepts.
  std::shared_ptr<ExecInstance> found;
  for (auto& [k, v] : execs_)
    if (!id.empty() && k.compare(0, id.size(), id) == 0) {
      if (found) return nullptr;
      found = v;
    }
  return found;
}

std::vector<std::string> ServerState::execs_of(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(exec_mu_);
  std::vector<std::string> out;
  for (auto& [k, v] : execs_)
    if (v->container_id == container_id) out.push_back(k);
  return out;
}

void ServerState::add_pending_attach(std::shared_ptr<PendingAttach> p) {
  std::lock_guard<std::mutex> lock(start_mu_);
  attaches_.push_back(std::move(p));
}

std::shared_ptr<PendingAttach> ServerState::take_pending_attach(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(start_mu_);
  for (auto it = attaches_.begin(); it != attaches_.end(); ++it)
    if ((*it)->container_id == container_id && !(*it)->abandoned) {
      auto p = *it;
      attaches_.erase(it);
      return p;
    }
  return nullptr;
}

void ServerState::remove_pending_attach(const std::shared_ptr<PendingAttach>& p) {
  std::lock_guard<std::mutex> lock(start_mu_);
  std::erase(attaches_, p);
}

void ServerState::add_pending_exit(std::shared_ptr<PendingExit> p) {
  std::lock_guard<std::mutex> lock(start_mu_);
  exits_.push_back(std::move(p));
}

PendingExits ServerState::take_pending_exits(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(start_mu_);
  PendingExits taken;
  std::erase_if(exits_, [&](const std::shared_ptr<PendingExit>& p) {
    if (p->container_id != container_id) return false;
    if (!p->abandoned) taken.push_back(p);
    return true;
  });
  return taken;
}

void ServerState::remove_pending_exit(const std::shared_ptr<PendingExit>& p) {
  std::lock_guard<std::mutex> lock(start_mu_);
  std::erase(exits_, p);
}

void ServerState::tell_exits(const PendingExits& exits, const int* exit_code) {
  if (exits.empty()) return;
  std::lock_guard<std::mutex> lock(start_mu_);
  for (const auto& p : exits) {
    p->done = true;
    p->unknown = exit_code == nullptr;
    if (exit_code) p->exit_code = *exit_code;
  }
  start_cv_.notify_all();
}

void ServerState::deliver_exit(proto::Client& conn, int64_t wait_id, const PendingExits& exits) {
  nlohmann::json reply;
  std::string why;
  bool alive = true;
  while (alive && !conn.take_reply(wait_id, &reply)) alive = conn.pump(-1, &why);
  const nlohmann::json* result = alive && reply.contains("result") ? &reply["result"] : nullptr;
  bool known = result && result->is_object() && result->contains("exit_code") && (*result)["exit_code"].is_number_integer();
  int code = known ? (*result)["exit_code"].get<int>() : 0;
  tell_exits(exits, known ? &code : nullptr);
}

}  // namespace ctk::api
