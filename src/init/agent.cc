#include "init/agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "init/agent_state.h"
#include "proto/datagram.h"
#include "init/vsock.h"
#include "init/worker.h"

namespace ctk::init {

namespace {

constexpr size_t kReadChunk = proto::kMaxPayload;
// Past this much unsent output the agent stops reading requests from a peer
// that does not read its replies; data channels are bounded by their windows.
constexpr size_t kMaxPendingOutput = 16 * 1024 * 1024;

// At most this much is read from a connection before requests are handled
// and other fds get their turn.
constexpr size_t kReadPerTurn = 1024 * 1024;

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

Agent::Agent() = default;

Agent::~Agent() {
  for (auto& c : conns_) ::close(c->fd);
  for (auto& s : streams_) {
    if (s->sink_fd >= 0) ::close(s->sink_fd);
    if (s->source_fd >= 0) ::close(s->source_fd);
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

bool Agent::listen(const std::string& address, std::string* err) {
  if (address.rfind("fd:", 0) == 0) {
    int fd = std::atoi(address.c_str() + 3);
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
      *err = sys_error(address);
      return false;
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    set_nonblocking(fd);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->owns_agent = true;
    conns_.push_back(std::move(c));
    return true;
  }
  if (address.rfind("vsock:", 0) == 0) {
    uint32_t port;
    if (!parse_vsock_address(address, &port, err)) return false;
    listen_fd_ = vsock_listen(port, err);
    return listen_fd_ >= 0;
  }
  if (address.rfind("unix:", 0) != 0) {
    *err = "unsupported address '" + address + "' (want unix:PATH, vsock:PORT or fd:N)";
    return false;
  }
  std::string path = address.substr(5);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path) {
    *err = "socket path '" + path + "' is empty or too long";
    return false;
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) {
    *err = sys_error("socket");
    return false;
  }
  ::unlink(path.c_str());
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) ||
      ::listen(listen_fd_, 16)) {
    *err = sys_error(path);
    return false;
  }
  return true;
}

bool Agent::setup_cgroups(uint64_t memory_max, std::string* err) {
  if (!cgroups_.init("/sys/fs/cgroup/ctk", err)) return false;
  return !memory_max || cgroups_.limit_agent_memory(memory_max, err);
}

bool Agent::run(std::string* err) {
  // Children are noticed through a signalfd; a peer that hangs up must not kill the agent.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) {
    *err = sys_error("signalfd");
    return false;
  }
  bool stop = false;
  while (!stop) {
    Poll set;
    if (listen_fd_ >= 0) set.add(listen_fd_, POLLIN, [this](short) { accept_conn(); });
    set.add(signal_fd_, POLLIN, [this, &stop](short) {
      signalfd_siginfo si;
      while (::read(signal_fd_, &si, sizeof si) == sizeof si)
        if (si.ssi_signo != SIGCHLD) stop = true;
      reap();
      cgroups_.retry_removals();
    });
    build_poll_set(&set);
    if (::poll(set.fds.data(), set.fds.size(), shutdown_timeout_ms()) < 0) {
      if (errno == EINTR) continue;
      *err = sys_error("poll");
      return false;
    }
    for (size_t i = 0; i < set.fds.size(); ++i)
      if (set.fds[i].revents) set.handlers[i](set.fds[i].revents);
    settle();
    if (shutdown_step()) break;
    if (listen_fd_ < 0 && conns_.empty()) break;  // the inherited stream is gone
  }
  // Nothing outlives the agent.
  for (auto& [id, ct] : containers_) {
    if (ct->init->pid > 0 && !ct->init->reaped) ::kill(ct->init->pid, SIGKILL);
    for (auto& [eid, p] : ct->execs)
      if (p->pid > 0 && !p->reaped) ::kill(p->pid, SIGKILL);
  }
  return true;
}

