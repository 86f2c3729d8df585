// Applies OCI image layers (tar, optionally gzip/zstd/lz4/xz/bzip2
// compressed; detected from content) to an ext4 image being written, with the
// image-spec's semantics: whiteouts (.wh.NAME), opaque directories
// (.wh..wh..opq), replacement of files by directories and back, hard links
// into earlier layers; a path given twice is what its last entry says, as
// docker and containerd apply such layers. Nothing is ever extracted to the host.
#pragma once

#include <string>

#include "base/sha256.h"
#include "ext4/writer.h"
#include "oci/entry.h"

namespace ctk::oci {

class LayerApplier {
 public:
  explicit LayerApplier(ext4::Writer& writer) : writer_(writer) {}

  // Applies the next layer. On error, `err` names the layer and the entry.
  bool apply(const std::string& path, std::string* err);

  // A digest of everything applied (names, metadata, sizes), from which the
  // image's UUID and hash seed are derived.
  Digest identity() { return identity_.finish(); }
  uint64_t entries() const { return entries_; }

 private:
  bool apply_entry(const ArchiveEntry& e, EntryData& data, std::string* err);
  bool apply_whiteout(ext4::Node* dir, std::string_view leaf, std::string* err);

  ext4::Writer& writer_;
  Sha256 identity_;
  int layer_ = 0;
  uint64_t entries_ = 0;
  std::string path_;  // the entry's clean path, its buffer kept from entry to entry
};

}  // namespace ctk::oci
