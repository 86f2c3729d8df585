#include "boot/modules.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/error.h"

namespace ctk::boot {

std::string module_name(std::string_view path) {
  if (size_t slash = path.rfind('/'); slash != std::string_view::npos) path.remove_prefix(slash + 1);
  if (size_t ko = path.find(".ko"); ko != std::string_view::npos) path = path.substr(0, ko);
  std::string name(path);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

bool kernel_has(const std::string& image, const std::string& release, const std::string& modules_dir,
                const std::string& module, const std::string& config_option) {
  bool known = false;
  ModuleDb db;
  std::string ignored;
  if (!modules_dir.empty() && db.load(modules_dir, &ignored)) {
    known = true;
    std::vector<std::string> missing;
    if (!db.closure({module}, &missing).empty()) return true;
  }
  std::ifstream config(std::filesystem::path(image).parent_path() / ("config-" + release));
  std::string line;
  if (config) known = true;
  while (std::getline(config, line))
    if (line == config_option + "=y") return true;
  return !known;
}

const std::vector<std::string>& guest_modules() {
  // The agent's channels first: a virtio-serial port appears some time after
  // its driver loads (the host announces it), and loading the rest meanwhile
  // hides that wait. virtio_balloon reports free memory to the host, which
  // takes it back (free page reporting). virtiofs mounts shared host
  // directories (bind mounts and volumes); 9p over virtio where the kernel
  // has no virtiofs (its netfs and fscache come as dependencies). ext4 asks
  // the crypto API for crc32c when it mounts, and a kernel that has it as a
  // module (Debian's generic one) cannot load it then: the guest has no
  // modprobe.
  static const std::vector<std::string> names = {
      "virtio_mmio", "virtio_pci", "virtio_console", "vmw_vsock_virtio_transport", "virtio_blk",
      "virtio_net", "overlay", "crc32c_generic", "ext4", "virtio_rng", "virtio_balloon", "virtiofs", "9p",
      "9pnet_virtio",
  };
  return names;
}

std::string_view without_signature(std::string_view module) {
  constexpr std::string_view kMagic = "~Module signature appended~\n";
  constexpr size_t kInfo = 12;  // struct module_signature; its last 4 bytes: big-endian sig_len
  if (!module.ends_with(kMagic) || module.size() < kMagic.size() + kInfo) return module;
  const auto* info = reinterpret_cast<const unsigned char*>(module.data() + module.size() - kMagic.size() - kInfo);
  uint32_t sig_len = uint32_t(info[8]) << 24 | uint32_t(info[9]) << 16 | uint32_t(info[10]) << 8 | info[11];
  size_t trailer = kMagic.size() + kInfo + sig_len;
  if (trailer > module.size()) return module;
  return module.substr(0, module.size() - trailer);
}

bool kernel_requires_signatures(const std::string& image, const std::string& release) {
  std::ifstream config(std::filesystem::path(image).parent_path() / ("config-" + release));
  if (!config) return true;
  std::string line;
  while (std::getline(config, line))
    if (line == "CONFIG_MODULE_SIG_FORCE=y") return true;
  return false;
}

bool ModuleDb::load(const std::string& dir, std::string* err) {
  std::string path = dir + "/modules.dep";
  std::ifstream in(path);
  if (!in) {
    *err = sys_error(path);
    return false;
  }
  modules_.clear();
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    Module m;
    m.path = line.substr(0, colon);
    size_t pos = colon + 1;
    while (pos < line.size()) {
      size_t start = line.find_first_not_of(' ', pos);
      if (start == std::string::npos) break;
      size_t end = line.find(' ', start);
      if (end == std::string::npos) end = line.size();
      m.deps.push_back(line.substr(start, end - start));
      pos = end;
    }
    modules_.push_back(std::move(m));
  }
  return true;
}

const ModuleDb::Module* ModuleDb::find(std::string_view name) const {
  std::string want = module_name(name);
  for (const Module& m : modules_)
    if (module_name(m.path) == want) return &m;
  return nullptr;
}

void ModuleDb::visit(const Module& m, std::vector<std::string>* order,
                     std::vector<std::string>* seen) const {
  if (std::find(seen->begin(), seen->end(), m.path) != seen->end()) return;
  seen->push_back(m.path);
  // modules.dep lists a module's full dependency set; modprobe loads it from
  // the end of the list.
  for (auto it = m.deps.rbegin(); it != m.deps.rend(); ++it)
    if (const Module* d = find(*it)) visit(*d, order, seen);
  order->push_back(m.path);
}

std::vector<std::string> ModuleDb::closure(const std::vector<std::string>& names,
                                           std::vector<std::string>* missing) const {
  std::vector<std::string> order, seen;
  for (const std::string& n : names) {
    if (const Module* m = find(n)) visit(*m, &order, &seen);
    else if (missing) missing->push_back(n);
  }
  return order;
}

std::vector<std::string> ModuleDb::load_order() const {
  std::vector<std::string> order, seen;
  for (const Module& m : modules_) visit(m, &order, &seen);
  return order;
}

}  // namespace ctk::boot
