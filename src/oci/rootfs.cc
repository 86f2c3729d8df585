#include "oci/rootfs.h"

#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "ext4/format.h"
#include "oci/image.h"
#include "oci/layer.h"
#include "oci/store.h"

namespace ctk::oci {

bool write_rootfs(const std::vector<std::string>& layers, ext4::WriterOptions options, int fd,
                  const std::string& what, Timings& timings, RootfsResult* result, std::string* err) {
  for (const std::string& in : layers) {
    struct stat st;
    if (::stat(in.c_str(), &st) != 0) {
      *err = sys_error(in);
      return false;
    }
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
      *err = "'" + in + "' is not a layer archive";
      return false;
    }
    // Compressed layers expand; a generous guess only sizes a reservation.
    options.size_hint += uint64_t(st.st_size) * 4;
  }
  ext4::Writer writer;
  if (!writer.begin(fd, options, err)) return false;
  LayerApplier applier(writer);
  {
    Timer t(timings, "apply layers");
    for (const std::string& in : layers)
      if (!applier.apply(in, err)) return false;
  }
  Timer t(timings, "write metadata");
  Digest id = applier.identity();
  if (!writer.finish(id, err)) return false;
  // A --size that is not a whole number of blocks still gives a file of
  // exactly that size; the filesystem uses the whole blocks in it.
  uint64_t bytes = options.size ? options.size : writer.stats().blocks * ext4::kBlockSize;
  if (::ftruncate(fd, off_t(bytes)) != 0) {
    *err = sys_error(what);
    return false;
  }
  result->stats = writer.stats();
  result->entries = applier.entries();
  return true;
}

RootfsBuilder layers_builder(const std::vector<std::string>& layers, const ext4::WriterOptions& options,
                             Timings& timings) {
  return [&layers, &options, &timings](int fd, const std::string& what, CachedRootfs* info, std::string* err) {
    RootfsResult r;
    if (!write_rootfs(layers, options, fd, what, timings, &r, err)) return false;
    info->stats = r.stats;
    info->entries = r.entries;
    return true;
  };
}

bool build_rootfs(const RootfsRequest& request, Timings& timings, RootfsResult* result,
                  std::string* err) {
  if (request.inputs.empty()) {
    *err = "no layers given";
    return false;
  }
  // Inputs that are not files name images in the store, each standing for
  // its layers, lowest first. The store's write lock keeps `ctk rmi` from
  // collecting those blobs while they are read.
  std::vector<std::string> layers;
  Store store;
  FileLock store_lock;
  std::string cache_key;
  for (const std::string& in : request.inputs) {
    struct stat st;
    if (::stat(in.c_str(), &st) == 0) {
      layers.push_back(in);
      continue;
    }
    if (errno != ENOENT) {
      *err = sys_error(in);
      return false;
    }
    if (store.root().empty()) {
      std::string root = request.store_root.empty() ? Store::default_root() : request.store_root;
      if (::stat((root + "/index.json").c_str(), &st) != 0) {
        *err = "'" + in + "' does not exist, and there is no image store at " + root;
        return false;
      }
      if (!store.open(root, err) || !store.lock_writes(&store_lock, err)) return false;
    }
    std::vector<std::string> paths;
    std::string digest;
    if (!image_layers(store, in, &paths, &digest, err)) {
      *err = "'" + in + "' is not a file, nor an image: " + *err;
      return false;
    }
    // One image in: its image is the store's cache entry.
    if (request.inputs.size() == 1) cache_key = image_cache_key(digest, request.ext4);
    layers.insert(layers.end(), paths.begin(), paths.end());
  }

  AtomicFile out;
  if (!out.open(request.output, err)) return false;
  if (cache_key.empty()) return write_rootfs(layers, request.ext4, out.fd(), out.temp_path(), timings, result, err) &&
                                out.commit(err);
  std::string path;
  CachedRootfs cached;
  bool found, built = false;
  {
    Timer t(timings, "cache lookup");
    found = rootfs_cache_find(store.root(), cache_key, &path, &cached);
  }
  if (!found &&
      !rootfs_cache_entry(store.root(), cache_key, layers_builder(layers, request.ext4, timings), &path, &cached,
                          &built, err))
    return false;
  result->cached = !built;
  Timer t(timings, "copy from the cache");
  if (!rootfs_cache_copy(path, out.fd(), err) || !out.commit(err)) return false;
  result->stats = cached.stats;
  result->entries = cached.entries;
  return true;
}

}  // namespace ctk::oci
