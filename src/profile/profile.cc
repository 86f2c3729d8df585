#include "profile/profile.h"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

// The binary is static: toml++ is used header-only, and reports errors as
// results, as the rest of ctk does.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include "base/file_io.h"
#include "base/strings.h"
#include "container/mounts.h"
#include "init/security.h"

namespace ctk::profile {

namespace {

// The profiles compiled in. `default` is what a plain run does.
//
// `untrusted` is for code one did not write: no network (the VM gets no
// NIC at all), a read-only root with a tmpfs /tmp to write in, bind mounts
// read-only unless given :rw, one CPU, 512M and 256 processes (a fork bomb
// or a leak ends in its own cgroup), no privileges gained by exec
// (setuid/file capabilities). Of docker's default capabilities it keeps
// those ordinary root programs use (CHOWN, DAC_OVERRIDE, FOWNER, FSETID,
// KILL, SETUID, SETGID: package managers and build tools) and drops:
//   NET_RAW           raw sockets: forged packets and sniffing
//   NET_BIND_SERVICE  ports below 1024: nothing to serve without a network
//   MKNOD             device nodes: a way to the VM's disks behind the overlay
//   AUDIT_WRITE       writing the kernel's audit log
//   SETFCAP, SETPCAP  granting capabilities to files and other processes
//   SYS_CHROOT        chroot, an old helper of escapes through setuid programs
struct Builtin {
  std::string_view name, toml;
};
constexpr Builtin kBuiltins[] = {
    {"default", ""},
    {"untrusted",
     "network = \"none\"\n"
     "read_only = true\n"
     "tmpfs = [\"/tmp\"]\n"
     "cpus = 1\n"
     "memory = \"512M\"\n"
     "pids_limit = 256\n"
     "bind_read_only = true\n"
     "no_new_privileges = true\n"
     "cap_drop = [\"NET_RAW\", \"NET_BIND_SERVICE\", \"MKNOD\", \"AUDIT_WRITE\", \"SETFCAP\", \"SETPCAP\", "
     "\"SYS_CHROOT\"]\n"},
};

// What went wrong with a value: why, and the node to blame (its line).
struct Fault {
  const toml::node* at = nullptr;
  std::string why;
  bool fail(const toml::node& n, std::string w) {
    at = &n;
    why = std::move(w);
    return false;
  }
};

using Values = std::vector<std::string>;
using Convert = bool (*)(const toml::node&, Values*, Fault*);

bool one_string(const toml::node& n, std::string* out, Fault* f, const char* want) {
  if (!n.is_string()) return f->fail(n, std::string("want ") + want);
  *out = n.as_string()->get();
  return true;
}

// An array of strings, each checked by ok (which says why not).
bool string_array(const toml::node& n, Values* out, Fault* f, bool (*ok)(std::string*, std::string*)) {
  const toml::array* a = n.as_array();
  if (!a) return f->fail(n, "want an array of strings");
  for (const toml::node& e : *a) {
    std::string s, why;
    if (!e.is_string()) return f->fail(e, "want an array of strings");
    s = e.as_string()->get();
    if (!ok(&s, &why)) return f->fail(e, why);
    out->push_back(s);
  }
  return true;
}

bool absolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

bool network(const toml::node& n, Values* out, Fault* f) {
  std::string s;
  if (!one_string(n, &s, f, "\"none\" or \"nat\"")) return false;
  if (s != "none" && s != "nat") return f->fail(n, "invalid network '" + s + "': want none or nat");
  out->push_back(s);
  return true;
}

bool cpus(const toml::node& n, Values* out, Fault* f) {
  if (!n.is_number()) return f->fail(n, "want a number");
  double v = n.value<double>().value_or(0);
  if (!(v > 0 && v <= 256)) return f->fail(n, "invalid cpus: want more than 0, at most 256");
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  out->push_back(text);
  return true;
}

bool memory(const toml::node& n, Values* out, Fault* f) {
  std::optional<uint64_t> bytes;
  std::string shown;
  if (n.is_integer()) {
    int64_t v = n.as_integer()->get();
    shown = std::to_string(v);
    if (v > 0) bytes = uint64_t(v);
  } else if (n.is_string()) {
    shown = n.as_string()->get();
    bytes = parse_size(shown);
  } else {
    return f->fail(n, "want a size like \"512M\" or a number of bytes");
  }
  // vm_options' floor: below it the guest cannot run the container.
  if (!bytes || *bytes < (64u << 20)) return f->fail(n, "invalid size '" + shown + "' (at least 64M)");
  out->push_back(std::to_string(*bytes));
  return true;
}

bool pids_limit(const toml::node& n, Values* out, Fault* f) {
  if (!n.is_integer()) return f->fail(n, "want an integer");
  int64_t v = n.as_integer()->get();
  if (v == 0 || v < -1) return f->fail(n, "invalid pids_limit " + std::to_string(v) + ": want a positive number or -1");
  out->push_back(std::to_string(v));
  return true;
}

// A switch: set when true; false leaves the flag unset.
bool boolean(const toml::node& n, Values* out, Fault* f) {
  if (!n.is_boolean()) return f->fail(n, "want true or false");
  if (n.as_boolean()->get()) out->push_back("");
  return true;
}

bool no_new_privileges(const toml::node& n, Values* out, Fault* f) {
  if (!n.is_boolean()) return f->fail(n, "want true or false");
  out->push_back(n.as_boolean()->get() ? "no-new-privileges=true" : "no-new-privileges=false");
  return true;
}

// docker -v: SRC:DST[:ro|rw].
bool volume_ok(std::string* v, std::string* why) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t colon = v->find(':', start);
    parts.push_back(v->substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || !absolute(parts[1]) ||
      (parts.size() == 3 && parts[2] != "ro" && parts[2] != "rw")) {
    *why = "invalid mount '" + *v + "': want SRC:DST[:ro|rw] with DST absolute";
    return false;
  }
  return true;
}

bool mounts(const toml::node& n, Values* out, Fault* f) { return string_array(n, out, f, volume_ok); }

bool tmpfs(const toml::node& n, Values* out, Fault* f) {
  return string_array(n, out, f, [](std::string* v, std::string* why) {
    if (absolute(*v)) return true;
    *why = "invalid tmpfs '" + *v + "': want /path[:options]";
    return false;
  });
}

bool env_ok(std::string* v, std::string* why) {
  if (v->find('=') != std::string::npos && (*v)[0] != '=') return true;
  *why = "invalid env '" + *v + "': want K=V";
  return false;
}

// An array of "K=V", or a table of K = "V".
bool env(const toml::node& n, Values* out, Fault* f) {
  const toml::table* t = n.as_table();
  if (!t) return string_array(n, out, f, env_ok);
  for (auto&& [k, v] : *t) {
    if (!v.is_string()) return f->fail(v, "want a string value for '" + std::string(k.str()) + "'");
    out->push_back(std::string(k.str()) + "=" + v.as_string()->get());
  }
  return true;
}

bool user(const toml::node& n, Values* out, Fault* f) {
  std::string s;
  if (!one_string(n, &s, f, "a user name or number")) return false;
  if (s.empty()) return f->fail(n, "empty user");
  out->push_back(s);
  return true;
}

bool workdir(const toml::node& n, Values* out, Fault* f) {
  std::string s;
  if (!one_string(n, &s, f, "an absolute path")) return false;
  if (!absolute(s)) return f->fail(n, "invalid workdir '" + s + "': want an absolute path");
  out->push_back(s);
  return true;
}

bool timeout(const toml::node& n, Values* out, Fault* f) {
  std::optional<uint64_t> seconds;
  std::string shown;
  if (n.is_integer()) {
    shown = std::to_string(n.as_integer()->get());
    if (n.as_integer()->get() > 0) seconds = uint64_t(n.as_integer()->get());
  } else if (n.is_string()) {
    shown = n.as_string()->get();
    seconds = parse_duration(shown);
  } else {
    return f->fail(n, "want seconds or a duration like \"90s\", \"10m\", \"1h\"");
  }
  if (!seconds) return f->fail(n, "invalid duration '" + shown + "': want seconds or N followed by s, m or h");
  out->push_back(std::to_string(*seconds));
  return true;
}

bool capability_ok(std::string* v, std::string* why) {
  std::string c = init::canonical_capability(*v);
  if (c.empty()) {
    *why = "unknown capability '" + *v + "'";
    return false;
  }
  *v = c;
  return true;
}

bool capabilities(const toml::node& n, Values* out, Fault* f) { return string_array(n, out, f, capability_ok); }

// A TOML key, the create flag it feeds ("" for bind_read_only, which rewrites
// another's values) and how its value becomes that flag's.
struct Key {
  std::string_view name, flag;
  bool repeatable;
  Convert convert;
};
constexpr Key kKeys[] = {
    {"network", "network", false, network},
    {"cpus", "cpus", false, cpus},
    {"memory", "memory", false, memory},
    {"pids_limit", "pids-limit", false, pids_limit},
    {"read_only", "read-only", false, boolean},
    {"mounts", "volume", true, mounts},
    {"tmpfs", "tmpfs", true, tmpfs},
    {"env", "env", true, env},
    {"user", "user", false, user},
    {"workdir", "workdir", false, workdir},
    {"timeout", "timeout", false, timeout},
    {"cap_drop", "cap-drop", true, capabilities},
    {"cap_add", "cap-add", true, capabilities},
    {"no_new_privileges", "security-opt", true, no_new_privileges},
    {"bind_read_only", "", false, boolean},
};

std::string at_line(const std::string& origin, const toml::source_region& where) {
  return origin + ":" + std::to_string(where.begin.line) + ": ";
}

const Builtin* builtin(std::string_view name) {
  for (const Builtin& b : kBuiltins)
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace

bool parse(std::string_view text, const std::string& origin, Profile* out, std::string* err) {
  toml::parse_result parsed = toml::parse(text, origin);
  if (!parsed) {
    *err = at_line(origin, parsed.error().source()) + std::string(parsed.error().description());
    return false;
  }
  const toml::table& table = parsed.table();
  out->settings.clear();
  out->bind_read_only = false;
  for (auto&& [k, v] : table) {
    const Key* key = nullptr;
    for (const Key& candidate : kKeys)
      if (candidate.name == k.str()) key = &candidate;
    if (!key) {
      std::vector<std::string_view> names;
      for (const Key& candidate : kKeys) names.push_back(candidate.name);
      std::string_view near = closest_match(k.str(), names);
      *err = at_line(origin, k.source()) + "unknown key '" + std::string(k.str()) + "'" +
             (near.empty() ? "" : " (did you mean '" + std::string(near) + "'?)");
      return false;
    }
    Values values;
    Fault fault;
    if (!key->convert(v, &values, &fault)) {
      *err = at_line(origin, fault.at->source()) + "key '" + std::string(k.str()) + "': " + fault.why;
      return false;
    }
    if (key->flag.empty()) out->bind_read_only = !values.empty();
    else out->settings.push_back({std::string(key->flag), std::move(values), key->repeatable});
  }
  std::ostringstream normalized;
  if (!table.empty()) normalized << toml::toml_formatter(table) << "\n";
  out->toml = normalized.str();
  return true;
}

std::string user_dir() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home ? home : "") + "/.config";
  return base + "/ctk/profiles";
}

