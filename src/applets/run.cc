// ctk run: create + start + attach, docker-style.
#include <cstdio>
#include <vector>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "container/attach.h"
#include "container/guest_setup.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kRunApplet;

namespace {

constexpr Option kRunOnly[] = {
    {"detach", 'd', "", "Run in the background and print the container's id"},
    {"rm", 0, "", "Remove the container when it exits"},
    {"timings", 0, "", "Print the time each phase took"},
    kDetachKeysOption,
};

constexpr auto kOptions = join_options(kRunOnly, kCreateOptions);

int run_main(const Flags& flags) {
  const Applet& self = kRunApplet;
  container::CreateOptions o;
  std::string why;
  int code;
  if (!create_options(flags, &o, &why, &code)) return fail(self, why), code;
  o.auto_remove = flags.has("rm");
  if (o.auto_remove && o.restart.name != "no")
    return fail(self, "--restart and --rm conflict: a container removed at its exit cannot be restarted"), kExitUsage;
  bool detach = flags.has("detach");
  std::string detach_keys;
  if (!detach_keys_flag(flags, &detach_keys, &why)) return fail(self, why), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return fail(self, err.message), container::kExitStartFailed;
  Timings timings;
  container::Spec spec;
  if (!container::create(all, o, timings, &spec, &err)) {
    if (flags.has("timings")) timings.print();
    return fail(self, err.message), container::kExitStartFailed;
  }
  container::Container ct(all, spec.id);
  ct.spec = spec;
  proto::Client conn;
  container::Started started;
  container::StartRequest req{.attach = !detach, .wait = !detach};
  bool ok = container::start(all, ct, req, &conn, &started, timings, &err);
  if (!started.notice.empty()) std::fprintf(stderr, "ctk run: %s\n", started.notice.c_str());
  if (!ok) {
    if (flags.has("timings")) timings.print();
    fail(self, err.message);
    if (o.auto_remove && all.remove(spec.id, &err)) container::remove_anonymous_volumes(all, spec.mounts);
    return container::exit_code_for_agent_error(started.agent_code);
  }
  if (detach) {
    if (flags.has("timings")) timings.print();
    std::printf("%s\n", spec.id.c_str());
    return 0;
  }
  container::AttachedProcess p = container::main_attachment(spec, true);
  p.detach_keys = std::move(detach_keys);
  p.wait_id = started.wait_id;
  {
    Timer t(timings, "process");
    container::RelayEnd end;
    if (!container::attach(conn, p, &end, &why)) {
      fail(self, why);
      code = container::kExitStartFailed;
    } else {
      // Detached: the container runs on under its supervisor (docker's 0).
      code = end.detached ? 0 : end.exit_code;
    }
  }
  if (flags.has("timings")) timings.print();
  return code;
}

}  // namespace

extern const Applet kRunApplet = {
    .name = "run",
    .synopsis = "[OPTIONS] IMAGE|ROOTFS.ext4|LAYER.tar... [COMMAND [ARG...]]",
    .summary = "Run a command in a new container, in its own VM",
    .description =
        "IMAGE is pulled when not in the store; its Entrypoint, Cmd, Env, WorkingDir and User\n"
        "apply. Its layers (or layer archives) are built into an ext4 image once and cached:\n"
        "the VM's read-only disk. The container writes to its own ext4 disk (an overlay's\n"
        "upper layer) that lives as long as the container. A supervisor process owns the VM;\n"
        "with -d ctk returns once the process runs, otherwise stdout and stderr (or the pty\n"
        "with -t) are attached and ^C and other signals go to the process. The exit code is\n"
        "the process's, 127 when the command is not found, 126 when it cannot run, 128+N\n"
        "after signal N, 125 when ctk itself failed. Without --rm the exited container stays\n"
        "(ctk ps -a, ctk start, ctk rm); with --rm its writes go to memory in the VM.",
    .options = kOptions,
    .run = run_main,
    .stop_at_positional = true,
};

}  // namespace ctk
