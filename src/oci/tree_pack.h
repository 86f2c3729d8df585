// A file tree as a tar stream, laid out as docker's copy API lays it out
// (what `ctk cp` sends into a container and the agent's copy_out sends
// back): the tree's root is the member NAME, what is under it NAME/...; a
// directory's contents alone are copied as ".", "./a", ...
#pragma once

#include <string>

#include "oci/tar_writer.h"

namespace ctk::oci {

struct PackOptions {
  // The files' owners as they are; false: 0 (root), as docker's cp wants
  // files it copies into a container without -a.
  bool keep_owner = true;
};

// Writes `entry` of the directory `dir` ("." for dir itself) and, when it is
// a directory, everything under it, as the members `name` and `name/...`;
// `path` names entry in errors. Files with several links in the tree stay
// links. Sockets are left out (tar cannot hold them), and so are the
// contents of kernel filesystems (proc, sysfs, cgroup2, devpts, mqueue ...)
// that a live container has mounted: their files are state, not data.
bool pack_tree(int dir, const std::string& entry, const std::string& name, const std::string& path,
               const PackOptions& options, TarWriter& out, std::string* err);

// The lexically cleaned path (Go's filepath.Clean): no empty or "." parts,
// ".." folded into what precedes it, "." for nothing.
std::string clean_path(const std::string& path);

// Docker's SplitPathDirEntry: the directory a path's last entry is in and
// that entry, "." when the path ends in "/." (the directory's contents);
// "/" splits as "/.".
void split_path(const std::string& path, std::string* dir, std::string* entry);

}  // namespace ctk::oci
