// ctk rm: Remove containers
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kRmApplet;

namespace {

const Option kOptions[] = {
    {"force", 'f', "", "Kill and remove a running container"},
    {"volumes", 'v', "", "Remove anonymous volumes too (none exist yet)"},
    kRootOption,
};

int rm_main(const Flags& flags) {
  const Applet& self = kRmApplet;
  if (flags.positional().empty()) return fail(self, "no container given"), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return container_fail(self, err);
  int status = 0;
  for (const std::string& ref : flags.positional()) {
    std::unique_ptr<container::Container> ct;
    if (!find_container(all, ref, &ct, &err) || !container::remove(all, *ct, flags.has("force"), &err)) {
      container_fail(self, err);
      status = 1;
      continue;
    }
    std::printf("%s\n", ref.c_str());
  }
  return status;
}

}  // namespace

extern const Applet kRmApplet = {
    .name = "rm",
    .synopsis = "[OPTIONS] CONTAINER...",
    .summary = "Remove containers",
    .description = "Removes each container: its state, log and writable layer. A running one only with\\n--force, which kills it first. Prints each name given.",
    .options = kOptions,
    .run = rm_main,
};

}  // namespace ctk
