// libFuzzer target: archive input through for_each_entry, the path every
// layer takes. Plain tar goes to the native reader (src/oci/tar_reader), which
// hands what it does not take to libarchive mid-archive. Nothing crashes, a
// natively read regular file's data never runs past its size, and data that
// a reader says lies as is in the file (EntryData::file) is the same as the
// bytes it serves.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "oci/archive_source.h"
#include "oci/tar_reader.h"

using ctk::oci::ArchiveEntry;
using ctk::oci::ArchiveSource;
using ctk::oci::EntryData;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int fd = memfd_create("tar-fuzz", MFD_CLOEXEC);
  if (fd < 0 || ::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != ssize_t(size) ||
      ::lseek(fd, 0, SEEK_SET) != 0)
    std::abort();
  ArchiveSource source(fd);
  std::string err;
  int members = 0;
  ctk::oci::for_each_entry(source, "fuzz", [&](const ArchiveEntry& e, EntryData& d, std::string* err) {
    // Every other member is left unread, for the skipping paths.
    if (members++ % 2) return true;
    uint64_t file_at = 0;
    bool in_file = d.file(&file_at) >= 0;
    bool native = dynamic_cast<ctk::oci::TarReader*>(&d) != nullptr;
    std::string copy;
    uint64_t expect = 0;
    for (;;) {
      const void* buf;
      size_t len;
      uint64_t offset;
      if (!d.read(&buf, &len, &offset, err)) return false;
      if (len == 0) break;
      if (native && S_ISREG(e.mode) && offset + len > uint64_t(e.size)) std::abort();
      if (in_file) {
        if (offset != expect) std::abort();  // no holes in data that lies as is in the file
        copy.resize(len);
        if (::pread(fd, copy.data(), len, off_t(file_at + offset)) != ssize_t(len) ||
            std::memcmp(copy.data(), buf, len) != 0)
          std::abort();
      }
      expect = offset + len;
    }
    return true;
  }, &err);
  return 0;
}
