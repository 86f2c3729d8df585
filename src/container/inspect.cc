#include "container/inspect.h"

#include <time.h>

#include <algorithm>

#include "container/log.h"

namespace ctk::container {

using nlohmann::json;

namespace {

int64_t now_s() { return int64_t(::time(nullptr)); }

// Seconds since the epoch of an RFC 3339 time; 0 when empty or bad.
int64_t seconds_of(const std::string& rfc3339) {
  int64_t ns;
  std::string ignored;
  if (rfc3339.empty() || !parse_log_time(rfc3339, 0, &ns, &ignored)) return 0;
  return ns / 1000000000;
}

std::string join_command(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string port_text(const PortBinding& p) {
  return p.host_ip + ":" + std::to_string(p.host_port) + "->" + std::to_string(p.container_port) + "/" + p.protocol;
}

bool matches(const Summary& s, const Filter& f) {
  if (f.key == "id") return s.id.starts_with(f.value);
  if (f.key == "name") return s.name.find(f.value) != std::string::npos;
  if (f.key == "status") return s.state == f.value;
  if (f.key == "ancestor") return s.image == f.value;
  // docker's volume=: a volume's name, a bind's host path or a mount point.
  if (f.key == "volume")
    return std::any_of(s.spec.mounts.begin(), s.spec.mounts.end(), [&](const MountPoint& m) {
      return m.destination == f.value || (m.type != "tmpfs" && m.source == f.value);
    });
  if (f.key == "network") return std::find(s.networks.begin(), s.networks.end(), f.value) != s.networks.end();
  return label_matches(s.spec.labels, f);
}

// "ro,nocopy": the options a -v string would carry.
std::string mount_mode(const MountPoint& m) {
  std::string mode = m.read_only ? "ro" : "";
  if (m.no_copy) mode += mode.empty() ? "nocopy" : ",nocopy";
  return mode;
}

// docker's Mounts entry: Source is the host path a volume's files are in.
json mount_json(const MountPoint& m, const volume::Volumes& volumes) {
  json j = {{"Type", m.type},
            {"Source", m.type == "bind" ? m.source : m.type == "volume" ? volumes.data(m.source) : ""},
            {"Destination", m.destination},
            {"Mode", m.type == "tmpfs" ? "" : mount_mode(m)},
            {"RW", !m.read_only},
            {"Propagation", m.type == "bind" ? "rprivate" : ""}};
  if (m.type == "volume") {
    j["Name"] = m.source;
    j["Driver"] = "local";
  }
  return j;
}

// What docker keeps of the mount flags: HostConfig.Binds (SRC:DST[:MODE]),
// HostConfig.Tmpfs (DST -> options) and Config.Volumes (the anonymous
// volumes' destinations). ctk keeps the mounts, not the flags' spelling, so
// a --mount bind or named volume shows as a Binds string too.
void add_mount_flags(const Spec& sp, json* host_config, json* config) {
  json binds = json::array(), tmpfs = json::object(), anonymous = json::object();
  for (const MountPoint& m : sp.mounts) {
    if (m.type == "tmpfs") {
      tmpfs[m.destination] = m.options;
    } else if (m.anonymous) {
      anonymous[m.destination] = json::object();
    } else {
      std::string mode = mount_mode(m);
      binds.push_back(m.source + ":" + m.destination + (mode.empty() ? "" : ":" + mode));
    }
  }
  // docker: null when none; Tmpfs left out when none.
  (*host_config)["Binds"] = binds.empty() ? json(nullptr) : binds;
  if (!tmpfs.empty()) (*host_config)["Tmpfs"] = tmpfs;
  (*host_config)["ReadonlyRootfs"] = sp.read_only;
  (*config)["Volumes"] = anonymous.empty() ? json(nullptr) : anonymous;
}

// docker's NetworkSettings.Networks, one entry per network the container is
// on; the first one's address also at the top, as docker shows the default
// bridge's.
json network_settings(const Spec& sp, const network::Networks& networks) {
  json out = {{"Ports", json::object()}, {"Networks", json::object()}, {"Gateway", ""}, {"IPAddress", ""},
              {"IPPrefixLen", 0}, {"MacAddress", ""}};
  std::vector<network::Networks::Attachment> on;
  Error ignored;
  if (!networks.networks_of(sp.id, &on, &ignored)) return out;
  for (const network::Networks::Attachment& a : on) {
    const network::Endpoint& ep = a.endpoint;
    json dns_names = {sp.name, sp.id.substr(0, 12)};
    for (const std::string& alias : ep.aliases) dns_names.push_back(alias);
    if (!sp.hostname.empty() && sp.hostname != sp.name) dns_names.push_back(sp.hostname);
    json entry = {{"IPAMConfig", ep.static_ipv4 ? json{{"IPv4Address", network::format_ipv4(ep.ipv4)}} : json(nullptr)},
                  {"Links", nullptr},
                  {"Aliases", ep.aliases},
                  {"MacAddress", network::format_mac(ep.mac)},
                  {"NetworkID", a.network.id},
                  {"EndpointID", ep.id},
                  {"Gateway", network::format_ipv4(a.network.gateway)},
                  {"IPAddress", network::format_ipv4(ep.ipv4)},
                  {"IPPrefixLen", a.network.subnet.prefix_len},
                  {"IPv6Gateway", ""},
                  {"GlobalIPv6Address", ""},
                  {"GlobalIPv6PrefixLen", 0},
                  {"DriverOpts", ep.driver_opts.empty() ? json(nullptr) : json(ep.driver_opts)},
                  {"DNSNames", dns_names}};
    if (out["IPAddress"] == "")
      for (const char* key : {"Gateway", "IPAddress", "IPPrefixLen", "MacAddress"}) out[key] = entry[key];
    out["Networks"][a.network.name] = entry;
  }
  return out;
}

}  // namespace

std::string human_duration(int64_t s) {
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return std::to_string(s) + " seconds";
  int64_t m = s / 60;
  if (m == 1) return "About a minute";
  if (m < 60) return std::to_string(m) + " minutes";
  int64_t h = s / 3600;
  if (h == 1) return "About an hour";
  if (h < 48) return std::to_string(h) + " hours";
  if (h < 24 * 14) return std::to_string(h / 24) + " days";
  if (h < 24 * 60) return std::to_string(h / 24 / 7) + " weeks";
  if (h < 24 * 365 * 2) return std::to_string(h / 24 / 30) + " months";
  return std::to_string(h / 24 / 365) + " years";
}

bool parse_filter(const std::string& text, Filter* out, std::string* err) {
  static constexpr std::string_view kKeys[] = {"id", "name", "status", "label", "ancestor", "volume", "network"};
  return ctk::parse_filter(text, kKeys, out, err);
}

bool list(const Containers& all, bool include_stopped, const std::vector<Filter>& filters, std::vector<Summary>* out,
          Error* err) {
  std::vector<std::string> ids;
  if (!all.list(&ids, err)) return false;
  // Network membership is in the networks' files: read only when asked.
  bool by_network = std::any_of(filters.begin(), filters.end(), [](const Filter& f) { return f.key == "network"; });
  network::Networks networks;
  if (by_network && !networks.open(all.data_root(), err)) return false;
  int64_t now = now_s();
  for (const std::string& id : ids) {
    Container ct(all, id);
    Error ignored;
    // One being created or removed right now has no complete files yet.
    if (!ct.load(&ignored)) continue;
    Summary s;
    s.full = ct.effective_state();
    if (!include_stopped && s.full.status != Status::running && s.full.status != Status::restarting) continue;
    s.spec = ct.spec;
    s.id = id;
    s.name = ct.spec.name;
    s.image = ct.spec.image;
    s.command = join_command(ct.spec.args);
    s.created = ct.spec.created;
    s.created_ago = human_duration(now - seconds_of(ct.spec.created)) + " ago";
    s.state = status_name(s.full.status);
    switch (s.full.status) {
      case Status::created: s.status_text = "Created"; break;
      case Status::running: s.status_text = "Up " + human_duration(now - seconds_of(s.full.started_at)); break;
      case Status::restarting:
        s.status_text = "Restarting (" + std::to_string(s.full.exit_code) + ") " +
                        human_duration(now - seconds_of(s.full.finished_at)) + " ago";
        break;
      case Status::exited:
      case Status::removing:
        s.status_text = "Exited (" + std::to_string(s.full.exit_code) + ") " +
                        human_duration(now - seconds_of(s.full.finished_at)) + " ago";
        break;
    }
    for (const PortBinding& p : s.full.ports) s.ports_text += (s.ports_text.empty() ? "" : ", ") + port_text(p);
    std::vector<network::Networks::Attachment> attachments;
    if (by_network && networks.networks_of(id, &attachments, &ignored))
      for (const auto& a : attachments) s.networks.insert(s.networks.end(), {a.network.name, a.network.id});
    if (std::all_of(filters.begin(), filters.end(), [&](const Filter& f) { return matches(s, f); }))
      out->push_back(std::move(s));
  }
  std::sort(out->begin(), out->end(), [](const Summary& a, const Summary& b) { return a.created > b.created; });
  return true;
}

json summary_json(const Summary& s) {
  return {{"ID", s.id},         {"Names", s.name},       {"Image", s.image},
          {"Command", s.command}, {"CreatedAt", s.created}, {"State", s.state},
          {"Status", s.status_text}, {"Ports", s.ports_text}, {"Labels", s.spec.labels}};
}

json inspect_json(const Container& ct, const volume::Volumes& volumes, const network::Networks& networks) {
  const Spec& sp = ct.spec;
  State st = ct.effective_state();
  json ports = json::object();
  for (const PortBinding& p : sp.ports) ports[std::to_string(p.container_port) + "/" + p.protocol] = nullptr;
  for (const PortBinding& p : st.ports) {
    json& list = ports[std::to_string(p.container_port) + "/" + p.protocol];
    if (!list.is_array()) list = json::array();
    list.push_back({{"HostIp", p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
  }
  json bindings = json::object();
  for (const PortBinding& p : sp.ports)
    bindings[std::to_string(p.container_port) + "/" + p.protocol] =
        json::array({{{"HostIp", p.host_ip}, {"HostPort", p.host_port ? std::to_string(p.host_port) : ""}}});
  bool running = st.status == Status::running;
  json mounts = json::array();
  for (const MountPoint& m : sp.mounts) mounts.push_back(mount_json(m, volumes));
  json settings = network_settings(sp, networks);
  settings["Ports"] = ports;
  json out = {
      {"Id", sp.id},
      {"Name", "/" + sp.name},
      {"Created", sp.created},
      {"Path", sp.args.empty() ? "" : sp.args[0]},
      {"Args", sp.args.empty() ? json::array() : json(std::vector<std::string>(sp.args.begin() + 1, sp.args.end()))},
      {"State",
       {{"Status", status_name(st.status)},
        {"Running", running},
        {"Paused", false},
        {"Restarting", st.status == Status::restarting},
        {"OOMKilled", st.oom_killed},
        {"Dead", false},
        {"Pid", running ? st.pid : 0},
        {"ExitCode", st.exit_code},
        {"Error", st.error},
        {"StartedAt", st.started_at.empty() ? "0001-01-01T00:00:00Z" : st.started_at},
        {"FinishedAt", st.finished_at.empty() ? "0001-01-01T00:00:00Z" : st.finished_at}}},
      {"Image", sp.image_id.empty() ? sp.image : sp.image_id},
      {"RestartCount", st.restart_count},
      {"LogPath", ct.path("ctr.log")},
      {"Config",
       {{"Hostname", sp.hostname},
        {"User", sp.user},
        {"Tty", sp.tty},
        {"OpenStdin", sp.interactive},
        {"Env", sp.env},
        {"Cmd", sp.args},
        {"Image", sp.image},
        {"WorkingDir", sp.workdir},
        {"Labels", sp.labels},
        {"StopSignal", sp.stop_signal},
        {"StopTimeout", sp.stop_timeout}}},
      {"HostConfig",
       {{"NetworkMode", sp.network},
        {"PortBindings", bindings},
        {"RestartPolicy", {{"Name", sp.restart.name}, {"MaximumRetryCount", sp.restart.max_retries}}},
        {"AutoRemove", sp.auto_remove},
        {"Memory", sp.memory_limit},
        {"NanoCpus", int64_t(sp.cpus * 1e9)},
        {"PidsLimit", sp.pids_limit},
        {"CapAdd", sp.cap_add},
        {"GroupAdd", sp.group_add.empty() ? json(nullptr) : json(sp.group_add)},
        {"VolumesFrom", sp.volumes_from.empty() ? json(nullptr) : json(sp.volumes_from)},
        {"CapDrop", sp.cap_drop},
        {"SecurityOpt", sp.no_new_privileges ? json::array({"no-new-privileges"}) : json::array()},
        // json-file unless none was asked for: ctr.log serves the logs API
        // as docker's default driver does, and clients (docker-compose logs)
        // read logs only from drivers they know to have them.
        {"LogConfig", {{"Type", sp.log_driver}, {"Config", sp.log_options}}}}},
      {"NetworkSettings", settings},
      {"Mounts", mounts},
      {"Platform", "linux"},
      {"Driver", "ctk-vm"},
  };
  add_mount_flags(sp, &out["HostConfig"], &out["Config"]);
  return out;
}

}  // namespace ctk::container
