// Kernel modules: which files a stock distribution kernel needs for a ctk
// guest, in the order they must load. Read from modules.dep on the host (to
// build the initramfs) and in the guest (to load them as PID 1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ctk::boot {

class ModuleDb {
 public:
  // Parses DIR/modules.dep (DIR = /lib/modules/<release>).
  bool load(const std::string& dir, std::string* err);

  // Paths (relative to DIR) of the named modules and everything they depend
  // on, dependencies first. Names compare as the kernel does ('-' == '_'),
  // without directory or .ko suffix. Names not found (e.g. built into the
  // kernel) are skipped and reported in *missing.
  std::vector<std::string> closure(const std::vector<std::string>& names,
                                   std::vector<std::string>* missing) const;

  // Every module in modules.dep in a valid load order.
  std::vector<std::string> load_order() const;

 private:
  struct Module {
    std::string path;
    std::vector<std::string> deps;  // as listed: the last must load first
  };
  const Module* find(std::string_view name) const;
  void visit(const Module& m, std::vector<std::string>* order, std::vector<std::string>* seen) const;

  std::vector<Module> modules_;
};

// "kernel/drivers/block/virtio_blk.ko.xz" -> "virtio_blk".
std::string module_name(std::string_view path);

// A module file without its appended signature (PKCS#7 + struct
// module_signature + "~Module signature appended~\n"), or all of it when it
// has none. The guest kernel checks a signature with RSA as it loads a module:
// under emulation that is a large part of the boot, for files ctk took from
// the host's own module tree.
std::string_view without_signature(std::string_view module);

// Whether the kernel refuses unsigned modules (CONFIG_MODULE_SIG_FORCE=y in
// the config-RELEASE file beside the image). Unknown (no config file) counts
// as yes, so signatures are kept.
bool kernel_requires_signatures(const std::string& image, const std::string& release);

// Whether a kernel has a feature, as a module in its modules.dep or built
// in (`config_option`=y in the config-RELEASE file beside the image). With
// neither file to read it is assumed to: the guest then says what failed.
bool kernel_has(const std::string& image, const std::string& release, const std::string& modules_dir,
                const std::string& module, const std::string& config_option);

// The modules a ctk guest loads: virtio transports, disks, console, network,
// vsock, overlayfs, entropy, the balloon (free page reporting), shared
// directories (virtio-fs, 9p).
const std::vector<std::string>& guest_modules();

}  // namespace ctk::boot
