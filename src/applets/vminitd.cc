// ctk vminitd: the guest agent. Outside a VM it serves the same protocol on a
// unix socket, so the protocol and the container runtime are tested without booting.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "applets/applet.h"
#include "init/agent.h"
#include "init/pid1.h"
#include "init/vsock.h"
#include "base/error.h"

namespace ctk {

extern const Applet kVminitdApplet;

namespace {

const Option kOptions[] = {
    {"listen", 'l', "ADDR", "Serve on ADDR: unix:PATH, vsock:PORT (vsock: for 1024), or fd:N for an inherited connected stream"},
};

// As the VM's PID 1: set the system up, serve the host on vsock port 1024
// when the VM has a vsock device, else on the virtio-serial port named
// ctk.agent, and never exit: a failure is printed on the console and the VM
// powers off, which the host sees.
[[noreturn]] void run_as_pid1() {
  std::vector<std::string> problems;
  init::pid1_setup(&problems);
  for (const std::string& p : problems) std::fprintf(stderr, "vminitd: %s\n", p.c_str());
  std::string err;
  if (init::vsock_guest_transport()) {
    // A listening socket: the host may connect again after a failure.
    init::Agent agent;
    std::fprintf(stderr, "vminitd: ready on vsock at %s s uptime\n", init::uptime().c_str());
    if (agent.listen("vsock:", &err) && agent.run(&err))
      err = agent.shut_down() ? "shutdown requested" : "the agent stopped";
    std::fprintf(stderr, "vminitd: %s; powering off\n", err.c_str());
    init::pid1_poweroff();
  }
  std::string port = init::find_virtio_port("ctk.agent", 10000);
  std::fprintf(stderr, "vminitd: ready at %s s uptime\n", init::uptime().c_str());
  err = "no virtio-serial port named ctk.agent";
  if (!port.empty()) {
    // One O_RDWR fd for the agent's whole life: bytes the host sends while
    // the port is closed are lost.
    int fd = ::open(port.c_str(), O_RDWR | O_CLOEXEC);
    init::Agent agent;
    if (fd < 0) err = sys_error(port);
    else if (agent.listen("fd:" + std::to_string(fd), &err) && agent.run(&err))
      err = agent.shut_down() ? "shutdown requested" : "the host closed the agent channel";
  }
  std::fprintf(stderr, "vminitd: %s; powering off\n", err.c_str());
  init::pid1_poweroff();
}

int vminitd_main(const Flags& flags) {
  const Applet& self = kVminitdApplet;
  if (::getpid() == 1) run_as_pid1();
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
    .synopsis = "[--listen ADDR]",
    .summary = "Run the guest agent: containers on request from the host",
    .description =
        "Serves the ctk agent protocol (docs/PROTOCOL.md) on ADDR: create, start, exec, wait,\n"
        "kill and delete containers described by OCI runtime-spec config.json, with their\n"
        "stdio or pty streamed over flow-controlled channels, and copy files in and out.\n"
        "Runs as root. SIGTERM kills every container process and ends the agent; the shutdown\n"
        "request ends it gracefully (SIGTERM, SIGKILL after a grace period, exit 0).\n"
        "As PID 1 of a VM (the initramfs's /init) it mounts /proc, /sys, /dev and cgroup2,\n"
        "loads the kernel modules shipped with it, and serves vsock port 1024 when the VM has\n"
        "a vsock device, else the virtio-serial port ctk.agent.",
    .options = kOptions,
    .run = vminitd_main,
};

}  // namespace ctk
