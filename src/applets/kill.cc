// ctk kill: Send a signal to containers' main processes
#include <cstdio>
#include <cstdlib>

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
  std::string sig = flags.get("signal", "KILL");
  return for_each_container(self, flags, true, [&](container::Containers&, container::Container& ct, Error* err) {
    return container::kill(ct, sig, err);
  });
}

}  // namespace

extern const Applet kKillApplet = {
    .name = "kill",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Send a signal to containers' main processes",
    .description = "The signal (default SIGKILL) goes to each container's main process; a container whose\nprocess ends this way is not restarted by its restart policy. Prints each name given.",
    .options = kOptions,
    .run = kill_main,
};

}  // namespace ctk
