// ctk create: a container ready to start.
#include <cstdio>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "container/guest_setup.h"

namespace ctk {

extern const Applet kCreateApplet;

namespace {

int create_main(const Flags& flags) {
  const Applet& self = kCreateApplet;
  container::CreateOptions o;
  std::string why;
  int code;
  if (!create_options(flags, &o, &why, &code)) return fail(self, why), code;
  Error err;
  container::Containers all;
  Timings timings;
  container::Spec spec;
  if (!open_containers(flags, &all, &err) || !container::create(all, o, timings, &spec, &err))
    return fail(self, err.message), container::kExitStartFailed;
  std::printf("%s\n", spec.id.c_str());
  return 0;
}

}  // namespace

extern const Applet kCreateApplet = {
    .name = "create",
    .synopsis = "[OPTIONS] IMAGE|ROOTFS.ext4|LAYER.tar... [COMMAND [ARG...]]",
    .summary = "Create a container without starting it",
    .description = "Takes the options of 'ctk run' (but -d and --rm); prints the new container's id.\n"
                   "The image is pulled and built into its root filesystem now, and the container's\n"
                   "writable layer made; 'ctk start' boots its VM.",
    .options = kCreateOptions,
    .run = create_main,
    .stop_at_positional = true,
};

}  // namespace ctk
