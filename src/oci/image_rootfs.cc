#include "oci/image_rootfs.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/error.h"
#include "oci/image.h"
#include "oci/images.h"
#include "oci/json.h"
#include "oci/reference.h"
#include "oci/rootfs.h"

namespace ctk::oci {

namespace {

// The image `name` in the store for `want`: its manifest and config. With
// *missing set, pulling it may help: the store has no such image, or has it
// for another platform (an image's config names its os and architecture).
bool stored_image(const Store& store, const std::string& name, const Platform& want, Descriptor* image,
                  ImageManifest* manifest, ImageConfig* config, bool* missing, std::string* err) {
  *missing = false;
  if (!store.resolve(name, image, err)) {
    // docker's image id, or a unique prefix of it: an untagged image's only name.
    StoredImage by_id;
    std::string matched;
    Error ignored;
    if (!find_image(store, name, &by_id, &matched, &ignored)) return *missing = true, false;
    *image = by_id.entries.front();
  }
  std::string text;
  if (!load_image(store, *image, want, manifest, err) || !store.read_blob(manifest->config.digest, &text, err))
    return false;
  if (!parse_image_config(text, config, err)) {
    *err = image->ref_name + ": " + *err;
    return false;
  }
  config->digest = manifest->config.digest;
  if ((!config->os.empty() && config->os != want.os) ||
      (!config->architecture.empty() && config->architecture != want.arch)) {
    *err = image->ref_name + " is for " + printable(config->os + "/" + config->architecture) + ", not " + want.str();
    return *missing = true, false;
  }
  return true;
}

}  // namespace

bool image_rootfs(Store& store, const std::string& name, const ImageRootfsOptions& options, std::string* path,
                  ImageConfig* config, std::string* err) {
  const Platform want = options.pull.platform.os.empty() ? host_platform() : options.pull.platform;
  FileLock reading;
  if (!store.lock_writes(&reading, err)) return false;
  Descriptor image;
  ImageManifest manifest;
  bool missing;
  if (!stored_image(store, name, want, &image, &manifest, config, &missing, err)) {
    if (!missing || !options.pull_if_missing) return false;
    Reference ref;
    PullOptions pull = options.pull;
    pull.platform = want;
    PullResult pulled;
    if (!parse_reference(name, &ref, err) || !pull_image(store, ref, pull, &pulled, err) ||
        !stored_image(store, pulled.ref_name, want, &image, &manifest, config, &missing, err))
      return false;
  }
  std::vector<std::string> layers;
  for (const Descriptor& l : manifest.layers) {
    if (!store.has_blob(l.digest, l.size)) {
      *err = image.ref_name + ": layer " + l.digest + " is missing from the store; pull the image again";
      return false;
    }
    layers.push_back(store.blob_path(l.digest));
  }
  Timings ignored;
  const ext4::WriterOptions defaults;
  CachedRootfs info;
  bool built;
  return rootfs_cache_entry(store.root(), image_cache_key(manifest.digest, defaults),
                            layers_builder(layers, defaults, options.timings ? *options.timings : ignored), path,
                            &info, &built, err);
}

bool layers_rootfs(Store& store, const std::vector<std::string>& layers, Timings* timings, std::string* path,
                   std::string* err) {
  // Collection checks the entry's files again later, from anywhere: by
  // their real paths. A pipe has no identity of its content: no entry.
  std::vector<std::string> real;
  for (const std::string& l : layers) {
    char buf[PATH_MAX];
    struct stat st;
    if (::stat(l.c_str(), &st) != 0 || !::realpath(l.c_str(), buf)) {
      *err = sys_error(l);
      return false;
    }
    if (!S_ISREG(st.st_mode)) {
      *err = "'" + l + "' is not a regular file";
      return false;
    }
    real.push_back(buf);
  }
  FileLock reading;
  std::string key;
  if (!store.lock_writes(&reading, err) || !files_cache_key(real, &key, err)) return false;
  Timings ignored;
  const ext4::WriterOptions defaults;
  RootfsBuilder write = layers_builder(real, defaults, timings ? *timings : ignored);
  auto build = [&](int fd, const std::string& what, CachedRootfs* info, std::string* err) {
    info->layers = real;
    return write(fd, what, info, err);
  };
  CachedRootfs info;
  bool built;
  return rootfs_cache_entry(store.root(), key, build, path, &info, &built, err);
}

}  // namespace ctk::oci
