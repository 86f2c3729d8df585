// ctk exec: run a command in a running container.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/attach.h"
#include "container/exec.h"
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
    kDetachKeysOption,
    kRootOption,
};

int exec_main(const Flags& flags) {
  const Applet& self = kExecApplet;
  if (flags.positional().size() < 2) return fail(self, "want CONTAINER COMMAND [ARG...]"), kExitUsage;
  std::string detach_keys, why;
  if (!detach_keys_flag(flags, &detach_keys, &why)) return fail(self, why), kExitUsage;
  Error err;
  container::Containers all;
  std::unique_ptr<container::Container> ct;
  proto::Client conn;
  if (!open_containers(flags, &all, &err) || !find_container(all, flags.positional()[0], &ct, &err) ||
      !container::connect(*ct, &conn, &err))
    return fail(self, err.message), 1;
  bool tty = flags.has("tty"), detach = flags.has("detach");
  container::ExecOptions o{.args = std::vector<std::string>(flags.positional().begin() + 1, flags.positional().end()),
                           .env = flags.all("env"),
                           .workdir = flags.get("workdir"),
                           .user = flags.get("user"),
                           .tty = tty,
                           .stdin_open = flags.has("interactive"),
                           .attach_output = !detach};
  container::terminal_size(&o.rows, &o.cols);
  container::AttachedProcess p;
  std::string code;
  if (!container::start_exec(conn, ct->spec, o, &p, &code, &err)) {
    fail(self, err.message);
    return code.empty() ? container::kExitStartFailed : container::exit_code_for_agent_error(code);
  }
  if (detach) return 0;
  p.detach_keys = std::move(detach_keys);
  container::RelayEnd end;
  if (!container::attach(conn, p, &end, &why)) return fail(self, why), container::kExitStartFailed;
  // As docker exec: the command runs on, and the detach is an error here.
  if (end.detached) return fail(self, "read escape sequence"), 1;
  return end.exit_code;
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
