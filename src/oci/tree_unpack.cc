#include "oci/tree_unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vector>

#include "base/error.h"
#include "base/file_io.h"

namespace ctk::oci {

namespace {

class Unpacker {
 public:
  Unpacker(int root, const std::string& where, const UnpackOptions& options)
      : root_(root), where_(where), options_(options) {}
  bool member(const ArchiveEntry& e, EntryData& data, std::string* err);
  // The directories' modes and times, once everything is in.
  bool finish(std::string* err);

 private:
  // A member name as a path below root ("" for root itself).
  bool relative(const std::string& name, std::string* rel, std::string* err);
  // The directory holding rel, opened (made first when `make`), and rel's last part.
  bool parent(const std::string& rel, bool make, UniqueFd* dir, std::string* base, std::string* err);
  bool make_dirs(const std::string& rel, std::string* err);
  bool write_file(int dir, const std::string& base, const std::string& rel, const ArchiveEntry& e, EntryData& data,
                  std::string* err);
  bool set_owner(int dir, const std::string& base, const std::string& rel, const ArchiveEntry& e, std::string* err);
  std::string show(const std::string& rel) const {
    return rel.empty() ? where_ : where_.ends_with('/') ? where_ + rel : where_ + "/" + rel;
  }

  struct Dir {
    std::string rel;
    uint32_t mode;
    timespec times[2];
  };
  int root_;
  std::string where_;
  const UnpackOptions& options_;
  std::vector<Dir> dirs_;
};

void entry_times(const ArchiveEntry& e, timespec times[2]) {
  const EntryTime& atime = e.atime.set ? e.atime : e.mtime;
  times[0] = {atime.sec, long(atime.nsec)};
  times[1] = {e.mtime.sec, long(e.mtime.nsec)};
}

bool Unpacker::relative(const std::string& name, std::string* rel, std::string* err) {
  std::vector<std::string> parts;
  bool first = true;
  for (size_t start = 0; start < name.size();) {
    size_t end = std::min(name.find('/', start), name.size());
    std::string part = name.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    if (first && !options_.rename_from.empty() && part == options_.rename_from) part = options_.rename_to;
    first = false;
    if (part == ".") continue;
    if (part != "..") {
      parts.push_back(part);
    } else if (parts.empty()) {
      *err = "'" + name + "' is outside of " + where_;
      return false;
    } else {
      parts.pop_back();
    }
  }
  rel->clear();
  for (const std::string& p : parts) *rel += (rel->empty() ? "" : "/") + p;
  return true;
}

bool Unpacker::make_dirs(const std::string& rel, std::string* err) {
  UniqueFd at(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
  for (size_t end = 0; end != std::string::npos;) {
    end = rel.find('/', end + 1);
    std::string prefix = rel.substr(0, end);
    UniqueFd next(open_in_root(root_, prefix, O_PATH | O_DIRECTORY));
    if (next.get() < 0 && errno == ENOENT) {
      std::string name = prefix.substr(prefix.rfind('/') + 1);
      if (::mkdirat(at.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        *err = sys_error("mkdir " + show(prefix));
        return false;
      }
      next.reset(open_in_root(root_, prefix, O_PATH | O_DIRECTORY));
    }
    if (next.get() < 0) {
      *err = sys_error(show(prefix));
      return false;
    }
    at = std::move(next);
  }
  return true;
}

bool Unpacker::parent(const std::string& rel, bool make, UniqueFd* dir, std::string* base, std::string* err) {
  size_t slash = rel.rfind('/');
  std::string path = slash == std::string::npos ? "" : rel.substr(0, slash);
  *base = rel.substr(slash + 1);
  dir->reset(open_in_root(root_, path, O_PATH | O_DIRECTORY));
  if (dir->get() < 0 && errno == ENOENT && make) {
    if (!make_dirs(path, err)) return false;
    dir->reset(open_in_root(root_, path, O_PATH | O_DIRECTORY));
  }
  if (dir->get() < 0) {
    *err = sys_error(show(path));
    return false;
  }
  return true;
}

bool Unpacker::set_owner(int dir, const std::string& base, const std::string& rel, const ArchiveEntry& e,
                         std::string* err) {
  if (!options_.keep_owner ||
      ::fchownat(dir, base.c_str(), uid_t(e.uid), gid_t(e.gid), AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) == 0)
    return true;
  *err = sys_error("chown " + show(rel));
  return false;
}

bool Unpacker::write_file(int dir, const std::string& base, const std::string& rel, const ArchiveEntry& e,
                          EntryData& data, std::string* err) {
  UniqueFd fd(::openat(dir, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    *err = sys_error(show(rel));
    return false;
  }
  auto write = [&](const void* buf, size_t len, uint64_t offset) {
    if (::lseek(fd.get(), off_t(offset), SEEK_SET) >= 0) return write_all(fd.get(), buf, len, show(rel), err);
    *err = sys_error(show(rel));
    return false;
  };
  if (!for_each_run(data, write, err)) return false;
  timespec times[2];
  entry_times(e, times);
  if (::ftruncate(fd.get(), e.size) != 0) {
    *err = sys_error(show(rel));
    return false;
  }
  // The owner before the mode: chown clears setuid bits.
  if (!set_owner(fd.get(), "", rel, e, err)) return false;
  if (::fchmod(fd.get(), e.mode & 07777) != 0 || ::futimens(fd.get(), times) != 0) {
    *err = sys_error(show(rel));
    return false;
  }
  return true;
}

bool Unpacker::member(const ArchiveEntry& e, EntryData& data, std::string* err) {
  std::string rel, base;
  if (!relative(e.path, &rel, err)) return false;
  bool is_dir = !e.hardlink && S_ISDIR(e.mode);
  Dir d{rel, e.mode, {}};
  entry_times(e, d.times);
  if (rel.empty()) {
    if (!is_dir) {
      *err = "cannot overwrite directory " + where_ + " with non-directory '" + e.path + "'";
      return false;
    }
    dirs_.push_back(d);
    return set_owner(root_, "", rel, e, err);
  }
  UniqueFd dir;
  if (!parent(rel, true, &dir, &base, err)) return false;
  struct stat old;
  bool exists = ::fstatat(dir.get(), base.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && S_ISDIR(old.st_mode) != is_dir) {
    *err = is_dir ? "cannot overwrite non-directory " + show(rel) + " with directory '" + e.path + "'"
                  : "cannot overwrite directory " + show(rel) + " with non-directory '" + e.path + "'";
    return false;
  }
  if (exists && !is_dir && ::unlinkat(dir.get(), base.c_str(), 0) != 0) {
    *err = sys_error("remove " + show(rel));
    return false;
  }
  if (e.hardlink) {
    std::string target, target_base;
    UniqueFd target_dir;
    if (!relative(e.link, &target, err) || !parent(target, false, &target_dir, &target_base, err)) return false;
    if (::linkat(target_dir.get(), target_base.c_str(), dir.get(), base.c_str(), 0) != 0) {
      *err = sys_error("link " + show(rel) + " to " + show(target));
      return false;
    }
    return true;
  }
  bool made;
  switch (e.mode & S_IFMT) {
    case S_IFREG:
      return write_file(dir.get(), base, rel, e, data, err);
    case S_IFDIR:
      // Owner-only until finish() gives it its mode: its contents go in first.
      if (!exists && ::mkdirat(dir.get(), base.c_str(), 0700) != 0) {
        *err = sys_error("mkdir " + show(rel));
        return false;
      }
      dirs_.push_back(d);
      return set_owner(dir.get(), base, rel, e, err);
    case S_IFLNK:
      made = ::symlinkat(e.link.c_str(), dir.get(), base.c_str()) == 0;
      break;
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
      made = ::mknodat(dir.get(), base.c_str(), (e.mode & S_IFMT) | 0600, makedev(e.rdev_major, e.rdev_minor)) == 0;
      break;
    default:
      return true;  // a socket: nothing to make
  }
  if (!made) {
    *err = sys_error(show(rel));
    return false;
  }
  if (!set_owner(dir.get(), base, rel, e, err)) return false;
  bool ok = (S_ISLNK(e.mode) || ::fchmodat(dir.get(), base.c_str(), e.mode & 07777, 0) == 0) &&
            ::utimensat(dir.get(), base.c_str(), d.times, AT_SYMLINK_NOFOLLOW) == 0;
  if (!ok) *err = sys_error(show(rel));
  return ok;
}

bool Unpacker::finish(std::string* err) {
  // Deepest first: a parent that becomes read-only no longer matters.
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    UniqueFd dir;
    std::string base = ".";
    if (it->rel.empty()) dir.reset(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
    else if (!parent(it->rel, false, &dir, &base, err)) return false;
    if (::fchmodat(dir.get(), base.c_str(), it->mode & 07777, 0) != 0 ||
        ::utimensat(dir.get(), base.c_str(), it->times, AT_SYMLINK_NOFOLLOW) != 0) {
      *err = sys_error(show(it->rel));
      return false;
    }
  }
  return true;
}

}  // namespace

bool unpack_tree(ArchiveSource& source, int root, const std::string& where, const UnpackOptions& options,
                 std::string* err) {
  Unpacker unpacker(root, where, options);
  auto each = [&](const ArchiveEntry& e, EntryData& data, std::string* why) { return unpacker.member(e, data, why); };
  if (!for_each_entry(source, "archive for " + where, each, err) || !unpacker.finish(err)) return false;
  // What follows the end marker (a tar writer's padding) is read too, so
  // that the writer is never cut off mid-write; gzip input was read to its
  // trailer already.
  while (!source.gzip()) {
    if (!source.fill(1 << 16, err)) return false;
    if (source.avail() == 0) break;
    source.consume(source.avail());
  }
  return true;
}

}  // namespace ctk::oci
