#include <cstdio>

#include "applets/applet.h"

namespace ctk {

namespace {

int help_main(const Flags& flags) {
  if (!flags.positional().empty()) {
    const std::string& name = flags.positional()[0];
    const Applet* a = find_applet(name);
    if (!a) {
      std::fprintf(stderr, "ctk help: unknown applet '%s'\n", name.c_str());
      return kExitUsage;
    }
    std::fputs(applet_help(*a).c_str(), stdout);
    return 0;
  }
  std::printf(
      "ctk %s: OCI containers, each in its own lightweight Linux VM\n\n"
      "Usage: ctk APPLET [ARGS...]    (or through a symlink named APPLET)\n\n"
      "Applets:\n",
      CTK_VERSION);
  for (const Applet* a : all_applets())
    std::printf("  %-12s %.*s\n", std::string(a->name).c_str(), int(a->summary.size()),
                a->summary.data());
  std::printf("\n`ctk APPLET --help` and `man ctk-APPLET` describe each one.\n");
  return 0;
}

}  // namespace

extern const Applet kHelpApplet = {
    .name = "help",
    .synopsis = "[APPLET]",
    .summary = "List the applets, or show one applet's help",
    .description = {},
    .options = {},
    .run = help_main,
};

}  // namespace ctk
