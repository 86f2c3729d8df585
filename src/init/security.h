// What a process may do once it runs: rlimits, capabilities and
// no_new_privs from config.json, by name, and applying them in the child.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::init {

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0, hard = 0;
};

// process.capabilities as bit masks; set is false when the config has none
// (the process keeps what root's exec gives it).
struct Capabilities {
  bool set = false;
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown.
int rlimit_number(const std::string& name);
// "CAP_NET_ADMIN" -> 12; -1 when unknown.
int capability_number(const std::string& name);
// Every capability name, in number order (CAP_CHOWN is 0).
std::span<const char* const> capability_names();
// A capability as docker's --cap-add/--cap-drop take it ("net_raw",
// "CAP_NET_RAW", "ALL", any case): "CAP_NET_RAW" or "ALL"; "" when unknown.
std::string canonical_capability(std::string_view name);
// The names as a mask; false with err naming the first unknown one.
bool capability_mask(const std::vector<std::string>& names, uint64_t* mask, std::string* err);

// In the child. Before dropping to the user: the rlimits, then the bounding
// set and keep-caps (so the permitted set survives setuid).
bool apply_rlimits(const std::vector<Rlimit>& rlimits, std::string* err);
bool drop_bounding(const Capabilities& caps, std::string* err);
// After setuid: the effective, permitted, inheritable and ambient sets.
bool apply_capabilities(const Capabilities& caps, std::string* err);

}  // namespace ctk::init
