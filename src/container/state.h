// A container's life on disk (crun's state root): one directory per container
// under <data root>/containers/<64-hex id>/ holding
//   config.json  what create decided (Spec); changes only by rename
//   state.json   where it is in its life (State), written by whoever moves it
//   rw.ext4      its writable layer, the overlay upper the VM mounts
//   ctr.log      its output (log.h)
//   lock         flock'ed by the supervisor for its whole life
//   sock         the supervisor's socket (supervisor.h)
// Every ctk command reads these; none keeps containers in memory. A state
// that says "running" without a live supervisor (the lock is free) is shown
// as exited: a VM whose supervisor is gone is gone too (PDEATHSIG).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/error.h"
#include "base/random.h"
#include "container/mounts.h"
#include "vz/machine.h"

namespace ctk::container {

enum class Status { created, running, restarting, exited, removing };
const char* status_name(Status s);

struct PortBinding {
  std::string host_ip;         // "127.0.0.1" when not given
  uint16_t host_port = 0;      // 0: an ephemeral port, chosen at start
  uint16_t container_port = 0;
  std::string protocol = "tcp";  // or "udp"
};

// -p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]; a range is not supported.
bool parse_port(const std::string& text, PortBinding* out, std::string* err);
// "80/tcp" style keys (an image's ExposedPorts) for -P.
bool parse_exposed_port(const std::string& key, PortBinding* out, std::string* err);

struct RestartPolicy {
  std::string name = "no";  // no, always, unless-stopped, on-failure
  int max_retries = 0;      // on-failure:N; 0 = no limit
};
bool parse_restart_policy(const std::string& text, RestartPolicy* out, std::string* err);

// What create decided, fixed for the container's life.
struct Spec {
  std::string id;
  std::string name;
  std::string created;  // RFC 3339, UTC, nanoseconds
  std::string image;    // as the user named it: a reference, or the inputs
  std::string image_id;  // the image config's digest; "" for layer files
  std::string rootfs;   // the read-only image disk, shared
  std::vector<std::string> args;  // the process: entrypoint + cmd
  std::vector<std::string> env;
  std::string workdir = "/";
  std::string user;
  std::string hostname;
  bool tty = false;
  bool interactive = false;  // stdin kept open (-i)
  uint64_t memory_limit = 0;
  double cpus = 0;
  int64_t pids_limit = 0;
  std::string network = "none";  // none or nat
  // docker's default capabilities with these dropped, then added (--cap-drop,
  // --cap-add: canonical names or "ALL").
  std::vector<std::string> cap_add, cap_drop;
  std::vector<std::string> group_add;  // --group-add: names or gids, resolved in the guest
  std::vector<std::string> volumes_from;  // as given; their mounts are in `mounts`
  bool no_new_privileges = false;
  // The main process is killed this many seconds after it starts and exits
  // 124, as under timeout(1), and is not restarted; 0: no limit.
  uint64_t timeout = 0;
  std::vector<PortBinding> ports;
  std::vector<MountPoint> mounts;  // volumes (anonymous ones named by create), binds, tmpfs
  bool read_only = false;          // --read-only: the root filesystem is
  RestartPolicy restart;
  bool auto_remove = false;  // --rm
  std::string stop_signal = "SIGTERM";
  int stop_timeout = 10;  // seconds between the stop signal and SIGKILL
  std::map<std::string, std::string> labels;
  // docker's log driver: "json-file" (ctr.log, which logs and attach read)
  // or "none" (nothing kept); its options are kept as given (ctr.log is
  // never rotated).
  std::string log_driver = "json-file";
  std::map<std::string, std::string> log_options;
  vz::MachineConfig machine;  // kernel, initfs, arch, cpus, memory
};

// Where the container is in its life.
struct State {
  Status status = Status::created;
  int pid = 0;  // the supervisor's, while it runs
  std::string started_at, finished_at;
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;
  int restart_count = 0;
  bool manually_stopped = false;  // stop/kill: unless-stopped stays down
  std::vector<PortBinding> ports;  // as bound: ephemeral host ports filled in
};

nlohmann::json to_json(const Spec& s);
nlohmann::json to_json(const State& s);
bool spec_from_json(const nlohmann::json& j, Spec* s, std::string* err);
bool state_from_json(const nlohmann::json& j, State* s, std::string* err);


// The data root's containers/ folder.
class Containers {
 public:
  // data_root: "" = the default (the image store's root: $CTK_ROOT, ...).
  bool open(const std::string& data_root, Error* err);
  const std::string& data_root() const { return data_root_; }
  std::string dir(const std::string& id) const { return path_ + "/" + id; }

  // Every container id, in no particular order.
  bool list(std::vector<std::string>* ids, Error* err) const;
  // An id, a unique id prefix or a name: the full id. not_found / invalid
  // (an ambiguous prefix) otherwise.
  bool find(const std::string& ref, std::string* id, Error* err) const;
  // A fresh id and, when name is empty, a generated unused name; creates the
  // directory with spec saved. Names are checked and taken under one lock.
  bool create(Spec* spec, Error* err);
  bool rename(const std::string& id, const std::string& name, Error* err);
  // The names of the containers whose mounts name the volume (docker keeps a
  // volume for any container that has it, running or not).
  std::vector<std::string> volume_users(const std::string& volume) const;
  // The ids of the containers made from the image (its id, the config
  // digest), running or not: removing its last name would collect the
  // blobs and the root filesystem they boot from.
  std::vector<std::string> image_users(const std::string& image_id) const;
  // Removes a container's directory (its supervisor must be gone).
  bool remove(const std::string& id, Error* err);
  // Takes a container out of the listing at once, its files moved to
  // *moved for the caller to remove when it no longer uses them; its
  // network addresses are freed (container/networks.h).
  bool detach(const std::string& id, std::string* moved, Error* err);

 private:
  // Holds <containers>/.lock while names are checked and taken.
  int lock_names(Error* err) const;
  bool name_taken(const std::string& name, const std::string& except_id) const;

  std::string data_root_;
  std::string path_;
};

// One container's files.
class Container {
 public:
  Container(const Containers& all, std::string id) : id_(std::move(id)), dir_(all.dir(id_)) {}
  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_; }
  std::string path(const char* file) const { return dir_ + "/" + file; }

  bool load(Error* err);  // spec and state
  bool save_state(Error* err) const;
  bool save_spec(Error* err) const;

  // Whether a supervisor holds the lock (it lives).
  bool supervised() const;
  // The state as it is: "running" or "restarting" without a supervisor is
  // "exited" (code 255, the error says why). Call after load().
  State effective_state() const;

  Spec spec;
  State state;

 private:
  std::string id_;
  std::string dir_;
};

}  // namespace ctk::container
