// ctk wait: Wait for containers to stop and print their exit codes
#include <cstdio>
#include <cstdlib>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kWaitApplet;

namespace {

const Option kOptions[] = {

    kRootOption,
};

int wait_main(const Flags& flags) {
  const Applet& self = kWaitApplet;
  return for_each_container(self, flags, false, [](container::Containers&, container::Container& ct, Error* err) {
    int code;
    if (!container::wait(ct, &code, err)) return false;
    std::printf("%d\n", code);
    std::fflush(stdout);
    return true;
  });
}

}  // namespace

extern const Applet kWaitApplet = {
    .name = "wait",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Wait for containers to stop and print their exit codes",
    .description = "Blocks until each container stops, then prints its exit code (at once for one\nthat is not running).",
    .options = kOptions,
    .run = wait_main,
};

}  // namespace ctk
