// Applets made of docker's subcommands (`volume ls`, `network create`): each
// subcommand has its own flags, parsed after its name (docker's: `ls -f`
// filters, `rm -f` forces); --root is also taken before the name.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "applets/applet.h"
#include "base/flags.h"

namespace ctk {

// An applet's table derives from this, adding how each one runs.
struct Subcommand {
  std::string_view name, alias;  // docker's other spelling: `volume list`, `volume remove`
  std::string_view synopsis;     // what follows "ctk APPLET NAME" in its --help
  std::span<const Option> options;
};

// "volume ls": the prefix of a subcommand's error lines.
std::string full_name(const Applet& self, const Subcommand& sub);

// Picks the subcommand the first positional names and parses what follows
// with its options into *out. nullptr when there is nothing to run:
// *exit_code is 0 after the subcommand's --help, 2 after a usage error (its
// line printed).
const Subcommand* parse_subcommand(const Applet& self, const Flags& flags, std::span<const Subcommand* const> subs,
                                   Flags* out, int* exit_code);

template <class S, size_t N>
const S* parse_subcommand(const Applet& self, const Flags& flags, const S (&subs)[N], Flags* out, int* exit_code) {
  const Subcommand* all[N];
  for (size_t i = 0; i < N; ++i) all[i] = &subs[i];
  return static_cast<const S*>(parse_subcommand(self, flags, std::span<const Subcommand* const>(all), out,
                                                exit_code));
}

}  // namespace ctk
