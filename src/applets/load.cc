// ctk load: images from a docker-save or OCI archive into the store.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "base/error.h"
#include "oci/load.h"
#include "oci/reference.h"

namespace ctk {

extern const Applet kLoadApplet;

namespace {

const Option kOptions[] = {
    {"input", 'i', "FILE", "Read the archive from FILE ('-': standard input, the default)"},
    {"quiet", 'q', "", "Print only the references loaded"},
    kRootOption,
};

int load_main(const Flags& flags) {
  const Applet& self = kLoadApplet;
  const auto& args = flags.positional();
  if (args.size() > 1 || (args.size() == 1 && flags.has("input")))
    return fail(self, "want one archive, as FILE or -i FILE; see 'ctk load --help'"), kExitUsage;
  std::string path = flags.has("input") ? flags.get("input") : args.empty() ? "-" : args[0];
  int fd = STDIN_FILENO;
  if (path == "-") {
    // docker's rule: an archive is never typed in.
    if (isatty(fd)) return fail(self, "no archive: give FILE, or redirect standard input"), kExitUsage;
  } else if ((fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
    return fail(self, sys_error(path));
  }
  std::string err;
  oci::Store store;
  std::vector<std::string> loaded;
  bool ok = open_store(flags, &store, &err) &&
            oci::load_archive(store, fd, path == "-" ? "standard input" : path, &loaded, &err);
  if (fd != STDIN_FILENO) ::close(fd);
  if (!ok) return fail(self, err);
  for (const std::string& name : loaded)
    std::printf(flags.has("quiet") ? "%s\n" : oci::is_digest(name) ? "Loaded image ID: %s\n" : "Loaded image: %s\n",
                name.c_str());
  return 0;
}

}  // namespace

extern const Applet kLoadApplet = {
    .name = "load",
    .synopsis = "[-q] [-i FILE | FILE]",
    .summary = "Load images from a docker-save or OCI archive into the image store",
    .description =
        "Reads a 'docker save' tarball (manifest.json with Config, RepoTags, Layers) or an OCI\n"
        "image archive (a tar of an OCI image layout: oci-layout, index.json, blobs/), plain or\n"
        "compressed as a whole with gzip, zstd, xz, bzip2 or lz4, in one pass (a pipe is fine).\n"
        "Blobs named by their digest are verified; docker-save layers are hashed as they are\n"
        "stored and the image gets an OCI manifest. Each RepoTag, or each index.json entry's\n"
        "name, becomes a reference ('busybox:latest' is docker.io/library/busybox:latest; a\n"
        "bare OCI tag such as 'v1' stays as it is), recorded only once every blob is in place.",
    .options = kOptions,
    .run = load_main,
};

}  // namespace ctk
