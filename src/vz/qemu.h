// The QEMU backend's command line, separate from process handling so it can
// be unit tested.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vz/vm.h"

namespace ctk::vz {

struct HostFacts {
  bool kvm = false;        // /dev/kvm opens read-write
  unsigned tsc_khz = 0;    // from /proc/cpuinfo; microvm needs it under TCG
};

HostFacts probe_host();

// A QEMU VM run with these host facts as they are (make_vm asks the host;
// the KVM probe says what to try).
std::unique_ptr<Vm> make_qemu_vm(const VmConfig& config, const HostFacts& host);

// argv for qemu-system-<arch>: microvm on x86_64 (boots fastest), virt on aarch64.
std::vector<std::string> qemu_argv(const VmConfig& config, const HostFacts& host);

}  // namespace ctk::vz
