// `ctk cp` and docker's archive API (`ctk serve`'s /containers/{id}/archive):
// files between a running container and the host, as tar streams through
// its supervisor to the agent (copy_out and copy_in with "archive", stat,
// docs/PROTOCOL.md), with docker's rules for what lands where: a file or a
// directory, "DIR/." for a directory's contents, a destination that exists
// as a directory (the copy goes in it) or not (the copy takes its name).
//
// The stream's other end is a sink or a source: stdout or stdin, a pipe to
// a thread that packs or unpacks a host tree, or an HTTP body. Callers
// ignore SIGPIPE, so that a side that stops is an error, not a death.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "proto/client.h"

namespace ctk::container {

struct CopyOptions {
  bool archive = false;  // -a: owners (uid, gid) as the source has them
  bool follow = false;   // -L: follow a symlink at the end of the source path
};

// Takes each piece of a stream in order; false (with *err) stops it.
using StreamSink = std::function<bool(std::string_view data, std::string* err)>;
// Appends up to max bytes of a stream to *out (possibly none), *end once it
// is all given; false (with *err) when it cannot be read.
using StreamSource = std::function<bool(size_t max, std::string* out, bool* end, std::string* err)>;

// A sink that writes to fd, a source that reads from it; what names fd in errors.
StreamSink fd_sink(int fd, const std::string& what);
StreamSource fd_source(int fd, const std::string& what);

// The agent's stat of path in the container named `name` (the stat op's
// JSON: type, mode, uid, gid, size, mtime_ns, target); not_found is
// "Could not find the file PATH in container NAME", as docker's daemon says.
bool stat_path(proto::Client& conn, const std::string& name, const std::string& path, bool follow,
               nlohmann::json* out, Error* err);

// docker's archive of path (absolute) in the container: a tar stream given
// to sink as it arrives (its root member is path's last component, "." for
// "DIR/."). not_found as stat_path's. A sink that fails stops the copy with
// its message.
bool archive_out(proto::Client& conn, const std::string& name, const std::string& path, bool follow,
                 const StreamSink& sink, Error* err);

// Extracts the tar stream source yields into the existing directory dir
// (absolute) in the container: not_found when it does not exist (as
// stat_path's), invalid when it is not a directory. The agent refuses a
// directory over a non-directory and the reverse, and names that climb
// out of dir. Owners are the archive's.
bool archive_in(proto::Client& conn, const std::string& name, const std::string& dir, const StreamSource& source,
                Error* err);

// Copies path (in the container named `name`, connected as conn) to
// host_path; "-" writes the tar stream to stdout instead.
bool copy_from_container(proto::Client& conn, const std::string& name, const std::string& path,
                         const std::string& host_path, const CopyOptions& options, Error* err);

// Copies host_path into the container at path; "-" reads a tar stream from
// stdin and extracts it into the directory path.
bool copy_to_container(proto::Client& conn, const std::string& name, const std::string& host_path,
                       const std::string& path, const CopyOptions& options, Error* err);

}  // namespace ctk::container
