// Processes as /proc shows them, for the top op: ps's columns, read from
// /proc/PID/stat, status and cmdline.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ctk::init {

struct ProcInfo {
  pid_t pid = 0;     // in the agent's pid namespace
  pid_t ns_pid = 0;  // in the process's own (innermost) pid namespace
  pid_t ppid = 0;    // the parent, in the agent's pid namespace
  uid_t uid = 0;     // effective
  gid_t gid = 0;
  char state = '?';  // R, S, D, Z, T ...
  int tty_nr = 0;    // the controlling terminal's device number, 0 for none
  int threads = 0;
  uint64_t cpu_ticks = 0;    // user + system time, in clock ticks
  uint64_t start_ticks = 0;  // since boot, in clock ticks
  uint64_t vsize = 0;        // bytes
  uint64_t rss_pages = 0;
  std::string comm;               // the kernel's name for it (15 bytes at most)
  std::vector<std::string> args;  // its command line; empty for a zombie
};

// /proc/PID/stat's line: false when malformed. The name may hold spaces
// and parentheses: the fields start after its last ')'.
bool parse_proc_stat(const std::string& line, ProcInfo* p);
// /proc/PID/status: the effective uid and gid, and NSpid's last pid.
void parse_proc_status(const std::string& text, ProcInfo* p);
// All three files of pid; false when it is gone.
bool read_proc(pid_t pid, ProcInfo* p);

// MemTotal of /proc/meminfo in bytes (0 when unreadable): what %MEM divides by.
uint64_t memory_total();

// ps's TTY for stat's tty_nr: "pts/0", "tty1", "ttyS0", "console"; "" for none.
std::string tty_name(int tty_nr);

}  // namespace ctk::init
