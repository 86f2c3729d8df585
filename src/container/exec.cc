#include "container/exec.h"

#include "container/lifecycle.h"

namespace ctk::container {

using nlohmann::json;

bool start_exec(proto::Client& conn, const Spec& spec, const ExecOptions& o, AttachedProcess* p,
                std::string* agent_code, Error* err) {
  std::vector<std::string> env = spec.env;
  env.insert(env.end(), o.env.begin(), o.env.end());
  json process = {{"args", o.args}, {"env", env}, {"cwd", o.workdir.empty() ? spec.workdir : o.workdir},
                  {"terminal", o.tty}};
  std::string user = o.user.empty() ? spec.user : o.user;
  if (!user.empty()) process["user"] = user;
  // The container's --group-add applies to its execs too, as docker's does.
  if (!spec.group_add.empty()) process["groupAdd"] = spec.group_add;
  if (o.tty && o.rows && o.cols) process["consoleSize"] = {{"height", o.rows}, {"width", o.cols}};
  json target = {{"exec_id", o.exec_id}};
  json req = target;
  req["process"] = process;
  *p = AttachedProcess();
  p->target = target;
  p->tty = o.tty;
  if (o.attach_output) {
    p->out = kAttachOut;
    conn.mux().open(p->out);
    req["stdout"] = p->out;
    if (o.tty) {
      if (o.stdin_open) p->in = p->out, req["stdin"] = p->out;
    } else {
      p->err = kAttachErr;
      conn.mux().open(p->err);
      req["stderr"] = p->err;
      if (o.stdin_open) {
        p->in = kAttachIn;
        conn.mux().open(p->in);
        req["stdin"] = p->in;
      }
    }
  }
  p->stdin_open = o.stdin_open && o.attach_output;
  int64_t exec_id = conn.request("exec", req);
  p->wait_id = conn.request("wait", target);
  json reply;
  std::string why;
  while (!conn.take_reply(exec_id, &reply))
    if (!conn.pump(-1, &why)) return err->fail(ErrorCode::failure, why);
  if (reply.contains("error")) {
    *agent_code = reply["error"].value("code", "");
    // failed_precondition: the container is not running (its VM is up for a copy).
    ErrorCode code = *agent_code == "not_found"             ? ErrorCode::not_found
                     : *agent_code == "failed_precondition" ? ErrorCode::conflict
                                                            : ErrorCode::failure;
    return err->fail(code, reply["error"].value("message", "exec failed"));
  }
  return true;
}

}  // namespace ctk::container
