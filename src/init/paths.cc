#include "init/paths.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "oci/tree_pack.h"

namespace ctk::init {

namespace {

constexpr int kMaxLinks = 40;  // the kernel's own limit

const char* file_type(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symlink";
    case S_IFCHR: return "char";
    case S_IFBLK: return "block";
    case S_IFIFO: return "fifo";
    default: return "socket";
  }
}

bool read_link(const Located& at, std::string* target) {
  char buf[4096];
  ssize_t n = ::readlinkat(at.dir.get(), at.entry.c_str(), buf, sizeof buf);
  if (n < 0) return false;
  target->assign(buf, size_t(n));
  return true;
}

}  // namespace

bool locate(int root, const std::string& path, bool follow, Located* out, std::string* code, std::string* err) {
  auto fail = [&](int e) {
    *code = e == ENOENT || e == ENOTDIR ? "not_found" : "internal";
    *err = sys_error(path, e);
    return false;
  };
  bool want_dir = path.size() > 1 && path.ends_with('/');
  std::string dir, target;
  oci::split_path(path, &dir, &out->entry);
  for (int links = 0;; ++links) {
    out->dir.reset(open_in_root(root, dir, O_PATH | O_DIRECTORY));
    if (out->dir.get() < 0 || ::fstatat(out->dir.get(), out->entry.c_str(), &out->st, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(errno);
    if (!(follow || want_dir) || !S_ISLNK(out->st.st_mode)) break;
    if (links == kMaxLinks) return fail(ELOOP);
    if (!read_link(*out, &target)) return fail(errno);
    oci::split_path(target.starts_with('/') ? target : dir + "/" + target, &dir, &out->entry);
  }
  if (want_dir && !S_ISDIR(out->st.st_mode)) return fail(ENOTDIR);
  return true;
}

nlohmann::json stat_json(const Located& at) {
  const struct stat& st = at.st;
  nlohmann::json out = {{"type", file_type(st.st_mode)},
                        {"mode", st.st_mode & 07777},
                        {"uid", st.st_uid},
                        {"gid", st.st_gid},
                        {"size", st.st_size},
                        {"nlink", st.st_nlink},
                        {"mtime_ns", int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec}};
  if (std::string target; S_ISLNK(st.st_mode) && read_link(at, &target)) out["target"] = target;
  return out;
}

}  // namespace ctk::init
