// Published ports (-p): the supervisor listens on the host and carries each
// TCP connection, or each UDP peer's datagrams, over an agent channel to the
// port inside the VM (the agent's `connect`, "protocol":"udp" for datagrams
// framed with proto/datagram.h). No guest network is needed, so it works the
// same with any VMM. Half-closes pass through; a connection accepted while
// nothing listens in the guest is closed at once.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "container/state.h"
#include "proto/client.h"

namespace ctk::container {

class PublishedPorts {
 public:
  // Sends an agent request and calls done with its reply.
  using Request = std::function<void(const std::string& op, nlohmann::json args,
                                     std::function<void(const nlohmann::json&)> done)>;
  // Adds fd to the next poll with a handler for its events.
  using Watch = std::function<void(int fd, short events, std::function<void(short)> handler)>;

  PublishedPorts() = default;
  ~PublishedPorts() { close(); }
  PublishedPorts(const PublishedPorts&) = delete;
  PublishedPorts& operator=(const PublishedPorts&) = delete;

  // Binds every port, before any VM boots; *bound gets them with ephemeral
  // host ports resolved. A port in use is a conflict naming it.
  bool bind(const std::vector<PortBinding>& ports, std::vector<PortBinding>* bound, Error* err);
  // Where connections go: the agent, its container (empty: none, and
  // connections are closed as they come).
  void route_to(proto::Client* agent, Request request, const std::string& container);
  // The sockets to poll this round.
  void watch(const Watch& watch);
  // After the agent's input: guest data to host sockets, ends and errors.
  void relay();
  // Closes every socket.
  void close();
  // Milliseconds until an idle UDP peer is forgotten (-1: none).
  int next_timeout_ms() const;

 private:
  struct Listener {
    int fd = -1;
    PortBinding binding;
  };
  struct TcpConn {
    int fd = -1;
    uint32_t ch = 0;
    bool connected = false;  // the agent's connect succeeded
    bool sock_eof = false;   // the host side sent all it will
    bool agent_eof = false;  // all the guest sent is written to the socket
    bool failed = false;
  };
  struct UdpPeer {
    Listener* listener;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    uint32_t ch = 0;
    bool connected = false;
    bool failed = false;
    std::string queued;  // framed datagrams waiting for the connect or for credit
    std::chrono::steady_clock::time_point last;
  };

  void accept_tcp(Listener* l);
  void tcp_io(TcpConn* c, short revents);
  void udp_in(Listener* l);
  // Asks the agent to connect channel ch to l's container port; done(ok).
  void connect(uint32_t ch, const Listener& l, std::function<void(bool)> done);

  proto::Client* agent_ = nullptr;
  Request request_;
  std::string container_;
  std::list<Listener> listeners_;
  std::list<TcpConn> tcp_;
  std::list<UdpPeer> udp_;
};

}  // namespace ctk::container
