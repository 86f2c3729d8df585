// ctk rename: Rename a container
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kRenameApplet;

namespace {

const Option kOptions[] = {

    kRootOption,
};

int rename_main(const Flags& flags) {
  const Applet& self = kRenameApplet;
  if (flags.positional().empty()) return fail(self, "no container given"), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return container_fail(self, err);
  if (flags.positional().size() != 2) return fail(self, "want CONTAINER NEW_NAME"), kExitUsage;
  std::string id;
  if (!all.find(flags.positional()[0], &id, &err) || !all.rename(id, flags.positional()[1], &err))
    return container_fail(self, err);
  return 0;
}

}  // namespace

extern const Applet kRenameApplet = {
    .name = "rename",
    .synopsis = "[OPTIONS] CONTAINER NEW_NAME",
    .summary = "Rename a container",
    .description = "Names are unique among the containers of the data root.",
    .options = kOptions,
    .run = rename_main,
};

}  // namespace ctk
