// The QEMU backend's command line, separate from process handling so it can
// be unit tested.
#pragma once

#include <string>
#include <vector>

#include "vz/vm.h"

namespace ctk::vz {

struct HostFacts {
  bool kvm = false;        // /dev/kvm opens read-write
  unsigned tsc_khz = 0;    // from /proc/cpuinfo; microvm needs it under TCG
};

HostFacts probe_host();

// argv for qemu-system-<arch>: microvm on x86_64 (boots fastest), virt on aarch64.
std::vector<std::string> qemu_argv(const VmConfig& config, const HostFacts& host);

}  // namespace ctk::vz
