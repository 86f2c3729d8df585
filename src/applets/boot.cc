// ctk boot: boot a VM and wait for its agent, with per-phase timings.
#include <cstdio>

#include "applets/applet.h"
#include "applets/vm_options.h"
#include "vz/machine.h"

namespace ctk {

extern const Applet kBootApplet;

namespace {

const Option kOptions[] = {
    kPlatformOption,
    kKernelOption,
    kInitfsOption,
    {"cpus", 0, "N", "Virtual CPUs (default: 1)"},
    {"memory", 'm', "SIZE", "Guest memory, e.g. 512M (default: 512M)"},
    kConsoleOption,
};

int boot_main(const Flags& flags) {
  const Applet& self = kBootApplet;
  vz::MachineConfig config;
  std::string err;
  if (!vm_options(flags, &config, &err)) return fail(self, err), kExitUsage;
  Timings timings;
  vz::Machine machine;
  bool ok = machine.boot(config, timings, &err);
  if (!machine.notice().empty()) std::fprintf(stderr, "ctk boot: %s\n", machine.notice().c_str());
  if (!ok) return fail(self, err);
  nlohmann::json info;
  // A second hello reports the agent's identity and limits.
  if (!machine.agent().hello(&info, &err)) return fail(self, err);
  std::printf("agent ready: %s, protocol %d\n", info.value("agent", "?").c_str(),
              info.value("version", 0));
  // The agent's own cgroup and memory budget, as the guest kernel counts them.
  nlohmann::json own;
  if (!machine.agent().call("stats", nlohmann::json::object(), &own, &err)) {
    std::printf("agent cgroup: none (%s)\n", err.c_str());
  } else {
    const nlohmann::json& mem = own["memory"];
    auto number = [&](const char* key) {
      return mem.is_object() && mem.contains(key) ? mem.at(key).dump() : "unknown";
    };
    std::printf("agent cgroup %s: memory.current %s, memory.max %s\n",
                own.value("cgroup", "?").c_str(), number("current").c_str(), number("max").c_str());
  }
  bool clean;
  {
    Timer t(timings, "shutdown");
    // Asked, not killed: this is the one place a plain boot proves the guest powers off.
    clean = machine.power_off(10000);
    machine.shutdown();
  }
  timings.print();
  if (!clean) return fail(self, "the guest did not power off when asked; it was killed");
  return 0;
}

}  // namespace

extern const Applet kBootApplet = {
    .name = "boot",
    .synopsis = "[--platform OS/ARCH] [--kernel KERNEL] [--initfs FILE] [--cpus N] [-m SIZE] [--console]",
    .summary = "Boot a VM, wait for its agent and report the time each phase took",
    .description =
        "Finds a kernel, builds the initramfs when no cached one matches this ctk and kernel,\n"
        "starts the VM (QEMU: KVM when /dev/kvm is usable, else software emulation) and waits\n"
        "for the guest's vminitd to answer on the agent channel, prints the agent's version\n"
        "and its cgroup's memory use and budget, then asks it to shut down and waits for the\n"
        "VM to power off (exit 1 if it had to be killed).",
    .options = kOptions,
    .run = boot_main,
};

}  // namespace ctk
