// The agent's requests: the op table, and the container ops. Each op checks
// its arguments, acts, and either replies at once or leaves the reply to the
// loop (kOps says which).
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>  // posix_openpt
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "base/error.h"
#include "base/signals.h"
#include "init/agent_state.h"
#include "init/guest_files.h"
#include "init/paths.h"
#include "init/users.h"
#include "init/worker.h"

namespace ctk::init {

namespace {

// A signal as JSON: a number, or a string base's parse_signal reads.
int parse_signal(const nlohmann::json& j) {
  if (j.is_number_integer()) {
    long n = j.get<long>();
    return n >= 1 && n <= SIGRTMAX ? int(n) : -1;
  }
  return j.is_string() ? ctk::parse_signal(j.get<std::string>()) : -1;
}

void set_winsize(int fd, unsigned rows, unsigned cols) {
  winsize ws{};
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  ::ioctl(fd, TIOCSWINSZ, &ws);
}

}  // namespace

void Agent::handle_message(Conn* c, const std::string& text) {
  json req = json::parse(text, nullptr, false);
  if (req.is_discarded() || !req.is_object()) {
    reply_error(c, nullptr, "invalid_argument", "control message is not a JSON object");
    return;
  }
  json id = req.contains("id") ? req["id"] : json();
  json result = json::object();
  std::string code = "invalid_argument", err;
  bool ok;
  try {
    ok = dispatch(c, req, &result, &code, &err);
  } catch (const json::exception& e) {
    ok = false;
    code = "invalid_argument";
    err = std::string("bad request: ") + e.what();
  }
  if (!ok) {
    reply_error(c, id, code, err);
  } else if (!result.is_null()) {
    reply(c, id, result);
  }
}

// The ops in the order hello lists them.
const Agent::Op Agent::kOps[] = {
    {"hello", &Agent::op_hello, Reply::kNow, When::kAlways},
    {"create", &Agent::op_create, Reply::kNow, When::kBeforeShutdown},
    {"start", &Agent::op_start, Reply::kLater, When::kBeforeShutdown},
    {"exec", &Agent::op_exec, Reply::kLater, When::kBeforeShutdown},
    {"wait", &Agent::op_wait, Reply::kLater, When::kAfterHello},
    {"kill", &Agent::op_kill, Reply::kNow, When::kAfterHello},
    {"delete", &Agent::op_delete, Reply::kNow, When::kAfterHello},
    {"resize", &Agent::op_resize, Reply::kNow, When::kAfterHello},
    {"copy_in", &Agent::op_copy_in, Reply::kLater, When::kAfterHello},
    {"copy_out", &Agent::op_copy_out, Reply::kEither, When::kAfterHello},
    {"mount", &Agent::op_mount, Reply::kNow, When::kAfterHello},
    {"umount", &Agent::op_umount, Reply::kNow, When::kAfterHello},
    {"mkdir", &Agent::op_mkdir, Reply::kNow, When::kAfterHello},
    {"populate", &Agent::op_populate, Reply::kNow, When::kAfterHello},
    {"network", &Agent::op_network, Reply::kNow, When::kAfterHello},
    {"write_file", &Agent::op_write_file, Reply::kNow, When::kAfterHello},
    {"connect", &Agent::op_connect, Reply::kEither, When::kAfterHello},
    {"stats", &Agent::op_stats, Reply::kNow, When::kAfterHello},
    {"stat", &Agent::op_stat, Reply::kNow, When::kAfterHello},
    {"list", &Agent::op_list, Reply::kNow, When::kAfterHello},
    {"sysctl", &Agent::op_sysctl, Reply::kNow, When::kAfterHello},
    {"set_time", &Agent::op_set_time, Reply::kNow, When::kAfterHello},
    {"set_hostname", &Agent::op_set_hostname, Reply::kNow, When::kAfterHello},
    {"processes", &Agent::op_processes, Reply::kNow, When::kAfterHello},
    {"top", &Agent::op_top, Reply::kNow, When::kAfterHello},
    {"shutdown", &Agent::op_shutdown, Reply::kLater, When::kAfterHello},
    {"dns", &Agent::op_dns, Reply::kNow, When::kAfterHello},
};

// Returns false with code and err for an error reply; a null result means
// the reply comes later.
bool Agent::dispatch(Conn* c, const json& req, json* result, std::string* code,
                     std::string* err) {
  if (!req.contains("id") || !(req["id"].is_number_integer() || req["id"].is_string())) {
    *err = "request without an integer or string id";
    return false;
  }
  std::string name = req.value("op", "");
  const Op* op =
      std::find_if(std::begin(kOps), std::end(kOps), [&](const Op& o) { return name == o.name; });
  bool known = op != std::end(kOps);
  if (!c->hello && !(known && op->when == When::kAlways)) {
    *err = "the first request must be hello";
    return false;
  }
  if (!known) {
    *err = name.empty() ? "request without an op" : "unknown op '" + name + "'";
    return false;
  }
  if (shutdown_ && op->when == When::kBeforeShutdown) {
    *err = "the agent is shutting down";
    return false;
  }
  if (op->reply == Reply::kLater) *result = nullptr;  // the loop replies
  return (this->*op->handler)(c, req, result, code, err);
}

bool Agent::op_hello(Conn* c, const json& req, json* result, std::string*, std::string* err) {
  uint32_t version = req.at("version").get<uint32_t>();
  if (version < 1) {
    *err = "protocol version " + std::to_string(version) + " is not supported (want 1)";
    return false;
  }
  c->hello = true;
  json ops = json::array();
  for (const Op& op : kOps) ops.push_back(op.name);
  *result = {{"version", std::min(version, proto::kVersion)},
             {"agent", "ctk " CTK_VERSION},
             {"max_frame", proto::kMaxPayload},
             {"window", proto::kInitialWindow},
             {"max_message", proto::kMaxMessage},
             {"ops", ops}};
  return true;
}

Agent::Container* Agent::find_container(const json& req, std::string* code, std::string* err) {
  std::string id = req.at("container").get<std::string>();
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second->deleted) {
    *code = "not_found";
    *err = "no container '" + id + "'";
    return nullptr;
  }
  return it->second.get();
}

