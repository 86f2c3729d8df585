#include "applets/vm_options.h"

#include <cstdlib>

#include "base/strings.h"
#include "boot/arch.h"

namespace ctk {

bool platform_arch_option(const Flags& flags, std::string* arch, std::string* err) {
  std::string platform = flags.get("platform");
  arch->clear();
  if (platform.empty()) return true;
  if (platform.starts_with("linux/")) *arch = boot::arch_from_platform(platform.substr(6));
  if (arch->empty()) {
    *err = "unsupported --platform '" + platform + "' (linux/amd64 or linux/arm64)";
    return false;
  }
  return true;
}

bool vm_options(const Flags& flags, vz::MachineConfig* config, std::string* err) {
  if (!platform_arch_option(flags, &config->arch, err)) return false;
  config->kernel = flags.get("kernel");
  config->initfs = flags.get("initfs");
  config->console = flags.has("console");
  if (!vz::apply_environment(config, err)) return false;
  if (flags.has("cpus")) {
    // docker's --cpus is fractional; a VM gets whole vCPUs, at least one.
    double cpus = std::atof(flags.get("cpus").c_str());
    if (cpus <= 0 || cpus > 256) {
      *err = "invalid --cpus '" + flags.get("cpus") + "'";
      return false;
    }
    config->cpus = unsigned(cpus + 0.999);
  }
  if (flags.has("memory")) {
    auto bytes = parse_size(flags.get("memory"));
    if (!bytes || *bytes < (64u << 20)) {
      *err = "invalid --memory '" + flags.get("memory") + "' (at least 64M)";
      return false;
    }
    config->memory_mib = unsigned(*bytes >> 20);
  }
  return true;
}

}  // namespace ctk
