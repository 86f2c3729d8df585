#include "oci/fsutil.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/error.h"

namespace ctk::oci {

bool fsync_dir(const std::string& dir, std::string* err) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    *err = sys_error(dir);
    if (fd >= 0) ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

bool write_file_atomic(const std::string& path, const std::string& data, mode_t mode, std::string* err) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string temp = dir + "/.tmp-" + path.substr(slash + 1) + "-XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    *err = sys_error(temp);
    return false;
  }
  bool ok = ::fchmod(fd, mode) == 0 && write_all(fd, data.data(), data.size(), temp, err);
  if (ok && ::fsync(fd) != 0) ok = false;
  if (::close(fd) != 0) ok = false;
  if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
    *err = sys_error("rename to " + path);
    ok = false;
  }
  if (!ok) {
    if (err->empty()) *err = sys_error(temp);
    ::unlink(temp.c_str());
    return false;
  }
  return fsync_dir(dir, err);
}

bool make_dirs(const std::string& path, mode_t mode, std::string* err) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    std::string part = path.substr(0, i);
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
      *err = sys_error(part);
      return false;
    }
  }
  return true;
}

bool FileLock::lock(const std::string& path, bool exclusive, std::string* err) {
  unlock();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    *err = sys_error(path);
    return false;
  }
  int rc;
  do rc = ::flock(fd_, exclusive ? LOCK_EX : LOCK_SH);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    *err = sys_error("lock " + path);
    unlock();
    return false;
  }
  return true;
}

void FileLock::unlock() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

FileLock::~FileLock() { unlock(); }

}  // namespace ctk::oci
