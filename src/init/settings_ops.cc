// Kernel settings the host makes in the guest: sysctls and the clock (a
// microvm guest has no battery-backed clock the host's time is known from).
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strings.h"
#include "init/agent_state.h"

namespace ctk::init {

namespace {

// "net.ipv4.ip_forward", or with slashes "net/ipv4/conf/eth0.100/forwarding"
// (as sysctl(8): then dots are part of a name), to its file under /proc/sys.
// False for anything that could name a file elsewhere.
bool sysctl_path(const std::string& key, std::string* path) {
  char sep = key.find('/') != std::string::npos ? '/' : '.';
  *path = "/proc/sys";
  for (const std::string& part : split(key, sep)) {
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string::npos) return false;
    *path += "/" + part;
  }
  return true;
}

bool sysctl_error(const std::string& what, std::string* code, std::string* err) {
  *code = errno == ENOENT ? "not_found" : errno == EINVAL ? "invalid_argument" : "internal";
  *err = sys_error(what);
  return false;
}

}  // namespace

// {"op":"sysctl", "settings":{"net.ipv4.ip_forward":"1"}, "keys":["kernel.hostname"]}
//   -> {"values":{"kernel.hostname":"box"}}
// Writes the settings (in key order), then reads the keys. All keys are
// checked before anything is written.
bool Agent::op_sysctl(Conn*, const json& req, json* result, std::string* code, std::string* err) {
  json settings = req.value("settings", json::object());
  std::vector<std::string> keys = req.value("keys", std::vector<std::string>{});
  if (!settings.is_object() || (settings.empty() && keys.empty())) {
    *err = "sysctl needs settings (an object of strings) or keys";
    return false;
  }
  struct Entry {
    std::string key, path, value;
  };
  std::vector<Entry> writes, reads;
  auto add = [&](std::vector<Entry>* to, const std::string& key, std::string value) {
    std::string path;
    if (!sysctl_path(key, &path)) {
      *err = "bad sysctl key '" + key + "'";
      return false;
    }
    to->push_back({key, path, std::move(value)});
    return true;
  };
  for (const auto& [key, value] : settings.items()) {
    if (!value.is_string()) {
      *err = "sysctl " + key + ": the value is not a string";
      return false;
    }
    if (!add(&writes, key, value.get<std::string>())) return false;
  }
  for (const std::string& key : keys)
    if (!add(&reads, key, "")) return false;
  for (const Entry& w : writes) {
    int fd = ::open(w.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sysctl_error("sysctl " + w.key, code, err);
    bool ok = ::write(fd, w.value.data(), w.value.size()) == ssize_t(w.value.size());
    int e = errno;
    ::close(fd);
    errno = e;
    if (!ok) return sysctl_error("sysctl " + w.key + "=" + w.value, code, err);
  }
  json values = json::object();
  for (const Entry& r : reads) {
    int fd = ::open(r.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sysctl_error("sysctl " + r.key, code, err);
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
    int e = errno;
    ::close(fd);
    errno = e;
    if (n < 0) return sysctl_error("sysctl " + r.key, code, err);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    values[r.key] = text;
  }
  *result = {{"values", values}};
  return true;
}

// {"op":"set_time", "sec":1700000000, "nsec":0}: CLOCK_REALTIME, which the
// host sets right after hello.
bool Agent::op_set_time(Conn*, const json& req, json*, std::string* code, std::string* err) {
  const json& sec = req.at("sec");
  json nsec = req.value("nsec", json(0));
  if (!sec.is_number_integer() || sec.get<int64_t>() < 0 || !nsec.is_number_integer() ||
      nsec.get<int64_t>() < 0 || nsec.get<int64_t>() > 999999999) {
    *err = "set_time needs sec >= 0 and nsec in 0..999999999 (integers)";
    return false;
  }
  timespec ts{};
  ts.tv_sec = time_t(sec.get<int64_t>());
  ts.tv_nsec = long(nsec.get<int64_t>());
  if (::clock_settime(CLOCK_REALTIME, &ts) != 0) {
    *code = "internal";
    *err = sys_error("set the clock");
    return false;
  }
  return true;
}

}  // namespace ctk::init
