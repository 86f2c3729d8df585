// The switch process: frames arrive on switch.sock from the ports' sockets
// and leave through a socket connected to each port's, ports/<name>; DNS
// queries for outside names go to the host's resolvers from one UDP socket.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <sstream>

#include "base/dirs.h"
#include "base/error.h"
#include "base/file_io.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "net/switch.h"
#include "oci/fsutil.h"

namespace ctk::net {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<Resolver> host_resolvers(const std::string& resolv_conf) {
  std::string text, ignored;
  bool exists;
  bool named = false;  // any nameserver line, of any family
  std::vector<Resolver> out;
  if (read_file(resolv_conf, &text, &exists, &ignored) && exists) {
    for (const std::string& line : split(text, '\n')) {
      std::istringstream words(line);
      std::string key, address;
      in_addr a;
      if (!(words >> key >> address) || key != "nameserver") continue;
      named = true;
      if (::inet_pton(AF_INET, address.c_str(), &a) == 1) out.push_back({ntohl(a.s_addr), kDnsPort});
    }
  }
  if (!named) out.push_back({INADDR_LOOPBACK, kDnsPort});
  return out;
}

std::string switch_dir(const std::string& data_root) {
  Digest d = sha256({reinterpret_cast<const uint8_t*>(data_root.data()), data_root.size()});
  return runtime_root() + "/net-" + to_hex(d).substr(0, 12);
}

namespace {

constexpr size_t kBatch = 32;             // frames taken per recvmmsg
constexpr size_t kMaxFrame = 64 * 1024;   // what a datagram may hold; more is dropped
static_assert(kMaxFrame >= kMtu + 14, "a frame of the NICs' MTU and its Ethernet header fit");
constexpr size_t kMaxHeld = 256;          // frames held for a port, as a switch port's buffer
constexpr int kSendBuffer = 4 << 20;      // what may be on the way to one VM
constexpr auto kReloadCheck = 100ms;
constexpr auto kRescan = 1s;

bool unix_address(const std::string& path, sockaddr_un* a, socklen_t* len) {
  *a = {};
  a->sun_family = AF_UNIX;
  if (path.size() >= sizeof a->sun_path) return false;
  path.copy(a->sun_path, path.size());
  *len = socklen_t(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return true;
}

sockaddr_in inet_address(const Resolver& r) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(r.ipv4);
  a.sin_port = htons(r.port);
  return a;
}

// A port's way out: a socket connected to the VM's, which poll says is
// writable once the VM has read some of what waits in its socket (at most
// net.unix.max_dgram_qlen datagrams, 10 by default), and the frames held for
// it until then. So a burst to one VM waits for it instead of being lost,
// and no other port waits.
struct Out {
  UniqueFd fd;
  std::deque<std::vector<uint8_t>> held;
};
using Outs = std::map<std::string, Out>;

enum class Sent { kDone, kFull, kGone };

class Loop {
 public:
  explicit Loop(const SwitchConfig& config) : c_(config), ports_dir_(config.dir + "/ports") {}
  bool run(std::string* err);

 private:
  bool open_sockets(std::string* err);
  // Loads the topology when the generation file changed; true when it did.
  bool reload_if_changed();
  void rescan();
  void receive_frames();
  void on_frame(const sockaddr_un& sender, socklen_t sender_len, Bytes frame);
  void receive_answers();
  void send(const std::string& port, Bytes frame);
  void flush(Outs::iterator it);
  Sent transmit(const std::string& port, Out* out, Bytes frame);
  bool connect_port(const std::string& port, Out* out);
  void drop_port(Outs::iterator it);
  void forward(const DnsForward& f);
  // At most one line a second: a guest cannot flood the log.
  void log(const std::string& line);

