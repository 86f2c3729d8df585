// ctk profile: the sandbox profiles `ctk run --profile` takes.
#include <algorithm>
#include <cstdio>

#include "applets/applet.h"
#include "profile/profile.h"

namespace ctk {

extern const Applet kProfileApplet;

namespace {

int profile_ls() {
  std::vector<profile::Entry> all = profile::list();
  size_t width = 4;
  for (const profile::Entry& e : all) width = std::max(width, e.name.size());
  std::printf("%-*s  SOURCE\n", int(width), "NAME");
  for (const profile::Entry& e : all) std::printf("%-*s  %s\n", int(width), e.name.c_str(), e.source.c_str());
  return 0;
}

int profile_show(const std::string& ref) {
  profile::Profile p;
  std::string err;
  if (!profile::load(ref, &p, &err)) return fail(kProfileApplet, err);
  std::printf("# %s: %s\n%s", ref.c_str(), p.source.c_str(),
              p.toml.empty() ? "# no settings: a plain run\n" : p.toml.c_str());
  return 0;
}

int profile_main(const Flags& flags) {
  const Applet& self = kProfileApplet;
  const auto& args = flags.positional();
  if (args.size() == 1 && (args[0] == "ls" || args[0] == "list")) return profile_ls();
  if (args.size() == 2 && args[0] == "show") return profile_show(args[1]);
  return fail(self, "want 'ls' or 'show NAME|FILE'"), kExitUsage;
}

}  // namespace

extern const Applet kProfileApplet = {
    .name = "profile",
    .synopsis = "ls | show NAME|FILE",
    .summary = "List and show the sandbox profiles of ctk run --profile",
    .description = "ls: every profile's name and where it comes from: built-in, or a file in\n"
                   "$XDG_CONFIG_HOME/ctk/profiles/NAME.toml (~/.config), which overrides a built-in\n"
                   "of its name. show: a profile's settings as TOML (a FILE is any path with a '/'\n"
                   "or ending in .toml). Built-in: default (a plain run) and untrusted (no network,\n"
                   "read-only root with a tmpfs /tmp, read-only bind mounts, 1 CPU, 512M, 256\n"
                   "processes, no-new-privileges, fewer capabilities).",
    .options = {},
    .run = profile_main,
};

}  // namespace ctk
