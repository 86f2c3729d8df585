// ctk restart: Restart containers
#include <cstdio>
#include <cstdlib>
#include <memory>

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
    proto::Client conn;
    int64_t ignored_id;
    std::string ignored_code;
    Timings timings;
    if (!find_container(all, ref, &ct, &err) ||
        !container::stop(*ct, timeout < 0 ? ct->spec.stop_timeout : timeout, &err) || !ct->load(&err) ||
        !container::start(all, *ct, {}, &conn, &ignored_id, timings, &ignored_code, &err)) {
      container_fail(self, err);
      status = 1;
      continue;
    }
    std::printf("%s\n", ref.c_str());
  }
  return status;
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
