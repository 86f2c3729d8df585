// A process's stdio on an API client's connection: docker's framing of
// stdout and stderr on one stream (8-byte headers: stream, 3 zero bytes,
// big-endian length; none with a tty, whose output is one raw stream), and
// the client's bytes after a hijack as the process's stdin; or the web UI's
// WebSocket.
#pragma once

#include <string>
#include <string_view>

#include "container/attach.h"
#include "http/connection.h"
#include "http/websocket.h"

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

// The ends of a WebSocket (the web UI's terminal): the client's binary or
// text messages are the process's stdin, its output goes out as binary
// messages, stdout and stderr alike (a pty has one stream); a ping is
// answered, and the client's close ends stdin and, answered, the relay.
class WebSocketEnds : public container::AttachEnds {
 public:
  explicit WebSocketEnds(http::Connection& conn) : conn_(conn) { decoder_.feed(conn.take_buffered()); }
  int input_fd() const override { return conn_.stream().fd(); }
  bool input_buffered() const override { return !input_.empty() || conn_.stream().pending(); }
  ssize_t read_input(char* buf, size_t size) override;
  bool write_output(int stream, std::string_view data) override;
  // Closes the WebSocket with a normal closure saying how the process ended.
  void close(int exit_code);

 private:
  // Reads what the socket has and decodes it; false when the client closed,
  // broke the protocol or went away.
  bool take_messages();

  http::Connection& conn_;
  http::WsDecoder decoder_;
  std::string input_;    // decoded stdin not yet given to the relay
  bool closed_ = false;  // a close frame went out
};

}  // namespace ctk::api
