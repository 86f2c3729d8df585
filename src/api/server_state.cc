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
  std::lock_guard<std::mutex> lock(attach_mu_);
  attaches_.push_back(std::move(p));
}

std::shared_ptr<PendingAttach> ServerState::take_pending_attach(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(attach_mu_);
  for (auto it = attaches_.begin(); it != attaches_.end(); ++it)
    if ((*it)->container_id == container_id && !(*it)->abandoned) {
      auto p = *it;
      attaches_.erase(it);
      return p;
    }
  return nullptr;
}

void ServerState::remove_pending_attach(const std::shared_ptr<PendingAttach>& p) {
  std::lock_guard<std::mutex> lock(attach_mu_);
  std::erase(attaches_, p);
}

}  // namespace ctk::api
