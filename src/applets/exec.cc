// ctk exec: run a command in a running container.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/attach.h"
#include "container/guest_setup.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kExecApplet;

namespace {

const Option kOptions[] = {
    {"interactive", 'i', "", "Keep stdin attached"},
    {"tty", 't', "", "Allocate a pseudo-terminal"},
    {"detach", 'd', "", "Run the command in the background"},
    {"env", 'e', "K=V", "Set an environment variable", true},
    {"workdir", 'w', "DIR", "Working directory (default: the container's)"},
    {"user", 'u', "USER[:GROUP]", "User to run as (default: the container's)"},
    kRootOption,
};

int exec_main(const Flags& flags) {
  const Applet& self = kExecApplet;
  if (flags.positional().size() < 2) return fail(self, "want CONTAINER COMMAND [ARG...]"), kExitUsage;
  Error err;
  container::Containers all;
  std::unique_ptr<container::Container> ct;
  proto::Client conn;
  if (!open_containers(flags, &all, &err) || !find_container(all, flags.positional()[0], &ct, &err) ||
      !container::connect(*ct, &conn, &err))
    return fail(self, err.message), 1;
  const container::Spec& s = ct->spec;
  bool tty = flags.has("tty"), interactive = flags.has("interactive"), detach = flags.has("detach");
  std::vector<std::string> env = s.env;
  for (const std::string& e : flags.all("env")) env.push_back(e);
  nlohmann::json process = {{"args", std::vector<std::string>(flags.positional().begin() + 1, flags.positional().end())},
                            {"env", env},
                            {"cwd", flags.get("workdir", s.workdir)},
                            {"terminal", tty}};
  if (std::string user = flags.get("user", s.user); !user.empty()) process["user"] = user;
  unsigned rows, cols;
  container::terminal_size(&rows, &cols);
  if (tty && rows && cols) process["consoleSize"] = {{"height", rows}, {"width", cols}};
  // Exec ids need only be unique on this connection: the supervisor scopes them.
  nlohmann::json target = {{"exec_id", "1"}};
  nlohmann::json req = target;
  req["process"] = process;
  container::AttachedProcess p;
  p.target = target;
  p.tty = tty;
  if (!detach) {
    p.out = container::kAttachOut;
    conn.mux().open(p.out);
    req["stdout"] = p.out;
    if (tty) {
      if (interactive) p.in = p.out, req["stdin"] = p.out;
    } else {
      p.err = container::kAttachErr;
      conn.mux().open(p.err);
      req["stderr"] = p.err;
      if (interactive) {
        p.in = container::kAttachIn;
        conn.mux().open(p.in);
        req["stdin"] = p.in;
      }
    }
  }
  p.stdin_open = interactive && !detach;
  int64_t exec_id = conn.request("exec", req);
  p.wait_id = conn.request("wait", target);
  nlohmann::json reply;
  std::string why, code;
  while (!conn.take_reply(exec_id, &reply))
    if (!conn.pump(-1, &why)) return fail(self, why), container::kExitStartFailed;
  if (reply.contains("error")) {
    fail(self, reply["error"].value("message", "exec failed"));
    return container::exit_code_for_agent_error(reply["error"].value("code", ""));
  }
  if (detach) return 0;
  int exit_code;
  if (!container::attach(conn, p, &exit_code, &why)) return fail(self, why), container::kExitStartFailed;
  return exit_code;
}

}  // namespace

extern const Applet kExecApplet = {
    .name = "exec",
    .synopsis = "[OPTIONS] CONTAINER COMMAND [ARG...]",
    .summary = "Run a command in a running container",
    .description = "The command runs in the container's namespaces and cgroup with its environment\n"
                   "(plus -e), working directory and user unless given. The exit code is the\n"
                   "command's; 127 when it is not found, 126 when it cannot run, 125 when ctk failed.",
    .options = kOptions,
    .run = exec_main,
    .stop_at_positional = true,
};

}  // namespace ctk
