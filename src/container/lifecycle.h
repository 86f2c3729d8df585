// A container's life seen from a client (the CLI, later the API server):
// starting its supervisor, talking to it, stopping, removing. Nothing here
// keeps state: each call reads the container's files and its supervisor.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/timer.h"
#include "container/attach.h"
#include "container/state.h"
#include "proto/client.h"
#include "volume/volumes.h"

namespace ctk::container {

// What a start wants from the supervisor besides starting.
struct StartRequest {
  bool attach = false;  // the main process's output (and stdin with -i) on this connection
  bool wait = false;    // a wait for its exit, sent before the start
  bool files = false;   // a stopped container's VM for copies only (supervisor.h)
};

// Channel ids an attaching client uses.
inline constexpr uint32_t kAttachOut = 1, kAttachErr = 2, kAttachIn = 3;

// The main process's stdio as an attaching client sees it: stdout (the pty
// with a tty), stderr, and stdin when the container keeps it open and the
// client wants it.
AttachedProcess main_attachment(const Spec& spec, bool want_stdin);
// The supervisor's `attach` request for those channels, opened on conn.
nlohmann::json attach_request(const AttachedProcess& p, proto::Client* conn);

struct Started {
  int64_t wait_id = 0;     // with StartRequest::wait: the request that answers the exit
  std::string agent_code;  // on failure, the agent's code for the process (not_found: 127 ...)
  std::string notice;      // how the VM runs, e.g. "no /dev/kvm: software emulation (TCG)"
};

// Starts the supervisor of a created or exited container (`ctk supervise`,
// in its own session) and waits until the main process runs. *conn is then
// connected to it. The supervisor's phase timings are added to timings.
bool start(const Containers& all, Container& ct, const StartRequest& request, proto::Client* conn,
           Started* out, Timings& timings, Error* err);

// Connects to a running container's supervisor (hello done). conflict when
// it is not running.
bool connect(const Container& ct, proto::Client* conn, Error* err);

// Connects for copies (`ctk cp`, the archive API): to a running container's
// supervisor, else to one that boots the stopped container's VM for them
// (StartRequest::files) and powers it off once conn (and any other client
// that came meanwhile) closes. docker copies
// from and to a container in any state; ctk's writable layer is a disk only
// its VM mounts.
bool connect_for_files(const Containers& all, Container& ct, proto::Client* conn, Error* err);

// Stops a running container: its stop signal, SIGKILL after timeout_s, the
// VM powered off. Nothing to do for one that is not running.
bool stop(const Container& ct, int timeout_s, Error* err);

// Sends a signal to the main process; for SIGKILL, returns once it exited.
bool kill(const Container& ct, const std::string& signal, Error* err);

// Removes a container; a running one only with force (killed first).
// With volumes (rm -v), its anonymous volumes go too.
bool remove(Containers& all, Container& ct, bool force, bool volumes, Error* err);

// Removes the volume unless a container, running or not, names it in its
// mounts: then conflict, naming them. Call under the volumes' lock, which
// container creation holds too, so none can start using it between the two.
bool remove_volume(const Containers& all, volume::Volumes& volumes, const std::string& name, Error* err);

// `volume prune` (the CLI's and the API's): removes the volumes no container
// uses that match the filters (volume::parse_filter's, prune = true), only
// anonymous ones unless `named` too. Takes the volumes' lock itself. A volume
// that cannot be removed is skipped: err has the last such failure, and the
// result is false, with the others removed all the same.
struct PrunedVolumes {
  std::vector<std::string> names;
  uint64_t reclaimed = 0;  // volume::Volumes::size of each
};
bool prune_volumes(const Containers& all, volume::Volumes& volumes, bool named,
                   const std::vector<volume::Filter>& filters, PrunedVolumes* out, Error* err);

// Removes the anonymous volumes among `mounts` that no container uses any
// more (after their container is gone: rm -v, --rm). Best effort.
void remove_anonymous_volumes(const Containers& all, const std::vector<MountPoint>& mounts);

// Whether a container whose supervisor is gone (the host went down with it,
// or never started it since) should be started again, as docker's daemon
// does at its start: `always` ones, `unless-stopped` ones not stopped by
// hand, and `on-failure` ones that were running when they died.
bool should_restore(const Container& ct);
// Starts every container should_restore says; the names started, and one
// line per failure in *failures.
void restore(const Containers& all, std::vector<std::string>* started, std::vector<std::string>* failures);

// Waits for a running container to exit; its exit code.
bool wait(Container& ct, int* exit_code, Error* err);

}  // namespace ctk::container
