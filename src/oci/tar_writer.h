// Writes a ustar archive: what `ctk save` produces (directories and regular
// files, timestamps 0, so the archive depends only on its content) and what
// `ctk cp` and the agent's copy_out stream (any member an ArchiveEntry
// describes). Names and link targets past ustar's 100 bytes go in a pax
// extended header; numbers past the octal fields (sizes over 8 GiB, large
// ids, times before 1970) in GNU base-256, as Go's archive/tar and
// libarchive read. Far smaller than libarchive's writer in a static ctk.
#pragma once

#include <cstdint>
#include <string>

#include "oci/entry.h"

namespace ctk::oci {

class TarWriter {
 public:
  // Appends to fd; `path` names the output in errors.
  TarWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  // The header of e: its type (mode's file type, or a hard link to e.link),
  // permission bits, owner, mtime (whole seconds), link target and device
  // numbers. A regular file's e.size bytes of data follow with add_data.
  bool add_entry(const ArchiveEntry& e, std::string* err);
  // Copies a regular file's data from fd, which must yield exactly `size`
  // bytes (`source` names it in errors), and pads it to the block size.
  bool add_data(int fd, const std::string& source, uint64_t size, std::string* err);

  // Members with fixed metadata: mode 0755 or 0644, owner 0, mtime 0.
  bool add_dir(const std::string& name, std::string* err);
  bool add_file(const std::string& name, const std::string& data, std::string* err);
  // Copies the file at `source`, which must hold exactly `size` bytes.
  bool add_file_from(const std::string& name, const std::string& source, uint64_t size, std::string* err);
  // The end-of-archive marker.
  bool finish(std::string* err);

 private:
  bool header(const std::string& name, const ArchiveEntry& e, char type, uint64_t size, std::string* err);
  bool pad(uint64_t size, std::string* err);

  int fd_;
  std::string path_;
};

}  // namespace ctk::oci
