#include "boot/kernel.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/error.h"

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

bool describe(const std::string& image, Kernel* out, std::string* err) {
  if (::access(image.c_str(), R_OK) != 0) {
    *err = sys_error("kernel " + image);
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

bool find_kernel(const std::string& requested, Kernel* out, std::string* err) {
  if (!requested.empty()) return describe(requested, out, err);
  if (const char* env = std::getenv("CTK_KERNEL"); env && *env) return describe(env, out, err);
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
           "install one: apt-get install linux-image-cloud-amd64";
    return false;
  }
  // Newest release: version-aware ordering of the names.
  std::sort(candidates.begin(), candidates.end(), [](const std::string& a, const std::string& b) {
    return ::strverscmp(a.c_str(), b.c_str()) < 0;
  });
  return describe(candidates.back(), out, err);
}

}  // namespace ctk::boot
