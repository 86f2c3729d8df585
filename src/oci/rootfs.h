// Builds a container root filesystem image (ext4) from image layers: the
// entry point of `mkrootfs`. An input that is not a file is an image in the
// store and stands for its layers; the image built from one store image is
// the store's cache entry (rootfs_cache.h), so a second build is a copy.
// Containers take cache entries themselves (image_rootfs.h).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "base/timer.h"
#include "ext4/writer.h"
#include "oci/rootfs_cache.h"

namespace ctk::oci {

struct RootfsRequest {
  std::vector<std::string> inputs;  // layer archives or store images, lowest first
  std::string output;               // image path; written atomically
  std::string store_root;           // the image store; default Store::default_root()
  ext4::WriterOptions ext4;
};

struct RootfsResult {
  ext4::WriterStats stats;
  uint64_t entries = 0;
  bool cached = false;  // copied from the cache, not built
};

bool build_rootfs(const RootfsRequest& request, Timings& timings, RootfsResult* result,
                  std::string* err);

// Applies layer files (or pipes), lowest first, to a new image written to fd,
// an empty regular file that `what` names in errors.
bool write_rootfs(const std::vector<std::string>& layers, ext4::WriterOptions options, int fd,
                  const std::string& what, Timings& timings, RootfsResult* result, std::string* err);

// write_rootfs as a cache entry's builder; it refers to its arguments, which
// must outlive it.
RootfsBuilder layers_builder(const std::vector<std::string>& layers, const ext4::WriterOptions& options,
                             Timings& timings);

}  // namespace ctk::oci