Agent::Proc* Agent::find_proc(const json& req, std::string* code, std::string* err) {
  Container* ct = find_container(req, code, err);
  if (!ct) return nullptr;
  std::string exec_id = req.value("exec_id", "");
  if (exec_id.empty()) return ct->init.get();
  auto it = ct->execs.find(exec_id);
  if (it == ct->execs.end()) {
    *code = "not_found";
    *err = "no process '" + exec_id + "' in container '" + ct->id + "'";
    return nullptr;
  }
  return it->second.get();
}

// Opens the channels a request names for a process's stdin, stdout and
// stderr; their fds come when it starts.
bool Agent::bind_stdio(Conn* c, const json& req, bool terminal, Proc* p, std::string* code,
                       std::string* err) {
  uint32_t in = req.value("stdin", 0u), out = req.value("stdout", 0u), errc = req.value("stderr", 0u);
  if (out && out == errc) {
    *err = "stdout and stderr need different channels";
    return false;
  }
  if (terminal && errc) {
    *err = "a terminal has no separate stderr";
    return false;
  }
  for (uint32_t ch : {in, out, errc}) {
    if (ch && c->mux.is_open(ch) && !(ch == in && ch == out)) {
      *code = "already_exists";
      *err = "channel " + std::to_string(ch) + " is already open";
      return false;
    }
  }
  auto bind = [&](uint32_t ch, bool input) {
    if (!ch) return;
    Stream* s = stream(c, ch);
    if (!s) s = open_stream(c, ch);
    (input ? s->sink : s->source) = End::kPending;
    if (!input) s->proc = p;
  };
  bind(in, true);
  bind(out, false);
  bind(errc, false);
  p->conn = c;
  p->in_ch = in;
  p->out_ch = out;
  p->err_ch = errc;
  return true;
}

bool Agent::op_create(Conn* c, const json& req, json* result, std::string* code,
                      std::string* err) {
  std::string id = req.at("container").get<std::string>();
  if (id.empty() || id.find('/') != std::string::npos) {
    *err = "invalid container id '" + id + "'";
    return false;
  }
  if (containers_.count(id)) {
    *code = "already_exists";
    *err = "container '" + id + "' already exists";
    return false;
  }
  std::string bundle = req.value("bundle", "");
  json config;
  if (req.contains("config")) {
    config = req["config"];
  } else {
    std::ifstream in(bundle + "/config.json");
    if (!in) {
      *err = sys_error(bundle + "/config.json");
      return false;
    }
    config = json::parse(in, nullptr, false);
    if (config.is_discarded()) {
      *err = bundle + "/config.json: not valid JSON";
      return false;
    }
  }
  auto ct = std::make_unique<Container>();
  ct->id = id;
  if (!parse_spec(config, bundle, &ct->spec, err)) return false;
  struct stat st;
  if (::stat(ct->spec.root.c_str(), &st) || !S_ISDIR(st.st_mode)) {
    *err = "root " + ct->spec.root + " is not a directory";
    return false;
  }
  if (!resolve_process_user(ct->spec.root, &ct->spec.process, err)) return false;
  fill_env_defaults(&ct->spec.process);
  ct->init = std::make_unique<Proc>();
  ct->init->container = ct.get();
  ct->init->spec = ct->spec.process;
  if (!cgroups_.create(id, ct->spec.resources, &ct->cgroup, err)) {
    *code = "internal";
    return false;
  }
  if (!bind_stdio(c, req, ct->spec.process.terminal, ct->init.get(), code, err)) {
    cgroups_.remove(ct->cgroup);
    return false;
  }
  containers_[id] = std::move(ct);
  *result = json::object();
  return true;
}

