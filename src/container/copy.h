// `ctk cp`: files between a running container and the host, as tar streams
// through its supervisor to the agent (copy_out and copy_in with "archive",
// docs/PROTOCOL.md), with docker's rules for what lands where: a file or a
// directory, "DIR/." for a directory's contents, a destination that exists
// as a directory (the copy goes in it) or not (the copy takes its name).
// The host side packs or unpacks in a thread of its own, through a pipe:
// callers ignore SIGPIPE, so that a side that stops is an error, not a death.
#pragma once

#include <string>

#include "base/error.h"
#include "proto/client.h"

namespace ctk::container {

struct CopyOptions {
  bool archive = false;  // -a: owners (uid, gid) as the source has them
  bool follow = false;   // -L: follow a symlink at the end of the source path
};

// Copies path (in the container named `name`, connected as conn) to
// host_path; "-" writes the tar stream to stdout instead.
bool copy_from_container(proto::Client& conn, const std::string& name, const std::string& path,
                         const std::string& host_path, const CopyOptions& options, Error* err);

// Copies host_path into the container at path; "-" reads a tar stream from
// stdin and extracts it into the directory path.
bool copy_to_container(proto::Client& conn, const std::string& name, const std::string& host_path,
                       const std::string& path, const CopyOptions& options, Error* err);

}  // namespace ctk::container
