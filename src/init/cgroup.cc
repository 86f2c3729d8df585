#include "init/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace ctk::init {

using nlohmann::json;

namespace {

constexpr uint64_t kDefaultPeriod = 100000;  // the kernel's and runc's cpu.max period

bool read_text(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  out->clear();
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out->append(buf, size_t(n));
  ::close(fd);
  return true;
}

bool write_text(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, value.data(), value.size()) == ssize_t(value.size());
  int e = errno;
  ::close(fd);
  errno = e;
  return ok;
}

// A number, or null for "max" (unlimited) or a missing file.
json read_value(const std::string& path) {
  std::string text;
  if (!read_text(path, &text) || text.empty()) return nullptr;
  if (text.starts_with("max")) return nullptr;
  return std::strtoull(text.c_str(), nullptr, 10);
}

template <typename F>
void for_each_line(const std::string& text, F f) {
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    f(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

// "key value" lines (cpu.stat, memory.events) as a map.
std::map<std::string, uint64_t> read_keyed(const std::string& path) {
  std::map<std::string, uint64_t> out;
  std::string text;
  if (!read_text(path, &text)) return out;
  for_each_line(text, [&](const std::string& line) {
    size_t space = line.find(' ');
    if (space != std::string::npos) out[line.substr(0, space)] = std::strtoull(line.c_str() + space + 1, nullptr, 10);
  });
  return out;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

bool parse_resources(const json& j, Resources* r, std::string* err) try {
  if (!j.is_object()) {
    *err = "linux.resources is not an object";
    return false;
  }
  if (j.contains("memory")) r->memory_limit = j["memory"].value("limit", int64_t(-1));
  if (j.contains("cpu")) {
    const json& cpu = j["cpu"];
    r->cpu_quota = cpu.value("quota", int64_t(-1));
    r->cpu_period = cpu.value("period", uint64_t(0));
    r->cpu_shares = cpu.value("shares", uint64_t(0));
  }
  if (j.contains("pids")) r->pids_limit = j["pids"].value("limit", int64_t(0));
  json unified = j.value("unified", json::object());
  for (const auto& [file, value] : unified.items()) {
    // A file of the container's own cgroup, never a path out of it.
    if (file.empty() || file.find('/') != std::string::npos || file[0] == '.') {
      *err = "linux.resources.unified: bad file name '" + file + "'";
      return false;
    }
    r->unified[file] = value.get<std::string>();
  }
  if (r->memory_limit == 0 || r->memory_limit < -1) {
    *err = "linux.resources.memory.limit " + std::to_string(r->memory_limit) + " is not a size";
    return false;
  }
  if (r->cpu_shares == 1 || r->cpu_shares > 262144) {
    *err = "linux.resources.cpu.shares " + std::to_string(r->cpu_shares) + " is out of 2..262144";
    return false;
  }
  return true;
} catch (const json::exception& e) {
  *err = std::string("linux.resources: ") + e.what();
  return false;
}

uint64_t shares_to_weight(uint64_t shares) { return 1 + ((shares - 2) * 9999) / 262142; }

std::vector<std::pair<std::string, std::string>> cgroup_values(const Resources& r) {
  std::vector<std::pair<std::string, std::string>> v;
  if (r.memory_limit > 0) v.push_back({"memory.max", std::to_string(r.memory_limit)});
  if (r.cpu_quota > 0 || r.cpu_period > 0) {
    std::string period = std::to_string(r.cpu_period ? r.cpu_period : kDefaultPeriod);
    v.push_back({"cpu.max", (r.cpu_quota > 0 ? std::to_string(r.cpu_quota) : "max") + " " + period});
  }
  if (r.cpu_shares) v.push_back({"cpu.weight", std::to_string(shares_to_weight(r.cpu_shares))});
  if (r.pids_limit) v.push_back({"pids.max", r.pids_limit > 0 ? std::to_string(r.pids_limit) : "max"});
  for (const auto& [file, value] : r.unified) v.push_back({file, value});
  return v;
}

bool Cgroups::init(const std::string& base, std::string* err) {
  std::string parent = base.substr(0, base.rfind('/'));
  std::string controllers;
  if (!read_text(parent + "/cgroup.controllers", &controllers)) {
    *err = why_ = sys_error("cgroup2 on " + parent + ": cgroup.controllers");
    return false;
  }
  if ((::mkdir(base.c_str(), 0755) && errno != EEXIST) ||
      (::mkdir((base + "/agent").c_str(), 0755) && errno != EEXIST)) {
    *err = why_ = sys_error("mkdir " + base + "/agent");
    return false;
  }
  if (!write_text(base + "/agent/cgroup.procs", "0")) {
    *err = why_ = sys_error("move the agent into " + base + "/agent");
    return false;
  }
  // Best effort: a controller the parent cannot hand down (a v1+v2 hybrid
  // keeps most in v1) is missing in the containers' cgroups, and asking for
  // a limit it would enforce fails at create.
  for (const char* c : {"cpu", "memory", "pids", "io"}) {
    std::string plus = std::string("+") + c;
    if (write_text(parent + "/cgroup.subtree_control", plus))
      write_text(base + "/cgroup.subtree_control", plus);
  }
  base_ = base;
  mount_ = parent;
  if (::mkdir((base + "-files").c_str(), 0755) == 0 || errno == EEXIST) files_ = base + "-files";
  available_ = true;
  return true;
}

bool Cgroups::limit_agent_memory(uint64_t bytes, std::string* err) {
  if (!available_) {
    *err = "no cgroup for the agent: " + why_;
    return false;
  }
  std::string file = base_ + "/agent/memory.max";
  if (write_text(file, std::to_string(bytes))) return true;
  *err = errno == ENOENT ? "the memory controller is not available for " + file
                         : sys_error(file + " = " + std::to_string(bytes));
  return false;
}

bool Cgroups::create(const std::string& id, const Resources& r, std::string* path, std::string* err) {
  auto values = cgroup_values(r);
  path->clear();
  if (!available_) {
    if (values.empty()) return true;  // nothing to enforce: run without one
    *err = "linux.resources needs cgroup2: " + why_;
    return false;
  }
  retry_removals();  // a deleted container of the same id may still be going
  std::string dir = base_ + "/" + id;
  if (::mkdir(dir.c_str(), 0755)) {
    *err = sys_error("mkdir " + dir);
    return false;
  }
  for (const auto& [file, value] : values) {
    if (write_text(dir + "/" + file, value)) continue;
    int e = errno;
    std::string controller = file.substr(0, file.find('.'));
    *err = e == ENOENT ? "cgroup " + dir + ": the " + controller + " controller is not available for " + file
                       : sys_error("cgroup " + dir + "/" + file + " = " + value, e);
    ::rmdir(dir.c_str());
    return false;
  }
  *path = dir;
  return true;
}

void Cgroups::remove(const std::string& path) {
  if (path.empty()) return;
  // Leftovers (a daemon the container forked) must not keep it alive.
  write_text(path + "/cgroup.kill", "1");
  if (::rmdir(path.c_str()) && errno == EBUSY) doomed_.push_back(path);
}

void Cgroups::retry_removals() {
  std::erase_if(doomed_, [](const std::string& p) { return ::rmdir(p.c_str()) == 0 || errno != EBUSY; });
}

bool Cgroups::stats(const std::string& path, json* out, std::string* err) const {
  if (path.empty()) {
    *err = "container has no cgroup: " + why_;
    return false;
  }
  json memory = nullptr, cpu = nullptr, pids = nullptr;
  if (exists(path + "/memory.current"))
    memory = {{"current", read_value(path + "/memory.current")},
              {"max", read_value(path + "/memory.max")},
              {"oom_kills", oom_kills(path)}};
  auto stat = read_keyed(path + "/cpu.stat");
  if (stat.count("usage_usec"))
    cpu = {{"usage_usec", stat["usage_usec"]}, {"user_usec", stat["user_usec"]},
           {"system_usec", stat["system_usec"]}};
  if (exists(path + "/pids.current"))
    pids = {{"current", read_value(path + "/pids.current")}, {"max", read_value(path + "/pids.max")}};
  *out = {{"memory", memory}, {"cpu", cpu}, {"pids", pids}};
  return true;
}

bool Cgroups::own_stats(json* out, std::string* err) const {
  if (!available_) {
    *err = "the agent has no cgroup: " + why_;
    return false;
  }
  std::string text, path;
  if (!read_text("/proc/self/cgroup", &text)) {
    *err = sys_error("/proc/self/cgroup");
    return false;
  }
  // cgroup2's line is "0::PATH", relative to the cgroup namespace's root,
  // which is where mount_ is rooted.
  for_each_line(text, [&](const std::string& line) {
    if (line.starts_with("0::")) path = line.substr(3);
  });
  if (path.empty()) {
    *err = "no cgroup2 entry in /proc/self/cgroup";
    return false;
  }
  if (!stats(mount_ + path, out, err)) return false;
  (*out)["cgroup"] = path;
  return true;
}

uint64_t oom_kills(const std::string& path) {
  if (path.empty()) return 0;
  auto events = read_keyed(path + "/memory.events");
  return events.count("oom_kill") ? events["oom_kill"] : 0;
}

std::vector<pid_t> cgroup_procs(const std::string& path) {
  std::vector<pid_t> out;
  std::string text;
  if (read_text(path + "/cgroup.procs", &text))
    for_each_line(text, [&](const std::string& line) {
      if (!line.empty()) out.push_back(pid_t(std::atoi(line.c_str())));
    });
  std::error_code ec;
  for (const auto& sub : std::filesystem::directory_iterator(path, ec)) {
    if (!sub.is_directory(ec)) continue;
    std::vector<pid_t> more = cgroup_procs(sub.path());
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

}  // namespace ctk::init
