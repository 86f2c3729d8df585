#include "init/procfs.h"

#include <cstdlib>
#include <sstream>

#include "base/file_io.h"

namespace ctk::init {

bool parse_proc_stat(const std::string& line, ProcInfo* p) {
  size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  p->pid = pid_t(std::atoi(line.c_str()));
  p->comm = line.substr(open + 1, close - open - 1);
  // Fields 3 on: state ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime stime cutime cstime priority nice num_threads
  // itrealvalue starttime vsize rss ...
  std::istringstream in(line.substr(close + 1));
  std::vector<std::string> f;
  for (std::string word; f.size() < 22 && in >> word;) f.push_back(word);
  if (f.size() < 22 || f[0].size() != 1) return false;
  auto num = [&](size_t i) { return std::strtoull(f[i].c_str(), nullptr, 10); };
  p->state = f[0][0];
  p->ppid = pid_t(num(1));
  p->tty_nr = int(std::strtoll(f[4].c_str(), nullptr, 10));
  p->cpu_ticks = num(11) + num(12);
  p->threads = int(num(17));
  p->start_ticks = num(19);
  p->vsize = num(20);
  p->rss_pages = num(21);
  return true;
}

void parse_proc_status(const std::string& text, ProcInfo* p) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "Uid:" || key == "Gid:") {
      unsigned long real, effective;
      if (!(fields >> real >> effective)) continue;
      (key == "Uid:" ? p->uid : p->gid) = uint32_t(effective);
    } else if (key == "NSpid:") {
      for (long pid; fields >> pid;) p->ns_pid = pid_t(pid);
    }
  }
}

bool read_proc(pid_t pid, ProcInfo* p) {
  std::string dir = "/proc/" + std::to_string(pid) + "/", stat, status, cmdline, err;
  if (!read_file(dir + "stat", &stat, nullptr, &err) || !parse_proc_stat(stat, p) ||
      !read_file(dir + "status", &status, nullptr, &err) || !read_file(dir + "cmdline", &cmdline, nullptr, &err))
    return false;
  p->ns_pid = pid;  // without NSpid (kernels before 4.1): the same
  parse_proc_status(status, p);
  p->args.clear();
  for (size_t start = 0; start < cmdline.size();) {
    size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    p->args.push_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  return true;
}

uint64_t memory_total() {
  std::string text, err;
  if (!read_file("/proc/meminfo", &text, nullptr, &err)) return 0;
  size_t at = text.find("MemTotal:");
  return at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + 9, nullptr, 10) * 1024;
}

std::string tty_name(int tty_nr) {
  unsigned major = (unsigned(tty_nr) >> 8) & 0xfff;
  unsigned minor = (unsigned(tty_nr) & 0xff) | ((unsigned(tty_nr) >> 12) & 0xfff00);
  if (tty_nr == 0) return "";
  if (major >= 136 && major <= 143) return "pts/" + std::to_string((major - 136) * 256 + minor);
  if (major == 4) return minor < 64 ? "tty" + std::to_string(minor) : "ttyS" + std::to_string(minor - 64);
  if (major == 5 && minor == 1) return "console";
  return std::to_string(major) + "," + std::to_string(minor);
}

}  // namespace ctk::init