bool Agent::launch(Proc* p, std::string* code, std::string* err) {
  *code = "internal";
  Stdio stdio;
  int child_ends[3] = {-1, -1, -1};
  int agent_ends[3] = {-1, -1, -1};
  auto cleanup = [&] {
    for (int fd : child_ends)
      if (fd >= 0) ::close(fd);
  };
  uint32_t chans[3] = {p->in_ch, p->out_ch, p->err_ch};
  *code = "internal";
  if (p->spec.terminal) {
    // The child opens the pty in the container and sends the master back: see attach_pty.
    stdio.tty = true;
    stdio.rows = p->spec.rows;
    stdio.cols = p->spec.cols;
  } else {
    for (int i = 0; i < 3; ++i) {
      if (!chans[i]) continue;
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC)) {
        *err = sys_error("pipe");
        cleanup();
        for (int fd : agent_ends)
          if (fd >= 0) ::close(fd);
        return false;
      }
      // stdin: the child reads fds[0]; stdout/stderr: the child writes fds[1].
      child_ends[i] = i == 0 ? fds[0] : fds[1];
      agent_ends[i] = i == 0 ? fds[1] : fds[0];
      ::fcntl(agent_ends[i], F_SETFL, O_NONBLOCK);
    }
    stdio.in = child_ends[0];
    stdio.out = child_ends[1];
    stdio.err = child_ends[2];
  }
  Spawned sp;
  int procs = -1;
  const std::string& cgroup = p->container->cgroup;
  if (!cgroup.empty() && (procs = ::open((cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC)) < 0) {
    *err = sys_error(cgroup + "/cgroup.procs");
    cleanup();
    for (int fd : agent_ends)
      if (fd >= 0) ::close(fd);
    return false;
  }
  p->oom_base = oom_kills(cgroup);
  bool ok = p->exec_id.empty()
                ? spawn_container(p->container->spec, stdio, procs, p->hold, &sp, err)
                : spawn_exec(p->container->init->pid, p->container->spec.namespaces, p->spec, stdio,
                             procs, &sp, err);
  if (procs >= 0) ::close(procs);
  cleanup();
  for (int i = 0; i < 3; ++i) {
    if (agent_ends[i] < 0) continue;
    Stream* s = p->conn ? stream(p->conn, chans[i]) : nullptr;
    if (!ok || !s) {
      ::close(agent_ends[i]);
      continue;
    }
    if (i == 0) {
      s->sink_fd = agent_ends[i];
      s->sink = End::kOpen;
    } else {
      s->source_fd = agent_ends[i];
      s->source = End::kOpen;
    }
  }
  if (!ok) return false;
  p->pid = sp.pid;
  p->status_fd = sp.status_fd;
  p->state = Proc::State::kStarting;
  return true;
}

bool Agent::op_start(Conn* c, const json& req, json*, std::string* code, std::string* err) {
  Container* ct = find_container(req, code, err);
  if (!ct) return false;
  Proc* p = ct->init.get();
  if (p->state != Proc::State::kCreated) {
    *err = "container '" + ct->id + "' was started already";
    return false;
  }
  p->hold = req.value("hold", false);
  if (!launch(p, code, err)) return false;
  p->start_conn = c;
  p->start_id = req["id"];
  return true;
}

