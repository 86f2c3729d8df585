#include "base/file_io.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"

namespace ctk {

bool read_file(const std::string& path, std::string* out, bool* exists, std::string* err) {
  out->clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && exists) {
      *exists = false;
      return true;
    }
    *err = sys_error(path);
    return false;
  }
  if (exists) *exists = true;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = sys_error(path);
      ::close(fd);
      return false;
    }
    out->append(buf, size_t(n));
  }
  ::close(fd);
  return true;
}

bool write_all(int fd, const void* data, size_t size, const std::string& path, std::string* err) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = sys_error(path);
      return false;
    }
    p += n;
    size -= size_t(n);
  }
  return true;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

int open_in_root(int root, const std::string& path, int flags) {
  open_how how{};
  how.flags = uint64_t(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return int(::syscall(SYS_openat2, root, path.empty() ? "." : path.c_str(), &how, sizeof how));
}

}  // namespace ctk
