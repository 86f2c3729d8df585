#include "container/top.h"

#include <doctest/doctest.h>

using namespace ctk::container;

namespace {

std::vector<std::string> columns(std::vector<std::string> args) {
  std::vector<std::string> out;
  std::string err;
  REQUIRE_MESSAGE(top_columns(args, &out, &err), err);
  return out;
}

}  // namespace

TEST_CASE("ps options choose the columns") {
  using V = std::vector<std::string>;
  CHECK(columns({}) == V{"uid_hack", "pid", "ppid", "c", "stime", "tname", "time", "cmd"});
  CHECK(columns({"-ef"}) == columns({}));
  CHECK(columns({"-eo", "pid,comm"}) == V{"pid", "comm"});
  CHECK(columns({"-opid", "-o", "user args"}) == V{"pid", "user", "args"});
  CHECK(columns({"aux"}) == V{"user", "pid", "pcpu", "pmem", "vsz", "rss", "tname", "stat", "start", "time", "args"});
  std::vector<std::string> out;
  std::string err;
  CHECK_FALSE(top_columns({"-o", "pid,nope"}, &out, &err));
  CHECK(err == "unknown ps column 'nope'");
  CHECK_FALSE(top_columns({"-x"}, &out, &err));
  CHECK_FALSE(top_columns({"-o"}, &out, &err));
}

TEST_CASE("a process in ps's columns") {
  const int64_t now = int64_t(1700000000) * 1000000000;
  nlohmann::json reply = {
      {"memory_total", 1 << 30},
      {"processes",
       {{{"pid", 1}, {"ppid", 0}, {"uid", 0}, {"user", "root"}, {"state", "S"}, {"tty", ""},
         {"cpu_usec", 90 * 1000000}, {"start_ns", now - int64_t(3600 + 62) * 1000000000}, {"rss", 4 << 20},
         {"vsz", 8 << 20}, {"threads", 1}, {"comm", "sleep"}, {"args", {"sleep", "1000"}}},
        {{"pid", 7}, {"ppid", 1}, {"uid", 1000}, {"user", "1000"}, {"state", "Z"}, {"tty", "pts/0"},
         {"cpu_usec", 0}, {"start_ns", now}, {"comm", "sh"}, {"args", nlohmann::json::array()}}}}};
  TopTable t = top_table(reply, {"uid_hack", "pid", "ppid", "c", "tname", "time", "etime", "pmem", "rss", "cmd"}, now);
  CHECK(t.titles == std::vector<std::string>{"UID", "PID", "PPID", "C", "TTY", "TIME", "ELAPSED", "%MEM", "RSS", "CMD"});
  REQUIRE(t.processes.size() == 2);
  CHECK(t.processes[0] ==
        std::vector<std::string>{"root", "1", "0", "2", "?", "00:01:30", "01:01:02", "0.4", "4096", "sleep 1000"});
  CHECK(t.processes[1] ==
        std::vector<std::string>{"1000", "7", "1", "0", "pts/0", "00:00:00", "00:00", "0.0", "0", "[sh] <defunct>"});
}
