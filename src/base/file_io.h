// Whole-file reads and complete writes, failing with errno and the path; an
// owned fd; opening a path confined to a directory.
#pragma once

#include <string>

namespace ctk {

// Reads a whole file. With `exists`, a missing file is no error (*exists = false).
bool read_file(const std::string& path, std::string* out, bool* exists, std::string* err);
// Writes all of `data` (retrying short writes and EINTR); `path` names the file in errors.
bool write_all(int fd, const void* data, size_t size, const std::string& path, std::string* err);

// An fd closed when its owner goes.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// openat2(2) with RESOLVE_IN_ROOT: path ("" is root itself) resolves as if
// root were "/", so "..", absolute symlinks and absolute paths stay under
// root, and magic links (/proc/PID/root) are refused: what a container or an
// archive planted cannot lead out. -1 with errno set; the fd is O_CLOEXEC.
int open_in_root(int root, const std::string& path, int flags);

}  // namespace ctk