bool Agent::op_exec(Conn* c, const json& req, json*, std::string* code, std::string* err) {
  Container* ct = find_container(req, code, err);
  if (!ct) return false;
  std::string exec_id = req.at("exec_id").get<std::string>();
  if (exec_id.empty()) {
    *err = "exec_id is empty";
    return false;
  }
  if (ct->execs.count(exec_id)) {
    *code = "already_exists";
    *err = "process '" + exec_id + "' already exists in container '" + ct->id + "'";
    return false;
  }
  if (ct->init->state != Proc::State::kRunning) {
    *err = "container '" + ct->id + "' is not running";
    return false;
  }
  auto p = std::make_unique<Proc>();
  p->container = ct;
  p->exec_id = exec_id;
  if (!parse_process(req.at("process"), &p->spec, err)) return false;
  if (!resolve_process_user(container_path(ct, ""), &p->spec, err)) return false;
  fill_env_defaults(&p->spec);
  if (!bind_stdio(c, req, p->spec.terminal, p.get(), code, err)) return false;
  Proc* raw = p.get();
  ct->execs[exec_id] = std::move(p);
  if (!launch(raw, code, err)) {
    process_exited(raw, kExitSetupFailed, *err);
    return false;
  }
  raw->start_conn = c;
  raw->start_id = req["id"];
  return true;
}

bool Agent::op_wait(Conn* c, const json& req, json*, std::string* code, std::string* err) {
  Proc* p = find_proc(req, code, err);
  if (!p) return false;
  p->waits.push_back({c, req["id"]});
  return true;  // settle() replies once it exited and its output is delivered
}

bool Agent::op_kill(Conn*, const json& req, json*, std::string* code, std::string* err) {
  Proc* p = find_proc(req, code, err);
  if (!p) return false;
  int sig = req.contains("signal") ? parse_signal(req["signal"]) : SIGTERM;
  if (sig <= 0 || sig >= NSIG) {
    *err = "invalid signal " + req["signal"].dump();
    return false;
  }
  if (p->state != Proc::State::kRunning && p->state != Proc::State::kStarting) {
    *code = "not_found";
    *err = "process is not running";
    return false;
  }
  if (::kill(p->pid, sig)) {
    *code = "internal";
    *err = sys_error("kill " + std::to_string(p->pid));
    return false;
  }
  return true;
}

bool Agent::op_delete(Conn*, const json& req, json*, std::string* code, std::string* err) {
  Container* ct = find_container(req, code, err);
  if (!ct) return false;
  auto live = [](Proc* p) { return p->pid > 0 && !p->reaped; };
  bool running = live(ct->init.get());
  for (auto& [eid, p] : ct->execs) running |= live(p.get());
  if (running && !req.value("force", false)) {
    *err = "container '" + ct->id + "' is running; kill it first or force";
    return false;
  }
  auto drop = [&](Proc* p) {
    if (live(p)) ::kill(p->pid, SIGKILL);  // reaped later as an unknown child
    if (p->status_fd >= 0) ::close(p->status_fd);
    p->status_fd = -1;
    if (p->pty >= 0) ::close(p->pty);
    p->pty = -1;
    for (auto& [c, id] : p->waits) reply_error(c, id, "not_found", "container deleted");
    p->waits.clear();
  };
  drop(ct->init.get());
  for (auto& [eid, p] : ct->execs) drop(p.get());
  for (auto& s : streams_) {
    if (!s->proc || s->proc->container != ct) continue;
    if (s->source == End::kPending) {
      s->source = End::kDone;
      s->conn->mux.send_eof(s->ch);
    }
  }
  auto drop_input = [&](Proc* p) {
    Stream* s = p->conn && p->in_ch ? stream(p->conn, p->in_ch) : nullptr;
    if (s && s->sink == End::kPending) close_sink(s, true);
  };
  drop_input(ct->init.get());
  cgroups_.remove(ct->cgroup);
  ct->deleted = true;
  return true;
}

bool Agent::op_stats(Conn*, const json& req, json* result, std::string* code, std::string* err) {
  // Without a container: the agent's own cgroup, where its memory budget is.
  Container* ct;
  if (!optional_container(req, &ct, code, err)) return false;
  if (!(ct ? cgroups_.stats(ct->cgroup, result, err) : cgroups_.own_stats(result, err))) {
    *code = "internal";
    return false;
  }
  return true;
}

bool Agent::op_resize(Conn*, const json& req, json*, std::string* code, std::string* err) {
  Proc* p = find_proc(req, code, err);
  if (!p) return false;
  if (p->pty < 0) {
    *err = "process has no terminal";
    return false;
  }
  set_winsize(p->pty, req.at("rows").get<unsigned>(), req.at("cols").get<unsigned>());
  return true;
}

