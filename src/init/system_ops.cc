// Requests that act on the guest's files rather than a container: mounting
// the disks a container's root is made of, unmounting, making directories,
// writing small files; and looking at one, the guest's or a container's.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "init/agent_state.h"
#include "init/guest_files.h"
#include "init/paths.h"
#include "init/pid1.h"

namespace ctk::init {

bool make_dirs(const std::string& path, std::string* code, std::string* err) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    *code = "internal";
    *err = "mkdir " + path + ": " + ec.message();
    return false;
  }
  return true;
}

bool replace_file(const std::string& path, const std::string& data, mode_t mode, std::string* code,
                  std::string* err) {
  AtomicFile file;
  if (!file.open(path, err)) {
    *code = errno == ENOENT ? "not_found" : "internal";
    *err = sys_error(path);
    return false;
  }
  *code = "internal";
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(file.fd(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = sys_error(path);
      return false;
    }
    done += size_t(n);
  }
  if (::fchmod(file.fd(), mode) != 0) {  // exactly, whatever the umask
    *err = sys_error(path);
    return false;
  }
  return file.commit(err);
}

bool check_absolute(const std::string& path, std::string* err) {
  if (!path.empty() && path[0] == '/') return true;
  *err = "path '" + path + "' is not absolute";
  return false;
}

// {"op":"mount", "destination":"/abs", "type":"ext4", "source":"/dev/vda", "options":["ro"]}
// The target directory is created. Same mount object as in config.json.
bool Agent::op_mount(Conn*, const json& req, json*, std::string* code, std::string* err) {
  MountSpec m;
  if (!parse_mount(req, &m, err)) return false;
  if (!make_dirs(m.destination, code, err)) return false;
  unsigned long flags = m.flags | (m.bind ? MS_BIND : 0);
  if (::mount(m.source.c_str(), m.destination.c_str(), m.bind ? nullptr : m.type.c_str(), flags,
              m.data.empty() ? nullptr : m.data.c_str()) != 0) {
    *code = errno == ENOENT ? "not_found" : "internal";
    *err = sys_error("mount " + m.source + " on " + m.destination);
    return false;
  }
  if (m.propagation && ::mount(nullptr, m.destination.c_str(), nullptr, m.propagation, nullptr) != 0) {
    *code = "internal";
    *err = sys_error("propagation of " + m.destination);
    return false;
  }
  // A shared directory's reads are round trips to virtiofsd, as a disk's are.
  struct stat st;
  if (m.type == "virtiofs" && ::stat(m.destination.c_str(), &st) == 0)
    std::ofstream("/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) +
                  "/read_ahead_kb")
        << kReadAheadKb;
  return true;
}

// {"op":"umount", "destination":"/abs", "detach":false}
bool Agent::op_umount(Conn*, const json& req, json*, std::string* code, std::string* err) {
  std::string target = req.at("destination").get<std::string>();
  if (::umount2(target.c_str(), req.value("detach", false) ? MNT_DETACH : 0) != 0) {
    *code = errno == EINVAL || errno == ENOENT ? "not_found" : "internal";
    *err = sys_error("umount " + target);
    return false;
  }
  return true;
}

// {"op":"mkdir", "path":"/abs"}: with parents, like mkdir -p.
bool Agent::op_mkdir(Conn*, const json& req, json*, std::string* code, std::string* err) {
  std::string path = req.at("path").get<std::string>();
  return check_absolute(path, err) && make_dirs(path, code, err);
}

namespace {

bool copy_contents(const std::string& from, const std::string& to, std::string* err);
bool copy_attributes(const struct stat& st, const std::string& to, std::string* err);

// Copies what `from` (an lstat result `st`) is to `to`, which does not exist:
// a directory with its contents, a file, a symlink; owner, mode and times
// kept. Device nodes, fifos and sockets are skipped (docker's copy keeps
// them; images hardly put any where a volume goes).
bool copy_entry(const std::string& from, const struct stat& st, const std::string& to, std::string* err) {
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(to.c_str(), 0700) != 0) return *err = sys_error("mkdir " + to), false;
    if (!copy_contents(from, to, err)) return false;
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(size_t(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(from.c_str(), target.data(), target.size());
    if (n < 0) return *err = sys_error(from), false;
    target.resize(size_t(n));
    if (::symlink(target.c_str(), to.c_str()) != 0) return *err = sys_error("symlink " + to), false;
  } else if (S_ISREG(st.st_mode)) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return *err = sys_error(from), false;
    int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
      ::close(in);
      return *err = sys_error(to), false;
    }
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::sendfile(out, in, nullptr, size_t(std::min<off_t>(left, 1 << 30)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      left -= n;
    }
    int copy_errno = errno;
    ::close(in);
    ::close(out);
    if (left > 0) {
      errno = copy_errno;
      return *err = sys_error("copy " + from + " to " + to), false;
    }
  } else {
    return true;
  }
  return copy_attributes(st, to, err);
}

