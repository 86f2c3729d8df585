// Reads plain (uncompressed) tar archives itself, parsing headers in place in
// the source's buffer: a member costs a checksum and a few field parses, where
// libarchive spends most of a layer's time per member (wide-character copies
// of every name, allocations). It takes what container layers are written
// with: ustar, GNU (long names 'L', long link targets 'K', base-256 numbers)
// and pax ('x' records: path, linkpath, size, uid, gid, times with fractions,
// SCHILY.xattr.*, LIBARCHIVE.xattr.*, RHT.security.selinux, SCHILY.devmajor
// and devminor; 'g' records are read past, as libarchive does).
//
// A member it does not take (sparse files, old-style or GNU incremental and
// multi-volume entries, unknown types, several 'x', 'L' or 'K' headers for one
// member, a ustar hard link with a size) ends its part: next() returns
// kHandOff with the source at that member's first header, and libarchive
// reads the rest (for_each_entry).
//
// What it reports is what libarchive reports for the same archive, so a layer
// gives the same image compressed or not. It is stricter: a bad checksum, a
// malformed pax record or an extension header without its member are errors.
// One deliberate difference: a negative pax time with a fraction ("-1.5") is
// read as POSIX means it (1.5 s before 1970), where libarchive 3.6 is 1 s off.
#pragma once

#include <cstdint>
#include <string>

#include "oci/archive_source.h"
#include "oci/entry.h"

namespace ctk::oci {

class TarReader final : public EntryData {
 public:
  enum class Next { kEntry, kEnd, kHandOff, kError };

  // Whether an input starting with these bytes is a tar archive this reader
  // takes: its first block a ustar or GNU header with a valid checksum.
  static bool recognizes(const unsigned char* data, size_t len);

  explicit TarReader(ArchiveSource& in) : in_(in) {}

  // Skips what is left of the current member's data and reads the next
  // member's headers into *entry (kEntry).
  Next next(ArchiveEntry* entry, std::string* err);

  // The current member's data.
  bool read(const void** buf, size_t* len, uint64_t* offset, std::string* err) override;
  int file(uint64_t* offset) override;

 private:
  // The archive's format as libarchive tracks it, which decides whether a
  // hard link's size counts.
  enum class Format { kNone, kUstar, kGnu, kPax };
  struct Headers;  // one member's headers, in the buffer

  // Reads up to the member's own header (kEntry), leaving all of them
  // unconsumed.
  Next read_headers(Headers* headers, std::string* err);
  // The member the headers describe; consumes them.
  Next interpret(const Headers& headers, ArchiveEntry* entry, std::string* err);

  ArchiveSource& in_;
  Format format_ = Format::kNone;
  uint64_t data_size_ = 0, data_left_ = 0;  // the current member's data
};

}  // namespace ctk::oci
