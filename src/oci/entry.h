// One member of an archive, as both readers report it: libarchive's (for
// compressed input and cpio, src/oci/archive_source) and the native reader of
// plain tar (src/oci/tar_reader). Code that applies members (layers, image
// archives) sees the same thing whichever of them parsed the headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ext4/tree.h"

namespace ctk::oci {

struct EntryTime {
  int64_t sec = 0;
  uint32_t nsec = 0;  // below 1e9, also for times before 1970
  bool set = false;
};

struct ArchiveEntry {
  std::string path;     // as stored: may be absolute or climb out with ".."
  uint32_t mode = 0;    // file type and permission bits; a hard link's type is what the header says
  bool hardlink = false;  // another name for the earlier member `link`
  std::string link;     // a hard link's target, or a symbolic link's (S_IFLNK)
  int64_t uid = 0, gid = 0;
  int64_t size = 0;     // the file's size
  EntryTime mtime, atime, ctime, birthtime;  // mtime is always set
  uint32_t rdev_major = 0, rdev_minor = 0;
  std::vector<ext4::Xattr> xattrs;  // in libarchive's order: the archive's last first
};

// The current member's data, from whichever reader parsed its header. What
// the consumer leaves unread is skipped before the next member.
class EntryData {
 public:
  // The next run of data, at *offset in the file (runs of a sparse file
  // leave holes between them); *len is 0 after the last one.
  virtual bool read(const void** buf, size_t* len, uint64_t* offset, std::string* err) = 0;
  // A file holding the data as is (an uncompressed archive, not a sparse
  // member, a regular file that copy_file_range can read), with the data
  // at *offset; -1 when there is none.
  virtual int file(uint64_t* offset) = 0;

 protected:
  ~EntryData() = default;
};

// Hands each run of the data to run(buf, len, offset), which fills err
// itself when it fails, up to the last run.
template <typename Run>
bool for_each_run(EntryData& data, Run run, std::string* err) {
  for (;;) {
    const void* buf;
    size_t len;
    uint64_t offset;
    if (!data.read(&buf, &len, &offset, err)) return false;
    if (len == 0) return true;
    if (!run(buf, len, offset)) return false;
  }
}

}  // namespace ctk::oci
