#include "container/mounts.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "base/strings.h"
#include "volume/volumes.h"

namespace ctk::container {

using nlohmann::json;

namespace {

// Where the guest mounts share N, and the container's mounts come from.
std::string guest_share_path(size_t index) { return "/run/ctk/shares/" + std::to_string(index); }

// "/a//b/" -> "/a/b"; false for a path that is not absolute or climbs with "..".
bool clean_path(const std::string& path, std::string* out) {
  if (path.empty() || path[0] != '/') return false;
  std::string clean;
  for (const std::string& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return false;
    clean += "/" + part;
  }
  *out = clean.empty() ? "/" : clean;
  return true;
}

bool check_destination(const std::string& text, std::string* out, std::string* err) {
  if (!clean_path(text, out)) {
    *err = "mount destination '" + text + "' is not an absolute path";
    return false;
  }
  if (*out == "/") {
    *err = "mount destination cannot be /";
    return false;
  }
  return true;
}

bool set_source(const std::string& text, MountPoint* m, std::string* err) {
  if (!text.empty() && text[0] == '/') {
    m->type = "bind";
    if (!clean_path(text, &m->source)) {
      *err = "bind source '" + text + "' may not contain '..'";
      return false;
    }
    return true;
  }
  m->type = "volume";
  m->source = text;
  if (!volume::valid_name(text)) {
    *err = "'" + text + "' is neither an absolute host path nor a valid volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)";
    return false;
  }
  return true;
}

// tmpfs option words docker accepts, checked here so a typo fails at create, not at start.
bool check_tmpfs_options(const std::string& options, std::string* err) {
  static const char* const kWords[] = {"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
                                       "atime", "noatime", "relatime", "strictatime", "nodiratime"};
  static const char* const kValued[] = {"size=", "mode=", "uid=", "gid=", "nr_inodes="};
  for (const std::string& o : split(options, ',')) {
    bool known = std::any_of(std::begin(kWords), std::end(kWords), [&](const char* w) { return o == w; }) ||
                 std::any_of(std::begin(kValued), std::end(kValued),
                             [&](const char* w) { return o.starts_with(w) && o.size() > std::strlen(w); });
    if (!known) {
      *err = "unknown tmpfs option '" + o + "'";
      return false;
    }
  }
  return true;
}

bool parse_bool_value(const std::string& key, const std::string& value, bool has_value, bool* out, std::string* err) {
  if (!has_value || value == "true" || value == "1") return *out = true, true;
  if (value == "false" || value == "0") return *out = false, true;
  *err = "--mount: invalid value for " + key + ": '" + value + "'";
  return false;
}

}  // namespace

bool parse_volume_flag(const std::string& text, MountPoint* out, std::string* err) {
  MountPoint m;
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() > 3 || text.empty()) {
    *err = "invalid volume '" + text + "': want SRC:DST[:OPTIONS] or DST";
    return false;
  }
  if (parts.size() == 1) {
    m.type = "volume";
    m.anonymous = true;
    if (!check_destination(parts[0], &m.destination, err)) return false;
  } else {
    if (!set_source(parts[0], &m, err) || !check_destination(parts[1], &m.destination, err)) return false;
    m.create_source = m.type == "bind";
  }
  if (parts.size() == 3) {
    bool mode_given = false;
    for (const std::string& o : split(parts[2], ',')) {
      if ((o == "ro" || o == "rw") && !mode_given) {
        m.read_only = o == "ro";
        mode_given = true;
      } else if (o == "nocopy" && m.type == "volume") {
        m.no_copy = true;
      } else if (o == "z" || o == "Z") {
        // SELinux relabelling: nothing to do in a VM of ctk's.
      } else {
        *err = "invalid volume '" + text + "': unknown option '" + o + "'";
        return false;
      }
    }
  }
  *out = m;
  return true;
}

