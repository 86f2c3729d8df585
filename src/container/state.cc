#include "container/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/atomic_file.h"
#include "base/clock.h"
#include "base/dirs.h"
#include "base/file_io.h"
#include "base/random.h"
#include "base/strings.h"
#include "container/log.h"
#include "container/networks.h"
#include "oci/fsutil.h"
#include "oci/store.h"

namespace ctk::container {

using nlohmann::json;

namespace {

constexpr const char* kStatusNames[] = {"created", "running", "restarting", "exited", "removing"};

bool is_hex_id(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool valid_name(const std::string& n) { return valid_object_name(n, 1, 128); }

// Generated names: an adjective and a noun, as docker makes them.
constexpr const char* kAdjectives[] = {"amber", "brave", "calm", "dapper", "eager", "fuzzy", "gentle",
                                       "happy", "icy", "jolly", "keen", "lucid", "merry", "nimble",
                                       "overt", "plucky", "quiet", "rapid", "sunny", "tidy", "upbeat",
                                       "vivid", "witty", "young", "zesty"};
constexpr const char* kNouns[] = {"otter", "falcon", "maple", "comet", "badger", "heron", "quartz",
                                  "willow", "lynx", "cedar", "pebble", "raven", "tulip", "walrus",
                                  "ember", "fjord", "gecko", "harbor", "iris", "juniper", "koala",
                                  "lagoon", "meadow", "nebula", "orchid"};

// Reads one JSON file of a container; a damaged file is an error naming it.
bool read_json(const std::string& path, json* out, Error* err) {
  std::string text, why;
  if (!read_file(path, &text, nullptr, &why)) return err->fail(error_code_for_errno(errno), why);
  *out = json::parse(text, nullptr, false);
  if (out->is_discarded() || !out->is_object())
    return err->fail(ErrorCode::failure, path + ": not a JSON object (damaged?)");
  return true;
}

bool write_json(const std::string& path, const json& j, Error* err) {
  AtomicFile f;
  std::string text = j.dump(2) + "\n", why;
  if (!f.open(path, &why) || !write_all(f.fd(), text.data(), text.size(), path, &why) || !f.commit(&why))
    return err->fail(ErrorCode::failure, why);
  return true;
}

json ports_json(const std::vector<PortBinding>& ports) {
  json a = json::array();
  for (const PortBinding& p : ports)
    a.push_back({{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"container_port", p.container_port},
                 {"protocol", p.protocol}});
  return a;
}

void ports_from(const json& a, std::vector<PortBinding>* out) {
  for (const json& p : a) {
    PortBinding b;
    b.host_ip = p.at("host_ip").get<std::string>();
    b.host_port = p.at("host_port").get<uint16_t>();
    b.container_port = p.at("container_port").get<uint16_t>();
    b.protocol = p.at("protocol").get<std::string>();
    out->push_back(b);
  }
}

bool parse_u16(const std::string& s, uint16_t* out) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned long v = std::stoul(s);
  if (v > 65535) return false;
  *out = uint16_t(v);
  return true;
}

}  // namespace


const char* status_name(Status s) { return kStatusNames[int(s)]; }

bool parse_port(const std::string& text, PortBinding* out, std::string* err) {
  *out = PortBinding{};
  std::string spec = text;
  if (size_t slash = spec.rfind('/'); slash != std::string::npos) {
    out->protocol = spec.substr(slash + 1);
    spec.resize(slash);
    if (out->protocol != "tcp" && out->protocol != "udp") {
      *err = "invalid protocol in port '" + text + "': want tcp or udp";
      return false;
    }
  }
  // An IPv6 host address comes in brackets: [::1]:8080:80.
  std::string ip;
  if (!spec.empty() && spec[0] == '[') {
    size_t close = spec.find(']');
    if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      *err = "invalid port '" + text + "'";
      return false;
    }
    ip = spec.substr(1, close - 1);
    spec = spec.substr(close + 2);
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() > 3 || (!ip.empty() && parts.size() > 2)) {
    *err = "invalid port '" + text + "': want [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]";
    return false;
  }
  if (parts.size() == 3) ip = parts[0];
  std::string host_port = parts.size() >= 2 ? parts[parts.size() - 2] : "";
  out->host_ip = ip.empty() ? "127.0.0.1" : ip;
  if (!parse_u16(parts.back(), &out->container_port) || out->container_port == 0 ||
      (!host_port.empty() && !parse_u16(host_port, &out->host_port))) {
    *err = "invalid port '" + text + "': ports are numbers from 1 to 65535";
    return false;
  }
  return true;
}

bool parse_exposed_port(const std::string& key, PortBinding* out, std::string* err) {
  if (key.find(':') != std::string::npos) {
    *err = "invalid exposed port '" + key + "'";
    return false;
  }
  return parse_port(key, out, err);
}

