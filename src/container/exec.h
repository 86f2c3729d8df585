// A command run in a running container (`ctk exec`, docker's exec
// instances): the process the agent is asked for, with the container's
// environment, working directory and user under the caller's, and its stdio
// on channels of the caller's supervisor connection.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "container/attach.h"
#include "container/state.h"
#include "proto/client.h"

namespace ctk::container {

struct ExecOptions {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V", after the container's
  std::string workdir;           // "": the container's
  std::string user;              // "": the container's
  bool tty = false;
  bool stdin_open = false;       // -i
  bool attach_output = true;     // false: detached, output dropped
  unsigned rows = 0, cols = 0;   // the pty's first size (tty)
  std::string exec_id = "1";     // unique on the connection (the supervisor scopes it)
};

// Starts the process on conn (a supervisor connection) and waits for the
// agent to say it runs; *p is ready for attach() (its wait already sent).
// On failure *agent_code has the agent's code (exit_code_for_agent_error).
bool start_exec(proto::Client& conn, const Spec& spec, const ExecOptions& o, AttachedProcess* p,
                std::string* agent_code, Error* err);

}  // namespace ctk::container
