// A process's stdio on an API client's connection: docker's framing of
// stdout and stderr on one stream (8-byte headers: stream, 3 zero bytes,
// big-endian length; none with a tty, whose output is one raw stream), and
// the client's bytes after a hijack as the process's stdin.
#pragma once

#include <string>
#include <string_view>

#include "container/attach.h"
#include "http/connection.h"

namespace ctk::api {

// stream: 0 stdin, 1 stdout, 2 stderr.
std::string frame(int stream, std::string_view data);

// The ends of a hijacked connection for container::relay.
class HijackedEnds : public container::AttachEnds {
 public:
  HijackedEnds(http::Connection& conn, bool tty, bool want_stdin, bool want_stdout, bool want_stderr)
      : conn_(conn), tty_(tty), stdin_(want_stdin), stdout_(want_stdout), stderr_(want_stderr),
        buffered_(conn.take_buffered()) {}
  int input_fd() const override { return stdin_ ? conn_.stream().fd() : -1; }
  bool input_buffered() const override { return !buffered_.empty() || conn_.stream().pending(); }
  ssize_t read_input(char* buf, size_t size) override;
  bool write_output(int stream, std::string_view data) override;

 private:
  http::Connection& conn_;
  bool tty_, stdin_, stdout_, stderr_;
  std::string buffered_;  // read with the request's head
};

}  // namespace ctk::api
