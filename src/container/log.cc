#include "container/log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <deque>

#include "base/clock.h"
#include "container/state.h"

namespace ctk::container {

namespace {

bool parse_int(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = unsigned(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

// "1h30m", "10m", "45s", "1.5h", "300ms": Go's durations, as docker takes them.
bool parse_duration(std::string_view s, int64_t* ns) {
  if (s.empty()) return false;
  double total = 0;
  while (!s.empty()) {
    size_t num = 0;
    while (num < s.size() && (std::isdigit(static_cast<unsigned char>(s[num])) || s[num] == '.')) ++num;
    if (num == 0) return false;
    double v = std::strtod(std::string(s.substr(0, num)).c_str(), nullptr);
    s.remove_prefix(num);
    size_t unit = 0;
    while (unit < s.size() && std::isalpha(static_cast<unsigned char>(s[unit]))) ++unit;
    std::string_view u = s.substr(0, unit);
    s.remove_prefix(unit);
    double scale = u == "h" ? 3600e9 : u == "m" ? 60e9 : u == "s" ? 1e9 : u == "ms" ? 1e6 : u == "us" ? 1e3 : u == "ns" ? 1 : -1;
    if (scale < 0) return false;
    total += v * scale;
  }
  *ns = int64_t(total);
  return true;
}

}  // namespace

LogWriter::~LogWriter() {
  if (fd_ >= 0) ::close(fd_);
}

bool LogWriter::open(const std::string& path, Error* err) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return err->fail_errno(path);
  return true;
}

void LogWriter::write(Stream s, std::string_view data) {
  if (fd_ < 0) return;  // not opened: the none log driver
  int64_t t = now_ns();
  buf_.clear();
  while (!data.empty()) {
    size_t nl = data.find('\n');
    size_t len = nl == std::string_view::npos ? data.size() : nl + 1;
    char head[64];
    int n = std::snprintf(head, sizeof head, "%c %lld %zu\n", char(s), static_cast<long long>(t), len);
    buf_.append(head, size_t(n));
    buf_.append(data.substr(0, len));
    data.remove_prefix(len);
  }
  // One write per chunk: a reader following the file sees whole records
  // almost always, and copes with partial ones anyway.
  std::string_view out = buf_;
  while (!out.empty()) {
    ssize_t n = ::write(fd_, out.data(), out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      dropped_ += out.size();
      return;
    }
    out.remove_prefix(size_t(n));
  }
}

bool LogParser::next(LogRecord* r, Error* err) {
  if (off_ > 0 && off_ >= buf_.size() / 2) {
    buf_.erase(0, off_);
    off_ = 0;
  }
  std::string_view rest = std::string_view(buf_).substr(off_);
  size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) {
    if (rest.size() > 64) return err->fail(ErrorCode::failure, "log: damaged record header");
    return false;
  }
  std::string_view head = rest.substr(0, nl);
  size_t sp1 = head.find(' '), sp2 = head.rfind(' ');
  int64_t t, len;
  if (head.size() < 5 || (head[0] != 'o' && head[0] != 'e') || sp1 != 1 || sp2 == sp1 ||
      !parse_int(head.substr(2, sp2 - 2), &t) || !parse_int(head.substr(sp2 + 1), &len) || len < 0)
    return err->fail(ErrorCode::failure, "log: damaged record header '" + std::string(head.substr(0, 40)) + "'");
  if (rest.size() - nl - 1 < size_t(len)) return false;
  r->stream = Stream(head[0]);
  r->time_ns = t;
  r->data = rest.substr(nl + 1, size_t(len));
  off_ += nl + 1 + size_t(len);
  return true;
}

bool parse_log_time(const std::string& text, int64_t now, int64_t* ns, std::string* err) {
  int64_t ago;
  if (parse_duration(text, &ago)) {
    *ns = now - ago;
    return true;
  }
  // A unix time, with an optional fraction.
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos) {
    *ns = int64_t(std::strtod(text.c_str(), nullptr) * 1e9);
    return true;
  }
  int y, mo, d, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || mo < 1 || mo > 12 || d < 1 || d > 31) {
    *err = "invalid time '" + text + "': want RFC 3339, a unix time or a duration such as 10m";
    return false;
  }
  std::string_view rest = std::string_view(text).substr(size_t(used));
  double frac = 0;
  int64_t zone = 0;
  if (!rest.empty() && (rest[0] == 'T' || rest[0] == ' ')) {
    int n = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d:%2d%n", &h, &mi, &s, &n) != 3) {
      *err = "invalid time '" + text + "'";
      return false;
    }
    rest.remove_prefix(size_t(n) + 1);
    if (!rest.empty() && rest[0] == '.') {
      size_t k = 1;
      while (k < rest.size() && std::isdigit(static_cast<unsigned char>(rest[k]))) ++k;
      frac = std::strtod(std::string(rest.substr(0, k)).c_str(), nullptr);
      rest.remove_prefix(k);
    }
    if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
      int zh, zm;
      if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &zh, &zm) != 2) {
        *err = "invalid time zone in '" + text + "'";
        return false;
      }
      zone = (rest[0] == '+' ? 1 : -1) * (zh * 3600 + zm * 60);
      rest = {};
    } else if (rest == "Z") {
      rest = {};
    }
  }
  if (!rest.empty()) {
    *err = "invalid time '" + text + "'";
    return false;
  }
  int64_t secs = days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + s - zone;
  *ns = secs * 1000000000 + int64_t(frac * 1e9);
  return true;
}

