// Builds a container root filesystem image (ext4) from image layers. The one
// entry point `mkrootfs`, `run` and `boot` use. An input that is not a file is
// an image in the store and stands for its layers; the image built from one
// store image is cached (rootfs_cache.h), so a second build is a copy.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "base/timer.h"
#include "ext4/writer.h"

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

}  // namespace ctk::oci
