// The stdio loop of a client attached to a process in a container: this
// process's stdin to the process (raw mode for a tty), its output to our
// stdout and stderr, signals forwarded (docker's sig-proxy), the terminal's
// size kept in sync, until the process's exit. `ctk run`, `start -a`,
// `attach` and `exec` all use it.
#pragma once

#include <cstdint>
#include <string>

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
};

// Runs until the wait reply; *exit_code is the process's, with docker's
// 126/127 for one that never ran.
bool attach(proto::Client& conn, const AttachedProcess& p, int* exit_code, std::string* err);

// The terminal's size, when fd 0 is one (0s otherwise).
void terminal_size(unsigned* rows, unsigned* cols);

}  // namespace ctk::container
