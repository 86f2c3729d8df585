// A container's output log (ctr.log): what its main process wrote to stdout
// and stderr, in order, each line a record with its stream and the time it
// arrived. Binary-safe (a record carries its length), so `ctk logs` gives
// back exactly the bytes written; a partial line is a record of its own.
//
// Record: "<o|e> <unix time in ns> <length>\n" then length bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace ctk::container {

enum class Stream : char { out = 'o', err = 'e' };

class LogWriter {
 public:
  ~LogWriter();
  bool open(const std::string& path, Error* err);
  // Appends data as one record per line. Failures (a full disk) are not
  // fatal to the container: they are counted and the data is dropped.
  // Before open (a container whose log driver is none) it keeps nothing.
  void write(Stream s, std::string_view data);
  uint64_t dropped() const { return dropped_; }

 private:
  int fd_ = -1;
  std::string buf_;
  uint64_t dropped_ = 0;
};

struct LogRecord {
  Stream stream;
  int64_t time_ns;
  std::string_view data;
};

// Reads records from a log as it grows: feed it what was read, take the
// complete records. A damaged record ends reading with an error.
class LogParser {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next complete record (valid until the next call), or false.
  bool next(LogRecord* r, Error* err);

 private:
  std::string buf_;
  size_t off_ = 0;
};

// What `logs` asks for: records in [since, until], the last `tail` of
// them (-1: all), and with follow what comes while the container runs.
struct LogQuery {
  int64_t since = 0, until = INT64_MAX;
  long tail = -1;
  bool follow = false;
};

class Container;

// Reads a container's log as the query says, each record to emit (in
// order). emit returning false ends it early (the reader is gone); so does
// `stop` returning true, checked while following (a client that hung up).
bool read_log(const Container& ct, const LogQuery& q, const std::function<bool(const LogRecord&)>& emit,
              const std::function<bool()>& stop, Error* err);

// Parses docker's --since/--until: RFC 3339 (date, time, zone optional
// parts), a unix time with fraction, or a duration ago (10m, 1h30m, 45s).
bool parse_log_time(const std::string& text, int64_t now_ns, int64_t* ns, std::string* err);

}  // namespace ctk::container
