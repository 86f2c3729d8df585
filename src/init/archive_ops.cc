// copy_out and copy_in with "archive": a file tree as a tar stream, out of
// a container's path or into a directory there (docker's archive API, under
// `ctk cp`). A worker in the container's cgroup packs or unpacks
// (oci/tree_pack, oci/tree_unpack); paths resolve in the container's root,
// so neither the tree nor the archive can lead the copy out of it.
#include <fcntl.h>

#include "base/error.h"
#include "init/agent_state.h"
#include "init/guest_files.h"
#include "init/paths.h"
#include "init/worker.h"
#include "oci/tree_pack.h"
#include "oci/tree_unpack.h"

namespace ctk::init {

// The reply comes once the archive is sent: the path's stat (as the stat op
// gives it) with the root member's name, and the archive's size.
bool Agent::archive_out(Conn* c, const json& req, Container* ct, const std::string& path, uint32_t ch,
                        json* result, std::string* code, std::string* err) {
  Located at;
  if (!locate_in(ct, path, req.value("follow", false), &at, code, err)) return false;
  // Named as asked, also when a symlink was followed (docker's rebase).
  std::string dir, name;
  oci::split_path(path, &dir, &name);
  json stat = stat_json(at);
  stat["name"] = name;
  auto pack = [&](std::string* why) {
    oci::TarWriter out(1, "copy_out " + path);
    return oci::pack_tree(0, at.entry, name, oci::clean_path(path), {}, out, why);
  };
  Worker w;
  if (!spawn_worker(worker_cgroup(ct), WorkerPipe::kOut, at.dir.get(), pack, &w, err)) {
    *code = "internal";
    return false;
  }
  serve_worker(c, ch, req["id"], WorkerPipe::kOut, w, path, {{"stat", stat}});
  *result = nullptr;
  return true;
}

// The reply comes once all of the archive is extracted: its size.
bool Agent::archive_in(Conn* c, const json& req, Container* ct, const std::string& path, uint32_t ch,
                       std::string* code, std::string* err) {
  UniqueFd root;
  if (!open_root(ct, &root, code, err)) return false;
  UniqueFd dest(open_in_root(root.get(), path, O_RDONLY | O_DIRECTORY));
  if (dest.get() < 0) {
    *code = errno == ENOENT ? "not_found" : errno == ENOTDIR ? "invalid_argument" : "internal";
    *err = errno == ENOTDIR ? path + " is not a directory" : sys_error(path);
    return false;
  }
  auto unpack = [&](std::string* why) {
    oci::ArchiveSource in(0);
    return oci::unpack_tree(in, 1, path, {}, why);
  };
  Worker w;
  if (!spawn_worker(worker_cgroup(ct), WorkerPipe::kIn, dest.get(), unpack, &w, err)) {
    *code = "internal";
    return false;
  }
  serve_worker(c, ch, req["id"], WorkerPipe::kIn, w, path, json::object());
  return true;
}

}  // namespace ctk::init
