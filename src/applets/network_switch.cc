// ctk network-switch: the user-space switch of a data root's networks
// (started by supervisors; not for users).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "base/error.h"
#include "container/networks.h"
#include "container/state.h"
#include "net/switch.h"
#include "network/networks.h"

namespace ctk {

extern const Applet kNetworkSwitchApplet;

namespace {

std::atomic<bool> stop_requested{false};

const Option kOptions[] = {kRootOption};

int network_switch_main(const Flags& flags) {
  const Applet& self = kNetworkSwitchApplet;
  if (!flags.positional().empty()) return fail(self, "takes no arguments"), kExitUsage;
  container::Containers containers;
  network::Networks networks;
  Error err;
  if (!containers.open(flags.get("root"), &err) || !networks.open(containers.data_root(), &err))
    return fail(self, err.message);
  std::string root = containers.data_root();
  net::SwitchConfig config;
  config.dir = net::switch_dir(root);
  config.load_topology = [root, networks_dir = networks.dir("")](net::Topology* topology, std::string* why) {
    // Opening the data root would make it again: a switch outliving its
    // data root (removed with its VMs) leaves it gone, and itself leaves.
    if (::access(networks_dir.c_str(), F_OK) != 0) {
      *why = sys_error(networks_dir);
      return false;
    }
    Error e;
    if (container::load_topology(root, topology, &e)) return true;
    *why = e.message;
    return false;
  };
  config.generation_path = networks.generation_file();
  // The host's resolvers get the names no container has; $CTK_RESOLV_CONF
  // names another file in resolv.conf's format.
  const char* resolv_conf = std::getenv("CTK_RESOLV_CONF");
  config.resolvers = net::host_resolvers(resolv_conf && *resolv_conf ? resolv_conf : "/etc/resolv.conf");
  config.stop = &stop_requested;
  struct sigaction sa{};
  sa.sa_handler = [](int) { stop_requested = true; };
  for (int sig : {SIGTERM, SIGINT}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  std::string why;
  if (!net::run_switch(config, &why)) return fail(self, why);
  return 0;
}

}  // namespace

extern const Applet kNetworkSwitchApplet = {
    .name = "network-switch",
    .synopsis = "[--root DIR]",
    .summary = "Switch the frames of a data root's networks (internal: started by supervisors)",
    .description = "Joins the network devices of the data root's VMs: forwards frames between containers\n"
                   "that share a network, and answers ARP, ping and DNS at each network's gateway.\n"
                   "Leaves when no VM has been on a network for 10 seconds.",
    .options = kOptions,
    .run = network_switch_main,
};

}  // namespace ctk