bool parse_mount_flag(const std::string& text, MountPoint* out, std::string* err) {
  MountPoint m;
  std::string type = "volume", source, destination, size, mode;
  bool read_only = false, no_copy = false;
  for (const std::string& field : split(text, ',')) {
    size_t eq = field.find('=');
    std::string key = field.substr(0, eq), value = eq == std::string::npos ? "" : field.substr(eq + 1);
    bool has_value = eq != std::string::npos;
    if (key == "type") {
      type = value;
    } else if (key == "source" || key == "src") {
      source = value;
    } else if (key == "destination" || key == "dst" || key == "target") {
      destination = value;
    } else if (key == "readonly" || key == "ro") {
      if (!parse_bool_value(key, value, has_value, &read_only, err)) return false;
    } else if (key == "volume-nocopy") {
      if (!parse_bool_value(key, value, has_value, &no_copy, err)) return false;
    } else if (key == "tmpfs-size") {
      size = value;
    } else if (key == "tmpfs-mode") {
      mode = value;
    } else if (key == "bind-propagation" && (value == "rprivate" || value == "private")) {
      // What ctk's bind mounts are anyway.
    } else {
      *err = "--mount: unknown or unsupported field '" + field + "'";
      return false;
    }
  }
  if (type != "bind" && type != "volume" && type != "tmpfs") {
    *err = "--mount: type must be bind, volume or tmpfs, not '" + type + "'";
    return false;
  }
  if (destination.empty()) {
    *err = "--mount: no target given";
    return false;
  }
  if (!check_destination(destination, &m.destination, err)) return false;
  if (type == "tmpfs") {
    if (!source.empty()) {
      *err = "--mount: a tmpfs mount takes no source";
      return false;
    }
    m.type = "tmpfs";
    if (!size.empty()) {
      auto bytes = parse_size(size);
      if (!bytes) {
        *err = "--mount: invalid tmpfs-size '" + size + "'";
        return false;
      }
      m.options = "size=" + std::to_string(*bytes);
    }
    if (!mode.empty()) {
      if (mode.find_first_not_of("01234567") != std::string::npos || mode.size() > 4) {
        *err = "--mount: invalid tmpfs-mode '" + mode + "' (octal)";
        return false;
      }
      m.options += (m.options.empty() ? "mode=" : ",mode=") + mode;
    }
  } else if (type == "bind") {
    if (source.empty() || source[0] != '/') {
      *err = "--mount: a bind mount needs an absolute source path";
      return false;
    }
    if (!set_source(source, &m, err)) return false;
  } else if (!source.empty()) {
    if (source[0] == '/') {
      *err = "--mount: a volume's source is a volume name, not a path ('" + source + "')";
      return false;
    }
    if (!set_source(source, &m, err)) return false;
  } else {
    m.type = "volume";
    m.anonymous = true;
  }
  m.read_only = read_only;
  m.no_copy = no_copy;
  *out = m;
  return true;
}

bool parse_tmpfs_flag(const std::string& text, MountPoint* out, std::string* err) {
  MountPoint m;
  m.type = "tmpfs";
  size_t colon = text.find(':');
  if (!check_destination(text.substr(0, colon), &m.destination, err)) return false;
  if (colon != std::string::npos) {
    m.options = text.substr(colon + 1);
    if (!check_tmpfs_options(m.options, err)) return false;
  }
  *out = m;
  return true;
}

json to_json(const MountPoint& m) {
  return {{"type", m.type},           {"source", m.source},       {"destination", m.destination},
          {"anonymous", m.anonymous}, {"read_only", m.read_only}, {"no_copy", m.no_copy},
          {"options", m.options}};
}

bool mount_from_json(const json& j, MountPoint* m, std::string* err) {
  try {
    m->type = j.at("type").get<std::string>();
    m->source = j.at("source").get<std::string>();
    m->destination = j.at("destination").get<std::string>();
    m->anonymous = j.value("anonymous", false);
    m->read_only = j.at("read_only").get<bool>();
    m->no_copy = j.value("no_copy", false);
    m->options = j.value("options", "");
  } catch (const json::exception& e) {
    *err = std::string("config.json: mounts: ") + e.what();
    return false;
  }
  return true;
}

