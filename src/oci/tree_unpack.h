// Extracts a tar stream into a directory the way docker's copy API does
// (`ctk cp` on the host, the agent's copy_in with `archive` in a
// container), never writing outside that directory: the archive and the
// tree it lands in may both come from a container that wants out.
#pragma once

#include <string>

#include "oci/archive_source.h"

namespace ctk::oci {

struct UnpackOptions {
  // Give files the archive's owners; false: they belong to whoever extracts.
  bool keep_owner = true;
  // Docker's rebase: a member whose first path component is rename_from
  // (".", for an archive of a directory's contents) gets rename_to instead,
  // so that `cp SRC DEST` creates DEST; hard link targets alike.
  std::string rename_from, rename_to;
};

// Extracts every member of source under the directory `root` (an fd opened
// O_RDONLY | O_DIRECTORY); `where` names root in errors. Leading "/" and "."
// parts of names are dropped; a name that climbs out of root with ".." is an
// error; every path resolves as if root were "/" (open_in_root), so neither
// a symlink in the archive nor one already in the tree leads out. Missing
// parent directories are made (0755). Docker's rules for what exists: a
// directory stays and takes the member's metadata, a directory never
// replaces a non-directory nor the reverse (an error), anything else is
// replaced. Modes, owners and mtimes are the members'; directories get their
// modes and times once all their contents are in (a read-only directory
// still takes its files). A member named "." is root itself. The input is
// read to its end, past the archive's end marker.
bool unpack_tree(ArchiveSource& source, int root, const std::string& where, const UnpackOptions& options,
                 std::string* err);

}  // namespace ctk::oci
