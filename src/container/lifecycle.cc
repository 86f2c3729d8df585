#include "container/lifecycle.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/dirs.h"
#include "base/file_io.h"
#include "base/signals.h"
#include "base/sockets.h"
#include "volume/volumes.h"

namespace ctk::container {

using nlohmann::json;

namespace {

// The last line of a file, or fallback.
std::string last_line(const std::string& path, const std::string& fallback) {
  std::string text, ignored;
  bool exists;
  if (!read_file(path, &text, &exists, &ignored)) return fallback;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t nl = text.rfind('\n');
  std::string line = nl == std::string::npos ? text : text.substr(nl + 1);
  return line.empty() ? fallback : line;
}

ErrorCode code_for_agent(const std::string& code) {
  if (code == "not_found") return ErrorCode::not_found;
  if (code == "already_exists" || code == "failed_precondition") return ErrorCode::conflict;
  if (code == "invalid_argument") return ErrorCode::invalid;
  return ErrorCode::failure;
}

bool call(proto::Client& conn, const std::string& op, json args, json* result, Error* err) {
  std::string why, code;
  if (!conn.call(op, std::move(args), result, &why, &code)) return err->fail(code_for_agent(code), why);
  return true;
}

// A supervisor whose container is not running (its state says so) is
// powering its VM off after an exit, or has it up for a copy; up to 15 s for
// it to go.
void wait_powered_off(const Containers& all, const Container& ct) {
  for (int i = 0; i < 1500 && ct.supervised(); ++i) {
    Container now(all, ct.id());
    Error ignored;
    if (!now.load(&ignored) || now.state.status == Status::running || now.state.status == Status::restarting) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

AttachedProcess main_attachment(const Spec& spec, bool want_stdin) {
  AttachedProcess p;
  p.tty = spec.tty;
  p.out = kAttachOut;
  p.err = spec.tty ? 0 : kAttachErr;
  p.stdin_open = spec.interactive && want_stdin;
  p.in = p.stdin_open ? (spec.tty ? kAttachOut : kAttachIn) : 0;
  return p;
}

json attach_request(const AttachedProcess& p, proto::Client* conn) {
  json a = json::object();
  for (auto [key, ch] : {std::pair{"stdout", p.out}, std::pair{"stderr", p.err}, std::pair{"stdin", p.in}}) {
    if (!ch) continue;
    a[key] = ch;
    if (!conn->mux().is_open(ch)) conn->mux().open(ch);
  }
  return a;
}

bool start(const Containers& all, Container& ct, const StartRequest& request, proto::Client* conn,
           Started* out, Timings& timings, Error* err) {
  wait_powered_off(all, ct);
  if (ct.supervised()) return err->fail(ErrorCode::conflict, "container " + ct.spec.name + " is already running");
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return err->fail_errno("socketpair");
  std::string exe = self_exe(), log = ct.path("supervisor.log");
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return err->fail_errno("fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    int null = ::open("/dev/null", O_RDWR);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(null, 0);
    ::dup2(out >= 0 ? out : null, 1);
    ::dup2(out >= 0 ? out : null, 2);
    ::dup2(sv[1], 3);
    // Nothing else of this process's (a caller's pipes) lives on in it.
    ::close_range(4, ~0u, 0);
    const char* argv[] = {exe.c_str(), "supervise", "--root", all.data_root().c_str(), "--fd", "3", ct.id().c_str(), nullptr};
    ::execv(exe.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(sv[1]);
  // The supervisor runs on in its own session; reaping it is init's job
  // once this process exits, so it is not waited for here.
  conn->adopt(sv[0]);
  std::vector<proto::Client::Call> calls = {{"hello", {{"version", proto::kVersion}}}};
  if (request.attach) calls.push_back({"attach", attach_request(main_attachment(ct.spec, true), conn)});
  // The wait goes before `started`: the supervisor reads it with the start,
  // so even an exit at once (and a --rm container gone from the disk with
  // it) reaches this connection.
  if (request.wait) calls.push_back({"wait", json::object()});
  json started = json::object();
  if (request.files) started["files"] = true;
  calls.push_back({"started", started});
  std::vector<int64_t> ids = conn->request_all(calls);
  if (request.wait) {
    out->wait_id = ids[ids.size() - 2];
    ids.erase(ids.end() - 2);
  }
  std::string why, code;
  for (int64_t id : ids) {
    json reply;
    while (!conn->take_reply(id, &reply))
      if (!conn->pump(-1, &why)) {
        // The supervisor's own last words are in its log.
        return err->fail(ErrorCode::failure, "the supervisor failed: " + last_line(log, why));
      }
    if (reply.contains("error")) {
      code = reply["error"].value("code", "");
      if (id == ids.back()) out->agent_code = code;
      return err->fail(code_for_agent(code), reply["error"].value("message", "start failed"));
    }
    if (id != ids.back()) continue;
    out->notice = reply["result"].value("notice", "");
    for (const json& phase : reply["result"].value("timings", json::array()))
        if (phase.is_array() && phase.size() == 2 && phase[0].is_string() && phase[1].is_number())
        timings.add(phase[0].get<std::string>(), phase[1].get<double>());
  }
  return true;
}

bool connect(const Container& ct, proto::Client* conn, Error* err) {
  std::string why;
  int fd = ct.supervised() ? connect_unix(ct.dir(), "sock", &why) : -1;
  if (fd < 0) return err->fail(ErrorCode::conflict, "container " + ct.spec.name + " is not running");
  conn->adopt(fd);
  json info;
  return call(*conn, "hello", {{"version", proto::kVersion}}, &info, err);
}

bool connect_for_files(const Containers& all, Container& ct, proto::Client* conn, Error* err) {
  if (connect(ct, conn, err)) return true;
  if (err->code != ErrorCode::conflict) return false;
  StartRequest request;
  request.files = true;
  Started started;
  Timings timings;
  return start(all, ct, request, conn, &started, timings, err);
}

bool stop(const Container& ct, int timeout_s, Error* err) {
  proto::Client conn;
  Error not_running;
  if (!connect(ct, &conn, &not_running)) return true;
  json result;
  std::string why;
  // The supervisor hangs up once the VM is gone, maybe before its reply.
  if (!conn.call("stop", {{"timeout", timeout_s}}, &result, &why) && ct.supervised())
    return err->fail(ErrorCode::failure, why);
  // It releases its lock as it exits, right after.
  for (int i = 0; i < 500 && ct.supervised(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return true;
}

bool kill(const Container& ct, const std::string& signal, Error* err) {
  proto::Client conn;
  if (!connect(ct, &conn, err)) return false;
  json result;
  if (!call(conn, "kill", {{"signal", signal}, {"manual", true}}, &result, err)) return false;
  // SIGKILL cannot be caught: like docker's, the kill returns once the
  // container has exited (a manual kill is not restarted).
  if (parse_signal(signal) != SIGKILL) return true;
  Error gone;
  call(conn, "wait", json::object(), &result, &gone);  // the supervisor may hang up as it ends
  return true;
}

bool remove(Containers& all, Container& ct, bool force, bool volumes, Error* err) {
  wait_powered_off(all, ct);
  if (ct.supervised()) {
    if (!force)
      return err->fail(ErrorCode::conflict, "container " + ct.spec.name +
                                                " is running: stop it first, or use --force");
    if (!stop(ct, 0, err)) return false;
  }
  if (!all.remove(ct.id(), err)) return false;
  if (volumes) remove_anonymous_volumes(all, ct.spec.mounts);
  return true;
}

bool remove_volume(const Containers& all, volume::Volumes& volumes, const std::string& name, Error* err) {
  volume::Volume v;
  if (!volumes.load(name, &v, err)) return false;
  std::vector<std::string> users = all.volume_users(name);
  if (!users.empty()) {
    std::string list;
    for (const std::string& u : users) list += (list.empty() ? "" : ", ") + u;
    return err->fail(ErrorCode::conflict, "volume " + name + " is in use by container" +
                                              (users.size() > 1 ? "s " : " ") + list);
  }
  return volumes.remove(name, err);
}

bool prune_volumes(const Containers& all, volume::Volumes& volumes, bool named,
                   const std::vector<volume::Filter>& filters, PrunedVolumes* out, Error* err) {
  oci::FileLock lock;
  std::vector<volume::Volume> list;
  if (!volumes.lock(&lock, err) || !volumes.list(&list, err)) return false;
  bool ok = true;
  for (const volume::Volume& v : list) {
    // Named volumes only when asked: their names say someone meant to keep them.
    if ((!v.anonymous && !named) || !volume::matches(v, false, filters) || !all.volume_users(v.name).empty())
      continue;
    uint64_t size = volumes.size(v.name);
    if (!volumes.remove(v.name, err)) {
      ok = false;
      continue;
    }
    out->names.push_back(v.name);
    out->reclaimed += size;
  }
  return ok;
}

void remove_anonymous_volumes(const Containers& all, const std::vector<MountPoint>& mounts) {
  volume::Volumes volumes;
  oci::FileLock lock;
  Error ignored;
  if (!volumes.open(all.data_root(), &ignored) || !volumes.lock(&lock, &ignored)) return;
  for (const MountPoint& m : mounts) {
    volume::Volume v;
    if (m.type == "volume" && volumes.load(m.source, &v, &ignored) && v.anonymous)
      remove_volume(all, volumes, m.source, &ignored);
  }
}

bool should_restore(const Container& ct) {
  if (ct.supervised()) return false;
  const std::string& policy = ct.spec.restart.name;
  // The state as saved: "running" with no supervisor is a container that
  // died with the host.
  bool died_running = ct.state.status == Status::running || ct.state.status == Status::restarting;
  if (policy == "always") return true;
  if (policy == "unless-stopped") return !ct.state.manually_stopped;
  if (policy == "on-failure") return died_running && !ct.state.manually_stopped;
  return false;
}

void restore(const Containers& all, std::vector<std::string>* started, std::vector<std::string>* failures) {
  std::vector<std::string> ids;
  Error err;
  if (!all.list(&ids, &err)) return failures->push_back(err.message);
  for (const std::string& id : ids) {
    Container ct(all, id);
    if (!ct.load(&err) || !should_restore(ct)) continue;
    proto::Client conn;
    Started out;
    Timings timings;
    if (start(all, ct, {}, &conn, &out, timings, &err)) started->push_back(ct.spec.name);
    else failures->push_back(ct.spec.name + ": " + err.message);
  }
}

bool wait(Container& ct, int* exit_code, Error* err) {
  for (;;) {
    proto::Client conn;
    Error not_running;
    if (connect(ct, &conn, &not_running)) {
      json result;
      std::string why;
      if (conn.call("wait", json::object(), &result, &why)) {
        *exit_code = result.value("exit_code", 255);
        return true;
      }
    }
    // Not running (any more): the state has the last exit, once its
    // supervisor, which closes its socket first, has saved it.
    if (!ct.load(err)) return false;
    State s = ct.effective_state();
    if (s.status != Status::running && s.status != Status::restarting) {
      *exit_code = s.exit_code;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace ctk::container