std::string Agent::container_path(Container* ct, const std::string& path) {
  if (!ct) return path;
  // A running container's files are seen through its mount namespace, so
  // its tmpfs and bind mounts are there too.
  if (ct->init->state == Proc::State::kRunning)
    return "/proc/" + std::to_string(ct->init->pid) + "/root" + path;
  return ct->spec.root + path;
}

bool Agent::optional_container(const json& req, Container** ct, std::string* code, std::string* err) {
  *ct = nullptr;
  return !req.contains("container") || (*ct = find_container(req, code, err)) != nullptr;
}

bool Agent::free_channel(Conn* c, uint32_t ch, std::string* code, std::string* err) {
  if (ch && !c->mux.is_open(ch)) return true;
  *code = "already_exists";
  *err = "channel " + std::to_string(ch) + " is in use";
  return false;
}

bool Agent::open_root(Container* ct, UniqueFd* root, std::string* code, std::string* err) {
  std::string path = container_path(ct, "/");
  root->reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root->get() >= 0) return true;
  *code = "internal";
  *err = sys_error(path);
  return false;
}

bool Agent::locate_in(Container* ct, const std::string& path, bool follow, Located* at, std::string* code,
                      std::string* err) {
  if (!check_absolute(path, err)) return false;
  UniqueFd root;
  return open_root(ct, &root, code, err) && locate(root.get(), path, follow, at, code, err);
}

const std::string& Agent::worker_cgroup(Container* ct) const { return ct ? ct->cgroup : cgroups_.files(); }

void Agent::serve_worker(Conn* c, uint32_t ch, const json& id, WorkerPipe pipe, const Worker& w,
                         const std::string& path, json result) {
  Stream* s = open_stream(c, ch);
  if (pipe == WorkerPipe::kIn) {
    s->sink = End::kOpen;
    s->sink_fd = w.pipe;
  } else {
    s->source = End::kOpen;
    s->source_fd = w.pipe;
  }
  s->reply_pending = true;
  s->reply_id = id;
  s->result = std::move(result);
  s->worker = w.pid;
  s->worker_report.reset(w.report);
  s->path = path;
}

// {"op":"copy_in", "container":"ID"?, "path":"/abs", "mode":420, "channel":CH}
// (with "archive": archive_ops.cc).
bool Agent::op_copy_in(Conn* c, const json& req, json*, std::string* code, std::string* err) {
  Container* ct;
  if (!optional_container(req, &ct, code, err)) return false;
  std::string path = req.at("path").get<std::string>();
  uint32_t ch = req.at("channel").get<uint32_t>();
  if (!check_absolute(path, err) || !free_channel(c, ch, code, err)) return false;
  if (req.value("archive", false)) return archive_in(c, req, ct, path, ch, code, err);
  unsigned mode = req.value("mode", 0644u);
  UniqueFd fd(::open(container_path(ct, path).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    *code = errno == ENOENT ? "not_found" : "internal";
    *err = sys_error(path);
    return false;
  }
  ::fchmod(fd.get(), mode);  // exactly, whatever the umask
  // The file is written by a worker in the container's cgroup (or, for the
  // agent's own files, in cgroups_.files()), not charged to the agent.
  Worker w;
  auto copy = [&](std::string* why) { return copy_stdin_to_stdout(path, why); };
  if (!spawn_worker(worker_cgroup(ct), WorkerPipe::kIn, fd.get(), copy, &w, err)) {
    *code = "internal";
    return false;
  }
  serve_worker(c, ch, req["id"], WorkerPipe::kIn, w, path, json::object());
  return true;
}

// {"op":"copy_out", "container":"ID"?, "path":"/abs", "channel":CH} (with
// "archive": archive_ops.cc).
bool Agent::op_copy_out(Conn* c, const json& req, json* result, std::string* code,
                        std::string* err) {
  Container* ct;
  if (!optional_container(req, &ct, code, err)) return false;
  std::string path = req.at("path").get<std::string>();
  uint32_t ch = req.at("channel").get<uint32_t>();
  if (!free_channel(c, ch, code, err)) return false;
  if (req.value("archive", false)) return archive_out(c, req, ct, path, ch, result, code, err);
  int fd = ::open(container_path(ct, path).c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    *code = fd < 0 && errno == ENOENT ? "not_found" : "invalid_argument";
    *err = fd < 0 ? sys_error(path) : path + " is not a regular file";
    if (fd >= 0) ::close(fd);
    return false;
  }
  Stream* s = open_stream(c, ch);
  s->source = End::kOpen;
  s->source_fd = fd;
  *result = {{"size", st.st_size}, {"mode", st.st_mode & 07777}};
  return true;
}

}  // namespace ctk::init
