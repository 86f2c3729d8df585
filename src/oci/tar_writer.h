// Writes a ustar archive (what `ctk save` produces): directories and regular
// files, names under 100 bytes, sizes past ustar's 8 GiB in GNU base-256 (as
// Go's archive/tar and libarchive read), timestamps 0 so the archive depends
// only on its content. Far smaller than libarchive's writer in a static ctk.
#pragma once

#include <cstdint>
#include <string>

namespace ctk::oci {

class TarWriter {
 public:
  // Appends to fd; `path` names the output in errors.
  TarWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  bool add_dir(const std::string& name, std::string* err);
  bool add_file(const std::string& name, const std::string& data, std::string* err);
  // Copies the file at `source`, which must hold exactly `size` bytes.
  bool add_file_from(const std::string& name, const std::string& source, uint64_t size, std::string* err);
  // The end-of-archive marker.
  bool finish(std::string* err);

 private:
  bool header(const std::string& name, char type, uint64_t size, std::string* err);
  bool pad(uint64_t size, std::string* err);

  int fd_;
  std::string path_;
};

}  // namespace ctk::oci
