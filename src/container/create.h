// Creating a container: the passes that turn what the user asked for into a
// container on disk, ready to start. Each is timed:
//   image and rootfs   the image pulled when missing, its layers (or layer
//                      files) built once into a shared read-only ext4 image
//   image config       docker's rules for Entrypoint/Cmd/Env/WorkingDir/User
//   networks           an address on each network it joins (network/networks.h)
//   writable layer     the container's own sparse ext4 disk with a journal
// `ctk create`, `ctk run` (and later the Docker API) share them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/timer.h"
#include "container/state.h"
#include "oci/pull.h"

namespace ctk::container {

struct CreateOptions {
  std::vector<std::string> inputs;  // one ROOTFS.ext4, LAYER archives in order, or one IMAGE reference
  bool image = false;               // inputs[0] is an image reference (pulled when not in the store)
  std::string name;                 // "": generated
  std::string entrypoint;           // --entrypoint: replaces the image's
  std::vector<std::string> args;    // the command; the image's Cmd when empty
  std::vector<std::string> env;     // "K=V", over the image's
  std::string workdir;              // "": the image's, else /
  std::string user;                 // "": the image's, else root
  std::string hostname;             // "": the name
  bool interactive = false;
  bool tty = false;
  uint64_t memory_limit = 0;
  double cpus = 0;
  int64_t pids_limit = 0;
  std::string network = "none";     // none, nat, or the first network's name (docker's NetworkMode)
  struct NetworkRequest {
    std::string name;
    std::vector<std::string> aliases;
    std::string ip;  // "": the lowest free address
    std::string mac;  // "": ctk's choice; only the first network's counts (one NIC)
    std::map<std::string, std::string> driver_opts;
  };
  std::vector<NetworkRequest> networks;  // joined by create, in order
  std::vector<std::string> cap_add, cap_drop;  // canonical names ("CAP_NET_RAW") or "ALL"
  std::vector<std::string> group_add;  // more groups for its processes: names or gids
  bool no_new_privileges = false;
  uint64_t timeout = 0;  // seconds the main process may run; 0: no limit
  std::vector<PortBinding> ports;
  std::vector<MountPoint> mounts;  // -v, --mount, --tmpfs
  std::vector<std::string> volumes_from;  // --volumes-from CONTAINER[:ro|:rw]
  bool read_only = false;
  bool publish_all = false;  // -P: the image's ExposedPorts on ephemeral ports
  RestartPolicy restart;
  bool auto_remove = false;
  std::map<std::string, std::string> labels;
  std::string log_driver = "json-file";  // or "none" (log_driver_known)
  std::map<std::string, std::string> log_options;
  std::string stop_signal;  // "": the image's, else SIGTERM
  int stop_timeout = -1;    // seconds; -1: 10
  uint64_t writable_size = 0;  // the writable layer's size; 0: the default
  vz::MachineConfig machine;
  oci::PullOptions pull;  // registry flags and platform, for an image not in the store
  bool pull_if_missing = true;  // false: an image not in the store is not_found (the Docker API pulls first)
};

// What a VM needs besides its container's memory limit: the guest kernel,
// the agent, the page cache.
constexpr unsigned kVmMemoryOverheadMib = 128;
// docker's --memory (bytes; 0: none) and --cpus (0: none) as the
// container's limits and its VM's size: at least the default VM, the limit
// plus the overhead, whole vCPUs rounded up.
void set_limits(CreateOptions* o, uint64_t memory, double cpus);

// Whether ctk has the log driver docker names so: json-file, none.
bool log_driver_known(const std::string& name);

// The default size of a writable layer: a sparse file, so it costs only what
// the container writes.
constexpr uint64_t kDefaultWritableSize = 16ull << 30;

// Splits positionals into root filesystem inputs and the command: a first
// argument that is an ext4 image stands alone; leading arguments that are
// archive files (sniffed from content) are layers; a first argument that is
// no file is an image reference.
bool split_inputs(const std::vector<std::string>& positional, std::vector<std::string>* inputs, bool* image,
                  std::vector<std::string>* command, std::string* err);

// Creates the container; fills *spec (with its id and name).
bool create(Containers& containers, const CreateOptions& options, Timings& timings, Spec* spec, Error* err);

// Makes an empty ext4 image of `size` bytes with a journal at path (sparse).
bool make_writable_layer(const std::string& path, uint64_t size, const std::string& seed, Error* err);

}  // namespace ctk::container
