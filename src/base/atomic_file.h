// An output file that appears at its path only when complete: written under a
// temporary name in the same directory, renamed into place on commit(), and
// removed if the job fails, returns early or is interrupted (SIGINT, SIGTERM,
// SIGHUP), so bad input never leaves a partial file behind.
#pragma once

#include <string>

namespace ctk {

class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  bool open(const std::string& path, std::string* err);
  int fd() const { return fd_; }
  const std::string& temp_path() const { return temp_; }
  // Closes the file and renames it over the final path.
  bool commit(std::string* err);

 private:
  void discard();

  std::string path_;
  std::string temp_;
  int fd_ = -1;
  int slot_ = -1;  // index in the signal-cleanup table
};

}  // namespace ctk
