// ctk save: images from the store into an OCI image archive.
#include <cstdio>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "oci/save.h"

namespace ctk {

extern const Applet kSaveApplet;

namespace {

const Option kOptions[] = {
    {"output", 'o', "FILE", "Write the archive to FILE (required)"},
    {"quiet", 'q', "", "Print nothing on success"},
    kRootOption,
};

int save_main(const Flags& flags) {
  const Applet& self = kSaveApplet;
  if (flags.positional().empty()) return fail(self, "want at least one IMAGE; see 'ctk save --help'"), kExitUsage;
  if (!flags.has("output") || flags.get("output").empty())
    return fail(self, "want -o FILE: where to write the archive"), kExitUsage;
  std::string err;
  oci::Store store;
  std::vector<std::string> saved;
  if (!open_store(flags, &store, &err) ||
      !oci::save_archive(store, flags.positional(), flags.get("output"), &saved, &err))
    return fail(self, err);
  if (!flags.has("quiet"))
    for (const std::string& name : saved) std::printf("Saved image: %s\n", name.c_str());
  return 0;
}

}  // namespace

extern const Applet kSaveApplet = {
    .name = "save",
    .synopsis = "[-q] -o FILE IMAGE...",
    .summary = "Write images from the image store to an OCI archive",
    .description =
        "Writes an OCI image archive: a tar of an OCI image layout (oci-layout, index.json,\n"
        "blobs/sha256/) holding each IMAGE's manifest (or index), config and layers, each blob\n"
        "once. index.json names every image by its store reference, in the annotations\n"
        "org.opencontainers.image.ref.name and io.containerd.image.name, so 'skopeo copy\n"
        "oci-archive:FILE:REF', 'docker load' and 'ctk load' read it. FILE appears only when\n"
        "complete. IMAGE is a reference or a digest (prefix), as for 'ctk run'.",
    .options = kOptions,
    .run = save_main,
};

}  // namespace ctk
