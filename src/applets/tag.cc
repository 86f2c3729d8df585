// ctk tag: another name for an image in the store.
#include "applets/applet.h"
#include "applets/image_common.h"
#include "oci/images.h"

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
  oci::Store store;
  if (!open_store(flags, &store, &err)) return fail(self, err);
  Error e;
  if (!oci::tag_image(store, flags.positional()[0], flags.positional()[1], &e))
    return fail(self, e.message), e.code == ErrorCode::invalid ? kExitUsage : 1;
  return 0;
}

}  // namespace

extern const Applet kTagApplet = {
    .name = "tag",
    .synopsis = "SOURCE TARGET",
    .summary = "Give an image in the store another name",
    .description = "SOURCE is a name, image id or digest in the store; TARGET a reference with an optional tag\n"
                   "(default: latest). An existing TARGET is moved to SOURCE's image.",
    .options = kOptions,
    .run = tag_main,
};

}  // namespace ctk
