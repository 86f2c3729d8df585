#include "container/supervisor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <thread>

#include "base/dirs.h"
#include "base/file_io.h"
#include "base/timer.h"
#include "container/guest_setup.h"
#include "container/lifecycle.h"
#include "container/log.h"
#include "container/networking.h"
#include "container/networks.h"
#include "container/ports.h"
#include "container/state.h"
#include "base/sockets.h"
#include "proto/client.h"
#include "proto/frame.h"
#include "volume/volumes.h"
#include "net/switch.h"
#include "vz/machine.h"

namespace ctk::container {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// docker's restart back-off: 100 ms doubling to a minute; reset after a run of 10 s.
constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 60000;
constexpr auto kResetBackoffAfter = std::chrono::seconds(10);

// timeout(1)'s exit code for a process killed at its --timeout.
constexpr int kExitTimedOut = 124;

// A process's resident memory in bytes (VmRSS), 0 when it cannot be read.
uint64_t rss_of(pid_t pid) {
  std::string status, ignored;
  bool exists;
  if (pid <= 0 || !read_file("/proc/" + std::to_string(pid) + "/status", &status, &exists, &ignored)) return 0;
  size_t at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::strtoull(status.c_str() + at + 6, nullptr, 10) * 1024;
}

json error_reply(const json& id, const std::string& code, const std::string& message) {
  return {{"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

// A client of the supervisor: a CLI command (exec, attach, stop ...).
struct Conn {
  int fd = -1;
  proto::Mux mux;
  bool hello = false;
  bool gone = false;
  int serial = 0;  // makes its exec ids unique among clients
  // attach: the client's channels for the main process's stdio (0: none).
  uint32_t out = 0, err = 0, in = 0;
  bool out_eof = false, err_eof = false;
  std::vector<json> main_waits;  // request ids waiting for the main process's exit
  std::vector<json> stop_waits;  // stop requests, answered when the VM is gone
  std::vector<json> held;        // exec wait replies, sent once the exec's output is delivered
  json started_id;               // the launcher's `started` request
  bool files = false;            // ... asked for a copy-only VM
};

// A channel relayed between a client and the agent.
struct Route {
  Conn* conn;
  uint32_t client_ch;
  uint32_t agent_ch;
  bool down;  // agent -> client (stdout, stderr, copy_out, a pty)
  bool up;    // client -> agent (stdin, copy_in, a pty)
  bool down_done = false, up_done = false;
};

class Supervisor {
 public:
  Supervisor(const std::string& data_root, const std::string& id, int launcher_fd, int relaunch_backoff_ms)
      : data_root_(data_root), id_(id), launcher_fd_(launcher_fd), relaunched_(relaunch_backoff_ms >= 0),
        backoff_ms_(std::max(0, relaunch_backoff_ms)) {}
  int run();

 private:
  // Passes of a start, each timed.
  bool read_launcher(Error* err);
  bool bind_ports(Error* err);
  void mark_populated();
  bool plan_networks(vz::MachineConfig* m, Error* err);
  bool boot(Error* err);
  bool start_main(bool first, std::string* agent_code, Error* err);

  // The loop.
  void loop();
  void accept_client();
  void client_io(Conn* c, short revents);
  void handle_request(Conn* c, const std::string& text);
  void forward(Conn* c, json req);
  void relay_routes();
  void relay_main_output();
  void relay_main_input();
  void agent_replies();
  void main_exited(const json& result);
  void check_exit();
  void begin_stop(int timeout_s, int signal);
  void answer_waits();
  void finish();
  void relaunch();
  void flush_clients(int timeout_ms);
  void change_networks(Conn* c, const json& id);
  void end_vm();
  void drop(Conn* c);
  void send(Conn* c, const json& msg) { c->mux.send_message(msg.dump(-1, ' ', false, json::error_handler_t::replace)); }
  void reply(Conn* c, const json& id, const json& result) { send(c, {{"id", id}, {"result", result}}); }
  int64_t agent_request(const std::string& op, json args, std::function<void(const json&)> done);
  void save_state();
  PublishedPorts::Request port_request() {
    return [this](const std::string& op, json args, std::function<void(const json&)> done) {
      agent_request(op, std::move(args), std::move(done));
    };
  }

  std::string data_root_, id_;
  int launcher_fd_;
  bool relaunched_;  // a restart after the VM died: no launcher
  Containers containers_;
  std::unique_ptr<Container> ct_;
  LogWriter log_;
  vz::Machine vm_;
  Timings timings_;
  int lock_fd_ = -1, listen_fd_ = -1, signal_fd_ = -1;
  std::list<std::unique_ptr<Conn>> conns_;
  std::list<Route> routes_;
  PublishedPorts ports_;
  MountPlan mounts_;  // made at boot, for every start in this VM
  Networking networking_;  // as the VM has it now
  SwitchKeeper switch_;
  std::map<int64_t, std::function<void(const json&)>> pending_;
  int next_serial_ = 1;

  // The main process, and its container's name in the agent.
  std::string guest_id_ = kGuestContainer;
  uint32_t main_out_ = 0, main_err_ = 0, main_in_ = 0;
  bool main_running_ = false;
  bool main_exit_seen_ = false;  // its wait replied; output may still be draining
  json main_result_;
  Clock::time_point main_started_;
  int backoff_ms_;
  std::optional<Clock::time_point> restart_at_;
  std::optional<Clock::time_point> kill_at_;  // stop's SIGKILL deadline
  std::optional<Clock::time_point> deadline_;  // --timeout: the main process's end
  bool timed_out_ = false;
  bool stopping_ = false;
  bool vm_failed_ = false;
  bool done_ = false;
  // A stopped container's VM, up for copies only (`started`'s files): the
  // state is not touched, and it ends when its last client hangs up.
  bool files_only_ = false;
};

int64_t Supervisor::agent_request(const std::string& op, json args, std::function<void(const json&)> done) {
  int64_t id = vm_.agent().request(op, std::move(args));
  pending_[id] = std::move(done);
  return id;
}

void Supervisor::save_state() {
  Error err;
  if (!ct_->save_state(&err)) std::fprintf(stderr, "ctk supervise: %s\n", err.message.c_str());
}

// The launcher sends hello, optionally attach, then started (and maybe wait):
// everything up to started is handled before the VM boots, so an attached
// client misses no output.
bool Supervisor::read_launcher(Error* err) {
  auto c = std::make_unique<Conn>();
  c->fd = launcher_fd_;
  c->serial = next_serial_++;
  Conn* conn = c.get();
  conns_.push_back(std::move(c));
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (conn->started_id.is_null() && !conn->gone) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    pollfd p{conn->fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, left) <= 0) return err->fail(ErrorCode::failure, "the launcher sent no start request");
    client_io(conn, p.revents);
  }
  files_only_ = conn->files;
  return !conn->gone || err->fail(ErrorCode::failure, "the launcher hung up before the start");
}

bool Supervisor::bind_ports(Error* err) {
  Timer t(timings_, "bind ports");
  return ports_.bind(ct_->spec.ports, &ct_->state.ports, err);
}

bool Supervisor::boot(Error* err) {
  vz::MachineConfig m = ct_->spec.machine;
  m.disks = {{ct_->spec.rootfs, true}};
  if (!ct_->spec.auto_remove) m.disks.push_back({ct_->path("rw.ext4"), false});
  if (!files_only_ && !plan_networks(&m, err)) return false;
  if (!plan_mounts(ct_->spec.mounts, containers_.data_root(), kGuestRoot, &mounts_, err)) return false;
  m.shares = mounts_.shares;
  std::string why;
  if (!vm_.boot(m, timings_, &why)) return err->fail(ErrorCode::failure, why);
  return true;
}

// The container's networks as the data root's files say now; with any, the
// switch runs (kept running while the VM does) and the VM gets its port.
bool Supervisor::plan_networks(vz::MachineConfig* m, Error* err) {
  Timer t(timings_, "networks");
  net::Topology topology;
  if (!load_topology(containers_.data_root(), &topology, err)) return false;
  networking_ = plan_networking(ct_->spec, topology);
  vz::VmConfig nics;
  std::string dir = net::switch_dir(containers_.data_root());
  add_nics(networking_, dir, id_, &nics);
  m->network = nics.network;
  m->nics = nics.nics;
  if (networking_.attachments.empty()) return true;
  // bench/net's floor: two VMs whose NICs send straight to each other.
  if (const char* peer = std::getenv("CTK_NET_PEER"); peer && *peer)
    m->nics.front().remote = dir + "/ports/" + net::port_name(peer);
  // QEMU binds the port afresh; a killed VM's socket file is in the way.
  ::unlink(m->nics.front().local.c_str());
  return switch_.start(containers_.data_root(), err);
}

// `network connect/disconnect` of the running container: its switch NIC's
// addresses and its resolv.conf and hosts follow the data root's files.
void Supervisor::change_networks(Conn* c, const json& id) {
  net::Topology topology;
  Error err;
  if (!load_topology(containers_.data_root(), &topology, &err)) return send(c, error_reply(id, "internal", err.message));
  Networking after = plan_networking(ct_->spec, topology);
  after.mac = networking_.mac;  // the NIC the VM has
  after.nat = networking_.nat;
  proto::Client::Call change;
  if (!change_call(networking_, after, &change, &err))
    return send(c, error_reply(id, "invalid_argument", "container " + ct_->spec.name + ": " + err.message));
  networking_ = after;
  // The agent answers in order: the addresses' reply comes first, and the
  // client hears of whichever of the two failed first.
  auto failure = std::make_shared<json>();
  agent_request(change.op, change.args, [failure](const json& r) {
    if (r.contains("error")) *failure = r["error"];
  });
  std::vector<proto::Client::Call> calls = network_calls(ct_->spec, networking_, kGuestRoot);
  agent_request(calls.back().op, calls.back().args, [this, c, id, failure](const json& r) {
    if (std::find_if(conns_.begin(), conns_.end(), [c](auto& p) { return p.get() == c; }) == conns_.end()) return;
    if (!failure->is_null()) return send(c, {{"id", id}, {"error", *failure}});
    if (r.contains("error")) return send(c, {{"id", id}, {"error", r["error"]}});
    reply(c, id, json::object());
  });
}

// The VM powered off (or killed), its switch port closed.
void Supervisor::end_vm() {
  vm_.shutdown();
  switch_.stop();
  if (!networking_.attachments.empty())
    ::unlink((net::switch_dir(containers_.data_root()) + "/ports/" + net::port_name(id_)).c_str());
}

// The first start sets up the root too; a restart runs a fresh main process
// in the same VM (its writable layer as the last one left it).
bool Supervisor::start_main(bool first, std::string* agent_code, Error* err) {
  Timer t(timings_, first ? "container start" : "container restart");
  proto::Client& agent = vm_.agent();
  std::vector<proto::Client::Call> calls;
  if (first) {
    calls = root_setup_calls(ct_->spec, mounts_, vm_.share_transport(), networking_);
    calls.insert(calls.begin(), vm_.clock_call());
  } else {
    // The agent forgets a deleted container only later: the new process
    // is a container of another name.
    calls.push_back({"delete", {{"container", guest_id_}, {"force", true}}});
    guest_id_ = std::string(kGuestContainer) + "-" + std::to_string(ct_->state.restart_count + 1);
  }
  for (uint32_t ch : {main_out_, main_err_, main_in_})
    if (ch) agent.mux().release(ch);
  main_out_ = main_err_ = main_in_ = 0;
  json create = {{"container", guest_id_}, {"config", main_process_config(ct_->spec, mounts_, 0, 0)}};
  json start = {{"container", guest_id_}};
  if (files_only_) {
    // The root as the process would see it, for copies; nothing runs.
    json& process = create["config"]["process"];
    process.erase("user");
    process.erase("groupAdd");
    process["terminal"] = false;
    start["hold"] = true;
  } else {
    main_out_ = agent.open_channel();
    create["stdout"] = main_out_;
    if (ct_->spec.tty) {
      main_in_ = main_out_;  // the pty is one bidirectional channel
      create["stdin"] = main_out_;
    } else {
      main_err_ = agent.open_channel();
      create["stderr"] = main_err_;
      if (ct_->spec.interactive) {
        main_in_ = agent.open_channel();
        create["stdin"] = main_in_;
      }
    }
  }
  calls.push_back({"create", create});
  calls.push_back({"start", start});
  std::vector<int64_t> ids = agent.request_all(calls);
  // The wait follows at once: a round trip less before an exit is seen.
  agent_request("wait", {{"container", guest_id_}}, [this](const json& r) { main_exited(r); });
  std::string why, code;
  size_t failed = 0;
  if (!agent.await_all(ids, &why, &code, &failed)) {
    if (failed == calls.size() - 1) *agent_code = code;
    return err->fail(ErrorCode::failure, why);
  }
  main_running_ = true;
  if (first) mark_populated();
  ports_.route_to(&vm_.agent(), port_request(), guest_id_);
  main_exit_seen_ = false;
  main_started_ = Clock::now();
  if (ct_->spec.timeout && !files_only_) deadline_ = main_started_ + std::chrono::seconds(ct_->spec.timeout);
  for (auto& c : conns_) c->out_eof = c->err_eof = false;
  return true;
}

// A volume's image files are copied in once: from now on it keeps what
// containers make of it, even when they empty it.
void Supervisor::mark_populated() {
  volume::Volumes volumes;
  Error ignored;
  if (mounts_.first_use.empty() || !volumes.open(containers_.data_root(), &ignored)) return;
  oci::FileLock lock;
  if (!volumes.lock(&lock, &ignored)) return;
  for (const std::string& name : mounts_.first_use) {
    volume::Volume v;
    if (!volumes.load(name, &v, &ignored)) continue;
    v.populated = true;
    volumes.save(v, &ignored);
  }
}

int Supervisor::run() {
  Error err;
  if (!containers_.open(data_root_, &err)) return std::fprintf(stderr, "ctk supervise: %s\n", err.message.c_str()), 1;
  ct_ = std::make_unique<Container>(containers_, id_);
  std::string lock = ct_->path("lock");
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  bool locked = lock_fd_ >= 0 && ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0;
  bool loaded = ct_->load(&err);
  std::string agent_code;
  bool ok = loaded && (locked || err.fail(ErrorCode::conflict, "container " + ct_->spec.name + " is already running")) &&
            (relaunched_ || read_launcher(&err));
  // Clients (stop, exec) are accepted from here on; while the VM boots
  // their requests wait in the socket.
  if (ok) {
    ::unlink(ct_->path("sock").c_str());
    std::string why;
    listen_fd_ = listen_unix(ct_->dir(), "sock", &why);
    if (listen_fd_ < 0) ok = err.fail(ErrorCode::failure, why);
  }
  if (files_only_) {
    ok = ok && boot(&err) && start_main(true, &agent_code, &err);
  } else {
    ok = ok && bind_ports(&err);
    if (ok) {
      ct_->state.error.clear();
      ok = (ct_->spec.log_driver == "none" || log_.open(ct_->path("ctr.log"), &err)) && boot(&err) &&
           start_main(true, &agent_code, &err);
    }
  }
  Conn* launcher = conns_.empty() ? nullptr : conns_.front().get();
  if (!ok) {
    // Nothing ran: the state keeps its status and says why.
    if (loaded && locked && !files_only_) {
      ct_->state.error = err.message;
      // A restart that could not boot ends the container.
      if (relaunched_) ct_->state.status = Status::exited, ct_->state.pid = 0;
      if (!agent_code.empty()) ct_->state.exit_code = exit_code_for_agent_error(agent_code);
      ct_->state.ports.clear();
      save_state();
    }
    if (launcher && !launcher->started_id.is_null()) {
      std::string code = !agent_code.empty() ? agent_code
                         : err.code == ErrorCode::conflict ? "already_exists" : "internal";
      send(launcher, error_reply(launcher->started_id, code, err.message));
      flush_clients(2000);
    }
    end_vm();
    if (listen_fd_ >= 0) ::unlink(ct_->path("sock").c_str());
    return 1;
  }
  json phases = json::array();
  for (const Timings::Phase& p : timings_.phases()) phases.push_back({p.name, p.seconds});
  if (!files_only_) {
    State& s = ct_->state;
    s.status = Status::running;
    s.pid = ::getpid();
    s.started_at = now_rfc3339();
    s.finished_at.clear();
    s.exit_code = 0;
    s.oom_killed = false;
    s.manually_stopped = false;
    if (relaunched_) s.restart_count++;
    save_state();
  }
  if (launcher) reply(launcher, launcher->started_id, {{"id", id_}, {"timings", phases}, {"notice", vm_.notice()}});
  loop();
  return 0;
}

void Supervisor::loop() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC);
  proto::Client& agent = vm_.agent();
  std::vector<pollfd> fds;
  std::vector<std::function<void(short)>> handlers;
  auto agent_failed = [this](const std::string& why) {
    vm_failed_ = true;
    main_exited({{"result", {{"exit_code", kExitStartFailed}, {"message", "the VM exited unexpectedly: " + why}}}});
  };
  while (!done_) {
    // What arrived is handled and relayed, then what that queued goes out,
    // before waiting: nothing is left in a buffer without an event to come.
    std::string err;
    if (!vm_failed_ && !agent.pump(0, &err)) agent_failed(err);
    agent_replies();
    relay_main_output();
    relay_main_input();
    relay_routes();
    ports_.relay();
    check_exit();
    if (done_) break;
    if (!vm_failed_ && !agent.flush(&err)) agent_failed(err);
    fds.clear();
    handlers.clear();
    auto watch = [&](int fd, short events, std::function<void(short)> fn) {
      fds.push_back({fd, events, 0});
      handlers.push_back(std::move(fn));
    };
    if (!vm_failed_) watch(agent.fd(), POLLIN, [](short) {});  // read at the top
    watch(listen_fd_, POLLIN, [this](short) { accept_client(); });
    watch(signal_fd_, POLLIN, [this](short) {
      signalfd_siginfo si;
      if (::read(signal_fd_, &si, sizeof si) == sizeof si) begin_stop(ct_->spec.stop_timeout, 0);
    });
    for (auto& c : conns_) {
      Conn* conn = c.get();
      short ev = POLLIN | (conn->mux.output().empty() ? 0 : POLLOUT);
      watch(conn->fd, ev, [this, conn](short re) { client_io(conn, re); });
    }
    ports_.watch(watch);
    int timeout = -1;
    auto until = [&](std::optional<Clock::time_point> t) {
      if (!t) return;
      int ms = int(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(*t - Clock::now()).count()));
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    };
    until(restart_at_);
    until(kill_at_);
    until(deadline_);
    if (int ms = ports_.next_timeout_ms(); ms >= 0) timeout = timeout < 0 ? ms : std::min(timeout, ms);
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
    for (size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents) handlers[i](fds[i].revents);
    std::erase_if(conns_, [this](const std::unique_ptr<Conn>& c) {
      if (!c->gone) return false;
      drop(c.get());
      return true;
    });
    if (files_only_ && conns_.empty()) finish();
    auto now = Clock::now();
    if (kill_at_ && now >= *kill_at_) {
      kill_at_.reset();
      if (main_running_) agent_request("kill", {{"container", guest_id_}, {"signal", SIGKILL}}, [](const json&) {});
    }
    if (deadline_ && now >= *deadline_) {
      deadline_.reset();
      if (main_running_ && !main_exit_seen_) {
        timed_out_ = true;
        agent_request("kill", {{"container", guest_id_}, {"signal", SIGKILL}}, [](const json&) {});
      }
    }
    if (restart_at_ && now >= *restart_at_) {
      restart_at_.reset();
      std::string code;
      Error err2;
      if (start_main(false, &code, &err2)) {
        ct_->state.status = Status::running;
        ct_->state.restart_count++;
        ct_->state.started_at = now_rfc3339();
        save_state();
      } else {
        ct_->state.error = err2.message;
        finish();
      }
    }
  }
}

