// ctk logs: a container's output.
#include <time.h>

#include <cstdio>
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
  container::LogQuery q{.since = since, .until = until, .tail = tail, .follow = flags.has("follow")};
  bool timestamps = flags.has("timestamps");
  auto print = [timestamps](const container::LogRecord& r) {
    FILE* f = r.stream == container::Stream::out ? stdout : stderr;
    if (timestamps) std::fprintf(f, "%s ", format_rfc3339(r.time_ns).c_str());
    std::fwrite(r.data.data(), 1, r.data.size(), f);
    std::fflush(f);
    return true;
  };
  if (!container::read_log(*ct, q, print, nullptr, &err)) return container_fail(self, err);
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
