// A container's networks as its VM sees them (docs/ARCHITECTURE.md,
// "Networks"): one NIC on the data root's switch with an address on each
// network the container is on, QEMU's NAT NIC when any of them (or
// `--network nat`) lets it out, and the guest calls that configure both and
// write /etc/resolv.conf and /etc/hosts. Also the switch's keeping: started
// when a VM needs it, started again when it dies.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "container/state.h"
#include "net/topology.h"
#include "proto/client.h"
#include "vz/vm.h"

namespace ctk::container {

// The container on one network.
struct Attachment {
  std::string network;
  uint32_t ipv4 = 0;
  unsigned prefix_len = 0;
  uint32_t gateway = 0;
  bool internal = false;
};

struct Networking {
  std::vector<Attachment> attachments;  // in the topology's order (by network name)
  std::string mac;  // the switch NIC's; "" without attachments
  bool nat = false;  // a NAT NIC: `--network nat`, or a network that is not internal

  bool operator==(const Networking&) const = default;
};

// What the topology says about container `spec.id`.
Networking plan_networking(const Spec& spec, const net::Topology& topology);

// The VM's NICs: the NAT one, and the switch one at <switch dir>/ports/<short id>.
void add_nics(const Networking& n, const std::string& switch_dir, const std::string& container_id,
              vz::VmConfig* vm);

// The guest calls for a first start: addresses, the default route through
// NAT, the container's resolv.conf (the first network's gateway, which
// answers names, or NAT's forwarder) and hosts (its address on the first
// network named by its hostname). `root` is the container's root in the guest.
std::vector<proto::Client::Call> network_calls(const Spec& spec, const Networking& n, const std::string& root);

// The call that moves a running VM's switch NIC from `before` to `after`
// (network connect/disconnect); invalid when the VM has no switch NIC.
bool change_call(const Networking& before, const Networking& after, proto::Client::Call* call, Error* err);

// Keeps the data root's switch running while a VM needs it: started (in its
// own session, so that it outlives this process) when nobody holds its lock,
// and checked twice a second until stop().
class SwitchKeeper {
 public:
  ~SwitchKeeper() { stop(); }
  // Starts the switch when none runs and waits (up to 2 s) for its socket.
  bool start(const std::string& data_root, Error* err);
  void stop();

 private:
  void watch();

  std::string data_root_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

// Starts `ctk network-switch` for data_root unless one runs; true once its
// socket exists.
bool ensure_switch(const std::string& data_root, Error* err);

}  // namespace ctk::container
