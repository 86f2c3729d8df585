#include "container/ports.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/sockets.h"
#include "proto/datagram.h"

namespace ctk::container {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// A UDP peer silent this long is forgotten (its channel closed), as
// connection-tracking NATs forget idle UDP flows.
constexpr auto kUdpIdle = std::chrono::seconds(60);
// Datagrams waiting for credit beyond this are dropped, as UDP may.
constexpr size_t kUdpQueueMax = 256 * 1024;

}  // namespace

bool PublishedPorts::bind(const std::vector<PortBinding>& ports, std::vector<PortBinding>* bound, Error* err) {
  bound->clear();
  for (const PortBinding& b : ports) {
    Listener l;
    l.binding = b;
    std::string why;
    l.fd = bind_inet(b.host_ip, b.host_port, b.protocol == "udp", &l.binding.host_port, &why);
    if (l.fd < 0) {
      close();
      return err->fail(ErrorCode::conflict, why);
    }
    listeners_.push_back(l);
    bound->push_back(l.binding);
  }
  return true;
}

void PublishedPorts::route_to(proto::Client* agent, Request request, const std::string& container) {
  agent_ = agent;
  request_ = std::move(request);
  container_ = container;
}

void PublishedPorts::connect(uint32_t ch, const Listener& l, std::function<void(bool)> done) {
  json args = {{"container", container_}, {"host", "127.0.0.1"}, {"port", l.binding.container_port}, {"channel", ch}};
  if (l.binding.protocol == "udp") args["protocol"] = "udp";
  request_("connect", std::move(args), [done](const json& r) { done(!r.contains("error")); });
}

void PublishedPorts::watch(const Watch& watch) {
  for (Listener& l : listeners_) {
    if (l.binding.protocol == "udp") watch(l.fd, POLLIN, [this, &l](short) { udp_in(&l); });
    else watch(l.fd, POLLIN, [this, &l](short) { accept_tcp(&l); });
  }
  if (!agent_) return;
  proto::Mux& a = agent_->mux();
  for (TcpConn& c : tcp_) {
    short ev = 0;
    if (c.connected && !c.sock_eof && a.send_window(c.ch) > 0) ev |= POLLIN;
    if (!a.received(c.ch).empty()) ev |= POLLOUT;
    watch(c.fd, ev, [this, &c](short re) { tcp_io(&c, re); });
  }
}

