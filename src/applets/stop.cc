// ctk stop: Stop running containers
#include <cstdio>
#include <cstdlib>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kStopApplet;

namespace {

const Option kOptions[] = {
    {"time", 't', "SECS", "Seconds to wait for the process to end before SIGKILL (default: 10)"},
    kRootOption,
};

int stop_main(const Flags& flags) {
  const Applet& self = kStopApplet;
  int timeout;
  std::string why;
  if (!stop_timeout_option(flags, &timeout, &why)) return fail(self, why), kExitUsage;
  return for_each_container(self, flags, true, [&](container::Containers&, container::Container& ct, Error* err) {
    return container::stop(ct, timeout < 0 ? ct.spec.stop_timeout : timeout, err);
  });
}

}  // namespace

extern const Applet kStopApplet = {
    .name = "stop",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Stop running containers",
    .description = "Sends each container's stop signal (SIGTERM unless the image says otherwise), then\nSIGKILL after the timeout, then powers its VM off (the writable layer synced); returns\nwhen the VM is gone. Prints each name given.",
    .options = kOptions,
    .run = stop_main,
};

}  // namespace ctk
