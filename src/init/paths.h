// Paths in a container as the container sees them: resolved in its root
// (open_in_root), so that a symlink it planted cannot point a request of
// the host's at the agent's own files.
#pragma once

#include <sys/stat.h>

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/file_io.h"

namespace ctk::init {

struct Located {
  UniqueFd dir;       // the directory holding the entry (O_PATH)
  std::string entry;  // its name there; "." for dir itself
  struct stat st;     // lstat(2) of the entry
};

// Finds path under root: the last entry's directory and name (oci::split_path:
// "." for a path that ends in "/." or is "/"). With follow, a symlink at the
// end is followed, in root, up to 40 links; a path ending in "/" follows it
// too and must be a directory. not_found when the path (or a directory on
// the way) does not exist.
bool locate(int root, const std::string& path, bool follow, Located* out, std::string* code, std::string* err);

// The stat op's reply for what locate found: type, mode, owner, size,
// nlink, mtime, and a symlink's target.
nlohmann::json stat_json(const Located& at);

}  // namespace ctk::init