void PublishedPorts::accept_tcp(Listener* l) {
  int fd = ::accept4(l->fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  if (container_.empty()) {
    ::close(fd);  // nothing runs to connect to: the client sees the close at once
    return;
  }
  TcpConn c;
  c.fd = fd;
  c.ch = agent_->open_channel();
  tcp_.push_back(c);
  uint32_t ch = c.ch;
  connect(ch, *l, [this, ch](bool ok) {
    // The host side may have gone meanwhile.
    for (TcpConn& t : tcp_)
      if (t.ch == ch) (ok ? t.connected : t.failed) = true;
  });
}

void PublishedPorts::tcp_io(TcpConn* c, short revents) {
  proto::Mux& a = agent_->mux();
  if ((revents & (POLLIN | POLLHUP | POLLERR)) && c->connected && !c->sock_eof) {
    // As much as the channel's credit allows, in one turn of the loop.
    char buf[256 * 1024];
    while (size_t room = std::min(sizeof buf, a.send_window(c->ch))) {
      ssize_t n = ::read(c->fd, buf, room);
      if (n > 0) {
        a.send(c->ch, buf, size_t(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        c->sock_eof = true;
        a.send_eof(c->ch);
      }
      break;
    }
  }
  if (revents & POLLERR) c->failed = true;
}

void PublishedPorts::udp_in(Listener* l) {
  char buf[proto::kMaxDatagram];
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(l->fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return;
    if (container_.empty()) continue;
    auto it = std::find_if(udp_.begin(), udp_.end(), [&](const UdpPeer& p) {
      return p.listener == l && p.addr_len == len && std::memcmp(&p.addr, &from, len) == 0;
    });
    if (it == udp_.end()) {
      UdpPeer p;
      p.listener = l;
      p.addr = from;
      p.addr_len = len;
      p.ch = agent_->open_channel();
      udp_.push_back(p);
      it = std::prev(udp_.end());
      uint32_t ch = p.ch;
      connect(ch, *l, [this, ch](bool ok) {
        for (UdpPeer& u : udp_)
          if (u.ch == ch) (ok ? u.connected : u.failed) = true;
      });
    }
    it->last = Clock::now();
    if (it->queued.size() + size_t(n) + proto::kDatagramHeader > kUdpQueueMax) continue;
    char head[proto::kDatagramHeader];
    proto::encode_datagram_header(size_t(n), head);
    it->queued.append(head, sizeof head);
    it->queued.append(buf, size_t(n));
  }
}

void PublishedPorts::relay() {
  if (!agent_) return;
  proto::Mux& a = agent_->mux();
  for (TcpConn& c : tcp_) {
    if (!c.connected || c.agent_eof) continue;
    std::string_view data = a.received(c.ch);
    if (!data.empty()) {
      ssize_t n = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) a.consume(c.ch, size_t(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR) c.failed = true;
    }
    // The guest's EOF becomes a half-close, so request/response protocols work.
    if (a.received(c.ch).empty() && (a.peer_eof(c.ch) || a.peer_closed(c.ch))) {
      ::shutdown(c.fd, SHUT_WR);
      c.agent_eof = true;
      if (a.peer_closed(c.ch)) c.sock_eof = true;
    }
  }
  std::erase_if(tcp_, [&](TcpConn& c) {
    bool over = c.failed || (c.sock_eof && c.agent_eof);
    if (over) {
      ::close(c.fd);
      if (a.is_open(c.ch)) {
        a.send_close(c.ch);
        a.release(c.ch);
      }
    }
    return over;
  });
  auto now = Clock::now();
  for (UdpPeer& p : udp_) {
    if (!p.connected) continue;
    // Whole datagrams only, as credit allows.
    size_t sendable = 0;
    std::string_view q = p.queued, payload;
    size_t used;
    while (proto::next_datagram(q.substr(sendable), &payload, &used) && sendable + used <= a.send_window(p.ch))
      sendable += used;
    if (sendable) {
      a.send(p.ch, p.queued.data(), sendable);
      p.queued.erase(0, sendable);
    }
    std::string_view in = a.received(p.ch);
    size_t taken = 0;
    while (proto::next_datagram(in.substr(taken), &payload, &used)) {
      ::sendto(p.listener->fd, payload.data(), payload.size(), MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&p.addr), p.addr_len);
      taken += used;
      p.last = now;
    }
    if (taken) a.consume(p.ch, taken);
    if (a.peer_closed(p.ch) || a.peer_eof(p.ch)) p.failed = true;
  }
  std::erase_if(udp_, [&](UdpPeer& p) {
    bool over = p.failed || now - p.last > kUdpIdle;
    if (over && a.is_open(p.ch)) {
      a.send_close(p.ch);
      a.send_eof(p.ch);
      a.release(p.ch);
    }
    return over;
  });
}

int PublishedPorts::next_timeout_ms() const {
  if (udp_.empty()) return -1;
  auto oldest = std::min_element(udp_.begin(), udp_.end(), [](const UdpPeer& x, const UdpPeer& y) {
                  return x.last < y.last;
                })->last;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(oldest + kUdpIdle - Clock::now()).count();
  return int(std::max<int64_t>(0, left) + 1);
}

void PublishedPorts::close() {
  for (Listener& l : listeners_) ::close(l.fd);
  for (TcpConn& c : tcp_) ::close(c.fd);
  listeners_.clear();
  tcp_.clear();
  udp_.clear();
  container_.clear();
}

}  // namespace ctk::container
