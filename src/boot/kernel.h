// Finding a guest kernel and its modules without set-up: --kernel,
// $CTK_KERNEL_<ARCH>, $CTK_KERNEL, else the host's newest /boot/vmlinuz-* that
// has modules.
#pragma once

#include <string>

namespace ctk::boot {

struct Kernel {
  std::string image;        // .../vmlinuz-<release>
  std::string release;      // "6.1.0-56-cloud-amd64"
  std::string modules_dir;  // .../lib/modules/<release>, or "" when none was found
  std::string arch;         // what the image is built for: "x86_64", "aarch64"
};

// A kernel for a guest of `arch` ("" = the host's). `requested` is a kernel
// image path or "" (then $CTK_KERNEL_AARCH64 or $CTK_KERNEL_X86_64, then, for
// the host's architecture only, $CTK_KERNEL and /boot). A kernel unpacked with
// `dpkg -x PKG DIR` is found as DIR/boot/vmlinuz-R with modules in
// DIR/lib/modules/R. A kernel built for another architecture is an error.
bool find_kernel(const std::string& requested, const std::string& arch, Kernel* out, std::string* err);

}  // namespace ctk::boot
