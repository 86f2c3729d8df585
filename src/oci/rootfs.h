// Builds a container root filesystem image (ext4) from image layers. The one
// entry point `mkrootfs`, `run` and `boot` use; image references will resolve
// to the store's layer blobs here once the store exists.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "base/timer.h"
#include "ext4/writer.h"

namespace ctk::oci {

struct RootfsRequest {
  std::vector<std::string> inputs;  // layer archives, lowest first
  std::string output;               // image path; written atomically
  ext4::WriterOptions ext4;
};

struct RootfsResult {
  ext4::WriterStats stats;
  uint64_t entries = 0;
};

bool build_rootfs(const RootfsRequest& request, Timings& timings, RootfsResult* result,
                  std::string* err);

}  // namespace ctk::oci
