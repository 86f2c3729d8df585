#include "oci/rootfs_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/dirs.h"
#include "base/error.h"
#include "base/sha256.h"
#include "oci/fsutil.h"
#include "oci/json.h"

namespace ctk::oci {

namespace {

using nlohmann::json;

constexpr std::string_view kImage = ".ext4";
constexpr std::string_view kStats = ".ext4.json";
constexpr std::string_view kLock = ".lock";
constexpr std::string_view kFilesPrefix = "files-";

std::string hash_hex(const std::string& text, size_t chars) {
  return to_hex(sha256({reinterpret_cast<const uint8_t*>(text.data()), text.size()})).substr(0, chars);
}

// Every option that shapes the image's bytes (size_hint only sizes a reservation).
std::string options_text(const ext4::WriterOptions& o) {
  return std::to_string(o.size) + "\n" + (o.journal ? "journal" : "") + "\n" + (o.uuid ? to_hex(*o.uuid) : "") +
         "\n";
}

// The format's digest, as the stats file records it.
const std::string& format_id() {
  static const std::string id = hash_hex(rootfs_format(), 16);
  return id;
}

std::string entry_path(const std::string& root, const std::string& key) {
  return root + "/rootfs/" + key + std::string(kImage);
}

uint64_t number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// The entry's stats, when it is complete (its image and stats files both
// there) and of this ctk's format.
bool read_stats(const std::string& path, CachedRootfs* out) {
  std::string text, ignored;
  bool exists;
  json j;
  struct stat st;
  if (!read_file(path + ".json", &text, &exists, &ignored) || !exists || !parse_json(text, &j, &ignored) ||
      !j.is_object() || ::stat(path.c_str(), &st) != 0)
    return false;
  auto format = j.find("format");
  if (format == j.end() || *format != format_id()) return false;
  out->stats.blocks = number(j, "blocks");
  out->stats.used_blocks = number(j, "used_blocks");
  out->stats.inodes = uint32_t(number(j, "inodes"));
  out->stats.data_bytes = number(j, "data_bytes");
  out->entries = number(j, "entries");
  out->layers.clear();
  if (auto layers = j.find("layers"); layers != j.end() && layers->is_array())
    for (const json& l : *layers)
      if (l.is_string()) out->layers.push_back(l.get<std::string>());
  return true;
}

bool write_stats(const std::string& path, const CachedRootfs& info, std::string* err) {
  json j = {{"format", format_id()},
            {"blocks", info.stats.blocks},
            {"used_blocks", info.stats.used_blocks},
            {"inodes", info.stats.inodes},
            {"data_bytes", info.stats.data_bytes},
            {"entries", info.entries}};
  if (!info.layers.empty()) j["layers"] = info.layers;
  // A path that is not UTF-8 comes back mangled, so collection drops the
  // entry as one whose layers went: a rebuild, never a wrong image.
  return write_file_atomic(path + ".json", j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", 0644,
                           err);
}

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

// Whether collection keeps the entry `key`.
bool still_usable(const std::string& root, const std::string& key, const std::set<std::string>& live) {
  CachedRootfs info;
  if (!read_stats(entry_path(root, key), &info)) return false;
  if (key.starts_with(kFilesPrefix)) {
    std::string now, ignored;
    return files_cache_key(info.layers, &now, &ignored) && now == key;
  }
  return key.size() > 65 && key[64] == '-' && live.count(key.substr(0, 64));
}

}  // namespace

const std::string& rootfs_format() {
  static const std::string format = [] {
    std::string binary, ignored;
    file_identity("/proc/self/exe", &binary, &ignored);  // none on macOS: the version must do
    return "ctk rootfs format " + std::to_string(kRootfsFormat) + "\nversion " CTK_VERSION "\n" + binary;
  }();
  return format;
}

std::string image_cache_key(const std::string& manifest_digest, const ext4::WriterOptions& options) {
  return manifest_digest.substr(manifest_digest.find(':') + 1) + "-" +
         hash_hex(rootfs_format() + options_text(options), 16);
}

bool files_cache_key(const std::vector<std::string>& layers, std::string* key, std::string* err) {
  std::string text = rootfs_format() + options_text({});
  for (const std::string& l : layers) {
    std::string id;
    if (!file_identity(l, &id, err)) return false;
    text += id;
  }
  *key = std::string(kFilesPrefix) + hash_hex(text, 32);
  return true;
}

bool rootfs_cache_find(const std::string& root, const std::string& key, std::string* path, CachedRootfs* info) {
  *path = entry_path(root, key);
  return read_stats(*path, info);
}

bool rootfs_cache_entry(const std::string& root, const std::string& key, const RootfsBuilder& build,
                        std::string* path, CachedRootfs* info, bool* built, std::string* err) {
  *built = false;
  if (rootfs_cache_find(root, key, path, info)) return true;
  if (!make_dirs(root + "/rootfs", 0755, err)) return false;
  FileLock building;
  if (!building.lock(root + "/rootfs/" + key + std::string(kLock), true, err)) return false;
  if (read_stats(*path, info)) return true;  // built while this one waited
  AtomicFile out;
  CachedRootfs made;
  if (!out.open(*path, err) || !build(out.fd(), out.temp_path(), &made, err)) return false;
  // Shared by every user, written by none; durable before its stats say it is there.
  if (::fchmod(out.fd(), 0444) != 0 || ::fsync(out.fd()) != 0) {
    *err = sys_error(out.temp_path());
    return false;
  }
  if (!out.commit(err) || !write_stats(*path, made, err)) return false;
  *info = std::move(made);
  *built = true;
  return true;
}

bool rootfs_cache_copy(const std::string& path, int fd, std::string* err) {
  int src = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) {
    *err = sys_error(path);
    return false;
  }
  bool ok = sparse_copy(src, fd, path, err);
  ::close(src);
  return ok;
}

void rootfs_cache_prune(const std::string& root, const std::set<std::string>& live) {
  std::string dir = root + "/rootfs";
  DIR* dp = ::opendir(dir.c_str());
  if (!dp) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dp))
    if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") names.push_back(e->d_name);
  ::closedir(dp);
  // An entry's files are KEY.ext4, KEY.ext4.json and KEY.lock; anything
  // else (".KEY.ext4.ctk-PID": an interrupted build's) goes.
  std::set<std::string> keep;
  for (const std::string& name : names)
    if (name.ends_with(kStats)) {
      std::string key = name.substr(0, name.size() - kStats.size());
      if (still_usable(root, key, live)) keep.insert(key);
    }
  for (const std::string& name : names) {
    std::string_view key = name;
    for (std::string_view suffix : {kStats, kImage, kLock})
      if (key.ends_with(suffix)) {
        key.remove_suffix(suffix.size());
        break;
      }
    if (key.size() == name.size() || !keep.count(std::string(key))) ::unlink((dir + "/" + name).c_str());
  }
}

}  // namespace ctk::oci