bool plan_mounts(const std::vector<MountPoint>& mounts, const std::string& data_root, const std::string& root,
                 MountPlan* plan, Error* err) {
  volume::Volumes volumes;
  if (!volumes.open(data_root, err)) return false;
  // Parents before children: /a is mounted before /a/b.
  std::vector<MountPoint> ordered = mounts;
  std::stable_sort(ordered.begin(), ordered.end(), [](const MountPoint& a, const MountPoint& b) {
    return std::count(a.destination.begin(), a.destination.end(), '/') <
           std::count(b.destination.begin(), b.destination.end(), '/');
  });
  for (const MountPoint& m : ordered) {
    if (m.type == "tmpfs") {
      json options = {"nosuid", "nodev", "noexec"};
      if (!m.options.empty())
        for (const std::string& o : split(m.options, ',')) options.push_back(o);
      if (m.read_only) options.push_back("ro");
      plan->oci_mounts.push_back({{"destination", m.destination}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                  {"options", options}});
      continue;
    }
    std::string host = m.source;
    volume::Volume vol;
    if (m.type == "volume") {
      if (!volumes.load(m.source, &vol, err)) return false;
      host = volumes.data(m.source);
    }
    // The share is what the path is now: a symlink given as the source is
    // followed here, on the host, once.
    char* real = ::realpath(host.c_str(), nullptr);
    struct stat st;
    if (!real || ::stat(real, &st) != 0) {
      std::free(real);
      return err->fail(ErrorCode::not_found, m.type == "bind" ? "bind source path does not exist: " + m.source
                                                              : "volume " + m.source + ": " + host + " is gone");
    }
    std::string dir = real, file;
    std::free(real);
    if (!S_ISDIR(st.st_mode)) {
      size_t slash = dir.rfind('/');
      file = dir.substr(slash + 1);
      dir = slash == 0 ? "/" : dir.substr(0, slash);
    }
    size_t index = 0;
    while (index < plan->shares.size() &&
           !(plan->shares[index].path == dir && plan->shares[index].read_only == m.read_only))
      ++index;
    if (index == plan->shares.size()) plan->shares.push_back({"ctk" + std::to_string(index), dir, m.read_only});
    std::string from = guest_share_path(index) + (file.empty() ? "" : "/" + file);
    if (m.type == "volume" && !vol.populated && !m.no_copy && !m.read_only) {
      plan->populate.push_back({"populate", {{"from", root + m.destination}, {"to", from}}});
      plan->first_use.push_back(m.source);
    }
    plan->oci_mounts.push_back({{"destination", m.destination}, {"type", "bind"}, {"source", from},
                                {"options", {"rbind", m.read_only ? "ro" : "rw"}}});
  }
  return true;
}

std::vector<proto::Client::Call> guest_calls(const MountPlan& plan, vz::ShareTransport transport) {
  bool ninep = transport == vz::ShareTransport::ninep;
  // 9p: msize bounds what one request moves; 512000 is the most the virtio
  // transport of Linux 6.1 takes (more is cut down to it, with a warning),
  // and reads move up to twice what they do with 128 KiB (ARCHITECTURE).
  // cache=mmap: data and attributes are asked of the host each time, so two
  // VMs sharing a directory see each other's writes at once (loose would
  // serve stale pages), and, unlike none, a file can be mapped shared and
  // writable (databases do).
  json options = ninep ? json{"trans=virtio", "version=9p2000.L", "msize=512000", "cache=mmap"} : json::array();
  std::vector<proto::Client::Call> calls;
  for (size_t i = 0; i < plan.shares.size(); ++i) {
    json share_options = options;
    if (plan.shares[i].read_only) share_options.push_back("ro");
    calls.push_back({"mount", {{"destination", guest_share_path(i)}, {"type", ninep ? "9p" : "virtiofs"},
                               {"source", plan.shares[i].tag}, {"options", share_options}}});
  }
  calls.insert(calls.end(), plan.populate.begin(), plan.populate.end());
  return calls;
}

}  // namespace ctk::container
