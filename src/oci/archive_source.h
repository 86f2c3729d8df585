// Reads an archive file (a layer, an image archive; a pipe is fine) member by
// member. Plain tar is parsed by TarReader in place in this source's buffer;
// everything else (compressed input, cpio, tar variants TarReader leaves
// alone) goes to libarchive through this source's callbacks. libarchive's gzip
// filter never checks a member's CRC32 and length trailer, so corrupted gzip
// input can decompress into wrong data without any error; gzip is therefore
// inflated here, with zlib's checks. Other content passes through for
// libarchive to detect.
#pragma once

#include <archive.h>
#include <zlib.h>

#include <functional>
#include <string>
#include <vector>

#include "oci/entry.h"

namespace ctk::oci {

class ArchiveSource {
 public:
  explicit ArchiveSource(int fd);
  ~ArchiveSource();
  ArchiveSource(const ArchiveSource&) = delete;
  ArchiveSource& operator=(const ArchiveSource&) = delete;

  // Reads the first bytes and recognizes gzip.
  bool start(std::string* err);
  bool gzip() const { return gzip_; }

  // The input not consumed yet, buffered (plain input only).
  const unsigned char* data() const { return in_.data() + begin_; }
  size_t avail() const { return end_ - begin_; }
  // Makes n bytes available, or what is left when the input ends first;
  // the buffer grows for an n beyond it. Moves data().
  bool fill(size_t n, std::string* err);
  void consume(size_t n) { begin_ += n; }
  // Consumes n bytes: past the buffer with lseek when the input is a
  // regular file, which must then hold them.
  bool skip(uint64_t n, std::string* err);
  // The input when it is a regular file, and data()'s offset in it: where
  // copy_file_range can take plain input's bytes from.
  int file() const { return regular_ ? fd_ : -1; }
  uint64_t offset() const { return offset_ - avail(); }

  // libarchive's read and skip callbacks (archive_read_open,
  // archive_read_set_skip_callback), with this source as client data. They
  // serve the input from data() on.
  static la_ssize_t read(archive* a, void* self, const void** buf);
  // Plain input is skipped with lseek, so file data copied straight from the
  // file (a layer's copy_file) is never read through libarchive.
  static la_int64_t skip(archive*, void* self, la_int64_t request);

  // libarchive stops reading at the tar end marker; the rest of the gzip
  // stream, its last trailer included, must still check out.
  bool finish(archive* a);

 private:
  la_ssize_t next(archive* a, const void** buf);

  int fd_;
  bool regular_ = false;
  uint64_t size_ = 0;    // a regular file's
  std::vector<unsigned char> in_, out_;
  size_t begin_ = 0, end_ = 0;  // in_[begin_, end_) is read and not consumed
  uint64_t offset_ = 0;  // the input's offset of in_[end_]
  bool eof_ = false;
  z_stream z_ = {};
  bool gzip_ = false, done_ = false;
};

// Reads the archive `source` serves (tar or cpio, with every compression ctk
// takes) entry by entry: `each` gets the member and its data, and fills err
// itself; the archive's own errors read "what: after 'LAST ENTRY': why". Ends
// with the source's trailer checks (source.finish).
bool for_each_entry(ArchiveSource& source, const std::string& what,
                    const std::function<bool(const ArchiveEntry&, EntryData&, std::string* err)>& each,
                    std::string* err);

}  // namespace ctk::oci
