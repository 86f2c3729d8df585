// A booted VM with its agent connected: finds the kernel, builds (or reuses)
// the initramfs, starts the VMM, and waits until the guest's vminitd answers.
// What `ctk boot` and `ctk run` share.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/timer.h"
#include "boot/kernel.h"
#include "proto/client.h"
#include "vz/vm.h"

namespace ctk::vz {

struct MachineConfig {
  std::string kernel;   // kernel image; "" = $CTK_KERNEL or the host's newest
  std::string initfs;   // initramfs; "" = built from this ctk and cached
  std::string arch;     // "" = the host's
  unsigned cpus = 1;
  unsigned memory_mib = 512;
  std::vector<Disk> disks;
  std::vector<Share> shares;
  Network network = Network::none;
  std::vector<DatagramNic> nics;
  bool console = false;         // copy the guest console to stderr as it comes
  int agent_timeout_ms = 60000;  // TCG boots take seconds; a hung guest must not hang ctk; $CTK_AGENT_TIMEOUT
};

// Settings every command that makes a VM honours from its environment:
// $CTK_AGENT_TIMEOUT, seconds a guest may take to answer (slow hosts,
// nested emulation, many boots at once need more).
bool apply_environment(MachineConfig* config, std::string* err);

class Machine {
 public:
  Machine() = default;
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  bool boot(const MachineConfig& config, Timings& timings, std::string* err);
  proto::Client& agent() { return agent_; }
  // The VMM's process (0 when none runs), for its host-side figures.
  pid_t vmm_pid() const { return vm_ ? vm_->pid() : 0; }
  const std::string& notice() const { return notice_; }
  // How the guest mounts the shares: chosen at boot from the kernel.
  ShareTransport share_transport() const { return share_transport_; }
  // The last lines the guest printed, for error messages.
  std::string console_tail(size_t lines) const;
  // The request that sets the guest's clock to the host's: the guest has no
  // clock to read it from (at best an emulated RTC, whole seconds). Callers
  // send it first in their first batch of requests, saving a round trip.
  proto::Client::Call clock_call() const;
  // Asks the agent to stop what runs (SIGTERM, SIGKILL after a grace
  // period), sync and power the guest off; true once the VMM has exited
  // within timeout_ms.
  bool power_off(int timeout_ms);
  // Ends the VM and removes its runtime files. A VM with a writable disk is
  // powered off first; one with nothing to save is killed at once (so is one
  // that did not power off within 10 s). True unless a guest asked to power
  // off had to be killed.
  bool shutdown();

 private:
  bool prepare_initfs(const MachineConfig& config, const boot::Kernel& kernel, std::string* path,
                      std::string* err);
  bool connect_agent(int timeout_ms, std::string* err);
  void follow_console();

  std::unique_ptr<Vm> vm_;
  proto::Client agent_;
  std::string dir_;
  std::string console_log_;
  std::string notice_;
  ShareTransport share_transport_ = ShareTransport::virtiofs;
  std::thread console_thread_;
  std::atomic<bool> stop_console_{false};
  bool agent_ready_ = false;  // hello answered: the agent can be asked to shut down
  bool writable_ = false;     // a disk the guest writes to: power off, never just kill
};

}  // namespace ctk::vz
