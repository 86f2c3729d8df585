// Requests that act on the guest's files rather than a container: mounting
// the disks a container's root is made of, unmounting, making directories,
// writing small files; and looking at one, the guest's or a container's.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/atomic_file.h"
#include "base/error.h"
#include "init/agent_state.h"
#include "init/guest_files.h"
#include "init/paths.h"

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
  if (!check_absolute(path, err)) return false;
  UniqueFd root;
  Located at;
  if (!open_root(ct, &root, code, err) || !locate(root.get(), path, req.value("follow", false), &at, code, err))
    return false;
  *result = stat_json(at);
  return true;
}

}  // namespace ctk::init
