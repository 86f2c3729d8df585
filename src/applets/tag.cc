// ctk tag: another name for an image in the store.
#include "applets/applet.h"
#include "applets/image_common.h"
#include "oci/reference.h"

namespace ctk {

extern const Applet kTagApplet;

namespace {

const Option kOptions[] = {
    kRootOption,
};

int tag_main(const Flags& flags) {
  const Applet& self = kTagApplet;
  if (flags.positional().size() != 2) return fail(self, "want SOURCE and TARGET; see 'ctk tag --help'"), kExitUsage;
  std::string err;
  oci::Reference target;
  if (!oci::parse_reference(flags.positional()[1], &target, &err)) return fail(self, err), kExitUsage;
  if (!target.digest.empty()) return fail(self, "TARGET cannot have a digest"), kExitUsage;
  oci::Store store;
  if (!open_store(flags, &store, &err)) return fail(self, err);
  oci::Descriptor source;
  if (!store.resolve(flags.positional()[0], &source, &err)) return fail(self, err);
  if (!store.set_ref(target.name() + ":" + target.tag, source, &err)) return fail(self, err);
  return 0;
}

}  // namespace

extern const Applet kTagApplet = {
    .name = "tag",
    .synopsis = "SOURCE TARGET",
    .summary = "Give an image in the store another name",
    .description = "SOURCE is a name or digest in the store; TARGET a reference with an optional tag\n"
                   "(default: latest). An existing TARGET is moved to SOURCE's image.",
    .options = kOptions,
    .run = tag_main,
};

}  // namespace ctk
