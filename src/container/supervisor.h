// The supervisor: one process per running container (the role of podman's
// conmon), ctk itself as the hidden applet `ctk supervise`. It owns the VM
// and the agent connection; writes the main process's output to ctr.log and
// to attached clients; records exits in state.json; applies the restart
// policy and --timeout's deadline; forwards published ports over agent
// channels; and serves the agent protocol on <container>/sock, so `exec`,
// `attach`, `stop`, `top`, `cp` ...
// are proto::Client calls, the same code that talks to an agent directly.
//
// Requests a client may send (docs/PROTOCOL.md has the agent's own):
//   hello
//   started {files?}      replies once the main process runs (or failed to),
//                         with the start's phase timings; sent by the launcher.
//                         With files, a stopped container's VM boots for a
//                         copy only: its root and mounts are set up, nothing
//                         runs, no port, network or log; the state is left as
//                         it is, only hello, stat, list, copy_in, copy_out and stop
//                         are served (others: failed_precondition), and the
//                         VM powers off when its last client hangs up
//   attach {stdin?, stdout, stderr?}  the main process's live stdio on the
//                         client's channels (with a tty: stdout carries the pty)
//   wait {}               replies at the main process's next exit
//   stop {timeout?}       stop signal, SIGKILL after timeout s, then power off;
//                         replies when the VM is gone
//   kill {signal?} / resize {rows, cols}   to the main process
//   networks {}           the container's networks changed on disk (network
//                         connect/disconnect): its VM's addresses, resolv.conf
//                         and hosts follow
//   exec, wait/kill/resize with exec_id, processes, stats, stat, list,
//   copy_in, copy_out     forwarded to the agent (channels and exec ids mapped,
//                         "container" set to the container's)
#pragma once

#include <string>

#include "base/error.h"

namespace ctk::container {

// Runs the supervisor of container `id` under data_root until the container
// is stopped or exits for good; `launcher_fd` is a connected stream to the
// ctk process that started it (its requests are read before the VM boots).
// Returns the process exit code.
//
// When the VM itself dies (QEMU killed, the guest crashed) and the restart
// policy says to restart, the restart needs a new VM and all a start sets
// up: the supervisor, after its back-off, execs itself as
// `ctk supervise --relaunch BACKOFF_MS`, which has no launcher (launcher_fd
// -1) and carries the back-off on (relaunch_backoff_ms; -1 otherwise).
int supervise(const std::string& data_root, const std::string& id, int launcher_fd, int relaunch_backoff_ms = -1);

}  // namespace ctk::container
