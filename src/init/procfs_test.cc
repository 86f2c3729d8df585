#include "init/procfs.h"

#include <doctest/doctest.h>
#include <unistd.h>

using namespace ctk::init;

TEST_CASE("a stat line whose name holds spaces and parentheses") {
  ProcInfo p;
  std::string line =
      "4711 (my (odd) name) S 42 4711 4711 34816 4711 4194560 100 0 0 0 250 50 0 0 20 0 3 0 123456 "
      "8388608 512 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
  REQUIRE(parse_proc_stat(line, &p));
  CHECK(p.pid == 4711);
  CHECK(p.comm == "my (odd) name");
  CHECK(p.state == 'S');
  CHECK(p.ppid == 42);
  CHECK(tty_name(p.tty_nr) == "pts/0");
  CHECK(p.cpu_ticks == 300);
  CHECK(p.threads == 3);
  CHECK(p.start_ticks == 123456);
  CHECK(p.vsize == 8388608);
  CHECK(p.rss_pages == 512);
  CHECK_FALSE(parse_proc_stat("4711 (truncated) S 1 2", &p));
}

TEST_CASE("status gives the effective ids and the innermost pid") {
  ProcInfo p;
  parse_proc_status("Name:\tsleep\nUid:\t1000\t1001\t1001\t1001\nGid:\t50\t51\t51\t51\nNSpid:\t4711\t7\n", &p);
  CHECK(p.uid == 1001);
  CHECK(p.gid == 51);
  CHECK(p.ns_pid == 7);
}

TEST_CASE("terminals as ps names them") {
  CHECK(tty_name(0) == "");
  CHECK(tty_name(4 << 8 | 1) == "tty1");
  CHECK(tty_name(4 << 8 | 64) == "ttyS0");
  CHECK(tty_name(137 << 8 | 4) == "pts/260");
  CHECK(tty_name(5 << 8 | 1) == "console");
}

TEST_CASE("this process, read from /proc") {
  ProcInfo p;
  REQUIRE(read_proc(::getpid(), &p));
  CHECK(p.pid == ::getpid());
  CHECK(p.ppid == ::getppid());
  CHECK(p.uid == ::geteuid());
  CHECK_FALSE(p.args.empty());
}