bool parse_restart_policy(const std::string& text, RestartPolicy* out, std::string* err) {
  *out = RestartPolicy{};
  std::string name = text.substr(0, text.find(':'));
  if (name != "no" && name != "always" && name != "unless-stopped" && name != "on-failure") {
    *err = "invalid restart policy '" + text + "': want no, always, unless-stopped or on-failure[:N]";
    return false;
  }
  out->name = name;
  if (size_t colon = text.find(':'); colon != std::string::npos) {
    std::string n = text.substr(colon + 1);
    if (name != "on-failure" || n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos) {
      *err = "invalid restart policy '" + text + "': only on-failure takes a maximum retry count";
      return false;
    }
    out->max_retries = std::stoi(n);
  }
  return true;
}

json to_json(const Spec& s) {
  const vz::MachineConfig& m = s.machine;
  json mounts_json = json::array();
  for (const MountPoint& mp : s.mounts) mounts_json.push_back(to_json(mp));
  return {{"id", s.id},
          {"name", s.name},
          {"created", s.created},
          {"image", s.image},
          {"image_id", s.image_id},
          {"rootfs", s.rootfs},
          {"args", s.args},
          {"env", s.env},
          {"workdir", s.workdir},
          {"user", s.user},
          {"hostname", s.hostname},
          {"tty", s.tty},
          {"interactive", s.interactive},
          {"memory_limit", s.memory_limit},
          {"cpus", s.cpus},
          {"pids_limit", s.pids_limit},
          {"network", s.network},
          {"cap_add", s.cap_add},
          {"group_add", s.group_add},
          {"volumes_from", s.volumes_from},
          {"cap_drop", s.cap_drop},
          {"no_new_privileges", s.no_new_privileges},
          {"timeout", s.timeout},
          {"ports", ports_json(s.ports)},
          {"mounts", mounts_json},
          {"read_only", s.read_only},
          {"restart", {{"name", s.restart.name}, {"max_retries", s.restart.max_retries}}},
          {"auto_remove", s.auto_remove},
          {"stop_signal", s.stop_signal},
          {"stop_timeout", s.stop_timeout},
          {"labels", s.labels},
          {"log_driver", s.log_driver},
          {"log_options", s.log_options},
          {"machine",
           {{"kernel", m.kernel},
            {"initfs", m.initfs},
            {"arch", m.arch},
            {"cpus", m.cpus},
            {"memory_mib", m.memory_mib},
            {"agent_timeout_ms", m.agent_timeout_ms}}}};
}

json to_json(const State& s) {
  return {{"status", status_name(s.status)},
          {"pid", s.pid},
          {"started_at", s.started_at},
          {"finished_at", s.finished_at},
          {"exit_code", s.exit_code},
          {"oom_killed", s.oom_killed},
          {"error", s.error},
          {"restart_count", s.restart_count},
          {"manually_stopped", s.manually_stopped},
          {"ports", ports_json(s.ports)}};
}

bool spec_from_json(const json& j, Spec* s, std::string* err) {
  try {
    s->id = j.at("id").get<std::string>();
    s->name = j.at("name").get<std::string>();
    s->created = j.at("created").get<std::string>();
    s->image = j.at("image").get<std::string>();
    s->image_id = j.at("image_id").get<std::string>();
    s->rootfs = j.at("rootfs").get<std::string>();
    s->args = j.at("args").get<std::vector<std::string>>();
    s->env = j.at("env").get<std::vector<std::string>>();
    s->workdir = j.at("workdir").get<std::string>();
    s->user = j.at("user").get<std::string>();
    s->hostname = j.at("hostname").get<std::string>();
    s->tty = j.at("tty").get<bool>();
    s->interactive = j.at("interactive").get<bool>();
    s->memory_limit = j.at("memory_limit").get<uint64_t>();
    s->cpus = j.at("cpus").get<double>();
    s->pids_limit = j.at("pids_limit").get<int64_t>();
    s->network = j.at("network").get<std::string>();
    // Configs written before these settings existed have none of them.
    s->cap_add = j.value("cap_add", std::vector<std::string>());
    s->group_add = j.value("group_add", std::vector<std::string>());
    s->volumes_from = j.value("volumes_from", std::vector<std::string>());
    s->cap_drop = j.value("cap_drop", std::vector<std::string>());
    s->no_new_privileges = j.value("no_new_privileges", false);
    s->timeout = j.value("timeout", uint64_t(0));
    s->ports.clear();
    ports_from(j.at("ports"), &s->ports);
    // Configs written before mounts existed have none.
    s->mounts.clear();
    for (const json& mp : j.value("mounts", json::array())) {
      MountPoint m;
      if (!mount_from_json(mp, &m, err)) return false;
      s->mounts.push_back(m);
    }
    s->read_only = j.value("read_only", false);
    s->restart.name = j.at("restart").at("name").get<std::string>();
    s->restart.max_retries = j.at("restart").at("max_retries").get<int>();
    s->auto_remove = j.at("auto_remove").get<bool>();
    s->stop_signal = j.at("stop_signal").get<std::string>();
    s->stop_timeout = j.at("stop_timeout").get<int>();
    s->labels = j.at("labels").get<std::map<std::string, std::string>>();
    // Containers made before log drivers have none in their config.
    s->log_driver = j.value("log_driver", "json-file");
    s->log_options = j.value("log_options", std::map<std::string, std::string>());
    const json& m = j.at("machine");
    s->machine.kernel = m.at("kernel").get<std::string>();
    s->machine.initfs = m.at("initfs").get<std::string>();
    s->machine.arch = m.at("arch").get<std::string>();
    s->machine.cpus = m.at("cpus").get<unsigned>();
    s->machine.memory_mib = m.at("memory_mib").get<unsigned>();
    s->machine.agent_timeout_ms = m.at("agent_timeout_ms").get<int>();
  } catch (const json::exception& e) {
    *err = std::string("config.json: ") + e.what();
    return false;
  }
  return true;
}

