#include "boot/kernel.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/error.h"
#include "boot/arch.h"

namespace ctk::boot {

namespace {

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Modules for DIR/boot/vmlinuz-R live in DIR/lib/modules/R (DIR may be "").
std::string modules_for(const std::string& image, const std::string& release) {
  std::filesystem::path p(image);
  std::string boot_dir = p.parent_path().string();
  std::string prefix = boot_dir.size() >= 5 && boot_dir.ends_with("/boot")
                           ? boot_dir.substr(0, boot_dir.size() - 5)
                           : p.parent_path().parent_path().string();
  for (const std::string& dir : {prefix + "/lib/modules/" + release,
                                 prefix + "/usr/lib/modules/" + release,
                                 "/lib/modules/" + release})
    if (is_dir(dir)) return dir;
  return "";
}

bool describe(const std::string& image, const std::string& arch, Kernel* out, std::string* err) {
  if (::access(image.c_str(), R_OK) != 0) {
    *err = sys_error("kernel " + image);
    return false;
  }
  if (!kernel_arch(image, &out->arch, err)) return false;
  if (out->arch != arch) {
    *err = "kernel " + image + " is built for " + out->arch + ", the guest is " + arch;
    return false;
  }
  std::string base = std::filesystem::path(image).filename().string();
  std::string release;
  for (std::string_view prefix : {"vmlinuz-", "vmlinux-", "bzImage-", "Image-"})
    if (base.starts_with(prefix)) release = base.substr(prefix.size());
  out->image = image;
  out->release = release;
  out->modules_dir = release.empty() ? "" : modules_for(image, release);
  return true;
}

}  // namespace

bool find_kernel(const std::string& requested, const std::string& guest_arch, Kernel* out,
                 std::string* err) {
  std::string arch = guest_arch.empty() ? host_arch() : guest_arch;
  if (!requested.empty()) return describe(requested, arch, out, err);
  std::string arch_var = arch == "aarch64" ? "CTK_KERNEL_AARCH64" : "CTK_KERNEL_X86_64";
  if (const char* env = std::getenv(arch_var.c_str()); env && *env) return describe(env, arch, out, err);
  if (arch != host_arch()) {
    *err = "no " + arch + " guest kernel (looked for --kernel, $" + arch_var +
           "); get one: apt-get download linux-image-cloud-" + platform_arch(arch) + ":" +
           platform_arch(arch) + " && dpkg -x linux-image-*.deb DIR, then set " + arch_var +
           "=DIR/boot/vmlinuz-RELEASE";
    return false;
  }
  if (const char* env = std::getenv("CTK_KERNEL"); env && *env) return describe(env, arch, out, err);
  std::vector<std::string> candidates;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/boot", ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("vmlinuz-") && ::access(e.path().c_str(), R_OK) == 0 &&
        is_dir("/lib/modules/" + name.substr(8)))
      candidates.push_back(e.path().string());
  }
  if (candidates.empty()) {
    *err = "no guest kernel found (looked for --kernel, $CTK_KERNEL, /boot/vmlinuz-*); "
           "install one: apt-get install linux-image-cloud-" + platform_arch(arch);
    return false;
  }
  // Newest release: version-aware ordering of the names.
  std::sort(candidates.begin(), candidates.end(), [](const std::string& a, const std::string& b) {
    return ::strverscmp(a.c_str(), b.c_str()) < 0;
  });
  return describe(candidates.back(), arch, out, err);
}

}  // namespace ctk::boot
