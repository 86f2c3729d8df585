#include "base/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "base/error.h"

namespace ctk {

namespace {

// Temporary paths to unlink from a signal handler: fixed storage, no
// allocation, so the handler stays async-signal-safe.
constexpr int kSlots = 8;
char g_paths[kSlots][4096];
std::atomic<bool> g_used[kSlots];

void on_fatal_signal(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load()) unlink(g_paths[i]);
  signal(sig, SIG_DFL);
  raise(sig);
}

int register_cleanup(const std::string& path) {
  static bool installed = [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction sa = {};
      sa.sa_handler = on_fatal_signal;
      sigaction(sig, &sa, nullptr);
    }
    return true;
  }();
  (void)installed;
  if (path.size() >= sizeof g_paths[0]) return -1;
  for (int i = 0; i < kSlots; ++i) {
    if (g_used[i].load()) continue;
    std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
    g_used[i].store(true);
    return i;
  }
  return -1;
}

}  // namespace

bool AtomicFile::open(const std::string& path, std::string* err) {
  path_ = path;
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  temp_ = dir + "." + base + ".ctk-" + std::to_string(getpid());
  fd_ = ::open(temp_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    *err = sys_error(temp_);
    return false;
  }
  slot_ = register_cleanup(temp_);
  return true;
}

bool AtomicFile::commit(std::string* err) {
  if (::close(fd_) != 0) {
    fd_ = -1;
    *err = sys_error(temp_);
    discard();
    return false;
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    *err = sys_error("rename to " + path_);
    discard();
    return false;
  }
  if (slot_ >= 0) g_used[slot_].store(false);
  slot_ = -1;
  temp_.clear();
  return true;
}

void AtomicFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  if (slot_ >= 0) g_used[slot_].store(false);
  slot_ = -1;
  temp_.clear();
}

AtomicFile::~AtomicFile() { discard(); }

}  // namespace ctk
