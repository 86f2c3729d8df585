#include "oci/rootfs_cache.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "oci/fsutil.h"

namespace ctk::oci {

namespace {

// Copies src into dst (both at offset 0): a reflink when possible, else the
// data extents only, so the sparse image stays sparse.
bool sparse_copy(int src, int dst, const std::string& what, std::string* err) {
  struct stat st;
  if (::fstat(src, &st) != 0 || ::ftruncate(dst, 0) != 0) {
    *err = sys_error(what);
    return false;
  }
  if (::ioctl(dst, FICLONE, src) == 0) return true;
  if (::ftruncate(dst, st.st_size) != 0) {
    *err = sys_error(what);
    return false;
  }
  off_t pos = 0;
  while (pos < st.st_size) {
    off_t data = ::lseek(src, pos, SEEK_DATA);
    if (data < 0) break;  // only a hole is left
    off_t hole = ::lseek(src, data, SEEK_HOLE);
    if (hole < 0) hole = st.st_size;
    off_t in = data, out = data;
    while (in < hole) {
      ssize_t n = ::copy_file_range(src, &in, dst, &out, size_t(hole - in), 0);
      if (n <= 0) {
        *err = n < 0 ? sys_error(what) : what + ": short copy";
        return false;
      }
    }
    pos = hole;
  }
  return true;
}

}  // namespace

std::string rootfs_cache_path(const std::string& root, const std::string& key) {
  return root + "/rootfs/" + key + ".ext4";
}

bool rootfs_cache_get(const std::string& root, const std::string& key, int fd, CachedRootfs* out,
                      std::string* err) {
  std::string path = rootfs_cache_path(root, key), meta;
  bool exists;
  if (!read_file(path + ".json", &meta, &exists, err) || !exists) return false;
  auto j = nlohmann::json::parse(meta, nullptr, false);
  if (!j.is_object()) return false;
  int src = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return false;
  bool ok = sparse_copy(src, fd, path, err);
  ::close(src);
  if (!ok) return false;
  out->stats.blocks = j.value("blocks", uint64_t(0));
  out->stats.used_blocks = j.value("used_blocks", uint64_t(0));
  out->stats.inodes = j.value("inodes", uint32_t(0));
  out->stats.data_bytes = j.value("data_bytes", uint64_t(0));
  out->entries = j.value("entries", uint64_t(0));
  return true;
}

bool rootfs_cache_put(const std::string& root, const std::string& key, int fd, const CachedRootfs& info,
                      std::string* err) {
  std::string dir = root + "/rootfs";
  if (!make_dirs(dir, 0755, err)) return false;
  std::string path = rootfs_cache_path(root, key);
  std::string temp = dir + "/.tmp-" + key + "-XXXXXX";
  int out = ::mkostemp(temp.data(), O_CLOEXEC);
  if (out < 0) {
    *err = sys_error(temp);
    return false;
  }
  bool ok = ::fchmod(out, 0644) == 0 && sparse_copy(fd, out, temp, err) && ::fsync(out) == 0;
  ::close(out);
  if (ok && ::rename(temp.c_str(), path.c_str()) != 0) ok = false;
  if (!ok) {
    if (err->empty()) *err = sys_error(path);
    ::unlink(temp.c_str());
    return false;
  }
  // The stats file is written last: it is what marks the entry as present.
  nlohmann::json j = {{"blocks", info.stats.blocks}, {"used_blocks", info.stats.used_blocks},
                      {"inodes", info.stats.inodes}, {"data_bytes", info.stats.data_bytes},
                      {"entries", info.entries}};
  return write_file_atomic(path + ".json", j.dump() + "\n", 0644, err);
}

}  // namespace ctk::oci
