#include "oci/rootfs.h"

#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "ext4/format.h"
#include "oci/image.h"
#include "oci/layer.h"
#include "oci/rootfs_cache.h"
#include "oci/store.h"

namespace ctk::oci {

bool build_rootfs(const RootfsRequest& request, Timings& timings, RootfsResult* result,
                  std::string* err) {
  if (request.inputs.empty()) {
    *err = "no layers given";
    return false;
  }
  ext4::WriterOptions options = request.ext4;
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
    // One image in, one cacheable result: keyed by the image and every
    // option that shapes the bytes, and by this very binary (its size and
    // mtime), so a rebuilt ctk with a changed writer never reuses old images.
    if (request.inputs.size() == 1) {
      struct stat exe = {};
      ::stat("/proc/self/exe", &exe);
      std::string shape = std::string(CTK_VERSION) + "\n" + std::to_string(exe.st_size) + "." +
                          std::to_string(exe.st_mtim.tv_sec) + "." + std::to_string(exe.st_mtim.tv_nsec) + "\n" +
                          std::to_string(options.size) + "\n" + (options.journal ? "journal" : "") + "\n" +
                          (options.uuid ? to_hex(*options.uuid) : "");
      cache_key = digest.substr(7) + "-" +
                  to_hex(sha256({reinterpret_cast<const uint8_t*>(shape.data()), shape.size()})).substr(0, 16);
    }
    layers.insert(layers.end(), paths.begin(), paths.end());
  }
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

  AtomicFile out;
  if (!out.open(request.output, err)) return false;
  if (!cache_key.empty()) {
    Timer t(timings, "cache lookup");
    CachedRootfs cached;
    std::string miss;
    if (rootfs_cache_get(store.root(), cache_key, out.fd(), &cached, &miss)) {
      if (!out.commit(err)) return false;
      result->stats = cached.stats;
      result->entries = cached.entries;
      result->cached = true;
      return true;
    }
    if (!miss.empty()) {
      *err = miss;
      return false;
    }
  }
  ext4::Writer writer;
  if (!writer.begin(out.fd(), options, err)) return false;
  LayerApplier applier(writer);
  {
    Timer t(timings, "apply layers");
    for (const std::string& in : layers)
      if (!applier.apply(in, err)) return false;
  }
  {
    Timer t(timings, "write metadata");
    Digest id = applier.identity();
    if (!writer.finish(id, err)) return false;
    // A --size that is not a whole number of blocks still gives a file of
    // exactly that size; the filesystem uses the whole blocks in it.
    uint64_t bytes = options.size ? options.size : writer.stats().blocks * ext4::kBlockSize;
    if (::ftruncate(out.fd(), off_t(bytes)) != 0) {
      *err = sys_error(out.temp_path());
      return false;
    }
  }
  if (!cache_key.empty()) {
    Timer t(timings, "cache image");
    if (!rootfs_cache_put(store.root(), cache_key, out.fd(), {writer.stats(), applier.entries()}, err)) return false;
  }
  if (!out.commit(err)) return false;
  result->stats = writer.stats();
  result->entries = applier.entries();
  return true;
}

}  // namespace ctk::oci
