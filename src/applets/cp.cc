// ctk cp: copy files between a container and the host.
#include <signal.h>
#include <sys/stat.h>

#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/copy.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kCpApplet;

namespace {

const Option kOptions[] = {
    {"archive", 'a', "", "Archive mode: keep the files' owners (uid, gid)"},
    {"follow-link", 'L', "", "Follow a symlink at the end of SRC_PATH"},
    kRootOption,
};

// Docker's reading of an argument: CONTAINER:PATH, unless it is an absolute
// path or starts with "." (./file:name is a local file).
bool container_arg(const std::string& arg, std::string* container, std::string* path) {
  size_t colon = arg.find(':');
  if (arg.starts_with('/') || arg.starts_with('.') || colon == std::string::npos) {
    *path = arg;
    return false;
  }
  *container = arg.substr(0, colon);
  *path = arg.substr(colon + 1);
  return true;
}

int cp_main(const Flags& flags) {
  const Applet& self = kCpApplet;
  const auto& args = flags.positional();
  if (args.size() != 2) return fail(self, "want SRC_PATH DEST_PATH, one of them CONTAINER:PATH"), kExitUsage;
  std::string from_ct, to_ct, src, dst;
  bool from = container_arg(args[0], &from_ct, &src), to = container_arg(args[1], &to_ct, &dst);
  if (from && to) return fail(self, "copying between containers is not supported"), kExitUsage;
  if (!from && !to) return fail(self, "must specify at least one container source"), kExitUsage;
  if (src.empty()) return fail(self, "source can not be empty"), kExitUsage;
  if (dst.empty()) return fail(self, "destination can not be empty"), kExitUsage;
  // A reader of stdout or a pipe that goes away is an error to report, not a death.
  ::signal(SIGPIPE, SIG_IGN);
  // A missing host source fails before a stopped container's VM boots for nothing.
  struct stat st;
  if (to && src != "-" && ::lstat(src.c_str(), &st) != 0) return fail(self, sys_error(src));
  const std::string& name = from ? from_ct : to_ct;
  Error err;
  container::Containers all;
  std::unique_ptr<container::Container> ct;
  proto::Client conn;
  if (!open_containers(flags, &all, &err) || !find_container(all, name, &ct, &err) ||
      !container::connect_for_files(all, *ct, &conn, &err))
    return container_fail(self, err);
  container::CopyOptions options;
  options.archive = flags.has("archive");
  options.follow = flags.has("follow-link");
  bool ok = from ? container::copy_from_container(conn, name, src, dst, options, &err)
                 : container::copy_to_container(conn, name, src, dst, options, &err);
  return ok ? 0 : container_fail(self, err);
}

}  // namespace

extern const Applet kCpApplet = {
    .name = "cp",
    .synopsis = "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-  or  [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    .summary = "Copy files between a container and the host",
    .description = "Directories are copied whole, with modes, times and symlinks. Docker's rules: a\n"
                   "DEST_PATH that is a directory receives SRC_PATH in it; one that does not exist\n"
                   "becomes the copy; SRC_PATH ending in /. copies a directory's contents. '-' is a\n"
                   "tar stream on stdout, or from stdin (extracted into the directory DEST_PATH).\n"
                   "Container paths are in the container's root. A container that is not running\n"
                   "has its VM booted for the copy alone (nothing runs in it, its state stays).",
    .options = kOptions,
    .run = cp_main,
};

}  // namespace ctk
