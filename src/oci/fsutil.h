// File helpers for the image store and config files: whole-file reads, and
// writes that are durable and atomic (temporary name, fsync, rename, fsync of
// the directory) so a crash leaves the old or the new content, never a mix.
#pragma once

#include <sys/types.h>

#include <string>

namespace ctk::oci {

// Reads a whole file. With `exists`, a missing file is no error (*exists = false).
bool read_file(const std::string& path, std::string* out, bool* exists, std::string* err);
bool write_file_atomic(const std::string& path, const std::string& data, mode_t mode, std::string* err);
bool make_dirs(const std::string& path, mode_t mode, std::string* err);
bool fsync_dir(const std::string& dir, std::string* err);
bool write_all(int fd, const void* data, size_t size, const std::string& path, std::string* err);

// An flock(2) on a lock file, released on destruction.
class FileLock {
 public:
  FileLock() = default;
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool lock(const std::string& path, bool exclusive, std::string* err);
  void unlock();

 private:
  int fd_ = -1;
};

}  // namespace ctk::oci
