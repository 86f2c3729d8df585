// ctk: one static multi-call binary. The applet is argv[0]'s basename when
// that names one (a `vminitd -> ctk` symlink), otherwise the first argument.
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "applets/applet.h"
#include "base/strings.h"

using namespace ctk;

int main(int argc, char** argv) {
  std::string_view self = argc > 0 ? argv[0] : "ctk";
  if (size_t slash = self.rfind('/'); slash != std::string_view::npos)
    self.remove_prefix(slash + 1);
  // The kernel runs the initramfs's /init, a link to ctk: that is the agent.
  if (self == "init") self = "vminitd";
  if (self != "ctk") {
    if (const Applet* a = find_applet(self)) return run_applet(*a, argc - 1, argv + 1);
  }
  if (argc < 2) return run_applet(*find_applet("help"), 0, argv + 1);
  std::string_view name = argv[1];
  if (name == "--version" || name == "version") {
    std::printf("ctk %s\n", CTK_VERSION);
    return 0;
  }
  if (name == "--help" || name == "-h") return run_applet(*find_applet("help"), 0, argv + 2);
  if (const Applet* a = find_applet(name)) return run_applet(*a, argc - 2, argv + 2);

  std::vector<std::string_view> names;
  for (const Applet* a : all_applets()) names.push_back(a->name);
  std::string_view near = closest_match(name, names);
  std::fprintf(stderr, "ctk: unknown applet '%.*s'", int(name.size()), name.data());
  if (!near.empty()) std::fprintf(stderr, " (did you mean '%.*s'?)", int(near.size()), near.data());
  std::fprintf(stderr, "; see 'ctk help'\n");
  return kExitUsage;
}
