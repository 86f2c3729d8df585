#include "api/server_state.h"

namespace ctk::api {

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

}  // namespace ctk::api
