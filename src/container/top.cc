#include "container/top.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace ctk::container {

namespace {

using json = nlohmann::json;

struct Process {
  const json& p;
  int64_t now_ns;
  uint64_t memory_total;
  int64_t seconds() const { return std::max<int64_t>(0, (now_ns - p.value("start_ns", int64_t(0))) / 1000000000); }
  double cpu_percent() const {
    int64_t s = seconds();
    return s ? p.value("cpu_usec", 0.0) / 1e6 / double(s) * 100 : 0;
  }
};

std::string decimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// [DD-]HH:MM:SS, or with short, [[DD-]HH:]MM:SS.
std::string duration(int64_t s, bool short_form) {
  char buf[48];
  int64_t days = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (days) std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld", (long long)days, (long long)h, (long long)m, (long long)sec);
  else if (h || !short_form) std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", (long long)h, (long long)m, (long long)sec);
  else std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)m, (long long)sec);
  return buf;
}

// ps's start time: HH:MM today, MonDD this year, else the year.
std::string start_time(const Process& x) {
  time_t start = time_t(x.p.value("start_ns", int64_t(0)) / 1000000000), now = time_t(x.now_ns / 1000000000);
  tm s, n;
  ::localtime_r(&start, &s);
  ::localtime_r(&now, &n);
  const char* format = s.tm_year != n.tm_year ? "%Y" : s.tm_yday != n.tm_yday ? "%b%d" : "%H:%M";
  char buf[32];
  std::strftime(buf, sizeof buf, format, &s);
  return buf;
}

std::string command(const Process& x) {
  std::string comm = x.p.value("comm", "");
  std::vector<std::string> args = x.p.value("args", std::vector<std::string>{});
  if (args.empty()) return "[" + comm + "]" + (x.p.value("state", "") == "Z" ? " <defunct>" : "");
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string number(const Process& x, const char* key) { return std::to_string(x.p.value(key, int64_t(0))); }

std::string kib(const Process& x, const char* key) { return std::to_string(x.p.value(key, int64_t(0)) / 1024); }

std::string tty(const Process& x) {
  std::string t = x.p.value("tty", "");
  return t.empty() ? "?" : t;
}

struct Column {
  std::string_view names;  // the name and its aliases, blank-separated
  std::string_view header;
  std::string (*value)(const Process& x);
};

const Column kColumns[] = {
    {"pid", "PID", [](const Process& x) { return number(x, "pid"); }},
    {"ppid", "PPID", [](const Process& x) { return number(x, "ppid"); }},
    {"uid euid", "UID", [](const Process& x) { return number(x, "uid"); }},
    {"gid egid", "GID", [](const Process& x) { return number(x, "gid"); }},
    {"user euser", "USER", [](const Process& x) { return x.p.value("user", ""); }},
    // ps -f's first column: the user's name under UID.
    {"uid_hack", "UID", [](const Process& x) { return x.p.value("user", ""); }},
    {"c", "C", [](const Process& x) { return std::to_string(std::min(99, int(x.cpu_percent()))); }},
    {"pcpu %cpu", "%CPU", [](const Process& x) { return decimal(x.cpu_percent()); }},
    {"pmem %mem", "%MEM",
     [](const Process& x) {
       return decimal(x.memory_total ? x.p.value("rss", 0.0) * 100 / double(x.memory_total) : 0);
     }},
    {"stime", "STIME", start_time},
    {"start start_time", "START", start_time},
    {"etime", "ELAPSED", [](const Process& x) { return duration(x.seconds(), true); }},
    {"time cputime", "TIME", [](const Process& x) { return duration(x.p.value("cpu_usec", int64_t(0)) / 1000000, false); }},
    {"tname", "TTY", tty},
    {"tty tt", "TT", tty},
    {"s state", "S", [](const Process& x) { return x.p.value("state", ""); }},
    {"stat", "STAT", [](const Process& x) { return x.p.value("state", ""); }},
    {"rss rssize", "RSS", [](const Process& x) { return kib(x, "rss"); }},
    {"vsz vsize", "VSZ", [](const Process& x) { return kib(x, "vsz"); }},
    {"nlwp thcount", "NLWP", [](const Process& x) { return number(x, "threads"); }},
    {"comm ucomm", "COMMAND", [](const Process& x) { return x.p.value("comm", ""); }},
    {"args command", "COMMAND", command},
    {"cmd", "CMD", command},
};

const Column* find_column(const std::string& name) {
  for (const Column& c : kColumns) {
    std::istringstream names{std::string(c.names)};
    for (std::string n; names >> n;)
      if (n == name) return &c;
  }
  return nullptr;
}

bool add_columns(const std::string& list, std::vector<std::string>* columns, std::string* err) {
  std::string words = list;
  std::replace(words.begin(), words.end(), ',', ' ');
  std::istringstream in(words);
  for (std::string name; in >> name;) {
    if (!find_column(name)) {
      *err = "unknown ps column '" + name + "'";
      return false;
    }
    columns->push_back(name);
  }
  return true;
}

}  // namespace

bool top_columns(const std::vector<std::string>& ps_args, std::vector<std::string>* columns, std::string* err) {
  columns->clear();
  bool bsd_user = false;
  for (size_t i = 0; i < ps_args.size(); ++i) {
    const std::string& a = ps_args[i];
    if (!a.starts_with('-')) {
      if (a.empty() || a.find_first_not_of("aux") != std::string::npos) {
        *err = "unsupported ps option '" + a + "' (ctk top takes -e, -f, -o LIST and aux)";
        return false;
      }
      bsd_user |= a.find('u') != std::string::npos;
      continue;
    }
    for (size_t j = 1; j < a.size(); ++j) {
      if (a[j] == 'e' || a[j] == 'A' || a[j] == 'f') continue;
      if (a[j] != 'o') {
        *err = "unsupported ps option '-" + std::string(1, a[j]) + "' (ctk top takes -e, -f, -o LIST and aux)";
        return false;
      }
      std::string list = a.substr(j + 1);
      if (list.empty() && ++i < ps_args.size()) list = ps_args[i];
      if (list.empty()) {
        *err = "-o needs a list of columns";
        return false;
      }
      if (!add_columns(list, columns, err)) return false;
      break;
    }
  }
  if (columns->empty()) {
    const char* format = bsd_user ? "user pid pcpu pmem vsz rss tname stat start time args"
                                  : "uid_hack pid ppid c stime tname time cmd";
    return add_columns(format, columns, err);
  }
  return true;
}

TopTable top_table(const json& reply, const std::vector<std::string>& columns, int64_t now_ns) {
  TopTable t;
  std::vector<const Column*> cols;
  for (const std::string& name : columns) {
    cols.push_back(find_column(name));
    t.titles.push_back(std::string(cols.back()->header));
  }
  uint64_t memory_total = reply.value("memory_total", uint64_t(0));
  for (const json& p : reply.value("processes", json::array())) {
    Process x{p, now_ns, memory_total};
    std::vector<std::string> row;
    for (const Column* c : cols) row.push_back(c->value(x));
    t.processes.push_back(std::move(row));
  }
  return t;
}

}  // namespace ctk::container