void Supervisor::accept_client() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  c->serial = next_serial_++;
  conns_.push_back(std::move(c));
}

void Supervisor::client_io(Conn* c, short revents) {
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[64 * 1024];
    ssize_t n = ::read(c->fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      c->gone = true;
      return;
    }
    if (n > 0) {
      c->mux.feed(buf, size_t(n));
      std::string text;
      for (;;) {
        proto::Mux::Input in = c->mux.next(&text);
        if (in == proto::Mux::Input::kNone) break;
        if (in == proto::Mux::Input::kMessage) {
          handle_request(c, text);
        } else {
          send(c, error_reply(nullptr, "invalid_argument", text));
          if (in == proto::Mux::Input::kFatal) c->gone = true;
        }
      }
    }
  }
  while (!c->mux.output().empty() && !c->gone) {
    std::string_view out = c->mux.output();
    ssize_t n = ::send(c->fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      c->gone = true;
      break;
    }
    c->mux.wrote(size_t(n));
  }
}

void Supervisor::handle_request(Conn* c, const std::string& text) {
  json req = json::parse(text, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("id")) {
    send(c, error_reply(nullptr, "invalid_argument", "a request must be a JSON object with an id"));
    return;
  }
  json id = req["id"];
  std::string op = req.value("op", "");
  try {
    if (op == "hello") {
      c->hello = true;
      reply(c, id, {{"version", proto::kVersion}, {"agent", "ctk supervisor"}, {"container", id_}});
      return;
    }
    if (!c->hello) return send(c, error_reply(id, "invalid_argument", "the first request must be hello"));
    if (op == "started") {
      c->started_id = id;
      c->files = req.value("files", false);
    } else if (files_only_ && op != "stat" && op != "list" && op != "copy_in" && op != "copy_out" && op != "stop" &&
               op != "networks") {
      send(c, error_reply(id, "failed_precondition", "container " + ct_->spec.name + " is not running"));
    } else if (files_only_ && op == "networks") {
      reply(c, id, json::object());  // the copy's VM has no network; the next start reads the change
    } else if (op == "attach") {
      auto open = [&](const char* key, uint32_t* ch) {
        *ch = req.value(key, 0u);
        if (*ch) c->mux.open(*ch);
      };
      open("stdout", &c->out);
      open("stderr", &c->err);
      open("stdin", &c->in);
      if (c->in && c->in == c->out && !ct_->spec.tty) c->in = 0;
      reply(c, id, json::object());
    } else if (op == "wait" && !req.contains("exec_id")) {
      c->main_waits.push_back(id);
    } else if (op == "stop") {
      c->stop_waits.push_back(id);
      begin_stop(req.value("timeout", ct_->spec.stop_timeout), 0);
    } else if ((op == "kill" || op == "resize") && !req.contains("exec_id")) {
      // `ctk kill` (not the sig-proxy of an attached client): the restart
      // policy leaves the container down, as docker does.
      if (op == "kill" && req.value("manual", false)) ct_->state.manually_stopped = true;
      req.erase("manual");
      if (!main_running_) return send(c, error_reply(id, "invalid_argument", "container " + ct_->spec.name + " is not running"));
      forward(c, std::move(req));
    } else if (op == "networks") {
      change_networks(c, id);
    } else if (op == "exec" || op == "wait" || op == "kill" || op == "resize" || op == "processes" || op == "stats" ||
               op == "stat" || op == "list" || op == "copy_in" || op == "copy_out" || op == "top") {
      forward(c, std::move(req));
    } else {
      send(c, error_reply(id, "invalid_argument", op.empty() ? "request without an op" : "unknown op '" + op + "'"));
    }
  } catch (const json::exception& e) {
    send(c, error_reply(id, "invalid_argument", std::string("bad request: ") + e.what()));
  }
}

