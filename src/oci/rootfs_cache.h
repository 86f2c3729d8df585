// Root filesystem images built from store images, cached under the store's
// rootfs/ directory by a key over the image digests and the options that
// shape the output, so building the same image again is a copy (a reflink
// where the filesystem has them).
#pragma once

#include <string>

#include "ext4/writer.h"

namespace ctk::oci {

struct CachedRootfs {
  ext4::WriterStats stats;
  uint64_t entries = 0;
};

// The cache file for `key` (hex) in the store at root.
std::string rootfs_cache_path(const std::string& root, const std::string& key);

// Copies the cached image into fd (sparse: holes stay holes) and reads its
// stats; false with an empty err on a miss.
bool rootfs_cache_get(const std::string& root, const std::string& key, int fd, CachedRootfs* out,
                      std::string* err);
// Stores a copy of the finished image in fd, atomically.
bool rootfs_cache_put(const std::string& root, const std::string& key, int fd, const CachedRootfs& info,
                      std::string* err);

}  // namespace ctk::oci
