// Requests that act on the guest itself rather than a container: mounting the
// disks a container's root is made of, unmounting, making directories.
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/error.h"
#include "init/agent.h"

namespace ctk::init {

namespace {

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

}  // namespace

// {"op":"mount", "destination":"/abs", "type":"ext4", "source":"/dev/vda", "options":["ro"]}
// The target directory is created. Same mount object as in config.json.
bool Agent::op_mount(const json& req, std::string* code, std::string* err) {
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
bool Agent::op_umount(const json& req, std::string* code, std::string* err) {
  std::string target = req.at("destination").get<std::string>();
  if (::umount2(target.c_str(), req.value("detach", false) ? MNT_DETACH : 0) != 0) {
    *code = errno == EINVAL || errno == ENOENT ? "not_found" : "internal";
    *err = sys_error("umount " + target);
    return false;
  }
  return true;
}

// {"op":"mkdir", "path":"/abs"}: with parents, like mkdir -p.
bool Agent::op_mkdir(const json& req, std::string* code, std::string* err) {
  std::string path = req.at("path").get<std::string>();
  if (path.empty() || path[0] != '/') {
    *err = "path '" + path + "' is not absolute";
    return false;
  }
  return make_dirs(path, code, err);
}

}  // namespace ctk::init