bool state_from_json(const json& j, State* s, std::string* err) {
  try {
    std::string status = j.at("status").get<std::string>();
    bool known = false;
    for (int i = 0; i < int(std::size(kStatusNames)); ++i)
      if (status == kStatusNames[i]) s->status = Status(i), known = true;
    if (!known) {
      *err = "state.json: unknown status '" + status + "'";
      return false;
    }
    s->pid = j.at("pid").get<int>();
    s->started_at = j.at("started_at").get<std::string>();
    s->finished_at = j.at("finished_at").get<std::string>();
    s->exit_code = j.at("exit_code").get<int>();
    s->oom_killed = j.at("oom_killed").get<bool>();
    s->error = j.at("error").get<std::string>();
    s->restart_count = j.at("restart_count").get<int>();
    s->manually_stopped = j.at("manually_stopped").get<bool>();
    s->ports.clear();
    ports_from(j.at("ports"), &s->ports);
  } catch (const json::exception& e) {
    *err = std::string("state.json: ") + e.what();
    return false;
  }
  return true;
}

bool Containers::open(const std::string& data_root, Error* err) {
  data_root_ = data_root.empty() ? oci::Store::default_root() : data_root;
  path_ = data_root_ + "/containers";
  std::string why;
  if (!oci::make_dirs(path_, 0700, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

bool Containers::list(std::vector<std::string>* ids, Error* err) const {
  DIR* d = ::opendir(path_.c_str());
  if (!d) return err->fail_errno(path_);
  while (dirent* e = ::readdir(d))
    if (is_hex_id(e->d_name)) ids->push_back(e->d_name);
  ::closedir(d);
  return true;
}

bool Containers::find(const std::string& ref, std::string* id, Error* err) const {
  if (ref.empty()) return err->fail(ErrorCode::invalid, "no container name or id given");
  if (is_hex_id(ref) && ::access(dir(ref).c_str(), F_OK) == 0) {
    *id = ref;
    return true;
  }
  std::vector<std::string> ids;
  if (!list(&ids, err)) return false;
  // A name wins over an id prefix, as in docker.
  for (const std::string& c : ids) {
    Container ct(*this, c);
    Error ignored;
    if (ct.load(&ignored) && ct.spec.name == ref) {
      *id = c;
      return true;
    }
  }
  std::vector<std::string> matches;
  if (ref.find_first_not_of("0123456789abcdef") == std::string::npos)
    for (const std::string& c : ids)
      if (c.compare(0, ref.size(), ref) == 0) matches.push_back(c);
  if (matches.size() == 1) {
    *id = matches[0];
    return true;
  }
  if (matches.size() > 1)
    return err->fail(ErrorCode::invalid, "'" + ref + "' matches " + std::to_string(matches.size()) +
                                             " containers: give more of the id");
  return err->fail(ErrorCode::not_found, "no such container: " + ref);
}

int Containers::lock_names(Error* err) const {
  std::string lock = path_ + "/.lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
    err->fail_errno(lock);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

bool Containers::name_taken(const std::string& name, const std::string& except_id) const {
  std::vector<std::string> ids;
  Error ignored;
  list(&ids, &ignored);
  for (const std::string& c : ids) {
    if (c == except_id) continue;
    Container ct(*this, c);
    if (ct.load(&ignored) && ct.spec.name == name) return true;
  }
  return false;
}

bool Containers::create(Spec* spec, Error* err) {
  if (!spec->name.empty() && !valid_name(spec->name))
    return err->fail(ErrorCode::invalid, "invalid container name '" + spec->name +
                                             "': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  int lock = lock_names(err);
  if (lock < 0) return false;
  bool ok = false;
  if (spec->name.empty()) {
    for (int attempt = 0; attempt < 100 && spec->name.empty(); ++attempt) {
      uint64_t r = random_u64();
      std::string n = std::string(kAdjectives[r % std::size(kAdjectives)]) + "_" +
                      kNouns[(r >> 16) % std::size(kNouns)];
      if (attempt >= 10) n += std::to_string((r >> 32) % 1000);
      if (!name_taken(n, "")) spec->name = n;
    }
  }
  if (spec->name.empty()) {
    err->fail(ErrorCode::failure, "could not find an unused container name");
  } else if (name_taken(spec->name, "")) {
    err->fail(ErrorCode::conflict, "the container name '" + spec->name + "' is already in use");
  } else {
    spec->id = random_id();
    spec->created = now_rfc3339();
    Container ct(*this, spec->id);
    ct.spec = *spec;
    if (::mkdir(ct.dir().c_str(), 0700) != 0) {
      err->fail_errno(ct.dir());
    } else if (ct.save_spec(err) && ct.save_state(err)) {
      ok = true;
    } else {
      remove_tree(ct.dir());
    }
  }
  ::close(lock);
  return ok;
}

std::vector<std::string> Containers::volume_users(const std::string& volume) const {
  std::vector<std::string> ids, names;
  Error ignored;
  list(&ids, &ignored);
  for (const std::string& id : ids) {
    Container ct(*this, id);
    if (!ct.load(&ignored)) continue;
    for (const MountPoint& m : ct.spec.mounts)
      if (m.type == "volume" && m.source == volume) {
        names.push_back(ct.spec.name);
        break;
      }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Containers::image_users(const std::string& image_id) const {
  std::vector<std::string> ids, users;
  Error ignored;
  list(&ids, &ignored);
  for (const std::string& id : ids) {
    Container ct(*this, id);
    if (ct.load(&ignored) && !image_id.empty() && ct.spec.image_id == image_id) users.push_back(id);
  }
  std::sort(users.begin(), users.end());
  return users;
}

bool Containers::rename(const std::string& id, const std::string& name, Error* err) {
  if (!valid_name(name))
    return err->fail(ErrorCode::invalid, "invalid container name '" + name + "'");
  int lock = lock_names(err);
  if (lock < 0) return false;
  Container ct(*this, id);
  bool ok = ct.load(err);
  if (ok && name_taken(name, id)) ok = err->fail(ErrorCode::conflict, "the container name '" + name + "' is already in use");
  if (ok) {
    ct.spec.name = name;
    ok = ct.save_spec(err);
  }
  ::close(lock);
  return ok;
}

bool Containers::detach(const std::string& id, std::string* moved, Error* err) {
  *moved = path_ + "/.removing-" + id;
  if (::rename(dir(id).c_str(), moved->c_str()) != 0) return err->fail_errno(dir(id));
  // Its addresses are free at once. Endpoints a failure here leaves behind
  // are dropped by the next connect to their network (connect_network).
  Error ignored;
  disconnect_all(data_root_, id, &ignored);
  return true;
}

bool Containers::remove(const std::string& id, Error* err) {
  // Moved first, so a half-removed container never shows in a listing.
  std::string doomed;
  if (!detach(id, &doomed, err)) return false;
  remove_tree(doomed);
  return true;
}

bool Container::load(Error* err) {
  json j;
  std::string why;
  if (!read_json(path("config.json"), &j, err)) return false;
  if (!spec_from_json(j, &spec, &why)) return err->fail(ErrorCode::failure, dir_ + "/" + why);
  if (!read_json(path("state.json"), &j, err)) return false;
  if (!state_from_json(j, &state, &why)) return err->fail(ErrorCode::failure, dir_ + "/" + why);
  return true;
}

bool Container::save_state(Error* err) const { return write_json(path("state.json"), to_json(state), err); }
bool Container::save_spec(Error* err) const { return write_json(path("config.json"), to_json(spec), err); }

bool Container::supervised() const {
  std::string lock = path("lock");
  int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

State Container::effective_state() const {
  State s = state;
  if ((s.status == Status::running || s.status == Status::restarting) && !supervised()) {
    s.status = Status::exited;
    s.exit_code = 255;
    s.pid = 0;
    if (s.error.empty()) s.error = "its supervisor died (the VM went with it)";
  }
  return s;
}

}  // namespace ctk::container