  const SwitchConfig& c_;
  const std::string ports_dir_;
  UniqueFd lock_, frames_, dns_;
  Switch switch_;
  PendingQueries pending_;
  Outs outs_;
  std::optional<std::string> generation_;  // the identity of what was loaded
  std::string load_error_;                 // the last one logged
  std::set<std::string> unknown_;          // senders not live, rescanned for this second
  Clock::time_point last_port_, next_reload_check_, next_rescan_, next_log_;
  size_t suppressed_ = 0;
  std::vector<uint8_t> buffers_;
};

bool Loop::run(std::string* err) {
  if (!oci::make_dirs(ports_dir_, 0700, err)) return false;
  std::string lock_path = c_.dir + "/switch.lock";
  lock_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock_.get() < 0) {
    *err = sys_error(lock_path);
    return false;
  }
  if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      *err = sys_error("lock " + lock_path);
      return false;
    }
    ::fprintf(stderr, "ctk network-switch: another switch runs in %s\n", c_.dir.c_str());
    return true;
  }
  if (!open_sockets(err)) return false;
  last_port_ = Clock::now();
  reload_if_changed();
  rescan();
  while (!(c_.stop && c_.stop->load())) {
    std::vector<pollfd> fds = {{frames_.get(), POLLIN, 0}, {dns_.get(), POLLIN, 0}};
    std::vector<std::string> holding;  // the port of each fds[2 + i]
    for (const auto& [port, out] : outs_) {
      if (out.held.empty()) continue;
      fds.push_back({out.fd.get(), POLLOUT, 0});
      holding.push_back(port);
    }
    if (::poll(fds.data(), fds.size(), int(std::chrono::milliseconds(kReloadCheck).count())) < 0 &&
        errno != EINTR) {
      *err = sys_error("poll");
      return false;
    }
    Clock::time_point now = Clock::now();
    // A new topology may name ports that ports/ had and it did not.
    if (now >= next_reload_check_ && reload_if_changed()) rescan();
    // Looked at once more before leaving: a VM may just have started.
    bool idle = now - last_port_ >= c_.idle_timeout;
    if (idle || now >= next_rescan_) {
      unknown_.clear();
      rescan();
    }
    if (idle && switch_.live_ports().empty()) {
      // Still under the lock: a switch that starts now binds a new socket.
      ::unlink((c_.dir + "/switch.sock").c_str());
      return true;
    }
    for (size_t i = 0; i < holding.size(); ++i) {
      auto it = outs_.find(holding[i]);
      if (fds[2 + i].revents && it != outs_.end()) flush(it);
    }
    if (fds[0].revents & POLLIN) receive_frames();
    if (fds[1].revents & POLLIN) receive_answers();
  }
  return true;
}

bool Loop::open_sockets(std::string* err) {
  std::string path = c_.dir + "/switch.sock";
  sockaddr_un a;
  socklen_t len;
  // The ports' paths are the longest: dir/ports/ and 12 hex digits.
  if (!unix_address(ports_dir_ + "/" + std::string(12, '0'), &a, &len)) {
    *err = "the switch's directory is too long for socket paths: " + c_.dir;
    return false;
  }
  unix_address(path, &a, &len);
  // A switch that died left its socket: bind needs the name free.
  ::unlink(path.c_str());
  frames_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (frames_.get() < 0 || ::bind(frames_.get(), reinterpret_cast<sockaddr*>(&a), len) != 0) {
    *err = sys_error("bind " + path);
    return false;
  }
  dns_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (dns_.get() < 0) {
    *err = sys_error("socket");
    return false;
  }
  buffers_.resize(kBatch * kMaxFrame);
  return true;
}

bool Loop::reload_if_changed() {
  next_reload_check_ = Clock::now() + kReloadCheck;
  std::string id, ignored;
  if (!c_.generation_path.empty() && !file_identity(c_.generation_path, &id, &ignored)) id.clear();
  if (generation_ == id) return false;
  Topology topology;
  std::string why;
  if (!c_.load_topology(&topology, &why)) {
    // Tried again at the next check; said once.
    if (why != load_error_) log("loading the networks: " + why);
    load_error_ = why;
    return false;
  }
  load_error_.clear();
  generation_ = id;
  switch_.set_topology(std::move(topology));
  return true;
}

