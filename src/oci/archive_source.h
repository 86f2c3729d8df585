// Feeds a file (a layer, an image archive; a pipe is fine) to libarchive.
// libarchive's gzip filter never checks a member's CRC32 and length trailer,
// so corrupted gzip input can decompress into wrong data without any error;
// gzip is therefore inflated here, with zlib's checks. Other content passes
// through for libarchive to detect.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <functional>
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

// Reads the archive `source` serves (tar or cpio, with every compression ctk
// takes) entry by entry. `each` fills err itself;
// the archive's own errors read "what: after 'LAST ENTRY': why". Ends with
// the source's trailer checks (source.finish).
bool for_each_entry(ArchiveSource& source, const std::string& what,
                    const std::function<bool(archive*, archive_entry*, std::string* err)>& each,
                    std::string* err);

// libarchive's last error, never null.
std::string archive_error(archive* a);

}  // namespace ctk::oci