// Each entry of the directory `from` into the directory `to`.
bool copy_contents(const std::string& from, const std::string& to, std::string* err) {
  DIR* d = ::opendir(from.c_str());
  if (!d) return *err = sys_error(from), false;
  bool ok = true;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat child;
    if (::lstat((from + "/" + name).c_str(), &child) != 0) {
      *err = sys_error(from + "/" + name);
      ok = false;
    } else {
      ok = copy_entry(from + "/" + name, child, to + "/" + name, err);
    }
    if (!ok) break;
  }
  ::closedir(d);
  return ok;
}

bool copy_attributes(const struct stat& st, const std::string& to, std::string* err) {
  // Owner first: chown clears set-id bits that the mode then restores.
  if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0) return *err = sys_error("chown " + to), false;
  if (!S_ISLNK(st.st_mode) && ::chmod(to.c_str(), st.st_mode & 07777) != 0)
    return *err = sys_error("chmod " + to), false;
  timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW);
  return true;
}

bool empty_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = ::readdir(d))
    if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") empty = false;
  ::closedir(d);
  return empty;
}

}  // namespace

// {"op":"populate", "from":"/abs", "to":"/abs"}: a volume's first use
// (docker's rule): when `to` is an empty directory and `from` is one, what
// `from` holds is copied in, and `to` takes its owner and mode. Otherwise
// nothing happens. {"copied": bool}.
bool Agent::op_populate(Conn*, const json& req, json* result, std::string* code, std::string* err) {
  std::string from = req.at("from").get<std::string>(), to = req.at("to").get<std::string>();
  if (!check_absolute(from, err) || !check_absolute(to, err)) return false;
  struct stat st;
  *result = {{"copied", false}};
  if (::lstat(from.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !empty_dir(to)) return true;
  *code = "internal";
  if (!copy_contents(from, to, err) || !copy_attributes(st, to, err)) return false;
  *result = {{"copied", true}};
  return true;
}

// {"op":"write_file", "path":"/abs", "data":"...", "mode":420}: small files,
// written whole and replaced atomically.
bool Agent::op_write_file(Conn*, const json& req, json*, std::string* code, std::string* err) {
  std::string path = req.at("path").get<std::string>();
  std::string data = req.at("data").get<std::string>();
  unsigned mode = req.value("mode", 0644u);
  if (!check_absolute(path, err)) return false;
  if (mode > 07777) {
    *err = "mode " + std::to_string(mode) + " is not a permission mode";
    return false;
  }
  return replace_file(path, data, mode, code, err);
}

// {"op":"stat", "path":"/abs", "container":"ID"?, "follow":false}: lstat, or
// stat with follow, of a path resolved in the container's root when one is
// named.
bool Agent::op_stat(Conn*, const json& req, json* result, std::string* code, std::string* err) {
  Container* ct;
  if (!optional_container(req, &ct, code, err)) return false;
  std::string path = req.at("path").get<std::string>();
  Located at;
  if (!locate_in(ct, path, req.value("follow", false), &at, code, err)) return false;
  *result = stat_json(at);
  return true;
}

// {"op":"list", "path":"/etc"} -> {"entries":[{"name":..., and stat's
// fields}], "truncated":bool}: a directory's entries, sorted by name, at most
// kMaxListed of them (the web UI's file browser).
bool Agent::op_list(Conn*, const json& req, json* result, std::string* code, std::string* err) {
  constexpr size_t kMaxListed = 10000;
  Container* ct;
  if (!optional_container(req, &ct, code, err)) return false;
  std::string path = req.at("path").get<std::string>();
  Located at;
  if (!locate_in(ct, path, true, &at, code, err)) return false;
  if (!S_ISDIR(at.st.st_mode)) return *code = "invalid_argument", *err = path + " is not a directory", false;
  int fd = ::openat(at.dir.get(), at.entry.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* dir = fd < 0 ? nullptr : ::fdopendir(fd);
  if (!dir) {
    if (fd >= 0) ::close(fd);
    return *code = "internal", *err = sys_error(path), false;
  }
  std::vector<std::string> names;
  while (dirent* d = ::readdir(dir))
    if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0) names.push_back(d->d_name);
  std::sort(names.begin(), names.end());
  bool truncated = names.size() > kMaxListed;
  if (truncated) names.resize(kMaxListed);
  Located entry;
  entry.dir.reset(::dup(::dirfd(dir)));
  json entries = json::array();
  for (const std::string& name : names) {
    entry.entry = name;
    // Gone since readdir: left out.
    if (::fstatat(entry.dir.get(), name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    json e = stat_json(entry);
    e["name"] = name;
    entries.push_back(std::move(e));
  }
  ::closedir(dir);
  *result = {{"entries", std::move(entries)}, {"truncated", truncated}};
  return true;
}

}  // namespace ctk::init
