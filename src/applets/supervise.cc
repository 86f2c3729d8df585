// ctk supervise: a container's supervisor (started by ctk start and run; not for users).
#include <cstdlib>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "container/supervisor.h"

namespace ctk {

extern const Applet kSuperviseApplet;

namespace {

const Option kOptions[] = {
    {"fd", 0, "N", "The connected stream to the ctk that started it"},
    {"relaunch", 0, "BACKOFF_MS", "Restart the container after its VM died (the supervisor execs itself so)"},
    kRootOption,
};

int supervise_main(const Flags& flags) {
  const Applet& self = kSuperviseApplet;
  if (flags.positional().size() != 1 || flags.has("fd") == flags.has("relaunch"))
    return fail(self, "want --fd N or --relaunch BACKOFF_MS, and CONTAINER_ID"), kExitUsage;
  if (flags.has("relaunch"))
    return container::supervise(flags.get("root"), flags.positional()[0], -1, std::atoi(flags.get("relaunch").c_str()));
  return container::supervise(flags.get("root"), flags.positional()[0], std::atoi(flags.get("fd").c_str()));
}

}  // namespace

extern const Applet kSuperviseApplet = {
    .name = "supervise",
    .synopsis = "--fd N | --relaunch BACKOFF_MS [--root DIR] CONTAINER_ID",
    .summary = "Supervise a container's VM (internal: started by ctk start and run)",
    .description = "Owns the container's VM and agent connection, logs its output, applies its restart\n"
                   "policy, forwards its published ports and serves its socket. Runs until the\n"
                   "container stops.",
    .options = kOptions,
    .run = supervise_main,
};

}  // namespace ctk
