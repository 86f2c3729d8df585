// The VM flags `boot` and `run` share: --kernel, --initfs, --cpus, --memory,
// --console, --platform (mkinitfs takes --kernel and --platform too).
#pragma once

#include <string>

#include "applets/applet.h"
#include "base/flags.h"
#include "vz/machine.h"

namespace ctk {

inline constexpr Option kKernelOption = {
    "kernel", 0, "KERNEL", "Guest kernel image (default: $CTK_KERNEL_<ARCH>, $CTK_KERNEL, newest /boot/vmlinuz-*)"};
inline constexpr Option kInitfsOption = {"initfs", 0, "FILE",
                                         "Guest initramfs (default: built from this ctk and cached)"};
inline constexpr Option kConsoleOption = {"console", 0, "", "Copy the guest console to stderr"};
inline constexpr Option kPlatformOption = {"platform", 0, "OS/ARCH",
                                           "Guest platform: linux/amd64 or linux/arm64 (default: the host's)"};

bool vm_options(const Flags& flags, vz::MachineConfig* config, std::string* err);

// --platform as a guest architecture ("" when not given).
bool platform_arch_option(const Flags& flags, std::string* arch, std::string* err);

}  // namespace ctk