bool load(const std::string& ref, Profile* out, std::string* err) {
  out->name = ref;
  bool is_file = ref.find('/') != std::string::npos || ref.ends_with(".toml");
  std::string path = is_file ? ref : user_dir() + "/" + ref + ".toml";
  std::string text;
  bool exists = false;
  if (!read_file(path, &text, is_file ? nullptr : &exists, err)) return false;
  if (is_file || exists) {
    out->source = path;
    return parse(text, path, out, err);
  }
  const Builtin* b = builtin(ref);
  if (!b) {
    std::string names;
    for (const Builtin& each : kBuiltins) names += (names.empty() ? "" : ", ") + std::string(each.name);
    *err = "unknown profile '" + ref + "': not built in (" + names + ") and no " + path;
    return false;
  }
  out->source = "built-in";
  return parse(b->toml, "built-in profile " + ref, out, err);
}

std::vector<Entry> list() {
  std::map<std::string, std::string> by_name;
  for (const Builtin& b : kBuiltins) by_name[std::string(b.name)] = "built-in";
  std::string dir = user_dir();
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string file = e->d_name;
      if (file.size() > 5 && file.ends_with(".toml") && file[0] != '.')
        by_name[file.substr(0, file.size() - 5)] = dir + "/" + file;
    }
    ::closedir(d);
  }
  std::vector<Entry> out;
  for (auto& [name, source] : by_name) out.push_back({name, source});
  return out;
}

