// The VM flags `boot` and `run` share: --kernel, --initfs, --cpus, --memory, --console.
#pragma once

#include <string>

#include "base/flags.h"
#include "vz/machine.h"

namespace ctk {

bool vm_options(const Flags& flags, vz::MachineConfig* config, std::string* err);

}  // namespace ctk
