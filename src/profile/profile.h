// Sandbox profiles (`ctk run --profile NAME|FILE`): settings for run and
// create in a TOML file, each standing for one of their flags, so a profile
// is a set of defaults the command line overrides. Built-ins are compiled
// in; a user's profiles live in $XDG_CONFIG_HOME/ctk/profiles/NAME.toml
// (~/.config by default) and override a built-in of the same name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/flags.h"

namespace ctk::profile {

// One setting as the create flag it feeds.
struct Setting {
  std::string flag;                 // "memory", "volume", "security-opt" ...
  std::vector<std::string> values;  // one for a single-valued flag ("" for a switch); none: unset
  bool repeatable = false;
};

struct Profile {
  std::string name;    // as looked up
  std::string source;  // "built-in" or the file's path
  std::string toml;    // its settings as TOML, normalized (what `ctk profile show` prints)
  std::vector<Setting> settings;
  bool bind_read_only = false;  // -v SRC:DST without :rw or :ro becomes :ro
};

// Parses a profile. origin names it in errors, which read
// "ORIGIN:LINE: key 'K': why" (or "ORIGIN:LINE: why" for TOML syntax).
bool parse(std::string_view text, const std::string& origin, Profile* out, std::string* err);

// ref: a name (a user file, else a built-in) or, with a '/' or ending in
// .toml, a file.
bool load(const std::string& ref, Profile* out, std::string* err);

// The folder of the user's profiles.
std::string user_dir();

struct Entry {
  std::string name, source;
};
// Every profile by name (a user file hides the built-in it overrides), sorted.
std::vector<Entry> list();

// Puts the profile under what flags (the command line) say: single-valued
// flags it sets unless given, repeatable ones get its values first, except
// a mount (volume, tmpfs) at a destination the command line mounts; then
// bind_read_only rewrites --volume values.
void apply(const Profile& p, Flags* flags);

// Whether bind_read_only makes this --volume value read-only: a host path
// bound without :ro or :rw (a named volume or an explicit mode stays).
bool bind_without_mode(const std::string& volume);

// Where a mount flag's value (volume, mount or tmpfs) mounts; "" for another
// flag or a value that does not parse (create refuses that one).
std::string mount_destination(std::string_view flag, const std::string& value);

}  // namespace ctk::profile
