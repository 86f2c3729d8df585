// What a container boots from: a store image, or layer archives, as an ext4
// root filesystem image in the store's one rootfs cache (rootfs_cache.h: the
// entries `mkrootfs IMAGE` makes too, under the same keys), found or built
// while holding the store's write lock, so `ctk rmi` cannot collect the blobs
// a build reads. The image file is shared and read-only: callers never write
// to it. It stays until a garbage collection finds it unusable (its image
// removed, its layer files changed, another ctk format): open it promptly.
#pragma once

#include <string>
#include <vector>

#include "base/timer.h"
#include "oci/image_config.h"
#include "oci/pull.h"
#include "oci/store.h"

namespace ctk::oci {

struct ImageRootfsOptions {
  // How to pull a missing image. Its platform (empty: the host's) also picks
  // from an index in the store, and an image of another platform in the
  // store is pulled again for this one (docker's rule), or refused.
  PullOptions pull;
  bool pull_if_missing = true;
  Timings* timings = nullptr;  // the build's phases, when wanted
};

// The store image `name` as an ext4 root filesystem: the path of its cached
// image, built under the store's lock when missing, pulled first when the
// image is not in the store. Also returns the parsed config; a config of
// the wrong shape is an error naming the image and the field.
bool image_rootfs(Store& store, const std::string& name, const ImageRootfsOptions& options, std::string* path,
                  ImageConfig* config, std::string* err);

// Layer archives (regular files given on the command line, lowest first) as
// one ext4 root filesystem in the same cache, keyed by the files' identities
// (base/dirs.h file_identity: an edited or replaced file is a new entry).
bool layers_rootfs(Store& store, const std::vector<std::string>& layers, Timings* timings, std::string* path,
                   std::string* err);

}  // namespace ctk::oci
