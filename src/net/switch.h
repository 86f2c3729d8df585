// The user-space switch of a data root's networks (docs/ARCHITECTURE.md,
// "Networks"). Each VM's NIC is a unix datagram socket ports/<short id>; a
// port stands for its container, and its frames reach only the ports of
// containers that share a network with it. The switch also plays each
// network's gateway: it answers ARP and ping there, and DNS with the names
// of the running containers.
//
// Switch decides what to do with one frame and does no I/O, so the rules are
// tested in memory; run_switch() is the process around it: the sockets, the
// port directory, reloading the topology, forwarding DNS to the host.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/dns.h"
#include "net/frame.h"
#include "net/topology.h"

namespace ctk::net {

// The gateway's MAC on every network: locally administered, "ctk".
constexpr Mac kGatewayMac = {0x02, 0x63, 0x74, 0x6b, 0x00, 0x01};
constexpr uint16_t kDnsPort = 53;

// Who asked a DNS query, to send the answer back to.
struct Asker {
  std::string port;
  Host host;              // its MAC and address
  uint16_t udp_port = 0;  // its source port
  uint32_t gateway = 0;   // the address it asked, which answers
  uint16_t id = 0;        // the query's id
};

// A frame from asker.gateway:53 to the asker carrying a DNS message, whose id
// is set to asker.id (a forwarded query's answer comes back with another).
std::vector<uint8_t> dns_reply_frame(const Asker& asker, Bytes message);

// A query for a name the switch does not know, for the host's resolvers.
struct DnsForward {
  Asker asker;
  DnsQuery query;
  Bytes message;  // the query as the guest sent it, within the frame handled
};

// What to do with one frame.
struct Actions {
  std::vector<std::string> ports;  // send the frame, as it came, to each of these
  std::vector<uint8_t> reply;      // a frame from the gateway to the sender's port, if not empty
  std::optional<DnsForward> forward;
};

// A frame the switch sends of its own accord, and the ports it goes to.
struct Announcement {
  std::vector<std::string> ports;
  std::vector<uint8_t> frame;
};

class Switch {
 public:
  // What the networks are now. Learned MACs and live ports stay. An address
  // that has a new MAC (a container joined, or took an address another had)
  // is announced, from the second topology on: take_announcements().
  void set_topology(Topology topology);
  // Gratuitous ARPs (requests whose sender and target are the address) for
  // those addresses, to the live ports on their networks but the owner's:
  // a peer's ARP cache may still give a reused address its former owner's
  // MAC, whose frames go nowhere. Each is given once.
  std::vector<Announcement> take_announcements();
  // The ports with a VM behind them: only these get frames, and only their
  // containers' names resolve.
  void set_live_ports(std::set<std::string> ports);
  const std::set<std::string>& live_ports() const { return live_; }
  // A port whose socket is gone: no longer live, its learned MACs forgotten.
  void port_gone(const std::string& port);

  // The frame that came from from_port. A port whose container is on no
  // network, and anything malformed, gets nothing done.
  Actions handle(const std::string& from_port, Bytes frame);

 private:
  using Networks = std::vector<size_t>;  // indices into topology_.networks, ascending

  bool shares_network(const std::string& port, const Networks& with) const;
  void learn(const Mac& mac, const std::string& port);
  const std::string* owner(const Mac& mac) const;
  const Network* gateway_network(const Networks& networks, uint32_t ip) const;
  void answer(const std::string& from, const Networks& networks, const Ethernet& eth, Actions* out) const;
  void answer_dns(const Networks& networks, Asker asker, Bytes message, Actions* out) const;
  std::vector<uint32_t> lookup(const Networks& networks, std::string_view name) const;

  Topology topology_;
  bool has_topology_ = false;
  // Addresses with a MAC new to them since the last topology: network index, owner.
  std::vector<std::pair<size_t, Endpoint>> announce_;
  std::map<std::string, Networks> ports_;  // the ports of containers on some network
  // MACs the topology gives an endpoint belong to its container's port
  // whatever a guest sends from, so no guest can draw another's frames.
  std::map<Mac, std::string> pinned_;
  std::map<Mac, std::string> learned_;
  std::set<std::string> live_;
};

// The queries forwarded to the host's resolvers, by the id they went out with:
// a fresh random one each, so answers cannot be matched by guessing.
class PendingQueries {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kTimeout = std::chrono::seconds(5);  // what a resolver waits by default
  static constexpr size_t kMax = 1024;

  // Keeps the asker under a fresh id, false when kMax are pending.
  bool add(const Asker& asker, Clock::time_point now, uint16_t* id);
  // The asker of the query that went out as id, once; false when unknown or expired.
  bool take(uint16_t id, Clock::time_point now, Asker* asker);

 private:
  struct Entry {
    Asker asker;
    Clock::time_point expires;
  };
  std::unordered_map<uint16_t, Entry> entries_;
};

struct Resolver {
  uint32_t ipv4 = 0;  // host byte order
  uint16_t port = kDnsPort;
};

// The IPv4 `nameserver`s of a resolv.conf; 127.0.0.1 when it names none at all
// (or is missing), as resolv.conf(5) says.
std::vector<Resolver> host_resolvers(const std::string& resolv_conf);

// The runtime directory of the switch of a data root (its real path):
// $XDG_RUNTIME_DIR/ctk/net-HASH, else /tmp/ctk-UID/net-HASH, HASH being 12 hex
// digits of its SHA-256. Short, as unix socket paths end at 108 bytes.
std::string switch_dir(const std::string& data_root);

struct SwitchConfig {
  // Holds switch.sock, switch.lock and ports/ (made 0700 if missing). Each
  // VM's NIC is `-netdev dgram` with local path exactly dir + "/ports/" +
  // port_name(container id) and remote path dir + "/switch.sock".
  std::string dir;
  // The networks now; a failure keeps the last ones and is tried again.
  std::function<bool(Topology*, std::string* err)> load_topology;
  // Rewritten on every change of the networks: the topology is loaded again
  // when it changes, checked every 100 ms and before each frame for the gateway.
  std::string generation_path;
  std::vector<Resolver> resolvers;
  // The switch leaves when no port has been live for this long (counted from
  // its start). A port is live while a socket is bound at its path.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(10);
  // Set (by a signal handler, a test) to make run_switch return within 100 ms.
  const std::atomic<bool>* stop = nullptr;
};

// Runs the switch until it is idle or stopped: true then, and also when
// another switch holds dir/switch.lock (it says so on stderr). False with
// *err when it cannot start. Frames for a VM that reads slower than they
// come are held (up to 256), not lost. Unusual events go to stderr, one line
// each, at most one a second.
bool run_switch(const SwitchConfig& config, std::string* err);

}  // namespace ctk::net
