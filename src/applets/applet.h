// The applet table (busybox): every ctk command is one Applet, registered in
// applets/table.cc, reachable as `ctk NAME` or through a symlink named NAME.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "base/flags.h"

namespace ctk {

struct Applet {
  std::string_view name;
  std::string_view synopsis;  // what follows "ctk NAME" in the usage line
  std::string_view summary;   // one line for `ctk help`
  std::string_view description;  // paragraph(s) for --help, may be empty
  std::span<const Option> options;
  int (*run)(const Flags& flags);
  bool stop_at_positional = false;  // `run IMAGE CMD -flag`: CMD's flags are its own
};

// Exit codes shared by all applets.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::span<const Applet* const> all_applets();
const Applet* find_applet(std::string_view name);

// The full --help text of an applet.
std::string applet_help(const Applet& applet);

// Parses flags (handling --help) and runs the applet; returns the exit code.
int run_applet(const Applet& applet, int argc, char** argv);

// Prints "ctk NAME: message" to stderr and returns kExitFailure.
int fail(const Applet& applet, std::string_view message);

}  // namespace ctk
