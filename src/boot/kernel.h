// Finding a guest kernel and its modules without set-up: --kernel,
// $CTK_KERNEL, else the host's newest /boot/vmlinuz-* that has modules.
#pragma once

#include <string>

namespace ctk::boot {

struct Kernel {
  std::string image;        // .../vmlinuz-<release>
  std::string release;      // "6.1.0-56-cloud-amd64"
  std::string modules_dir;  // .../lib/modules/<release>, or "" when none was found
};

// `requested` is a kernel image path or "" (then $CTK_KERNEL, then /boot).
// A kernel unpacked with `dpkg -x PKG DIR` is found as DIR/boot/vmlinuz-R with
// modules in DIR/lib/modules/R.
bool find_kernel(const std::string& requested, Kernel* out, std::string* err);

}  // namespace ctk::boot