bool bind_without_mode(const std::string& volume) {
  return absolute(volume) && std::count(volume.begin(), volume.end(), ':') == 1;
}

std::string mount_destination(std::string_view flag, const std::string& value) {
  container::MountPoint m;
  std::string why;
  bool ok = flag == "volume"  ? container::parse_volume_flag(value, &m, &why)
            : flag == "mount" ? container::parse_mount_flag(value, &m, &why)
            : flag == "tmpfs" ? container::parse_tmpfs_flag(value, &m, &why)
                              : false;
  return ok ? m.destination : "";
}

void apply(const Profile& p, Flags* flags) {
  std::set<std::string> mounted;  // by the command line
  for (const char* flag : {"volume", "mount", "tmpfs"})
    for (const std::string& v : flags->all(flag)) mounted.insert(mount_destination(flag, v));
  for (const Setting& s : p.settings) {
    if (!s.repeatable) {
      if (!s.values.empty()) flags->set_default(s.flag, s.values.front());
      continue;
    }
    std::vector<std::string> values;
    for (const std::string& v : s.values) {
      std::string destination = mount_destination(s.flag, v);
      if (destination.empty() || !mounted.contains(destination)) values.push_back(v);
    }
    flags->prepend(s.flag, values);
  }
  if (!p.bind_read_only) return;
  std::vector<std::string> volumes = flags->all("volume");
  for (std::string& v : volumes)
    if (bind_without_mode(v)) v += ":ro";
  flags->set_all("volume", std::move(volumes));
}

}  // namespace ctk::profile
