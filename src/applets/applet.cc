#include "applets/applet.h"

#include <cstdio>

#include "base/error.h"

namespace ctk {

const Applet* find_applet(std::string_view name) {
  for (const Applet* a : all_applets())
    if (a->name == name) return a;
  return nullptr;
}

std::string applet_help(const Applet& a) {
  std::string s = "Usage: ctk " + std::string(a.name);
  if (!a.synopsis.empty()) s += " " + std::string(a.synopsis);
  s += "\n\n" + std::string(a.summary) + "\n";
  if (!a.description.empty()) s += "\n" + std::string(a.description) + "\n";
  s += "\nOptions:\n" + format_options(a.options);
  return s;
}

int run_applet(const Applet& a, int argc, char** argv) {
  // -h means help unless the applet has its own -h (docker's run --hostname).
  bool own_h = false;
  for (const Option& o : a.options) own_h |= o.short_name == 'h';
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || (arg == "-h" && !own_h)) {
      std::fputs(applet_help(a).c_str(), stdout);
      return 0;
    }
    // Only flags before the first positional belong to the applet.
    if (a.stop_at_positional && (arg.empty() || arg[0] != '-')) break;
  }
  Flags flags;
  std::string err;
  if (!flags.parse(std::span<char* const>(argv, argc), a.options, a.stop_at_positional, &err)) {
    print_error(a.name, err);
    return kExitUsage;
  }
  return a.run(flags);
}

int fail(const Applet& a, std::string_view message) {
  print_error(a.name, message);
  return kExitFailure;
}

}  // namespace ctk
