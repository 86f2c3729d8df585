// File helpers for the image store and config files: whole-file reads, and
// writes that are durable and atomic (temporary name, fsync, rename, fsync of
// the directory) so a crash leaves the old or the new content, never a mix.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/file_io.h"

namespace ctk::oci {

using ctk::read_file;
using ctk::write_all;

bool write_file_atomic(const std::string& path, const std::string& data, mode_t mode, std::string* err);
bool make_dirs(const std::string& path, mode_t mode, std::string* err);
bool fsync_dir(const std::string& dir, std::string* err);

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
