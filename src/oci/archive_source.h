// Feeds a file (a layer, an image archive; a pipe is fine) to libarchive.
// libarchive's gzip filter never checks a member's CRC32 and length trailer,
// so corrupted gzip input can decompress into wrong data without any error;
// gzip is therefore inflated here, with zlib's checks. Other content passes
// through for libarchive to detect.
#pragma once

#include <archive.h>
#include <zlib.h>

#include <memory>
#include <string>
#include <vector>

namespace ctk::oci {

class ArchiveSource {
 public:
  explicit ArchiveSource(int fd);
  ~ArchiveSource();
  ArchiveSource(const ArchiveSource&) = delete;
  ArchiveSource& operator=(const ArchiveSource&) = delete;

  // libarchive's read and skip callbacks (archive_read_open,
  // archive_read_set_skip_callback), with this source as client data.
  static la_ssize_t read(archive* a, void* self, const void** buf);
  // Plain input is skipped with lseek, so file data copied straight from the
  // file (a layer's copy_from) is never read through libarchive.
  static la_int64_t skip(archive*, void* self, la_int64_t request);

  // The file when its bytes are the archive itself (no compression): a
  // regular file's data then lies at archive_filter_bytes(a, 0).
  int plain_fd(archive* a) const;

  // libarchive stops reading at the tar end marker; the rest of the gzip
  // stream, its last trailer included, must still check out.
  bool finish(archive* a);

 private:
  // Reads more input after the `keep` unconsumed bytes at z_.next_in.
  bool fill(archive* a, size_t keep);
  la_ssize_t next(archive* a, const void** buf);

  int fd_;
  std::vector<unsigned char> in_, out_;
  z_stream z_ = {};
  bool started_ = false, gzip_ = false, eof_ = false, done_ = false;
};

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveCloser>;

// A libarchive reader over `source` for tar (and cpio) with every
// compression ctk takes; null with err set (prefixed by `what`) on failure.
ArchiveReader open_archive(ArchiveSource& source, const std::string& what, std::string* err);

// libarchive's last error, never null.
std::string archive_error(archive* a);

}  // namespace ctk::oci
