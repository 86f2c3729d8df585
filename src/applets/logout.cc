// ctk logout: forget a registry's stored credentials.
#include <cstdio>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "oci/credentials.h"
#include "oci/reference.h"

namespace ctk {

extern const Applet kLogoutApplet;

namespace {

const Option kOptions[] = {
    kAuthfileOption,
};

int logout_main(const Flags& flags) {
  const Applet& self = kLogoutApplet;
  if (flags.positional().size() > 1) return fail(self, "want at most one REGISTRY"), kExitUsage;
  std::string err;
  oci::Reference ref;
  std::string arg = flags.positional().empty() ? "docker.io" : flags.positional()[0];
  if (!oci::parse_reference(arg + "/x", &ref, &err)) return fail(self, err), kExitUsage;
  std::string file = flags.has("authfile") ? flags.get("authfile") : oci::docker_config_path();
  bool existed;
  if (!oci::erase_credential(file, ref.registry, &existed, &err)) return fail(self, err);
  if (!existed) return fail(self, "not logged in to " + ref.registry);
  std::printf("Removed login credentials for %s\n", ref.registry.c_str());
  return 0;
}

}  // namespace

extern const Applet kLogoutApplet = {
    .name = "logout",
    .synopsis = "[REGISTRY]",
    .summary = "Log out from a registry",
    .description = "Removes REGISTRY's credentials (default: docker.io) from ~/.docker/config.json and,\n"
                   "when it names a credential helper (credsStore, credHelpers), from the helper.",
    .options = kOptions,
    .run = logout_main,
};

}  // namespace ctk
