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
#include "base/strings.h"

namespace ctk {

extern const Applet kVminitdApplet;

namespace {

const Option kOptions[] = {
    {"listen", 'l', "ADDR", "Serve on ADDR: unix:PATH, vsock:PORT (vsock: for 1024), or fd:N for an inherited connected stream"},
    {"memory-max", 0, "SIZE", "Cap the agent's own cgroup (ctk/agent) at SIZE of memory.max, e.g. 64M (as PID 1: 64M)"},
};

// The agent in its own cgroup, as PID 1 with its memory budget: a failure
// is told on the console, containers then run without cgroups or without
// the agent's limit.
void setup_pid1_cgroups(init::Agent* agent) {
  std::string why;
  if (!agent->setup_cgroups(init::kAgentMemoryMax, &why))
    std::fprintf(stderr, "vminitd: cgroups: %s\n", why.c_str());
}

// As the VM's PID 1: set the system up, serve the host on vsock port 1024
// when the VM has a vsock device, else on the virtio-serial port named
// ctk.agent, and never exit: a failure is printed on the console and the VM
// powers off, which the host sees.
[[noreturn]] void run_as_pid1() {
  std::vector<std::string> problems;
  init::pid1_setup(&problems);
  for (const std::string& p : problems) std::fprintf(stderr, "vminitd: %s\n", p.c_str());
  // Before looking for the port: it appears while this runs.
  init::Agent agent;
  setup_pid1_cgroups(&agent);
  std::string err;
  if (init::vsock_guest_transport()) {
    // A listening socket: the host may connect again after a failure.
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
  uint64_t memory_max = 0;
  if (flags.has("memory-max")) {
    auto bytes = parse_size(flags.get("memory-max"));
    if (!bytes || !*bytes)
      return fail(self, "--memory-max: '" + flags.get("memory-max") + "' is not a size like 64M"), kExitUsage;
    memory_max = *bytes;
  }
  init::Agent agent;
  std::string err;
  // Without cgroup2 containers run without cgroups; a limit asked for must hold.
  if (!agent.setup_cgroups(memory_max, &err)) {
    if (memory_max) return fail(self, "--memory-max: " + err);
    std::fprintf(stderr, "vminitd: no cgroups: %s\n", err.c_str());
  }
  if (!agent.listen(flags.get("listen"), &err) || !agent.run(&err)) return fail(self, err);
  return 0;
}

}  // namespace

extern const Applet kVminitdApplet = {
    .name = "vminitd",
    .synopsis = "[--listen ADDR] [--memory-max SIZE]",
    .summary = "Run the guest agent: containers on request from the host",
    .description =
        "Serves the ctk agent protocol (docs/PROTOCOL.md) on ADDR: create, start, exec, wait,\n"
        "kill and delete containers described by OCI runtime-spec config.json, with their\n"
        "stdio or pty streamed over flow-controlled channels, and copy files in and out.\n"
        "Runs as root. SIGTERM kills every container process and ends the agent; the shutdown\n"
        "request ends it gracefully (SIGTERM, SIGKILL after a grace period, exit 0).\n"
        "With cgroup2 it lives in its own cgroup, /sys/fs/cgroup/ctk/agent, beside the\n"
        "containers' /sys/fs/cgroup/ctk/ID; --memory-max caps that cgroup's memory.\n"
        "As PID 1 of a VM (the initramfs's /init) it mounts /proc, /sys, /dev and cgroup2,\n"
        "loads the kernel modules shipped with it, caps its own memory at 64M, and serves\n"
        "vsock port 1024 when the VM has a vsock device, else the virtio-serial port ctk.agent.",
    .options = kOptions,
    .run = vminitd_main,
};

}  // namespace ctk
