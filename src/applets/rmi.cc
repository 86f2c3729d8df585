// ctk rmi: remove image names, then the blobs nothing references any more.
#include <cstdio>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "base/strings.h"

namespace ctk {

extern const Applet kRmiApplet;

namespace {

const Option kOptions[] = {
    kRootOption,
};

int rmi_main(const Flags& flags) {
  const Applet& self = kRmiApplet;
  if (flags.positional().empty()) return fail(self, "no IMAGE given; see 'ctk rmi --help'"), kExitUsage;
  std::string err;
  oci::Store store;
  if (!open_store(flags, &store, &err)) return fail(self, err);
  for (const std::string& name : flags.positional()) {
    oci::Descriptor d;
    bool found;
    if (!store.resolve(name, &d, &err) || !store.remove_ref(d.ref_name, &found, &err)) return fail(self, err);
    std::printf("Untagged: %s\n", d.ref_name.c_str());
  }
  uint64_t blobs, bytes;
  if (!store.collect_garbage(&blobs, &bytes, &err)) return fail(self, err);
  std::printf("Deleted %llu blobs, %s\n", (unsigned long long)blobs, format_size(bytes).c_str());
  return 0;
}

}  // namespace

extern const Applet kRmiApplet = {
    .name = "rmi",
    .synopsis = "IMAGE...",
    .summary = "Remove images from the image store",
    .description = "Removes each name (a reference, digest or digest prefix), then deletes every blob\n"
                   "no remaining image references. Blobs of pulls in progress are kept.",
    .options = kOptions,
    .run = rmi_main,
};

}  // namespace ctk
