#include "applets/container_common.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <vector>

#include "applets/image_common.h"
#include "applets/vm_options.h"
#include "base/strings.h"
#include "container/detach_keys.h"
#include "container/guest_setup.h"
#include "init/security.h"
#include "profile/profile.h"

namespace ctk {

namespace {

void add_env(const std::string& item, std::vector<std::string>* env) {
  if (item.find('=') != std::string::npos) {
    env->push_back(item);
  } else if (const char* v = std::getenv(item.c_str())) {
    env->push_back(item + "=" + v);
  }
}

// --cap-add/--cap-drop: docker's spellings (any case, CAP_ optional) as the runtime's names.
bool capability_option(const Flags& flags, const std::string& flag, std::vector<std::string>* out, std::string* err) {
  for (const std::string& name : flags.all(flag)) {
    std::string c = init::canonical_capability(name);
    if (c.empty()) {
      *err = "--" + flag + ": unknown capability '" + name + "'";
      return false;
    }
    out->push_back(c);
  }
  return true;
}

// --security-opt: of docker's, only no-new-privileges means anything in a
// VM's guest (no seccomp profiles, AppArmor or SELinux labels there). The
// last one given wins, so the command line's beats a profile's.
bool security_options(const Flags& flags, container::CreateOptions* o, std::string* err) {
  for (const std::string& opt : flags.all("security-opt")) {
    std::string_view value = opt;
    if (!value.starts_with("no-new-privileges")) {
      *err = "unsupported --security-opt '" + opt + "': only no-new-privileges[=true|false]";
      return false;
    }
    value.remove_prefix(std::string_view("no-new-privileges").size());
    if (value.empty() || value == "=true" || value == ":true") {
      o->no_new_privileges = true;
    } else if (value == "=false" || value == ":false") {
      o->no_new_privileges = false;
    } else {
      *err = "invalid --security-opt '" + opt + "': want no-new-privileges[=true|false]";
      return false;
    }
  }
  return true;
}

// --network NAME (repeated: several networks), none or nat; --network-alias
// and --ip apply to the first network, as docker's do.
bool network_options(const Flags& flags, container::CreateOptions* o, std::string* err) {
  std::vector<std::string> names = flags.all("network");
  o->network = names.empty() ? "none" : names.front();
  for (const std::string& name : names) {
    if (name == "host" || name.starts_with("container:")) {
      *err = "--network " + name + " is not possible: each container is a VM with a network of its own";
      return false;
    }
    if ((name == "none" || name == "nat") && names.size() > 1) {
      *err = "--network " + name + " cannot be combined with other networks";
      return false;
    }
    if (name != "none" && name != "nat") o->networks.push_back({name, {}, "", "", {}});
  }
  std::vector<std::string> aliases = flags.all("network-alias");
  if ((!aliases.empty() || flags.has("ip")) && o->networks.empty()) {
    *err = "--network-alias and --ip need --network NAME";
    return false;
  }
  if (!o->networks.empty()) {
    o->networks.front().aliases = aliases;
    o->networks.front().ip = flags.get("ip");
  }
  return true;
}

}  // namespace

bool label_flags(const Flags& flags, std::map<std::string, std::string>* out, std::string* err) {
  for (const std::string& label : flags.all("label")) {
    size_t eq = label.find('=');
    if (eq == 0) {
      *err = "invalid label '" + label + "': want KEY=VALUE";
      return false;
    }
    (*out)[label.substr(0, eq)] = eq == std::string::npos ? "" : label.substr(eq + 1);
  }
  return true;
}

bool create_options(const Flags& command_line, container::CreateOptions* o, std::string* err, int* exit_code) {
  *exit_code = kExitUsage;
  // A profile's settings go under the command line's, as if given first.
  Flags flags = command_line;
  if (command_line.has("profile")) {
    profile::Profile p;
    if (!profile::load(command_line.get("profile"), &p, err)) {
      *exit_code = container::kExitStartFailed;
      return false;
    }
    profile::apply(p, &flags);
  }
  if (!vm_options(flags, &o->machine, err) || !pull_options(flags, &o->pull, err)) return false;
  std::vector<std::string> command;
  if (!container::split_inputs(flags.positional(), &o->inputs, &o->image, &command, err)) return false;
  o->entrypoint = flags.get("entrypoint");
  if (command.empty() && o->entrypoint.empty() && !o->image) {
    *err = "no command given";
    return false;
  }
  o->args = command;
  o->name = flags.get("name");
  // A profile's -e values come first: under --env-file's too, which the
  // command line's -e values override in turn (docker's order).
  const std::vector<std::string>& env = flags.all("env");
  size_t profile_env = env.size() - command_line.all("env").size();
  for (size_t i = 0; i < profile_env; ++i) add_env(env[i], &o->env);
  for (const std::string& file : flags.all("env-file")) {
    std::ifstream in(file);
    if (!in) {
      *err = "--env-file " + file + ": cannot read";
      return false;
    }
    std::string line;
    while (std::getline(in, line))
      if (!line.empty() && line[0] != '#') add_env(line, &o->env);
  }
  for (size_t i = profile_env; i < env.size(); ++i) add_env(env[i], &o->env);
  o->workdir = flags.get("workdir");
  if (flags.has("workdir") && (o->workdir.empty() || o->workdir[0] != '/')) {
    *err = "--workdir must be absolute";
    return false;
  }
  o->user = flags.get("user");
  if (!label_flags(flags, &o->labels, err)) return false;
  for (const std::string& p : flags.all("publish")) {
    container::PortBinding b;
    if (!container::parse_port(p, &b, err)) return false;
    o->ports.push_back(b);
  }
  o->publish_all = flags.has("publish-all");
  // docker's order: -v, then --mount, then --tmpfs; a destination given twice is refused by create.
  for (const auto& [flag, parse] : {std::pair{"volume", &container::parse_volume_flag},
                                    std::pair{"mount", &container::parse_mount_flag},
                                    std::pair{"tmpfs", &container::parse_tmpfs_flag}})
    for (const std::string& text : flags.all(flag)) {
      container::MountPoint m;
      if (!parse(text, &m, err)) return false;
      o->mounts.push_back(m);
    }
  o->read_only = flags.has("read-only");
  if (flags.has("restart") && !container::parse_restart_policy(flags.get("restart"), &o->restart, err)) return false;
  // vm_options checked both.
  container::set_limits(o, flags.has("memory") ? *parse_size(flags.get("memory")) : 0,
                        flags.has("cpus") ? std::atof(flags.get("cpus").c_str()) : 0);
  if (flags.has("pids-limit")) {
    char* end;
    o->pids_limit = std::strtoll(flags.get("pids-limit").c_str(), &end, 10);
    if (*end || flags.get("pids-limit").empty() || o->pids_limit == 0 || o->pids_limit < -1) {
      *err = "invalid --pids-limit '" + flags.get("pids-limit") + "'";
      return false;
    }
  }
  o->hostname = flags.get("hostname");
  o->interactive = flags.has("interactive");
  o->tty = flags.has("tty");
  if (!network_options(flags, o, err)) return false;
  if (!capability_option(flags, "cap-add", &o->cap_add, err) || !capability_option(flags, "cap-drop", &o->cap_drop, err) ||
      !security_options(flags, o, err))
    return false;
  o->volumes_from = flags.all("volumes-from");
  for (const std::string& g : flags.all("group-add")) {
    if (g.empty() || g.find(':') != std::string::npos) {
      *err = "invalid --group-add '" + g + "': want a group name or gid";
      return false;
    }
    o->group_add.push_back(g);
  }
  if (flags.has("timeout")) {
    std::optional<uint64_t> seconds = parse_duration(flags.get("timeout"));
    if (!seconds) {
      *err = "invalid --timeout '" + flags.get("timeout") + "': want seconds or N followed by s, m or h";
      return false;
    }
    o->timeout = *seconds;
  }
  return true;
}

bool open_containers(const Flags& flags, container::Containers* all, Error* err) {
  return all->open(flags.get("root"), err);
}

bool find_container(const container::Containers& all, const std::string& ref, std::unique_ptr<container::Container>* out,
                    Error* err) {
  std::string id;
  if (!all.find(ref, &id, err)) return false;
  auto ct = std::make_unique<container::Container>(all, id);
  if (!ct->load(err)) return false;
  *out = std::move(ct);
  return true;
}

int for_each_container(const Applet& self, const Flags& flags, bool print_names,
                       const std::function<bool(container::Containers&, container::Container&, Error*)>& fn) {
  if (flags.positional().empty()) return fail(self, "no container given"), kExitUsage;
  Error err;
  container::Containers all;
  if (!open_containers(flags, &all, &err)) return container_fail(self, err);
  int status = 0;
  for (const std::string& ref : flags.positional()) {
    std::unique_ptr<container::Container> ct;
    if (!find_container(all, ref, &ct, &err) || !fn(all, *ct, &err)) {
      container_fail(self, err);
      status = 1;
    } else if (print_names) {
      std::printf("%s\n", ref.c_str());
      std::fflush(stdout);
    }
  }
  return status;
}

bool stop_timeout_option(const Flags& flags, int* seconds, std::string* err) {
  *seconds = -1;
  if (!flags.has("time")) return true;
  char* end;
  long t = std::strtol(flags.get("time").c_str(), &end, 10);
  if (*end || flags.get("time").empty() || t < 0 || t > 86400) {
    *err = "invalid --time '" + flags.get("time") + "'";
    return false;
  }
  *seconds = int(t);
  return true;
}

int container_fail(const Applet& self, const Error& err) { return fail(self, err.message); }

bool detach_keys_flag(const Flags& flags, std::string* keys, std::string* err) {
  return container::parse_detach_keys(flags.get("detach-keys"), keys, err);
}

}  // namespace ctk
