// ctk restart: Restart containers
#include <cstdio>
#include <cstdlib>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kRestartApplet;

namespace {

const Option kOptions[] = {
    {"time", 't', "SECS", "Seconds to wait for the process to end before SIGKILL (default: 10)"},
    kRootOption,
};

int restart_main(const Flags& flags) {
  const Applet& self = kRestartApplet;
  int timeout;
  std::string why;
  if (!stop_timeout_option(flags, &timeout, &why)) return fail(self, why), kExitUsage;
  return for_each_container(self, flags, true, [&](container::Containers& all, container::Container& ct, Error* err) {
    proto::Client conn;
    container::Started started;
    Timings timings;
    return container::stop(ct, timeout < 0 ? ct.spec.stop_timeout : timeout, err) && ct.load(err) &&
           container::start(all, ct, {}, &conn, &started, timings, err);
  });
}

}  // namespace

extern const Applet kRestartApplet = {
    .name = "restart",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Restart containers",
    .description = "Stops each container (as ctk stop) and starts it again (as ctk start).",
    .options = kOptions,
    .run = restart_main,
};

}  // namespace ctk
