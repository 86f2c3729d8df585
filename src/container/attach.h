// The stdio loop of a client attached to a process in a container: this
// process's stdin to the process (raw mode for a tty), its output to our
// stdout and stderr, signals forwarded (docker's sig-proxy), the terminal's
// size kept in sync, until the process's exit. `ctk run`, `start -a`,
// `attach` and `exec` all use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "proto/client.h"

namespace ctk::container {

struct AttachedProcess {
  uint32_t out = 0, err = 0, in = 0;  // channels on the connection; in == out for a tty
  bool tty = false;
  bool stdin_open = false;  // forward our stdin
  int64_t wait_id = 0;      // the request whose reply is the exit
  // Added to kill and resize requests: {"exec_id": ...} for an exec, {} for the main process.
  nlohmann::json target = nlohmann::json::object();
  bool proxy_signals = true;
  // The bytes of the detach sequence (detach_keys.h), watched for in the
  // input of a tty only, as docker does; empty: none.
  std::string detach_keys{};
};

// Where an attached process's stdio goes: this terminal (attach()), or an
// API client's hijacked connection.
class AttachEnds {
 public:
  virtual ~AttachEnds() = default;
  // The fd polled for the process's stdin (-1: none), read by read_input
  // (0: the end of input, passed on as the stdin's EOF).
  virtual int input_fd() const { return -1; }
  virtual bool input_buffered() const { return false; }  // bytes readable without a poll saying so
  virtual ssize_t read_input(char*, size_t) { return 0; }
  // stream 1 (stdout, or the pty) or 2 (stderr). false: the reader is gone,
  // and the relay ends while the process runs on.
  virtual bool write_output(int stream, std::string_view data) = 0;
  // Another fd the loop polls, and what to do when it is readable.
  virtual int event_fd() const { return -1; }
  virtual void on_event(proto::Client&) {}
  // What the supervisor said of an exit besides its code ("the VM exited ...").
  virtual void exit_message(const std::string&) {}
};

// How a relay ended: the process exited (exit_code is its, with docker's
// 126/127 for one that never ran), or its detach keys were typed and it
// runs on.
struct RelayEnd {
  int exit_code = 125;
  bool detached = false;
};

// Relays until the wait reply or the detach keys.
bool relay(proto::Client& conn, const AttachedProcess& p, AttachEnds& ends, RelayEnd* end, std::string* err);

// relay() with this process's stdio, its terminal raw for a tty with stdin,
// signals forwarded and the terminal's size kept in sync.
bool attach(proto::Client& conn, const AttachedProcess& p, RelayEnd* end, std::string* err);

// The terminal's size, when fd 0 is one (0s otherwise).
void terminal_size(unsigned* rows, unsigned* cols);

}  // namespace ctk::container
