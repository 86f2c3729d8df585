// The store's one cache of root filesystem images (its rootfs/ directory),
// for store images and layer archives alike, so building the same input again
// is a lookup. An entry is KEY.ext4 with its stats in KEY.ext4.json (written
// last: what marks the entry present). Keys:
//   <manifest hex>-<16 hex>  a store image (the manifest of its platform), and
//   files-<32 hex>           layer files, by their file identities,
// the hex after each covering ctk's format (rootfs_format()) and the writer
// options, so an image another ctk built is never reused.
//
// Builders hold the store's write lock (shared) and a lock per key, so one
// process builds an entry while others wait for it; the store's garbage
// collection (exclusive) drops the entries of removed images, of layer files
// that changed or went, and of other ctk builds.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ext4/writer.h"

namespace ctk::oci {

// Bump when the image ctk writes for the same input changes (the ext4
// writer's layout, the layer semantics).
inline constexpr int kRootfsFormat = 2;

// This ctk's image format: kRootfsFormat, its version, and its binary's file
// identity, so a rebuilt ctk never takes an image an older build wrote.
const std::string& rootfs_format();

// The key of a store image's entry: its manifest's digest (the platform's
// manifest, for an index) and the options.
std::string image_cache_key(const std::string& manifest_digest, const ext4::WriterOptions& options);
// The key of layer files' entry (built with the default options): their
// file identities (base/dirs.h), so an edited layer gets a new one.
bool files_cache_key(const std::vector<std::string>& layers, std::string* key, std::string* err);

struct CachedRootfs {
  ext4::WriterStats stats;
  uint64_t entries = 0;
  std::vector<std::string> layers;  // a files- entry's layer files, checked by collection
};

// Writes the image into fd (an empty file that `what` names), filling its stats.
using RootfsBuilder = std::function<bool(int fd, const std::string& what, CachedRootfs* info, std::string* err)>;

// The entry for `key` in the store at root, when it is there.
bool rootfs_cache_find(const std::string& root, const std::string& key, std::string* path, CachedRootfs* info);

// The entry for `key` in the store at root: looked up, or made by `build` when
// missing (*built). *path is the shared, read-only image file. The caller
// holds the store's write lock (Store::lock_writes) while it runs.
bool rootfs_cache_entry(const std::string& root, const std::string& key, const RootfsBuilder& build,
                        std::string* path, CachedRootfs* info, bool* built, std::string* err);

// Copies an entry into fd: a reflink where the filesystem has them, else the
// data extents only, so the sparse image stays sparse.
bool rootfs_cache_copy(const std::string& path, int fd, std::string* err);

// Drops what no one can use any more: entries of images whose manifests are
// not in `live` (hex digests), files- entries whose layers changed or went,
// entries of another ctk format, and what interrupted builds left. Only
// under the store's exclusive write lock (no builder runs).
void rootfs_cache_prune(const std::string& root, const std::set<std::string>& live);

}  // namespace ctk::oci
