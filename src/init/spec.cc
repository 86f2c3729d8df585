#include "init/spec.h"

#include <sched.h>
#include <sys/mount.h>

#include <nlohmann/json.hpp>

namespace ctk::init {

using nlohmann::json;

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct MountFlag {
  const char* name;
  bool clear;
  unsigned long flag;
};

// The mount(8) option words runtimes put in config.json.
constexpr MountFlag kMountFlags[] = {
    {"ro", false, MS_RDONLY},         {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},     {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},       {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},     {"exec", true, MS_NOEXEC},
    {"noatime", false, MS_NOATIME},   {"atime", true, MS_NOATIME},
    {"relatime", false, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
    {"sync", false, MS_SYNCHRONOUS},  {"async", true, MS_SYNCHRONOUS},
    {"nodiratime", false, MS_NODIRATIME},
};

constexpr MountFlag kPropagation[] = {
    {"private", false, MS_PRIVATE},  {"rprivate", false, MS_PRIVATE | MS_REC},
    {"slave", false, MS_SLAVE},      {"rslave", false, MS_SLAVE | MS_REC},
    {"shared", false, MS_SHARED},    {"rshared", false, MS_SHARED | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

int namespace_flag(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "network") return CLONE_NEWNET;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  return 0;
}

}  // namespace

bool parse_mount(const json& j, MountSpec* m, std::string* err) {
  m->destination = j.at("destination").get<std::string>();
  if (m->destination.empty() || m->destination[0] != '/') {
    *err = "mount destination '" + m->destination + "' is not absolute";
    return false;
  }
  m->type = j.value("type", "");
  m->source = j.value("source", "");
  for (const auto& o : j.value("options", json::array())) {
    std::string opt = o.get<std::string>();
    if (opt == "bind" || opt == "rbind") {
      m->bind = true;
      if (opt == "rbind") m->flags |= MS_REC;
      continue;
    }
    bool known = false;
    for (const auto& f : kMountFlags)
      if (opt == f.name) {
        m->flags = f.clear ? m->flags & ~f.flag : m->flags | f.flag;
        known = true;
      }
    for (const auto& f : kPropagation)
      if (opt == f.name) {
        m->propagation = f.flag;
        known = true;
      }
    if (!known) m->data += (m->data.empty() ? "" : ",") + opt;
  }
  if (m->type == "bind") m->bind = true;
  if (!m->bind && m->type.empty()) {
    *err = "mount on " + m->destination + " has no type";
    return false;
  }
  return true;
}

std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return "";
}

bool parse_process(const json& j, ProcessSpec* p, std::string* err) try {
  if (!j.is_object()) {
    *err = "process is not an object";
    return false;
  }
  p->args = j.at("args").get<std::vector<std::string>>();
  if (p->args.empty() || p->args[0].empty()) {
    *err = "process.args is empty";
    return false;
  }
  p->env = j.value("env", std::vector<std::string>());
  p->cwd = j.value("cwd", "/");
  if (p->cwd.empty() || p->cwd[0] != '/') {
    *err = "process.cwd '" + p->cwd + "' is not absolute";
    return false;
  }
  if (j.contains("user") && j["user"].is_string()) {
    p->user = j["user"].get<std::string>();
  } else if (j.contains("user")) {
    const json& u = j.at("user");
    p->uid = u.value("uid", 0u);
    p->gid = u.value("gid", 0u);
    p->additional_gids = u.value("additionalGids", std::vector<gid_t>());
  }
  p->group_add = j.value("groupAdd", std::vector<std::string>());
  p->terminal = j.value("terminal", false);
  if (j.contains("consoleSize")) {
    p->rows = j["consoleSize"].value("height", 0u);
    p->cols = j["consoleSize"].value("width", 0u);
  }
  for (const json& r : j.value("rlimits", json::array())) {
    std::string type = r.at("type").get<std::string>();
    int resource = rlimit_number(type);
    if (resource < 0) {
      *err = "unknown rlimit type '" + type + "'";
      return false;
    }
    p->rlimits.push_back({resource, r.at("soft").get<uint64_t>(), r.at("hard").get<uint64_t>()});
  }
  if (j.contains("capabilities")) {
    const json& c = j["capabilities"];
    Capabilities& caps = p->capabilities;
    caps.set = true;
    auto mask = [&](const char* set, uint64_t* out) {
      return capability_mask(c.value(set, std::vector<std::string>()), out, err);
    };
    if (!mask("bounding", &caps.bounding) || !mask("effective", &caps.effective) ||
        !mask("permitted", &caps.permitted) || !mask("inheritable", &caps.inheritable) ||
        !mask("ambient", &caps.ambient))
      return false;
  }
  p->no_new_privileges = j.value("noNewPrivileges", false);
  return true;
} catch (const json::exception& e) {
  *err = std::string("process: ") + e.what();
  return false;
}

bool parse_spec(const json& j, const std::string& bundle, Spec* s, std::string* err) try {
  if (!j.is_object()) {
    *err = "config is not an object";
    return false;
  }
  if (!parse_process(j.at("process"), &s->process, err)) return false;
  s->root = j.at("root").at("path").get<std::string>();
  if (s->root.empty()) {
    *err = "root.path is empty";
    return false;
  }
  if (s->root[0] != '/') s->root = bundle + "/" + s->root;
  s->readonly = j["root"].value("readonly", false);
  s->hostname = j.value("hostname", "");
  if (j.contains("linux")) {
    for (const auto& ns : j["linux"].value("namespaces", json::array())) {
      std::string type = ns.at("type").get<std::string>();
      int flag = namespace_flag(type);
      if (!flag) {
        *err = "unsupported namespace type '" + type + "'";
        return false;
      }
      if (s->namespaces & flag) {
        *err = "namespace type '" + type + "' is listed twice";
        return false;
      }
      s->namespaces |= flag;
      if (!ns.contains("path")) continue;
      std::string path = ns["path"].get<std::string>();
      // The container's root is assembled in a mount namespace of its own:
      // joining another's would mount over that container's files.
      if (flag == CLONE_NEWNS) {
        *err = "joining an existing mount namespace (" + path + ") is not supported";
        return false;
      }
      if (path.empty() || path[0] != '/') {
        *err = "namespace path '" + path + "' is not absolute";
        return false;
      }
      s->joins.push_back({flag, path});
    }
    const json& lnx = j["linux"];
    if (lnx.contains("resources") && !parse_resources(lnx["resources"], &s->resources, err))
      return false;
    s->masked_paths = lnx.value("maskedPaths", std::vector<std::string>());
    s->readonly_paths = lnx.value("readonlyPaths", std::vector<std::string>());
    for (const auto* paths : {&s->masked_paths, &s->readonly_paths})
      for (const std::string& path : *paths)
        if (path.empty() || path[0] != '/') {
          *err = "masked or read-only path '" + path + "' is not absolute";
          return false;
        }
  }
  if (!(s->namespaces & CLONE_NEWNS)) {
    *err = "the mount namespace is required";
    return false;
  }
  if (!s->hostname.empty() && !(s->namespaces & CLONE_NEWUTS)) {
    *err = "hostname needs a uts namespace";
    return false;
  }
  for (const auto& m : j.value("mounts", json::array())) {
    MountSpec mount;
    if (!parse_mount(m, &mount, err)) return false;
    s->mounts.push_back(std::move(mount));
  }
  return true;
} catch (const json::exception& e) {
  *err = std::string("config: ") + e.what();
  return false;
}

void fill_env_defaults(ProcessSpec* p) {
  if (env_value(p->env, "PATH").empty()) p->env.push_back(std::string("PATH=") + kDefaultPath);
  if (env_value(p->env, "HOME").empty())
    p->env.push_back("HOME=" + (!p->home.empty() ? p->home : p->uid == 0 ? "/root" : "/"));
  if (p->terminal && env_value(p->env, "TERM").empty()) p->env.push_back("TERM=xterm");
}

}  // namespace ctk::init
