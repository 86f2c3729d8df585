// ctk logs: a container's output.
#include <fcntl.h>
#include <sys/inotify.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "base/clock.h"
#include "container/log.h"

namespace ctk {

extern const Applet kLogsApplet;

namespace {

const Option kOptions[] = {
    {"follow", 'f', "", "Keep printing output as it comes, until the container stops"},
    {"tail", 'n', "N", "Only the last N lines (default: all)"},
    {"since", 0, "TIME", "Only output after TIME: RFC 3339, a unix time, or a duration ago (10m)"},
    {"until", 0, "TIME", "Only output before TIME"},
    {"timestamps", 't', "", "Prefix each line with the time it was written"},
    kRootOption,
};

struct Printer {
  bool timestamps;
  void print(const container::LogRecord& r) const {
    FILE* f = r.stream == container::Stream::out ? stdout : stderr;
    if (timestamps) std::fprintf(f, "%s ", format_rfc3339(r.time_ns).c_str());
    std::fwrite(r.data.data(), 1, r.data.size(), f);
    std::fflush(f);
  }
};

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int logs_main(const Flags& flags) {
  const Applet& self = kLogsApplet;
  if (flags.positional().size() != 1) return fail(self, "want one CONTAINER"), kExitUsage;
  int64_t since = 0, until = INT64_MAX;
  std::string why;
  if (flags.has("since") && !container::parse_log_time(flags.get("since"), now_ns(), &since, &why))
    return fail(self, why), kExitUsage;
  if (flags.has("until") && !container::parse_log_time(flags.get("until"), now_ns(), &until, &why))
    return fail(self, why), kExitUsage;
  long tail = -1;
  if (flags.has("tail") && flags.get("tail") != "all") {
    char* end;
    tail = std::strtol(flags.get("tail").c_str(), &end, 10);
    if (*end || flags.get("tail").empty() || tail < 0) return fail(self, "invalid --tail " + flags.get("tail")), kExitUsage;
  }
  Error err;
  container::Containers all;
  std::unique_ptr<container::Container> ct;
  if (!open_containers(flags, &all, &err) || !find_container(all, flags.positional()[0], &ct, &err))
    return container_fail(self, err);
  std::string path = ct->path("ctr.log");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return fail(self, sys_error(path));
  Printer out{flags.has("timestamps")};
  container::LogParser parser;
  std::deque<std::string> kept;  // --tail: the last lines, with their records' headers
  std::deque<container::LogRecord> kept_records;
  bool follow = flags.has("follow");
  // The log as it is now, then (with -f) what comes while the supervisor lives.
  auto drain = [&](bool initial) -> bool {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = fd < 0 ? 0 : ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return true;
      parser.feed({buf, size_t(n)});
      container::LogRecord r;
      while (parser.next(&r, &err)) {
        if (r.time_ns < since || r.time_ns > until) continue;
        if (initial && tail >= 0) {
          kept.emplace_back(r.data);
          kept_records.push_back(r);
          kept_records.back().data = kept.back();
          if (long(kept.size()) > tail) kept.pop_front(), kept_records.pop_front();
        } else {
          out.print(r);
        }
      }
      if (!err.message.empty()) return false;
    }
  };
  if (!drain(true)) return container_fail(self, err);
  for (const container::LogRecord& r : kept_records) out.print(r);
  if (!follow) return 0;
  // inotify wakes the follower as the supervisor writes; the lock tells
  // when the container is gone for good.
  int in = ::inotify_init1(IN_CLOEXEC);
  if (in >= 0) ::inotify_add_watch(in, ct->dir().c_str(), IN_MODIFY | IN_CREATE);
  while (ct->supervised()) {
    pollfd p{in, POLLIN, 0};
    if (::poll(&p, in >= 0 ? 1 : 0, 200) > 0) {
      char ev[4096];
      (void)!::read(in, ev, sizeof ev);
    }
    if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (!drain(false)) return container_fail(self, err);
  }
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (!drain(false)) return container_fail(self, err);
  return 0;
}

}  // namespace

extern const Applet kLogsApplet = {
    .name = "logs",
    .synopsis = "[OPTIONS] CONTAINER",
    .summary = "Print a container's output",
    .description = "What the container's main process wrote, stdout to stdout and stderr to stderr,\n"
                   "exactly as written (binary-safe). Works while it runs and after it exited.",
    .options = kOptions,
    .run = logs_main,
};

}  // namespace ctk
