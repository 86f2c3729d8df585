// User and group names resolved the way docker (runc's libcontainer/user)
// does, from the container root's own /etc/passwd and /etc/group, parsed
// here: never NSS, which would consult the agent's files, not the image's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "init/spec.h"

namespace ctk::init {

struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  std::string home;  // "" when the user has no passwd entry
};

// spec is "user", "user:group" with each a name or a number. The gid is the
// user's primary group unless a group is given; only then are no
// supplementary groups taken from /etc/group membership. A number without an
// entry stands for itself (gid 0 by default); a name without one is an error.
bool resolve_user(const std::string& spec, const std::string& passwd, const std::string& group,
                  ResolvedUser* out, std::string* err);

// Every uid's name in root's /etc/passwd, as ps shows processes' users.
std::map<uint32_t, std::string> user_names(const std::string& root);

// Groups by name or number against a group file's text, in order, each
// once. A number without an entry stands for itself; a name without one is
// an error.
bool resolve_groups(const std::vector<std::string>& names, const std::string& group, std::vector<gid_t>* out,
                    std::string* err);

// Resolves process->user (when set) against root's /etc/passwd and
// /etc/group (missing files are empty) into uid, gid, additional gids and
// home, and adds process->group_add's groups.
bool resolve_process_user(const std::string& root, ProcessSpec* process, std::string* err);

}  // namespace ctk::init
