// Port forwarding: {"op":"connect"} opens a TCP connection inside the guest
// and splices it to a data channel with the channel's usual flow control, or
// a connected UDP socket whose datagrams the channel carries framed
// (proto/datagram.h). The connect never blocks the agent: a TCP connection
// still in progress is polled for and the reply waits for its outcome.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/error.h"
#include "init/agent_state.h"
#include "proto/datagram.h"

namespace ctk::init {

namespace {

// A numeric IPv4 or IPv6 address: the agent resolves no names (no resolver in the guest).
bool parse_address(const std::string& host, uint16_t port, sockaddr_storage* sa, socklen_t* len) {
  *sa = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(sa);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof *v4;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(sa);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof *v6;
    return true;
  }
  return false;
}

// A socket in the network namespace of `pid` (0: the agent's own). Sockets
// stay in the namespace they were created in, so the agent steps in for the
// socket() call only.
int socket_in(pid_t pid, int family, int type, std::string* err) {
  type |= SOCK_CLOEXEC | SOCK_NONBLOCK;
  if (!pid) {
    int fd = ::socket(family, type, 0);
    if (fd < 0) *err = sys_error("socket");
    return fd;
  }
  std::string theirs = "/proc/" + std::to_string(pid) + "/ns/net";
  int own = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int ns = ::open(theirs.c_str(), O_RDONLY | O_CLOEXEC);
  int fd = -1;
  if (own < 0 || ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
    *err = sys_error(own < 0 ? "/proc/self/ns/net" : theirs);
  } else {
    fd = ::socket(family, type, 0);
    int saved = errno;
    // Going back into a namespace the agent holds an fd of cannot fail.
    ::setns(own, CLONE_NEWNET);
    errno = saved;
    if (fd < 0) *err = sys_error("socket");
  }
  if (own >= 0) ::close(own);
  if (ns >= 0) ::close(ns);
  return fd;
}

constexpr uint32_t kConnectExtraWindow = 768 * 1024;

std::string connect_code(int e) { return e == ECONNREFUSED ? "not_found" : "internal"; }

}  // namespace

// {"op":"connect", "port":P, "host":"127.0.0.1", "protocol":"tcp"|"udp",
//  "container":"ID"?, "channel":CH}
bool Agent::op_connect(Conn* c, const json& req, json* result, std::string* code,
                       std::string* err) {
  Container* ct;
  if (!optional_container(req, &ct, code, err)) return false;
  unsigned port = req.at("port").get<unsigned>();
  std::string host = req.value("host", "127.0.0.1");
  std::string protocol = req.value("protocol", "tcp");
  uint32_t ch = req.at("channel").get<uint32_t>();
  if (protocol != "tcp" && protocol != "udp") {
    *err = "protocol '" + protocol + "' (want tcp or udp)";
    return false;
  }
  bool udp = protocol == "udp";
  sockaddr_storage sa;
  socklen_t len;
  if (port == 0 || port > 65535 || !parse_address(host, uint16_t(port), &sa, &len)) {
    *err = "bad address '" + host + "' port " + std::to_string(port) +
           " (want a numeric IPv4 or IPv6 address and a port 1-65535)";
    return false;
  }
  if (!free_channel(c, ch, code, err)) return false;
  pid_t netns = 0;
  if (ct) {
    if (ct->init->state != Proc::State::kRunning) {
      *err = "container '" + ct->id + "' is not running";
      return false;
    }
    netns = ct->init->pid;
  }
  std::string what = "connect " + host + ":" + std::to_string(port) + (udp ? "/udp" : "");
  int fd = socket_in(netns, sa.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, err);
  if (fd < 0) {
    *code = "internal";
    return false;
  }
  // A UDP socket connects at once: it only fixes the peer address.
  bool done = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0;
  int e = errno;
  // Each direction gets its own fd so that either can end alone.
  int dup = done || e == EINPROGRESS ? ::fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
  if (dup < 0) {
    *code = done || e == EINPROGRESS ? "internal" : connect_code(e);
    *err = sys_error(done || e == EINPROGRESS ? "dup" : what);
    ::close(fd);
    return false;
  }
  Stream* s = open_stream(c, ch);
  // A published port's upload crosses the guest boundary, whose round trip
  // under emulation is milliseconds: 256 KiB of credit per round trip would
  // cap it at tens of MB/s. Its channel gets 1 MiB.
  if (!udp) c->mux.grant(ch, kConnectExtraWindow);
  s->socket = !udp;
  s->datagrams = udp;
  s->source_fd = fd;
  s->sink_fd = dup;
  if (done) {
    s->sink = s->source = End::kOpen;
    *result = json::object();
    return true;
  }
  s->sink = s->source = End::kPending;
  s->connecting = what;
  s->reply_id = req["id"];
  *result = nullptr;  // connected() replies
  return true;
}

// The connection in progress is writable: it is up, or it failed. Up, both
// directions start flowing; failed, the channel is released and the request
// gets the error.
void Agent::connected(Stream* s) {
  if (s->dead || s->connecting.empty()) return;
  int e = 0;
  socklen_t elen = sizeof e;
  if (::getsockopt(s->source_fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0) e = errno;
  std::string what = std::move(s->connecting);
  s->connecting.clear();
  if (e) {
    reply_error(s->conn, s->reply_id, connect_code(e), sys_error(what, e));
    close_sink(s, false);
    close_source(s);
    s->dead = true;
    s->conn->mux.release(s->ch);
    return;
  }
  s->sink = s->source = End::kOpen;
  reply(s->conn, s->reply_id, json::object());
}

// UDP promises no delivery, so a datagram the socket refuses is dropped, as
// is the error an earlier datagram's ICMP reply left on the socket (e.g.
// ECONNREFUSED: nothing listened), which the next call reports and clears.
void Agent::datagram_read(Stream* s) {
  if (s->dead || s->source != End::kOpen) return;
  char buf[proto::kDatagramHeader + proto::kMaxDatagram];
  ssize_t n = ::recv(s->source_fd, buf + proto::kDatagramHeader, proto::kMaxDatagram, 0);
  if (n < 0) return;  // nothing there (EAGAIN), or such an error
  proto::encode_datagram_header(size_t(n), buf);
  s->conn->mux.send(s->ch, buf, proto::kDatagramHeader + size_t(n));
  s->bytes += size_t(n);
}

void Agent::datagram_write(Stream* s) {
  if (s->dead || s->sink != End::kOpen) return;
  proto::Mux& mux = s->conn->mux;
  std::string_view payload;
  size_t used;
  while (proto::next_datagram(mux.received(s->ch), &payload, &used)) {
    ssize_t n = ::send(s->sink_fd, payload.data(), payload.size(), 0);
    // A failure that only reported an earlier datagram's error sent nothing.
    if (n < 0 && errno == ECONNREFUSED) n = ::send(s->sink_fd, payload.data(), payload.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;  // the send buffer is full: poll
    mux.consume(s->ch, used);
    if (n >= 0) s->bytes += size_t(n);
  }
}

}  // namespace ctk::init
