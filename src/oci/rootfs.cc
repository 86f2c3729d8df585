#include "oci/rootfs.h"

#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "ext4/format.h"
#include "oci/layer.h"

namespace ctk::oci {

bool build_rootfs(const RootfsRequest& request, Timings& timings, RootfsResult* result,
                  std::string* err) {
  if (request.inputs.empty()) {
    *err = "no layers given";
    return false;
  }
  ext4::WriterOptions options = request.ext4;
  for (const std::string& in : request.inputs) {
    struct stat st;
    if (::stat(in.c_str(), &st) != 0) {
      *err = errno == ENOENT ? "'" + in + "' does not exist (image references need the image store)"
                             : sys_error(in);
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
  ext4::Writer writer;
  if (!writer.begin(out.fd(), options, err)) return false;
  LayerApplier layers(writer);
  {
    Timer t(timings, "apply layers");
    for (const std::string& in : request.inputs)
      if (!layers.apply(in, err)) return false;
  }
  {
    Timer t(timings, "write metadata");
    Digest id = layers.identity();
    if (!writer.finish(id, err)) return false;
    // A --size that is not a whole number of blocks still gives a file of
    // exactly that size; the filesystem uses the whole blocks in it.
    uint64_t bytes = options.size ? options.size : writer.stats().blocks * ext4::kBlockSize;
    if (::ftruncate(out.fd(), off_t(bytes)) != 0) {
      *err = sys_error(out.temp_path());
      return false;
    }
  }
  if (!out.commit(err)) return false;
  result->stats = writer.stats();
  result->entries = layers.entries();
  return true;
}

}  // namespace ctk::oci
