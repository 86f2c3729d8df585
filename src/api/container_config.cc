#include "api/container_config.h"

#include <cmath>

#include "api/body.h"
#include "boot/arch.h"

namespace ctk::api {

using nlohmann::json;

namespace {

// Cmd and Entrypoint: a list of strings, or (old clients) one string.
bool string_list(const json& j, const char* key, std::vector<std::string>* out, Error* err) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (it->is_string()) {
    out->push_back(it->get<std::string>());
    return true;
  }
  return body_field(j, key, out, err);
}

// A section of the body as a copy: {} when absent or null.
bool object(const json& j, const char* key, json* out, Error* err) {
  const json* child;
  if (!body_child(j, key, &child, err)) return false;
  *out = child ? *child : json::object();
  return true;
}

bool host_config(const json& hc, container::CreateOptions* o, Error* err) {
  std::string why;
  auto invalid = [&](const std::string& m) { return err->fail(ErrorCode::invalid, m); };
  bool flag = false;
  if (!body_field(hc, "Privileged", &flag, err)) return false;
  if (flag) return invalid("privileged containers are not supported: each container is a VM");
  std::vector<std::string> binds;
  if (!body_field(hc, "Binds", &binds, err)) return false;
  for (const std::string& b : binds) {
    container::MountPoint m;
    if (!container::parse_volume_flag(b, &m, &why)) return invalid(why);
    o->mounts.push_back(m);
  }
  json mounts = hc.value("Mounts", json::array());
  if (!mounts.is_array() && !mounts.is_null()) return invalid("invalid type for Mounts");
  for (const json& m : mounts.is_null() ? json::array() : mounts) {
    if (!m.is_object()) return invalid("invalid Mounts entry");
    // docker's Mount objects as a --mount string, parsed by the same rules.
    std::string type = m.value("Type", "volume"), text = "type=" + type;
    for (const char* key : {"Source", "Target"}) {
      if (m.contains(key) && !m[key].is_string()) return invalid(std::string("invalid type for Mounts.") + key);
      std::string v = m.value(key, "");
      if (!v.empty()) text += std::string(",") + (key[0] == 'S' ? "source=" : "target=") + v;
    }
    if (m.value("ReadOnly", false)) text += ",readonly";
    if (json vo = m.value("VolumeOptions", json::object()); vo.is_object() && vo.value("NoCopy", false))
      text += ",volume-nocopy";
    if (json to = m.value("TmpfsOptions", json::object()); to.is_object()) {
      if (to.contains("SizeBytes") && to["SizeBytes"].is_number_integer())
        text += ",tmpfs-size=" + std::to_string(to["SizeBytes"].get<int64_t>());
      if (to.contains("Mode") && to["Mode"].is_number_integer()) {
        char mode[16];
        std::snprintf(mode, sizeof mode, "%o", unsigned(to["Mode"].get<int64_t>()));
        text += std::string(",tmpfs-mode=") + mode;
      }
    }
    container::MountPoint mp;
    if (!container::parse_mount_flag(text, &mp, &why)) return invalid(why);
    o->mounts.push_back(mp);
  }
  json tmpfs;
  if (!object(hc, "Tmpfs", &tmpfs, err)) return false;
  for (auto& [dst, opts] : tmpfs.items()) {
    if (!opts.is_string()) return invalid("invalid type for Tmpfs." + dst);
    container::MountPoint m;
    std::string text = dst + (opts.get<std::string>().empty() ? "" : ":" + opts.get<std::string>());
    if (!container::parse_tmpfs_flag(text, &m, &why)) return invalid(why);
    o->mounts.push_back(m);
  }
  json bindings;
  if (!object(hc, "PortBindings", &bindings, err)) return false;
  for (auto& [port, list] : bindings.items()) {
    std::vector<json> hosts = list.is_array() ? list.get<std::vector<json>>() : std::vector<json>{json::object()};
    if (hosts.empty()) hosts.push_back(json::object());
    for (const json& h : hosts) {
      if (!h.is_object()) return invalid("invalid PortBindings entry for " + port);
      std::string ip = h.value("HostIp", ""), host_port = h.value("HostPort", "");
      // docker binds every address for an empty HostIp; ctk binds loopback
      // unless an address is named (publishing to the network is a choice).
      std::string text = (ip.empty() ? "" : (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":") +
                         (host_port.empty() && !ip.empty() ? ":" : host_port.empty() ? "" : host_port + ":") + port;
      if (ip.empty() && host_port.empty()) text = port;
      container::PortBinding b;
      if (!container::parse_port(text, &b, &why)) return invalid(why);
      o->ports.push_back(b);
    }
  }
  if (!body_field(hc, "PublishAllPorts", &o->publish_all, err)) return false;
  json restart;
  if (!object(hc, "RestartPolicy", &restart, err)) return false;
  std::string policy = restart.value("Name", "");
  if (!policy.empty()) {
    int retries = restart.value("MaximumRetryCount", 0);
    std::string text = policy == "on-failure" && retries > 0 ? policy + ":" + std::to_string(retries) : policy;
    if (!container::parse_restart_policy(text, &o->restart, &why)) return invalid(why);
  }
  json log_config;
  if (!object(hc, "LogConfig", &log_config, err) || !body_field(log_config, "Type", &o->log_driver, err) ||
      !body_field(log_config, "Config", &o->log_options, err))
    return false;
  if (o->log_driver.empty()) o->log_driver = "json-file";
  if (!container::log_driver_known(o->log_driver))
    return invalid("logger: no log driver named '" + o->log_driver + "' is registered");
  if (!body_field(hc, "AutoRemove", &o->auto_remove, err) || !body_field(hc, "ReadonlyRootfs", &o->read_only, err)) return false;
  if (o->auto_remove && o->restart.name != "no") return invalid("conflicting options: AutoRemove and a restart policy");
  int64_t memory = 0, nano_cpus = 0, quota = 0, period = 0;
  if (!body_field(hc, "Memory", &memory, err) || !body_field(hc, "NanoCpus", &nano_cpus, err) ||
      !body_field(hc, "CpuQuota", &quota, err) || !body_field(hc, "CpuPeriod", &period, err))
    return false;
  if (memory < 0 || (memory > 0 && memory < (6 << 20))) return invalid("Minimum memory limit allowed is 6MB");
  if (nano_cpus < 0) return invalid("invalid NanoCpus");
  double cpus = nano_cpus ? double(nano_cpus) / 1e9 : quota > 0 ? double(quota) / double(period > 0 ? period : 100000) : 0;
  container::set_limits(o, uint64_t(memory), cpus);
  int64_t pids = 0;
  if (!body_field(hc, "PidsLimit", &pids, err)) return false;
  if (pids > 0 || pids == -1) o->pids_limit = pids;
  std::vector<std::string> caps;
  if (!body_field(hc, "CapAdd", &o->cap_add, err) || !body_field(hc, "CapDrop", &o->cap_drop, err) ||
      !body_field(hc, "GroupAdd", &o->group_add, err) || !body_field(hc, "VolumesFrom", &o->volumes_from, err))
    return false;
  for (const std::string& g : o->group_add)
    if (g.empty() || g.find(':') != std::string::npos) return invalid("invalid GroupAdd entry '" + g + "'");
  for (std::vector<std::string>* list : {&o->cap_add, &o->cap_drop})
    for (std::string& c : *list)
      if (c != "ALL" && !c.starts_with("CAP_")) c = "CAP_" + c;
  std::vector<std::string> security;
  if (!body_field(hc, "SecurityOpt", &security, err)) return false;
  for (const std::string& s : security) {
    if (s == "no-new-privileges" || s == "no-new-privileges:true" || s == "no-new-privileges=true") o->no_new_privileges = true;
    else if (s == "no-new-privileges:false" || s == "no-new-privileges=false") o->no_new_privileges = false;
    else return invalid("unsupported security option '" + s + "'");
  }
  std::string mode;
  if (!body_field(hc, "NetworkMode", &mode, err)) return false;
  if (mode == "host" || mode.starts_with("container:"))
    return invalid("network mode " + mode + " is not possible: each container is a VM with a network of its own");
  o->network = mode.empty() || mode == "default" ? "bridge" : mode;
  return true;
}

}  // namespace

bool create_options_from_docker(const json& body, const std::string& name, container::CreateOptions* o, Error* err) {
  if (!body_object(body, err)) return false;
  *o = container::CreateOptions();
  o->name = name;
  std::string image;
  if (!body_field(body, "Image", &image, err)) return false;
  if (image.empty()) return err->fail(ErrorCode::invalid, "no image given (Image)");
  o->inputs = {image};
  o->image = true;
  std::vector<std::string> entrypoint;
  if (!string_list(body, "Cmd", &o->args, err) || !string_list(body, "Entrypoint", &entrypoint, err) ||
      !body_field(body, "Env", &o->env, err) || !body_field(body, "WorkingDir", &o->workdir, err) ||
      !body_field(body, "User", &o->user, err) || !body_field(body, "Hostname", &o->hostname, err) ||
      !body_field(body, "Tty", &o->tty, err) || !body_field(body, "OpenStdin", &o->interactive, err) ||
      !body_field(body, "Labels", &o->labels, err) || !body_field(body, "StopSignal", &o->stop_signal, err) ||
      !body_field(body, "StopTimeout", &o->stop_timeout, err))
    return false;
  // An Entrypoint of several words: the first is the program, the rest go
  // before Cmd (CreateOptions takes one entrypoint word, as --entrypoint).
  if (!entrypoint.empty()) {
    o->entrypoint = entrypoint[0];
    o->args.insert(o->args.begin(), entrypoint.begin() + 1, entrypoint.end());
    // An explicit empty entrypoint [""] resets the image's.
    if (o->entrypoint.empty() && entrypoint.size() == 1) o->entrypoint.clear();
  }
  if (!o->workdir.empty() && o->workdir[0] != '/') return err->fail(ErrorCode::invalid, "WorkingDir must be absolute");
  json hc;
  if (!object(body, "HostConfig", &hc, err) || !host_config(hc, o, err)) return false;
  // Config.Volumes, the CLI's `-v /path`: an anonymous volume at each path
  // no bind, mount or tmpfs of HostConfig takes.
  json volumes;
  if (!object(body, "Volumes", &volumes, err)) return false;
  for (const auto& [path, ignored] : volumes.items()) {
    container::MountPoint m;
    std::string why;
    if (!container::parse_volume_flag(path, &m, &why)) return err->fail(ErrorCode::invalid, "Volumes: " + why);
    auto taken = [&](const container::MountPoint& other) { return other.destination == m.destination; };
    if (std::none_of(o->mounts.begin(), o->mounts.end(), taken)) o->mounts.push_back(m);
  }
  json networking, endpoints;
  if (!object(body, "NetworkingConfig", &networking, err) || !object(networking, "EndpointsConfig", &endpoints, err))
    return false;
  std::string mac;  // the container's (API < 1.44), for its first network
  if (!body_field(body, "MacAddress", &mac, err)) return false;
  if (o->network != "none" && o->network != "nat") {
    container::CreateOptions::NetworkRequest first{o->network, {}, "", mac, {}};
    for (auto& [key, ep] : endpoints.items()) {
      std::string net = key == "default" ? "bridge" : key;
      if (!ep.is_object() && !ep.is_null()) return err->fail(ErrorCode::invalid, "invalid EndpointsConfig." + net);
      container::CreateOptions::NetworkRequest r{net, {}, "", mac, {}};
      if (ep.is_object()) {
        json ipam;
        if (!body_field(ep, "Aliases", &r.aliases, err) || !body_field(ep, "MacAddress", &r.mac, err) ||
            !body_field(ep, "DriverOpts", &r.driver_opts, err) || !object(ep, "IPAMConfig", &ipam, err) ||
            !body_field(ipam, "IPv4Address", &r.ip, err))
          return false;
      }
      if (net == o->network) first = r;
      else o->networks.push_back(r);
    }
    o->networks.insert(o->networks.begin(), first);
  }
  return true;
}

}  // namespace ctk::api