void Agent::build_poll_set(Poll* set) {
  for (auto& cp : conns_) {
    Conn* c = cp.get();
    size_t pending = c->mux.output().size();
    short ev = (pending < kMaxPendingOutput ? POLLIN : 0) | (pending ? POLLOUT : 0);
    set->add(c->fd, ev, [this, c](short rev) { conn_io(c, rev); });
  }
  for (auto& sp : streams_) {
    Stream* s = sp.get();
    if (!s->connecting.empty()) set->add(s->source_fd, POLLOUT, [this, s](short) { connected(s); });
    // A datagram is read only when the largest one fits the credit.
    size_t credit = s->datagrams ? proto::kDatagramHeader + proto::kMaxDatagram : 1;
    if (s->source == End::kOpen && s->conn->mux.send_window(s->ch) >= credit)
      set->add(s->source_fd, POLLIN, [this, s](short) { s->datagrams ? datagram_read(s) : stream_read(s); });
    if (s->sink == End::kOpen && sink_has_data(s))
      set->add(s->sink_fd, POLLOUT, [this, s](short) { s->datagrams ? datagram_write(s) : stream_write(s); });
  }
  for (auto& [id, ct] : containers_) {
    auto add = [&](Proc* p) {
      if (p->status_fd >= 0) set->add(p->status_fd, POLLIN, [this, p](short) { read_status(p); });
    };
    add(ct->init.get());
    for (auto& [eid, p] : ct->execs) add(p.get());
  }
}

void Agent::accept_conn() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;  // the peer went away already, or out of fds: it may retry
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  conns_.push_back(std::move(c));
}

void Agent::conn_io(Conn* c, short revents) {
  if (c->dead) return;
  if (revents & POLLIN) {
    // A virtio-serial port hands out one guest page per read: everything
    // there is taken now, not one page per turn of the loop, read straight
    // into the mux's buffer.
    ssize_t n;
    size_t got = 0;
    while (got < kReadPerTurn && (n = ::read(c->fd, c->mux.feed_space(kReadChunk), kReadChunk)) > 0) {
      c->mux.fed(size_t(n));
      got += size_t(n);
    }
    if (got == 0 && (n == 0 || (errno != EAGAIN && errno != EINTR))) {
      drop_conn(c);
      return;
    }
    if (got > 0) {
      std::string text;
      for (bool more = true; more;) {
        switch (c->mux.next(&text)) {
          case proto::Mux::Input::kNone: more = false; break;
          case proto::Mux::Input::kMessage: handle_message(c, text); break;
          case proto::Mux::Input::kError: reply_error(c, nullptr, "invalid_argument", text); break;
          case proto::Mux::Input::kFatal: {
            // Nothing after a bad length can be trusted: say why, then hang up.
            reply_error(c, nullptr, "invalid_argument", text + "; closing the connection");
            std::string_view out = c->mux.output();
            (void)!::write(c->fd, out.data(), out.size());
            drop_conn(c);
            return;
          }
        }
      }
    }
  } else if (revents & (POLLHUP | POLLERR)) {
    drop_conn(c);
    return;
  }
  while (!c->mux.output().empty()) {
    std::string_view out = c->mux.output();
    ssize_t n = ::write(c->fd, out.data(), out.size());
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EINTR) drop_conn(c);
      break;
    }
    c->mux.wrote(size_t(n));
  }
}

