#include "base/dirs.h"

#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "base/error.h"
#include "base/file_io.h"

namespace ctk {

namespace {

bool make_dirs(const std::string& path, std::string* err) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    *err = "mkdir " + path + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace

bool cache_dir(const std::string& sub, std::string* out, std::string* err) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? std::string(xdg) + "/ctk"
                     : home && *home ? std::string(home) + "/.cache/ctk"
                                     : "/var/tmp/ctk-cache-" + std::to_string(::getuid());
  *out = sub.empty() ? base : base + "/" + sub;
  return make_dirs(*out, err);
}

bool file_identity(const std::string& path, std::string* id, std::string* err) {
  struct stat st;
  char real[PATH_MAX];
  if (::stat(path.c_str(), &st) != 0 || !::realpath(path.c_str(), real)) {
    *err = sys_error(path);
    return false;
  }
  *id = std::string(real) + "\n" + std::to_string(st.st_ino) + "\n" + std::to_string(st.st_size) + "\n" +
        std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
  return true;
}

namespace {

// A killed supervisor whose parent is gone may stay a zombie for as long as
// the init that inherited it does not reap it: it is gone all the same.
bool process_lives(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::string stat, ignored;
  bool exists;
  if (!read_file("/proc/" + std::to_string(pid) + "/stat", &stat, &exists, &ignored)) return exists;
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

}  // namespace

std::string runtime_root() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  return xdg && *xdg ? std::string(xdg) + "/ctk" : "/tmp/ctk-" + std::to_string(::getuid());
}

bool make_runtime_dir(std::string* out, std::string* err) {
  std::string base = runtime_root();
  if (!make_dirs(base, err)) return false;
  // A ctk killed with SIGKILL could not clean up: its directory (named with
  // its pid) goes when the next one starts.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with("vm-")) continue;
    pid_t pid = pid_t(std::atoi(name.c_str() + 3));
    if (pid > 0 && !process_lives(pid)) remove_tree(e.path().string());
  }
  std::string tmpl = base + "/vm-" + std::to_string(::getpid()) + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    *err = sys_error("mkdtemp " + tmpl);
    return false;
  }
  *out = tmpl;
  return true;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

uint64_t disk_usage(const std::string& path) {
  uint64_t total = 0;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  total += uint64_t(st.st_blocks) * 512;
  if (!S_ISDIR(st.st_mode)) return total;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (::lstat(it->path().c_str(), &st) == 0) total += uint64_t(st.st_blocks) * 512;
  return total;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : "/proc/self/exe";
}

}  // namespace ctk
