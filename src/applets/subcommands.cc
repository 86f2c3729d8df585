#include "applets/subcommands.h"

#include <cstdio>
#include <vector>

#include "base/error.h"

namespace ctk {

std::string full_name(const Applet& self, const Subcommand& sub) {
  return std::string(self.name) + " " + std::string(sub.name);
}

const Subcommand* parse_subcommand(const Applet& self, const Flags& flags, std::span<const Subcommand* const> subs,
                                   Flags* out, int* exit_code) {
  *exit_code = kExitUsage;
  std::string names;
  for (size_t i = 0; i < subs.size(); ++i)
    names += (i == 0 ? "" : i + 1 == subs.size() ? " or " : ", ") + std::string(subs[i]->name);
  const auto& args = flags.positional();
  if (args.empty()) return fail(self, "want a subcommand: " + names), nullptr;
  const Subcommand* sub = nullptr;
  for (const Subcommand* s : subs)
    if (args[0] == s->name || (!s->alias.empty() && args[0] == s->alias)) sub = s;
  if (!sub) return fail(self, "unknown subcommand '" + args[0] + "': want " + names), nullptr;
  std::string name = full_name(self, *sub);
  std::vector<char*> rest;
  for (size_t i = 1; i < args.size(); ++i) rest.push_back(const_cast<char*>(args[i].c_str()));
  for (char* a : rest)
    if (std::string_view(a) == "--help" || std::string_view(a) == "-h") {
      std::printf("Usage: ctk %s %s\n\nOptions:\n%s", name.c_str(), std::string(sub->synopsis).c_str(),
                  format_options(sub->options).c_str());
      *exit_code = 0;
      return nullptr;
    }
  std::string why;
  if (!out->parse(rest, sub->options, false, &why)) return print_error(name, why), nullptr;
  if (!out->has("root") && flags.has("root")) out->set_default("root", flags.get("root"));
  return sub;
}

}  // namespace ctk
