// ctk run: a container in its own VM, docker-style.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "applets/applet.h"
#include "applets/vm_options.h"
#include "base/strings.h"
#include "container/run.h"

namespace ctk {

extern const Applet kRunApplet;

namespace {

const Option kOptions[] = {
    {"interactive", 'i', "", "Keep stdin attached"},
    {"tty", 't', "", "Allocate a pseudo-terminal"},
    {"env", 'e', "K=V", "Set an environment variable (K alone: take it from here)", true},
    {"env-file", 0, "FILE", "Read K=V lines from FILE", true},
    {"workdir", 'w', "DIR", "Working directory inside the container"},
    {"user", 'u', "USER[:GROUP]", "User to run as: names (from the image's /etc/passwd, /etc/group) or numbers"},
    {"entrypoint", 0, "CMD", "Run CMD with the arguments instead"},
    {"name", 0, "NAME", "Name the container (also the default hostname)"},
    {"hostname", 'h', "NAME", "Container hostname"},
    {"rm", 0, "", "Remove the container when it exits (always so: the VM is throwaway)"},
    {"cpus", 0, "N", "CPU limit, fractions allowed; the VM gets N rounded up vCPUs (default: 1, no limit)"},
    {"memory", 'm', "SIZE", "Memory limit, e.g. 256M; the VM gets it plus 128M, at least 512M"},
    {"pids-limit", 0, "N", "Limit the container's number of processes and threads"},
    {"network", 0, "MODE", "none (default) or nat: outbound access through the host"},
    kPlatformOption,
    kKernelOption,
    kInitfsOption,
    kConsoleOption,
    {"timings", 0, "", "Print the time each phase took"},
};

// What the guest kernel and the agent take besides the container's --memory.
constexpr unsigned kVmOverheadMib = 128;

bool add_env(const std::string& item, std::vector<std::string>* env) {
  if (item.find('=') != std::string::npos) {
    env->push_back(item);
  } else if (const char* v = std::getenv(item.c_str())) {
    env->push_back(item + "=" + v);
  }
  return true;
}

int run_main(const Flags& flags) {
  const Applet& self = kRunApplet;
  container::RunOptions o;
  std::string err;
  if (!vm_options(flags, &o.machine, &err)) return fail(self, err), kExitUsage;
  std::vector<std::string> command;
  if (!container::split_inputs(flags.positional(), &o.inputs, &o.image, &command, &err))
    return fail(self, err), kExitUsage;
  o.entrypoint = flags.get("entrypoint");
  if (command.empty() && o.entrypoint.empty() && !o.image) return fail(self, "no command given"), kExitUsage;
  o.args = command;
  for (const std::string& file : flags.all("env-file")) {
    std::ifstream in(file);
    if (!in) return fail(self, "--env-file " + file + ": cannot read"), kExitUsage;
    std::string line;
    while (std::getline(in, line))
      if (!line.empty() && line[0] != '#') add_env(line, &o.env);
  }
  for (const std::string& e : flags.all("env")) add_env(e, &o.env);
  o.workdir = flags.get("workdir");
  if (flags.has("workdir") && (o.workdir.empty() || o.workdir[0] != '/'))
    return fail(self, "--workdir must be absolute"), kExitUsage;
  o.user = flags.get("user");
  if (flags.has("memory")) {
    // vm_options gave the VM the limit itself; the guest kernel and the agent need room too.
    o.memory_limit = *parse_size(flags.get("memory"));
    o.machine.memory_mib = std::max(o.machine.memory_mib + kVmOverheadMib, vz::MachineConfig().memory_mib);
  }
  if (flags.has("cpus")) o.cpus = std::atof(flags.get("cpus").c_str());
  if (flags.has("pids-limit")) {
    char* end;
    o.pids_limit = std::strtoll(flags.get("pids-limit").c_str(), &end, 10);
    if (*end || flags.get("pids-limit").empty() || o.pids_limit == 0 || o.pids_limit < -1)
      return fail(self, "invalid --pids-limit '" + flags.get("pids-limit") + "'"), kExitUsage;
  }
  o.hostname = flags.get("hostname", flags.get("name", "ctk"));
  o.interactive = flags.has("interactive");
  o.tty = flags.has("tty");
  std::string network = flags.get("network", "none");
  if (network == "nat") o.machine.network = vz::Network::nat;
  else if (network != "none") return fail(self, "--network must be none or nat"), kExitUsage;

  Timings timings;
  int code;
  bool ok = container::run(o, timings, &code, &err);
  if (flags.has("timings")) timings.print();
  if (!ok) {
    std::fprintf(stderr, "ctk run: %s\n", err.c_str());
    return code;
  }
  return code;
}

}  // namespace

extern const Applet kRunApplet = {
    .name = "run",
    .synopsis = "[OPTIONS] IMAGE|ROOTFS.ext4|LAYER.tar... [COMMAND [ARG...]]",
    .summary = "Run a command in a new container, in its own VM",
    .description =
        "IMAGE is pulled when not in the store; its Entrypoint, Cmd, Env, WorkingDir and User\n"
        "apply. Its layers (or layer archives) are built into an ext4 image once and cached.\n"
        "It is the VM's read-only disk; the container writes to an overlay on memory that\n"
        "ends with it. stdout and stderr (or the pty with -t) are attached; the exit code is\n"
        "the process's, 127 when the command is not found, 126 when it cannot run, 128+N\n"
        "after signal N, 125 when ctk itself failed. ^C and other signals go to the process.",
    .options = kOptions,
    .run = run_main,
    .stop_at_positional = true,
};

}  // namespace ctk