// Sends a client's request on to the agent: the client's channel ids become
// fresh agent channels, its exec ids are made unique, and the container is
// this one. The agent's reply goes back under the client's id.
void Supervisor::forward(Conn* c, json req) {
  json client_id = req["id"];
  std::string op = req["op"];
  if (vm_failed_) return send(c, error_reply(client_id, "invalid_argument", "container " + ct_->spec.name + " is not running"));
  req.erase("id");
  req.erase("op");
  if (op != "stats" || req.contains("container")) req["container"] = guest_id_;
  if (req.contains("exec_id")) req["exec_id"] = std::to_string(c->serial) + "." + req["exec_id"].dump();
  bool tty = op == "exec" && req.contains("process") && req["process"].value("terminal", false);
  std::map<uint32_t, uint32_t> mapped;  // client channel -> agent channel
  for (const char* key : {"stdin", "stdout", "stderr", "channel"}) {
    if (!req.contains(key) || !req[key].is_number_unsigned() || req[key].get<uint32_t>() == 0) continue;
    uint32_t cch = req[key].get<uint32_t>();
    bool down = std::strcmp(key, "stdout") == 0 || std::strcmp(key, "stderr") == 0 || op == "copy_out";
    bool up = std::strcmp(key, "stdin") == 0 || op == "copy_in";
    auto it = mapped.find(cch);
    if (it == mapped.end()) {
      uint32_t ach = vm_.agent().open_channel();
      if (!c->mux.open(cch) && !c->mux.is_open(cch)) {
        vm_.agent().mux().release(ach);
        return send(c, error_reply(client_id, "already_exists", "channel " + std::to_string(cch) + " is in use"));
      }
      it = mapped.emplace(cch, ach).first;
      routes_.push_back({c, cch, ach, down, up});
    } else {
      for (Route& r : routes_)
        if (r.conn == c && r.client_ch == cch) r.down |= down, r.up |= up || tty;
    }
    req[key] = it->second;
  }
  // The client is found again by its serial: it may have gone meanwhile,
  // and another may have been given its address.
  agent_request(op, std::move(req), [this, serial = c->serial, client_id, mapped, op](const json& r) {
    Conn* c = nullptr;
    for (auto& p : conns_)
      if (p->serial == serial && !p->gone) c = p.get();
    bool alive = c != nullptr;
    if (r.contains("error")) {
      // The agent opened no channel for a failed request.
      for (auto [cch, ach] : mapped) {
        vm_.agent().mux().release(ach);
        std::erase_if(routes_, [agent_ch = ach](const Route& rt) { return rt.agent_ch == agent_ch; });
        if (alive) c->mux.release(cch);
      }
    }
    if (!alive) return;
    json out = r;
    out["id"] = client_id;
    // What the container costs the host: its VMM's and this process's memory.
    if (op == "stats" && out.contains("result") && out["result"].is_object())
      out["result"]["vm"] = {{"rss", rss_of(vm_.vmm_pid()) + rss_of(::getpid())}, {"memory_mib", ct_->spec.machine.memory_mib}};
    // An exit is told after the output before it, as the agent tells it.
    if (op == "wait") c->held.push_back(std::move(out));
    else send(c, out);
  });
}

