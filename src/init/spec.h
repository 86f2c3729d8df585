// The subset of the OCI runtime-spec config.json that containers use, parsed
// and checked before anything is forked, with the defaults vminitd fills in.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "init/cgroup.h"
#include "init/security.h"

namespace ctk::init {

struct ProcessSpec {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V"
  std::string cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  // ctk's extension, process.user as a string: "name", "uid", "name:group",
  // "uid:gid", resolved from the container's /etc/passwd and /etc/group
  // (users.h) into the three above and home.
  std::string user;
  // ctk's extension, process.groupAdd (docker's --group-add): more groups,
  // names or numbers, resolved from /etc/group into additional_gids.
  std::vector<std::string> group_add;
  std::string home;  // from /etc/passwd: HOME's default
  bool terminal = false;
  unsigned rows = 0, cols = 0;  // process.consoleSize
  std::vector<Rlimit> rlimits;
  Capabilities capabilities;
  bool no_new_privileges = false;
};

struct MountSpec {
  std::string destination;  // absolute, inside the container
  std::string type;
  std::string source;
  unsigned long flags = 0;       // MS_* from the options
  unsigned long propagation = 0;  // MS_PRIVATE, MS_SLAVE, ... or 0
  std::string data;               // the options mount(2) does not know as flags
  bool bind = false;
};

// A namespace the container joins instead of creating (linux.namespaces[].path).
struct NamespaceJoin {
  int flag;          // CLONE_NEW*
  std::string path;  // e.g. /proc/PID/ns/uts, as the agent sees it
};

struct Spec {
  ProcessSpec process;
  std::string root;  // absolute host path
  bool readonly = false;
  std::string hostname;
  int namespaces = 0;  // CLONE_NEW* flags: the container's namespaces, new or joined
  std::vector<NamespaceJoin> joins;  // those of them joined by path (setns), in config order
  std::vector<MountSpec> mounts;
  Resources resources;
  std::vector<std::string> masked_paths;    // /dev/null or an empty read-only tmpfs over them
  std::vector<std::string> readonly_paths;  // bind-remounted read-only
};

// Parses config.json; a relative root.path is taken from bundle.
bool parse_spec(const nlohmann::json& config, const std::string& bundle, Spec* spec,
                std::string* err);
bool parse_process(const nlohmann::json& process, ProcessSpec* spec, std::string* err);
// One OCI mount object ({destination, type, source, options}).
bool parse_mount(const nlohmann::json& mount, MountSpec* spec, std::string* err);

// PATH, HOME and (with a terminal) TERM when the config has none.
void fill_env_defaults(ProcessSpec* spec);

// The value of NAME in a "K=V" list, or "" when absent.
std::string env_value(const std::vector<std::string>& env, const std::string& name);

}  // namespace ctk::init
