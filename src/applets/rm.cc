// ctk rm: Remove containers
#include <cstdio>
#include <cstdlib>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kRmApplet;

namespace {

const Option kOptions[] = {
    {"force", 'f', "", "Kill and remove a running container"},
    {"volumes", 'v', "", "Remove the container's anonymous volumes too"},
    kRootOption,
};

int rm_main(const Flags& flags) {
  const Applet& self = kRmApplet;
  return for_each_container(self, flags, true, [&](container::Containers& all, container::Container& ct, Error* err) {
    return container::remove(all, ct, flags.has("force"), flags.has("volumes"), err);
  });
}

}  // namespace

extern const Applet kRmApplet = {
    .name = "rm",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Remove containers",
    .description = "Removes each container: its state, log and writable layer. A running one only with\n--force, which kills it first. Prints each name given.",
    .options = kOptions,
    .run = rm_main,
};

}  // namespace ctk
