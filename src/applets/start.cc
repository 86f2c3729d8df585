// ctk start: start created or stopped containers.
#include <cstdio>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/attach.h"
#include "container/guest_setup.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kStartApplet;

namespace {

const Option kOptions[] = {
    {"attach", 'a', "", "Attach stdout and stderr and wait for the exit (one container only)"},
    {"interactive", 'i', "", "Attach stdin too"},
    kDetachKeysOption,
    kRootOption,
};

int start_main(const Flags& flags) {
  const Applet& self = kStartApplet;
  if (flags.positional().empty()) return fail(self, "no container given"), kExitUsage;
  bool attach = flags.has("attach") || flags.has("interactive");
  if (attach && flags.positional().size() > 1) return fail(self, "--attach takes one container"), kExitUsage;
  std::string detach_keys, why;
  if (!detach_keys_flag(flags, &detach_keys, &why)) return fail(self, why), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return container_fail(self, err);
  int status = 0;
  for (const std::string& ref : flags.positional()) {
    std::unique_ptr<container::Container> ct;
    proto::Client conn;
    container::Started started;
    Timings timings;
    if (!find_container(all, ref, &ct, &err) ||
        !container::start(all, *ct, {.attach = attach, .wait = attach}, &conn, &started, timings, &err)) {
      container_fail(self, err);
      status = 1;
      continue;
    }
    if (!attach) {
      std::printf("%s\n", ref.c_str());
      continue;
    }
    container::AttachedProcess p = container::main_attachment(ct->spec, flags.has("interactive"));
    p.wait_id = started.wait_id;
    p.detach_keys = detach_keys;
    container::RelayEnd end;
    if (!container::attach(conn, p, &end, &why)) return fail(self, why);
    status = end.detached ? 0 : end.exit_code;
  }
  return status;
}

}  // namespace

extern const Applet kStartApplet = {
    .name = "start",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Start created or stopped containers",
    .description = "Boots each container's VM under a new supervisor and starts its process; the\n"
                   "writable layer is the one it had. With -a, its output is attached and the exit\n"
                   "code is the process's.",
    .options = kOptions,
    .run = start_main,
};

}  // namespace ctk
