// ctk kill: Send a signal to containers' main processes
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kKillApplet;

namespace {

const Option kOptions[] = {
    {"signal", 's', "SIG", "Signal to send, a name or number (default: KILL)"},
    kRootOption,
};

int kill_main(const Flags& flags) {
  const Applet& self = kKillApplet;
  if (flags.positional().empty()) return fail(self, "no container given"), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return container_fail(self, err);
  int status = 0;
  std::string sig = flags.get("signal", "KILL");
  for (const std::string& ref : flags.positional()) {
    std::unique_ptr<container::Container> ct;
    if (!find_container(all, ref, &ct, &err) || !container::kill(*ct, sig, &err)) {
      container_fail(self, err);
      status = 1;
      continue;
    }
    std::printf("%s\n", ref.c_str());
  }
  return status;
}

}  // namespace

extern const Applet kKillApplet = {
    .name = "kill",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Send a signal to containers' main processes",
    .description = "The signal (default SIGKILL) goes to each container's main process; a container whose\\nprocess ends this way is not restarted by its restart policy. Prints each name given.",
    .options = kOptions,
    .run = kill_main,
};

}  // namespace ctk