bool read_log(const Container& ct, const LogQuery& q, const std::function<bool(const LogRecord&)>& emit,
              const std::function<bool()>& stop, Error* err) {
  std::string path = ct.path("ctr.log");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return err->fail_errno(path);
  struct Closer {
    int& fd;
    int in = -1;
    ~Closer() {
      if (fd >= 0) ::close(fd);
      if (in >= 0) ::close(in);
    }
  } closer{fd};
  LogParser parser;
  // --tail: the last records, their data copied (a record's view dies with
  // the parser's next read).
  std::deque<std::string> kept;
  std::deque<LogRecord> kept_records;
  bool reader_gone = false;
  // The log as it is now (initial), then what comes while following.
  auto drain = [&](bool initial) -> bool {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = fd < 0 ? 0 : ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return err->fail_errno(path);
      if (n == 0) return true;
      parser.feed({buf, size_t(n)});
      LogRecord r;
      while (parser.next(&r, err)) {
        if (r.time_ns < q.since || r.time_ns > q.until) continue;
        if (initial && q.tail >= 0) {
          kept.emplace_back(r.data);
          kept_records.push_back(r);
          kept_records.back().data = kept.back();
          if (long(kept.size()) > q.tail) kept.pop_front(), kept_records.pop_front();
        } else if (!emit(r)) {
          reader_gone = true;
          return true;
        }
      }
      if (!err->message.empty()) return false;
    }
  };
  if (!drain(true)) return false;
  for (const LogRecord& r : kept_records)
    if (!reader_gone && !emit(r)) reader_gone = true;
  if (!q.follow || reader_gone) return true;
  // inotify wakes the follower as the supervisor writes; the lock tells
  // when the container is gone for good.
  closer.in = ::inotify_init1(IN_CLOEXEC);
  if (closer.in >= 0) ::inotify_add_watch(closer.in, ct.dir().c_str(), IN_MODIFY | IN_CREATE);
  while (ct.supervised() && !reader_gone && !(stop && stop())) {
    pollfd p{closer.in, POLLIN, 0};
    if (::poll(&p, closer.in >= 0 ? 1 : 0, 200) > 0) {
      char ev[4096];
      (void)!::read(closer.in, ev, sizeof ev);
    }
    if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (!drain(false)) return false;
  }
  if (reader_gone) return true;
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  return drain(false);
}

}  // namespace ctk::container
