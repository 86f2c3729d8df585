// ctk vminitd: the guest agent. Outside a VM it serves the same protocol on a
// unix socket, so the protocol and the container runtime are tested without booting.
#include <fcntl.h>
#include <unistd.h>

#include "applets/applet.h"
#include "init/agent.h"

namespace ctk {

extern const Applet kVminitdApplet;

namespace {

const Option kOptions[] = {
    {"listen", 'l', "ADDR", "Serve on ADDR: unix:PATH, or fd:N for an inherited connected stream"},
};

int vminitd_main(const Flags& flags) {
  const Applet& self = kVminitdApplet;
  if (!flags.has("listen")) return fail(self, "no --listen address; see 'ctk vminitd --help'"), kExitUsage;
  // Processes get /dev/null where a stream is not connected; the agent's own
  // 0-2 must be taken so that no pipe lands there and gets clobbered by dup2.
  for (int fd = 0; fd < 3; ++fd)
    if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", O_RDWR);
  init::Agent agent;
  std::string err;
  if (!agent.listen(flags.get("listen"), &err) || !agent.run(&err)) return fail(self, err);
  return 0;
}

}  // namespace

extern const Applet kVminitdApplet = {
    .name = "vminitd",
    .synopsis = "--listen ADDR",
    .summary = "Run the guest agent: containers on request from the host",
    .description =
        "Serves the ctk agent protocol (docs/PROTOCOL.md) on ADDR: create, start, exec, wait,\n"
        "kill and delete containers described by OCI runtime-spec config.json, with their\n"
        "stdio or pty streamed over flow-controlled channels, and copy files in and out.\n"
        "Runs as root. SIGTERM kills every container process and ends the agent.",
    .options = kOptions,
    .run = vminitd_main,
};

}  // namespace ctk