// The live ports: the sockets in ports/ that someone has bound (a connect
// to a socket file whose owner is gone is refused, and sends nothing).
void Loop::rescan() {
  Clock::time_point now = Clock::now();
  next_rescan_ = now + kRescan;
  std::set<std::string> live;
  UniqueFd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  DIR* d = ::opendir(ports_dir_.c_str());
  if (!d || probe.get() < 0) {
    // ports/ gone (its data root's runtime directory removed): no VM can
    // reach this switch any more, and it leaves once idle.
    log(sys_error(ports_dir_));
    if (d) ::closedir(d);
    outs_.clear();
    switch_.set_live_ports({});
    return;
  }
  while (dirent* e = ::readdir(d)) {
    sockaddr_un a;
    socklen_t len;
    if (e->d_name[0] == '.' || (e->d_type != DT_SOCK && e->d_type != DT_UNKNOWN) ||
        !unix_address(ports_dir_ + "/" + e->d_name, &a, &len))
      continue;
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&a), len) == 0) live.insert(e->d_name);
  }
  ::closedir(d);
  if (!live.empty()) last_port_ = now;
  std::erase_if(outs_, [&](const auto& out) { return !live.count(out.first); });
  switch_.set_live_ports(std::move(live));
  // Addresses new to their MACs, now that the ports to tell are known.
  for (const Announcement& a : switch_.take_announcements())
    for (const std::string& port : a.ports) send(port, a.frame);
}

void Loop::receive_frames() {
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  sockaddr_un senders[kBatch];
  // Bounded, so the timers run while frames keep coming.
  for (int round = 0; round < 16; ++round) {
    for (size_t i = 0; i < kBatch; ++i) {
      iovs[i] = {buffers_.data() + i * kMaxFrame, kMaxFrame};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &senders[i];
      msgs[i].msg_hdr.msg_namelen = sizeof senders[i];
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = ::recvmmsg(frames_.get(), msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i)
      if (!(msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
        on_frame(senders[i], msgs[i].msg_hdr.msg_namelen, Bytes(buffers_.data() + i * kMaxFrame, msgs[i].msg_len));
    if (size_t(n) < kBatch) return;
  }
}

void Loop::on_frame(const sockaddr_un& sender, socklen_t sender_len, Bytes frame) {
  // The port is the sender's socket: a file of ports/, bound by the VM.
  size_t path_len = sender_len > offsetof(sockaddr_un, sun_path) ? sender_len - offsetof(sockaddr_un, sun_path) : 0;
  std::string path(sender.sun_path, ::strnlen(sender.sun_path, path_len));
  if (!path.starts_with(ports_dir_ + "/")) return;
  std::string port = path.substr(ports_dir_.size() + 1);
  if (port.empty() || port.find('/') != std::string::npos) return;
  if (!switch_.live_ports().count(port) && unknown_.insert(port).second) rescan();
  Ethernet eth;
  if (parse_ethernet(frame, &eth) && eth.dst == kGatewayMac) {
    // Names must be answered from what the networks are now, and with the
    // containers that run now.
    reload_if_changed();
    rescan();
  }
  Actions actions = switch_.handle(port, frame);
  for (const std::string& to : actions.ports) send(to, frame);
  if (!actions.reply.empty()) send(port, actions.reply);
  if (actions.forward) forward(*actions.forward);
}

void Loop::send(const std::string& port, Bytes frame) {
  auto it = outs_.try_emplace(port).first;
  Out& out = it->second;
  if (out.held.empty()) {
    Sent sent = transmit(port, &out, frame);
    if (sent == Sent::kGone) drop_port(it);
    if (sent != Sent::kFull) return;
  }
  // Behind the frames held already: a port's frames keep their order.
  if (out.held.size() < kMaxHeld) out.held.emplace_back(frame.begin(), frame.end());
}

void Loop::flush(Outs::iterator it) {
  Out& out = it->second;
  while (!out.held.empty()) {
    Sent sent = transmit(it->first, &out, out.held.front());
    if (sent == Sent::kGone) drop_port(it);
    if (sent != Sent::kDone) return;
    out.held.pop_front();
  }
}

Sent Loop::transmit(const std::string& port, Out* out, Bytes frame) {
  // Twice: the socket of a VM that stopped refuses once; one started again
  // since has bound a new socket at the path, to connect to.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (out->fd.get() < 0 && !connect_port(port, out)) return Sent::kGone;
    if (::send(out->fd.get(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return Sent::kDone;
    if (errno == EAGAIN) return Sent::kFull;
    if (errno != ECONNREFUSED && errno != ENOTCONN) {
      if (errno != ENOBUFS) log(sys_error("send to port " + port));
      return Sent::kDone;  // this frame is lost, as on a wire
    }
    out->fd.reset();
  }
  return Sent::kGone;
}

bool Loop::connect_port(const std::string& port, Out* out) {
  std::string path = ports_dir_ + "/" + port;
  sockaddr_un a;
  socklen_t len;
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() >= 0 && unix_address(path, &a, &len)) {
    // Best effort: the kernel caps it at net.core.wmem_max.
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &kSendBuffer, sizeof kSendBuffer);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), len) == 0) {
      out->fd = std::move(fd);
      return true;
    }
  }
  // Its VM is gone; a file nobody binds any more is removed.
  int e = errno;
  if (e == ECONNREFUSED) ::unlink(path.c_str());
  log(sys_error("port " + port + " is gone", e));
  return false;
}

