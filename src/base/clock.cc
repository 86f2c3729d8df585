#include "base/clock.h"

#include <time.h>

#include <cstdio>

namespace ctk {

std::string format_rfc3339(int64_t ns) {
  // Floor division: a time before 1970 has a positive fraction of the second before it.
  int64_t frac = ns % 1000000000;
  if (frac < 0) frac += 1000000000;
  time_t secs = time_t((ns - frac) / 1000000000);
  tm t{};
  ::gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<long long>(frac));
  return buf;
}

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string now_rfc3339() { return format_rfc3339(now_ns()); }

}  // namespace ctk