void Supervisor::agent_replies() {
  json reply;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!vm_.agent().take_reply(it->first, &reply)) {
      ++it;
      continue;
    }
    auto fn = std::move(it->second);
    it = pending_.erase(it);
    fn(reply);
  }
}

void Supervisor::relay_routes() {
  proto::Mux& a = vm_.agent().mux();
  for (auto it = routes_.begin(); it != routes_.end();) {
    Route& r = *it;
    proto::Mux& m = r.conn->mux;
    if (r.down && !r.down_done) {
      std::string_view data = a.received(r.agent_ch);
      size_t n = std::min(data.size(), m.send_window(r.client_ch));
      if (n) {
        m.send(r.client_ch, data.data(), n);
        a.consume(r.agent_ch, n);
      }
      if (a.received(r.agent_ch).empty() && (a.peer_eof(r.agent_ch) || a.peer_closed(r.agent_ch))) {
        m.send_eof(r.client_ch);
        r.down_done = true;
      } else if (m.peer_closed(r.client_ch)) {
        a.send_close(r.agent_ch);
        r.down_done = true;
      }
    }
    if (r.up && !r.up_done) {
      std::string_view data = m.received(r.client_ch);
      size_t n = std::min(data.size(), a.send_window(r.agent_ch));
      if (n) {
        a.send(r.agent_ch, data.data(), n);
        m.consume(r.client_ch, n);
      }
      if (m.received(r.client_ch).empty() && (m.peer_eof(r.client_ch) || m.peer_closed(r.client_ch))) {
        a.send_eof(r.agent_ch);
        r.up_done = true;
      } else if (a.peer_closed(r.agent_ch)) {
        m.send_close(r.client_ch);
        r.up_done = true;
      }
    }
    if ((!r.down || r.down_done) && (!r.up || r.up_done)) {
      a.release(r.agent_ch);
      m.release(r.client_ch);
      it = routes_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& c : conns_) {
    if (c->held.empty()) continue;
    bool delivering = std::any_of(routes_.begin(), routes_.end(),
                                  [&](const Route& r) { return r.conn == c.get() && r.down && !r.down_done; });
    if (delivering) continue;
    for (const json& m : c->held) send(c.get(), m);
    c->held.clear();
  }
}

// The main process's output goes to the log and to every attached client, as
// fast as the slowest of them takes it (docker's attach does the same).
void Supervisor::relay_main_output() {
  proto::Mux& a = vm_.agent().mux();
  for (auto [ch, stream] : {std::pair{main_out_, Stream::out}, std::pair{main_err_, Stream::err}}) {
    if (!ch || !a.is_open(ch)) continue;
    auto client_ch = [which = stream](Conn* c) { return which == Stream::out ? c->out : c->err; };
    std::string_view data = a.received(ch);
    size_t n = data.size();
    for (auto& c : conns_)
      if (uint32_t cc = client_ch(c.get())) n = std::min(n, c->mux.send_window(cc));
    if (n) {
      log_.write(stream, data.substr(0, n));
      for (auto& c : conns_)
        if (uint32_t cc = client_ch(c.get())) c->mux.send(cc, data.data(), n);
      a.consume(ch, n);
    }
    if (a.received(ch).empty() && a.peer_eof(ch)) {
      for (auto& c : conns_) {
        bool& sent = stream == Stream::out ? c->out_eof : c->err_eof;
        if (uint32_t cc = client_ch(c.get()); cc && !sent) {
          c->mux.send_eof(cc);
          sent = true;
        }
      }
    }
  }
}

void Supervisor::relay_main_input() {
  if (!main_in_ || !main_running_) return;
  proto::Mux& a = vm_.agent().mux();
  for (auto& c : conns_) {
    if (!c->in) continue;
    std::string_view data = c->mux.received(c->in);
    size_t n = std::min(data.size(), a.send_window(main_in_));
    if (n) {
      a.send(main_in_, data.data(), n);
      c->mux.consume(c->in, n);
    }
    if (c->mux.received(c->in).empty() && c->mux.peer_eof(c->in)) {
      // docker run -i: the attached client's end of stdin is the process's.
      if (!ct_->spec.tty) a.send_eof(main_in_);
      c->in = 0;
    }
  }
}

void Supervisor::main_exited(const json& reply) {
  main_exit_seen_ = true;
  main_result_ = reply.contains("result") ? reply["result"] : json{{"exit_code", 255}, {"message", reply.dump()}};
}

// Once the main process is gone and its output delivered: restart it, or end.
void Supervisor::check_exit() {
  if (!main_exit_seen_ || !main_running_) return;
  if (files_only_) return finish();  // the VM failed under the copy
  proto::Mux& a = vm_.agent().mux();
  for (uint32_t ch : {main_out_, main_err_})
    if (ch && !vm_failed_ && a.is_open(ch) && !a.received(ch).empty()) return;
  main_running_ = false;
  deadline_.reset();
  ports_.route_to(&vm_.agent(), port_request(), "");  // until a restart, new connections are refused
  State& s = ct_->state;
  s.exit_code = main_result_.value("exit_code", 255);
  s.oom_killed = main_result_.value("oom_killed", false);
  s.error = main_result_.value("message", "");
  if (timed_out_) {
    s.exit_code = kExitTimedOut;
    s.error = "killed at its --timeout of " + std::to_string(ct_->spec.timeout) + "s";
  }
  s.finished_at = now_rfc3339();
  for (auto& c : conns_) c->out = c->err = c->in = 0;  // attach ends with the process
  const RestartPolicy& p = ct_->spec.restart;
  bool restart = !stopping_ && !s.manually_stopped && !timed_out_ &&
                 (p.name == "always" || p.name == "unless-stopped" ||
                  (p.name == "on-failure" && s.exit_code != 0 && (p.max_retries == 0 || s.restart_count < p.max_retries)));
  if (!restart) return finish();
  answer_waits();
  backoff_ms_ = Clock::now() - main_started_ >= kResetBackoffAfter || backoff_ms_ == 0
                    ? kFirstBackoffMs
                    : std::min(backoff_ms_ * 2, kMaxBackoffMs);
  s.status = Status::restarting;
  save_state();
  if (vm_failed_) return relaunch();
  restart_at_ = Clock::now() + std::chrono::milliseconds(backoff_ms_);
}

// The VM died under a restart policy. Its successor needs everything a start
// sets up (the VM, networks, shares, ports, the log), so after the back-off
// this process becomes a fresh supervisor of the container: an exec of
// itself, without a launcher. Its clients see their connections end, as at
// any exit; waits were answered with the exit.
void Supervisor::relaunch() {
  ports_.close();
  end_vm();
  flush_clients(1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms_));
  ::unlink(ct_->path("sock").c_str());
  std::string exe = self_exe(), backoff = std::to_string(backoff_ms_);
  const char* argv[] = {exe.c_str(), "supervise", "--root", data_root_.c_str(), "--relaunch", backoff.c_str(),
                        id_.c_str(), nullptr};
  // Nothing of this process's lives on in the new one: the lock goes with
  // it and is taken again there.
  ::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(exe.c_str(), const_cast<char* const*>(argv));
  ct_->state.error = "cannot restart after the VM died: " + sys_error(exe);
  finish();
}

