// ctk boot: boot a VM and wait for its agent, with per-phase timings.
#include <cstdio>

#include "applets/applet.h"
#include "applets/vm_options.h"
#include "vz/machine.h"

namespace ctk {

extern const Applet kBootApplet;

namespace {

const Option kOptions[] = {
    {"kernel", 0, "KERNEL", "Guest kernel image (default: $CTK_KERNEL, newest /boot/vmlinuz-*)"},
    {"initfs", 0, "FILE", "Guest initramfs (default: built from this ctk and cached)"},
    {"cpus", 0, "N", "Virtual CPUs (default: 1)"},
    {"memory", 'm', "SIZE", "Guest memory, e.g. 512M (default: 512M)"},
    {"console", 0, "", "Copy the guest console to stderr"},
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
  bool clean;
  {
    Timer t(timings, "shutdown");
    clean = machine.shutdown();
  }
  timings.print();
  if (!clean) return fail(self, "the guest did not power off when asked; it was killed");
  return 0;
}

}  // namespace

extern const Applet kBootApplet = {
    .name = "boot",
    .synopsis = "[--kernel KERNEL] [--initfs FILE] [--cpus N] [-m SIZE] [--console]",
    .summary = "Boot a VM, wait for its agent and report the time each phase took",
    .description =
        "Finds a kernel, builds the initramfs when no cached one matches this ctk and kernel,\n"
        "starts the VM (QEMU: KVM when /dev/kvm is usable, else software emulation) and waits\n"
        "for the guest's vminitd to answer on the agent channel, then asks it to shut down\n"
        "and waits for the VM to power off (exit 1 if it had to be killed).",
    .options = kOptions,
    .run = boot_main,
};

}  // namespace ctk
