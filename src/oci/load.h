// `ctk load`: images from an archive into the store. Two forms, plain or
// compressed as a whole (gzip, zstd, xz, bzip2, lz4): `docker save`'s
// (manifest.json listing each image's Config, RepoTags and Layers, which may
// be plain tar or gzip) and an OCI image archive (a tar of an OCI image
// layout: oci-layout, index.json, blobs/). The archive is read once, as a
// stream (a pipe is fine): each file goes into the store as it arrives,
// hashed on the way, and blobs named by digest are verified. References are
// recorded last, once every blob they reach is in place, so a bad archive
// leaves at most unreferenced complete blobs (for garbage collection).
#pragma once

#include <string>
#include <vector>

#include "oci/store.h"

namespace ctk::oci {

// Reads the archive from fd (`what` names it in errors) and fills `loaded`
// with the references recorded, as the store names them, and for an image
// the archive does not name (saved by id) its id, "sha256:..." (kept
// untagged: Store::add_untagged).
bool load_archive(Store& store, int fd, const std::string& what, std::vector<std::string>* loaded,
                  std::string* err);

}  // namespace ctk::oci
