#include "oci/tree_pack.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/file_io.h"

namespace ctk::oci {

namespace {

// mqueue's magic, which <linux/magic.h> lacks (ipc/mqueue.c).
constexpr long kMqueueMagic = 0x19800202;

// Whether fd is on a filesystem whose files are the kernel's state.
bool kernel_fs(int fd) {
  struct statfs fs;
  if (::fstatfs(fd, &fs) != 0) return false;
  switch (fs.f_type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case kMqueueMagic:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
      return true;
    default:
      return false;
  }
}

// A directory's entries, sorted, so that the archive depends only on the tree.
bool list_dir(int dir, const std::string& path, std::vector<std::string>* names, std::string* err) {
  // readdir needs an fd of its own: fdopendir takes it over.
  int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (!d) {
    *err = sys_error(path);
    if (fd >= 0) ::close(fd);
    return false;
  }
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names->push_back(std::move(name));
  }
  int read_errno = errno;
  ::closedir(d);
  if (read_errno) {
    *err = sys_error(path, read_errno);
    return false;
  }
  std::sort(names->begin(), names->end());
  return true;
}

class Packer {
 public:
  Packer(const PackOptions& options, TarWriter& out) : options_(options), out_(out) {}
  bool add(int dir, const std::string& entry, const std::string& name, const std::string& path, bool top,
           std::string* err);

 private:
  bool add_contents(int dir, const std::string& entry, const std::string& name, const std::string& path,
                    std::string* err);

  const PackOptions& options_;
  TarWriter& out_;
  std::map<std::pair<dev_t, ino_t>, std::string> linked_;  // files with several links: the member holding the data
};

bool Packer::add(int dir, const std::string& entry, const std::string& name, const std::string& path, bool top,
                 std::string* err) {
  struct stat st;
  if (::fstatat(dir, entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT && !top) return true;  // gone since its directory was listed
    *err = sys_error(path);
    return false;
  }
  if (S_ISSOCK(st.st_mode)) return true;
  ArchiveEntry e;
  e.path = S_ISDIR(st.st_mode) ? name + "/" : name;
  e.mode = st.st_mode;
  e.uid = options_.keep_owner ? st.st_uid : 0;
  e.gid = options_.keep_owner ? st.st_gid : 0;
  e.mtime = {st.st_mtim.tv_sec, uint32_t(st.st_mtim.tv_nsec), true};
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlinkat(dir, entry.c_str(), target, sizeof target);
    if (n < 0) {
      *err = sys_error("readlink " + path);
      return false;
    }
    e.link.assign(target, size_t(n));
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    e.rdev_major = major(st.st_rdev);
    e.rdev_minor = minor(st.st_rdev);
  } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    auto [it, first] = linked_.emplace(std::pair{st.st_dev, st.st_ino}, name);
    if (!first) {
      e.hardlink = true;
      e.link = it->second;
      return out_.add_entry(e, err);
    }
  }
  if (S_ISREG(st.st_mode)) {
    UniqueFd fd(::openat(dir, entry.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    // The header promises the size of what was opened.
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
      *err = sys_error(path);
      return false;
    }
    if (!S_ISREG(st.st_mode)) {
      *err = path + ": replaced while it was being archived";
      return false;
    }
    e.size = st.st_size;
    return out_.add_entry(e, err) && out_.add_data(fd.get(), path, uint64_t(st.st_size), err);
  }
  if (!out_.add_entry(e, err)) return false;
  return !S_ISDIR(st.st_mode) || add_contents(dir, entry, name, path, err);
}

bool Packer::add_contents(int dir, const std::string& entry, const std::string& name, const std::string& path,
                          std::string* err) {
  UniqueFd d(::openat(dir, entry.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (d.get() < 0) {
    *err = sys_error(path);
    return false;
  }
  if (kernel_fs(d.get())) return true;
  std::vector<std::string> names;
  if (!list_dir(d.get(), path, &names, err)) return false;
  std::string prefix = path.ends_with('/') ? path : path + "/";
  for (const std::string& n : names)
    if (!add(d.get(), n, name + "/" + n, prefix + n, false, err)) return false;
  return true;
}

}  // namespace

bool pack_tree(int dir, const std::string& entry, const std::string& name, const std::string& path,
               const PackOptions& options, TarWriter& out, std::string* err) {
  Packer packer(options, out);
  return packer.add(dir, entry, name, path, true, err) && out.finish(err);
}

std::string clean_path(const std::string& path) {
  bool absolute = path.starts_with('/');
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part != "..") parts.push_back(part);
    else if (!parts.empty() && parts.back() != "..") parts.pop_back();
    else if (!absolute) parts.push_back(part);  // "/.." is "/"
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

void split_path(const std::string& path, std::string* dir, std::string* entry) {
  std::string clean = clean_path(path);
  bool contents = path.ends_with("/.") || path == "." || clean == "/";
  if (contents) {
    *dir = clean;
    *entry = ".";
    return;
  }
  size_t slash = clean.rfind('/');
  *dir = slash == std::string::npos ? "." : slash == 0 ? "/" : clean.substr(0, slash);
  *entry = slash == std::string::npos ? clean : clean.substr(slash + 1);
}

}  // namespace ctk::oci