void Loop::drop_port(Outs::iterator it) {
  switch_.port_gone(it->first);
  outs_.erase(it);
}

void Loop::forward(const DnsForward& f) {
  uint16_t id;
  if (c_.resolvers.empty() || !pending_.add(f.asker, Clock::now(), &id)) {
    if (!c_.resolvers.empty()) log("too many DNS queries pending");
    send(f.asker.port, dns_reply_frame(f.asker, build_dns_response(f.query, DnsRcode::kServFail)));
    return;
  }
  std::vector<uint8_t> query(f.message.begin(), f.message.end());
  store_be16(query.data(), id);
  // To all of them at once: the first answer wins, and one resolver that
  // is down costs nothing.
  for (const Resolver& r : c_.resolvers) {
    sockaddr_in a = inet_address(r);
    char text[INET_ADDRSTRLEN] = "";
    if (::sendto(dns_.get(), query.data(), query.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&a),
                 sizeof a) < 0 &&
        errno != EAGAIN) {
      int e = errno;
      ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
      log(sys_error("send to the resolver " + std::string(text), e));
    }
  }
}

void Loop::receive_answers() {
  uint8_t* answer = buffers_.data();
  for (;;) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(dns_.get(), answer, kMaxFrame, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                           &from_len);
    if (n < 0) return;
    // Only what the resolvers send, and only once per query.
    bool resolver = std::any_of(c_.resolvers.begin(), c_.resolvers.end(), [&](const Resolver& r) {
      return from.sin_family == AF_INET && ntohl(from.sin_addr.s_addr) == r.ipv4 && ntohs(from.sin_port) == r.port;
    });
    Asker asker;
    if (!resolver || n < 12 || !pending_.take(load_be16(answer), Clock::now(), &asker)) continue;
    send(asker.port, dns_reply_frame(asker, Bytes(answer, size_t(n))));
  }
}

void Loop::log(const std::string& line) {
  Clock::time_point now = Clock::now();
  if (now < next_log_) {
    ++suppressed_;
    return;
  }
  std::string more = suppressed_ ? " (and " + std::to_string(suppressed_) + " events not logged)" : "";
  ::fprintf(stderr, "ctk network-switch: %s%s\n", line.c_str(), more.c_str());
  suppressed_ = 0;
  next_log_ = now + 1s;
}

}  // namespace

bool run_switch(const SwitchConfig& config, std::string* err) {
  Loop loop(config);
  return loop.run(err);
}

}  // namespace ctk::net
