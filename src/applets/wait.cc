// ctk wait: Wait for containers to stop and print their exit codes
#include <cstdio>
#include <cstdlib>
#include <memory>

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
  if (flags.positional().empty()) return fail(self, "no container given"), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return container_fail(self, err);
  int status = 0;
  for (const std::string& ref : flags.positional()) {
    std::unique_ptr<container::Container> ct;
    int code;
    if (!find_container(all, ref, &ct, &err) || !container::wait(*ct, &code, &err)) {
      container_fail(self, err);
      status = 1;
      continue;
    }
    std::printf("%d\n", code);
    std::fflush(stdout);
  }
  return status;
}

}  // namespace

extern const Applet kWaitApplet = {
    .name = "wait",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Wait for containers to stop and print their exit codes",
    .description = "Blocks until each container stops, then prints its exit code (at once for one\\nthat is not running).",
    .options = kOptions,
    .run = wait_main,
};

}  // namespace ctk
