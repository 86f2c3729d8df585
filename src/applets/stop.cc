// ctk stop: Stop running containers
#include <cstdio>
#include <cstdlib>
#include <memory>

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
  if (flags.positional().empty()) return fail(self, "no container given"), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return container_fail(self, err);
  int timeout = -1;
  if (flags.has("time")) {
    char* end;
    long t = std::strtol(flags.get("time").c_str(), &end, 10);
    if (*end || flags.get("time").empty() || t < 0) return fail(self, "invalid --time " + flags.get("time")), kExitUsage;
    timeout = int(t);
  }
  int status = 0;
  for (const std::string& ref : flags.positional()) {
    std::unique_ptr<container::Container> ct;
    if (!find_container(all, ref, &ct, &err) ||
        !container::stop(*ct, timeout < 0 ? ct->spec.stop_timeout : timeout, &err)) {
      container_fail(self, err);
      status = 1;
      continue;
    }
    std::printf("%s\n", ref.c_str());
  }
  return status;
}

}  // namespace

extern const Applet kStopApplet = {
    .name = "stop",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Stop running containers",
    .description = "Sends each container's stop signal (SIGTERM unless the image says otherwise), then\\nSIGKILL after the timeout, then powers its VM off (the writable layer synced); returns\\nwhen the VM is gone. Prints each name given.",
    .options = kOptions,
    .run = stop_main,
};

}  // namespace ctk
