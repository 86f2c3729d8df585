// ctk rmi: remove image names, then the blobs nothing references any more.
#include <cstdio>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "base/strings.h"
#include "container/state.h"
#include "oci/images.h"

namespace ctk {

extern const Applet kRmiApplet;

namespace {

const Option kOptions[] = {
    {"force", 'f', "", "Remove an image a container was made from, or every name of an image named by id"},
    kRootOption,
};

int rmi_main(const Flags& flags) {
  const Applet& self = kRmiApplet;
  if (flags.positional().empty()) return fail(self, "no IMAGE given; see 'ctk rmi --help'"), kExitUsage;
  std::string err;
  oci::Store store;
  container::Containers containers;
  Error e;
  if (!open_store(flags, &store, &err)) return fail(self, err);
  if (!open_containers(flags, &containers, &e)) return container_fail(self, e);
  oci::RemoveOptions options;
  options.force = flags.has("force");
  options.users = [&](const std::string& id) { return containers.image_users(id); };
  oci::Removed removed;
  for (const std::string& name : flags.positional()) {
    size_t untagged = removed.untagged.size(), deleted = removed.deleted.size();
    if (!oci::remove_image(store, name, options, &removed, &e)) return container_fail(self, e);
    for (size_t i = untagged; i < removed.untagged.size(); ++i) std::printf("Untagged: %s\n", removed.untagged[i].c_str());
    for (size_t i = deleted; i < removed.deleted.size(); ++i) std::printf("Deleted: %s\n", removed.deleted[i].c_str());
  }
  std::printf("Deleted %llu blobs, %s\n", (unsigned long long)removed.blobs, format_size(removed.bytes).c_str());
  return 0;
}

}  // namespace

extern const Applet kRmiApplet = {
    .name = "rmi",
    .synopsis = "[-f] IMAGE...",
    .summary = "Remove images from the image store",
    .description = "Removes each name (a reference, image id, digest or prefix), then deletes every\n"
                   "blob no remaining image references. As docker rmi: a name that is one of several\n"
                   "only loses that name; an id naming an image of several names, or the last name of\n"
                   "an image a container was made from, is refused without -f. Blobs of pulls in\n"
                   "progress are kept.",
    .options = kOptions,
    .run = rmi_main,
};

}  // namespace ctk