void Agent::stream_read(Stream* s) {
  if (s->dead || s->source != End::kOpen) return;
  char buf[kReadChunk];
  size_t want = std::min(sizeof buf, s->conn->mux.send_window(s->ch));
  ssize_t n = ::read(s->source_fd, buf, want);
  // The tty layer pushes a written line's text and its "\r\n" to the
  // master separately: a read between the two would split the line in two
  // messages (clients that stream tty output see the pieces). Up to 1 ms
  // for the rest of a line.
  if (n > 0 && s->pty && size_t(n) < want && buf[n - 1] != '\n') {
    pollfd p{s->source_fd, POLLIN, 0};
    if (::poll(&p, 1, 1) > 0) {
      ssize_t more = ::read(s->source_fd, buf + n, want - size_t(n));
      if (more > 0) n += more;
    }
  }
  if (n > 0) {
    s->conn->mux.send(s->ch, buf, size_t(n));
    s->bytes += size_t(n);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // EOF, or EIO from a pty master whose last slave holder exited.
  close_source(s);
  s->conn->mux.send_eof(s->ch);
}

void Agent::stream_write(Stream* s) {
  if (s->dead || s->sink != End::kOpen) return;
  std::string_view data = s->conn->mux.received(s->ch);
  ssize_t n = ::write(s->sink_fd, data.data(), data.size());
  if (n > 0) {
    s->conn->mux.consume(s->ch, size_t(n));
    s->bytes += size_t(n);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // The reader is gone (EPIPE): tell the peer to stop. A worker that failed
  // says why when it is reaped.
  close_sink(s, true);
}

bool Agent::sink_has_data(Stream* s) {
  std::string_view data = s->conn->mux.received(s->ch), payload;
  size_t used;
  return s->datagrams ? proto::next_datagram(data, &payload, &used) : !data.empty();
}

void Agent::close_sink(Stream* s, bool tell_peer) {
  // Closing one of a socket's two fds sends no FIN: the peer must see EOF.
  if (s->socket && s->sink_fd >= 0) ::shutdown(s->sink_fd, SHUT_WR);
  if (s->sink_fd >= 0) ::close(s->sink_fd);
  s->sink_fd = -1;
  s->sink = End::kDone;
  if (tell_peer) s->conn->mux.send_close(s->ch);
}

void Agent::close_source(Stream* s) {
  if (s->source_fd >= 0) ::close(s->source_fd);
  s->source_fd = -1;
  s->source = End::kDone;
}

Agent::Stream* Agent::stream(Conn* c, uint32_t ch) {
  for (auto& s : streams_)
    if (s->conn == c && s->ch == ch && !s->dead) return s.get();
  return nullptr;
}

Agent::Stream* Agent::open_stream(Conn* c, uint32_t ch) {
  c->mux.open(ch);
  streams_.push_back(std::make_unique<Stream>());
  Stream* s = streams_.back().get();
  s->conn = c;
  s->ch = ch;
  return s;
}

void Agent::reap() {
  for (;;) {
    int status;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& [id, ct] : containers_) {
      auto mark = [&](Proc* p) {
        if (p->pid != pid || p->reaped) return;
        p->reaped = true;
        p->wait_status = status;
      };
      mark(ct->init.get());
      for (auto& [eid, p] : ct->execs) mark(p.get());
    }
    for (auto& s : streams_)
      if (s->worker == pid) {
        s->worker_reaped = true;
        s->worker_status = status;
      }
  }
}

void Agent::read_status(Proc* p) {
  int fd = -1;
  ssize_t n = init::read_status(p->status_fd, &p->report, &fd);
  if (fd >= 0) attach_pty(p, fd);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
  ::close(p->status_fd);
  p->status_fd = -1;
  int code;
  std::string message;
  if (!p->report.empty() && parse_status_report(p->report, &code, &message)) {
    // The exit status says the same; the message is what the peer gets to see.
    p->exit_code = code;
    p->message = message;
    if (p->start_conn) {
      // The code says which: 127 nothing to run, 126 not runnable, 125 setup failed.
      const char* kind = code == kExitNotFound ? "not_found"
                         : code == kExitCannotExecute ? "invalid_argument" : "internal";
      reply_error(p->start_conn, p->start_id, kind, message);
    }
  } else {
    p->state = Proc::State::kRunning;
    if (p->start_conn) reply(p->start_conn, p->start_id, {{"pid", p->pid}});
  }
  p->start_conn = nullptr;
}

void Agent::attach_pty(Proc* p, int master) {
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  p->pty = master;
  uint32_t chans[2] = {p->in_ch, p->out_ch};
  for (int i = 0; i < 2; ++i) {
    Stream* s = p->conn && chans[i] ? stream(p->conn, chans[i]) : nullptr;
    if (!s) continue;
    // Each end gets its own fd so that either can be closed alone.
    int fd = ::fcntl(master, F_DUPFD_CLOEXEC, 3);
    if (i == 0) {
      s->sink_fd = fd;
      s->sink = End::kOpen;
    } else {
      s->source_fd = fd;
      s->source = End::kOpen;
      s->pty = true;
    }
  }
}

void Agent::process_exited(Proc* p, int code, const std::string& message) {
  // docker's OOMKilled: the kernel's OOM killer struck in the container
  // (SIGKILL, so 137 for the victim) while this process ran.
  p->oom_killed = message.empty() && oom_kills(p->container->cgroup) > p->oom_base;
  p->state = Proc::State::kExited;
  p->exit_code = code;
  p->message = message;
  if (p->pty >= 0) ::close(p->pty);
  p->pty = -1;
  // Input for a process that is gone: the peer is told to stop sending.
  if (p->conn && p->in_ch)
    if (Stream* s = stream(p->conn, p->in_ch); s && s->sink != End::kDone && s->sink != End::kNone)
      close_sink(s, true);
}

// Runs after every poll round: moves streams and processes along, replies to
// waits whose process is done, frees what died.
void Agent::settle() {
  for (auto& [id, ct] : containers_) {
    auto step = [&](Proc* p) {
      if (p->reaped && p->status_fd < 0 && p->state != Proc::State::kExited)
        process_exited(p, p->message.empty() ? exit_code_of(p->wait_status) : p->exit_code,
                       p->message);
    };
    step(ct->init.get());
    for (auto& [eid, p] : ct->execs) step(p.get());
  }
  for (auto& sp : streams_) {
    Stream* s = sp.get();
    if (s->dead) continue;
    proto::Mux& mux = s->conn->mux;
    // What is left then (part of a datagram) is dropped below.
    if (s->sink == End::kOpen && !sink_has_data(s) && mux.peer_eof(s->ch)) close_sink(s, false);
    if (s->sink == End::kNone || s->sink == End::kDone) mux.consume(s->ch, mux.received(s->ch).size());
    if (s->source == End::kOpen && mux.peer_closed(s->ch)) close_source(s);
    // A process that never ran produces no output.
    if (s->source == End::kPending && s->proc && s->proc->state == Proc::State::kExited) {
      s->source = End::kDone;
      mux.send_eof(s->ch);
    }
    bool sink_done = s->sink == End::kNone || s->sink == End::kDone;
    bool source_done = s->source == End::kNone || s->source == End::kDone;
    if (s->reply_pending && sink_done && source_done && s->worker_reaped) finish_copy(s);
    if (sink_done && source_done && !s->reply_pending) {
      s->dead = true;
      mux.release(s->ch);
    }
  }
  for (auto& [id, ct] : containers_) {
    finish_waits(ct->init.get());
    for (auto& [eid, p] : ct->execs) finish_waits(p.get());
  }
  std::erase_if(streams_, [](const auto& s) { return s->dead; });
  for (auto it = containers_.begin(); it != containers_.end();) {
    if (!it->second->deleted) {
      ++it;
      continue;
    }
    Container* ct = it->second.get();
    for (auto& s : streams_)
      if (s->proc && s->proc->container == ct) s->proc = nullptr;
    it = containers_.erase(it);
  }
  std::erase_if(conns_, [](const auto& c) { return c->dead; });
}

// A copy's reply, once its channel and its worker are done.
void Agent::finish_copy(Stream* s) {
  s->reply_pending = false;
  std::string why;
  if (!worker_succeeded(s->worker_status, s->worker_report.get(), s->path, &why)) {
    reply_error(s->conn, s->reply_id, "internal", why);
    return;
  }
  json result = s->result;
  result["size"] = s->bytes;
  reply(s->conn, s->reply_id, result);
}

void Agent::finish_waits(Proc* p) {
  if (p->waits.empty() || p->state != Proc::State::kExited) return;
  for (auto& s : streams_)
    if (s->proc == p && !s->dead && s->source != End::kDone && s->source != End::kNone) return;
  json result = {{"exit_code", p->exit_code}};
  if (!p->message.empty()) result["message"] = p->message;
  if (p->oom_killed) result["oom_killed"] = true;
  for (auto& [c, id] : p->waits) reply(c, id, result);
  p->waits.clear();
}

void Agent::drop_conn(Conn* c) {
  if (c->dead) return;
  c->dead = true;
  ::close(c->fd);
  for (auto& s : streams_) {
    if (s->conn != c || s->dead) continue;
    if (s->sink_fd >= 0) ::close(s->sink_fd);
    if (s->source_fd >= 0) ::close(s->source_fd);
    s->sink_fd = s->source_fd = -1;
    s->dead = true;
  }
  for (auto& [id, ct] : containers_) {
    auto forget = [c](Proc* p) {
      if (p->start_conn == c) p->start_conn = nullptr;
      if (p->conn == c) p->conn = nullptr;
      std::erase_if(p->waits, [c](const auto& w) { return w.first == c; });
    };
    forget(ct->init.get());
    for (auto& [eid, p] : ct->execs) forget(p.get());
  }
  if (shutdown_) std::erase_if(shutdown_->waiters, [c](const auto& w) { return w.first == c; });
}

// Paths and messages may hold bytes that are not UTF-8; they go out replaced, not thrown.
static std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Agent::reply(Conn* c, const json& id, const json& result) {
  if (c->dead) return;
  c->mux.send_message(dump(json{{"id", id}, {"result", result}}));
}

void Agent::reply_error(Conn* c, const json& id, const std::string& code,
                        const std::string& message) {
  if (c->dead) return;
  c->mux.send_message(dump(json{{"id", id}, {"error", {{"code", code}, {"message", message}}}}));
}

}  // namespace ctk::init