void Supervisor::begin_stop(int timeout_s, int signal) {
  if (files_only_) return finish();
  ct_->state.manually_stopped = true;
  restart_at_.reset();
  if (stopping_) return;
  stopping_ = true;
  if (!main_running_) return finish();
  if (vm_failed_) return;
  json sig = signal ? json(signal) : json(ct_->spec.stop_signal);
  agent_request("kill", {{"container", guest_id_}, {"signal", sig}}, [](const json&) {});
  kill_at_ = Clock::now() + std::chrono::seconds(std::max(0, timeout_s));
}

// Tells clients waiting for the main process its exit, at once.
void Supervisor::answer_waits() {
  const State& s = ct_->state;
  json result = {{"exit_code", s.exit_code}};
  if (!s.error.empty()) result["message"] = s.error;
  if (s.oom_killed) result["oom_killed"] = true;
  for (auto& c : conns_) {
    for (const json& id : c->main_waits) reply(c.get(), id, result);
    c->main_waits.clear();
  }
  flush_clients(2000);
}

// The container is done. Its state says so (or, with --rm, it is gone from
// the listing) and waiting clients know before the VM powers off (the
// writable layer synced and unmounted): `ctk run` returns without waiting
// for that, and a start meanwhile waits for this supervisor to go. A VM up
// for copies only just powers off: nothing ran, the state stays as it was.
void Supervisor::finish() {
  if (done_) return;
  done_ = true;
  ::unlink(ct_->path("sock").c_str());
  std::string removed;
  if (!files_only_) {
    ports_.close();
    State& s = ct_->state;
    s.status = Status::exited;
    s.pid = 0;
    s.ports.clear();
    if (s.finished_at.empty()) s.finished_at = now_rfc3339();
    Error err;
    if (!ct_->spec.auto_remove) save_state();
    else if (!containers_.detach(id_, &removed, &err)) std::fprintf(stderr, "ctk supervise: %s\n", err.message.c_str());
    // A --rm container's anonymous volumes are gone when its run returns, as
    // docker's are; its process has ended, and what the guest still syncs
    // into them goes to files nobody will read.
    if (!removed.empty()) remove_anonymous_volumes(containers_, ct_->spec.mounts);
    answer_waits();
  }
  end_vm();
  if (!removed.empty()) remove_tree(removed);
  for (auto& c : conns_) {
    for (const json& id : c->stop_waits) reply(c.get(), id, json::object());
    c->stop_waits.clear();
  }
  flush_clients(2000);
}

// Blocking writes of what clients are owed, for the last words before exit.
void Supervisor::flush_clients(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (auto& c : conns_) {
    while (!c->gone && !c->mux.output().empty() && Clock::now() < deadline) {
      pollfd p{c->fd, POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      client_io(c.get(), 0);
    }
  }
}

void Supervisor::drop(Conn* c) {
  proto::Mux& a = vm_.agent().mux();
  for (auto it = routes_.begin(); it != routes_.end();) {
    if (it->conn != c) {
      ++it;
      continue;
    }
    if (a.is_open(it->agent_ch)) {
      a.send_close(it->agent_ch);
      a.send_eof(it->agent_ch);
      a.release(it->agent_ch);
    }
    it = routes_.erase(it);
  }
  ::close(c->fd);
}

}  // namespace

int supervise(const std::string& data_root, const std::string& id, int launcher_fd, int relaunch_backoff_ms) {
  // Its own session: the terminal's ^C reaches the CLI, not the supervisor.
  ::setsid();
  ::signal(SIGPIPE, SIG_IGN);
  Supervisor s(data_root, id, launcher_fd, relaunch_backoff_ms);
  return s.run();
}

}  // namespace ctk::container
