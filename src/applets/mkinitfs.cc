// ctk mkinitfs: the guest's initramfs (ctk as /init, plus kernel modules).
#include <cstdio>

#include "applets/applet.h"
#include "base/strings.h"
#include "applets/vm_options.h"
#include "boot/arch.h"
#include "boot/initfs.h"

namespace ctk {

extern const Applet kMkinitfsApplet;

namespace {

const Option kOptions[] = {
    {"output", 'o', "FILE", "Write the initramfs to FILE (default: initfs.img)"},
    kPlatformOption,
    {"kernel", 0, "KERNEL", "Take modules for this kernel image (default: as `ctk boot` finds one)"},
    {"ctk", 0, "BINARY", "Embed this static ctk binary (default: the running one, or ctk-linux-ARCH beside it)"},
};

int mkinitfs_main(const Flags& flags) {
  const Applet& self = kMkinitfsApplet;
  if (!flags.positional().empty())
    return fail(self, "unexpected argument '" + flags.positional()[0] + "'"), kExitUsage;
  boot::InitfsRequest req;
  req.output = flags.get("output", "initfs.img");
  std::string err, arch;
  if (!platform_arch_option(flags, &arch, &err)) return fail(self, err), kExitUsage;
  if (!boot::find_kernel(flags.get("kernel"), arch, &req.kernel, &err)) return fail(self, err);
  if (flags.has("ctk")) {
    req.ctk_binary = flags.get("ctk");
    std::string built_for;
    if (!boot::elf_arch(req.ctk_binary, &built_for, &err)) return fail(self, err);
    if (built_for != req.kernel.arch)
      return fail(self, req.ctk_binary + " is built for " + built_for + ", the kernel for " + req.kernel.arch);
  } else if (!boot::guest_ctk(req.kernel.arch, &req.ctk_binary, &err)) {
    return fail(self, err);
  }
  boot::InitfsResult result;
  if (!boot::build_initfs(req, &result, &err)) return fail(self, err);
  std::printf("%s: %s (cpio %s), %zu modules for %s\n", req.output.c_str(),
              format_size(result.compressed_bytes).c_str(), format_size(result.cpio_bytes).c_str(),
              result.modules, req.kernel.release.empty() ? "(unknown release)" : req.kernel.release.c_str());
  return 0;
}

}  // namespace

extern const Applet kMkinitfsApplet = {
    .name = "mkinitfs",
    .synopsis = "[-o FILE] [--platform OS/ARCH] [--kernel KERNEL] [--ctk BINARY]",
    .summary = "Build the guest initramfs: ctk as /init plus the kernel modules a guest needs",
    .description =
        "Writes an lz4-compressed cpio archive holding the static ctk binary as /sbin/vminitd\n"
        "(and /init), /dev/console, and the kernel's virtio, vsock and overlay modules with\n"
        "their dependencies, in load order. A kernel unpacked with `dpkg -x` is found as\n"
        "DIR/boot/vmlinuz-R with its modules in DIR/lib/modules/R.",
    .options = kOptions,
    .run = mkinitfs_main,
};

}  // namespace ctk
