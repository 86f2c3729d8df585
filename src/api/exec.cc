// docker exec's instances: created (POST /containers/{id}/exec), started
// (POST /exec/{id}/start: hijacked, or detached with a thread that waits
// for the exit), inspected for the exit code (GET /exec/{id}/json).
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "api/body.h"
#include "api/handlers.h"
#include "api/server_state.h"
#include "api/stdio_stream.h"
#include "base/random.h"
#include "container/detach_keys.h"
#include "container/exec.h"
#include "container/guest_setup.h"
#include "container/lifecycle.h"
#include "http/websocket.h"

namespace ctk::api {

using nlohmann::json;

namespace {

// An exec's stdio ends (a hijacked connection's, a WebSocket's) that also
// apply the sizes POST /exec/{id}/resize sets, through its resize pipe.
template <class Ends>
class WithResizes : public Ends {
 public:
  template <class... Args>
  WithResizes(const std::shared_ptr<ExecInstance>& inst, ServerState& server, Args&&... args)
      : Ends(std::forward<Args>(args)...), inst_(inst), server_(server) {}
  int event_fd() const override { return inst_->resize_pipe[0]; }
  void on_event(proto::Client& conn) override {
    char b[64];
    (void)!::read(inst_->resize_pipe[0], b, sizeof b);
    std::lock_guard<std::mutex> lock(server_.exec_mutex());
    if (inst_->rows && inst_->cols)
      conn.request("resize", {{"exec_id", "1"}, {"rows", inst_->rows}, {"cols", inst_->cols}});
  }

 private:
  std::shared_ptr<ExecInstance> inst_;
  ServerState& server_;
};

void finished(ServerState& server, ExecInstance& e, int exit_code) {
  std::lock_guard<std::mutex> lock(server.exec_mutex());
  e.running = false;
  e.exited = true;
  e.exit_code = exit_code;
  server.exec_changed().notify_all();
}

std::vector<std::string> strings_of(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const json& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

void exec_create(Context& c) {
  json body;
  if (!c.json_body(&body)) return;
  container::Containers all;
  Error err;
  std::string ref = c.param("id"), id;
  if (!all.open(c.server.data_root(), &err) || !all.find(ref, &id, &err)) {
    if (err.code == ErrorCode::not_found) err.message = "No such container: " + ref;
    return c.reply_error(err);
  }
  container::Container ct(all, id);
  if (!ct.load(&err)) return c.reply_error(404, "No such container: " + ref);
  if (ct.effective_state().status != container::Status::running)
    return c.reply_error(409, "Container " + id + " is not running");
  // Type checks up front: a bad field is a 400 now, not a failure at start.
  std::vector<std::string> list;
  std::string text;
  bool flag;
  if (!body_object(body, &err)) return c.reply_error(err);
  for (const char* key : {"Cmd", "Env"})
    if (!body_field(body, key, &list, &err)) return c.reply_error(err);
  for (const char* key : {"User", "WorkingDir", "DetachKeys"})
    if (!body_field(body, key, &text, &err)) return c.reply_error(err);
  for (const char* key : {"Tty", "AttachStdin", "AttachStdout", "AttachStderr", "Privileged"})
    if (!body_field(body, key, &flag, &err)) return c.reply_error(err);
  if (strings_of(body, "Cmd").empty()) return c.reply_error(400, "No exec command specified");
  if (body.value("Privileged", false)) return c.reply_error(400, "privileged exec is not supported: each container is a VM");
  ExecInstance e;
  std::string why;
  if (!container::parse_detach_keys(body.value("DetachKeys", ""), &e.detach_keys, &why)) return c.reply_error(400, why);
  e.id = random_id();
  e.container_id = id;
  e.config = body;
  c.reply_json(201, {{"Id", c.server.add_exec(std::move(e))->id}});
}

namespace {

// How the client of a start takes the process's stdio: on its hijacked
// connection (docker's), not at all (Detach), or as WebSocket messages (the
// web UI's terminal).
enum class StartMode { kHijack, kDetach, kWebSocket };

// The exit of an exec no client waits for (a detached start, or one whose
// client typed the detach keys), collected in the background for inspect.
void collect_exit(std::unique_ptr<proto::Client> conn, std::shared_ptr<ExecInstance> e, int64_t wait_id,
                  ServerState& server) {
  std::thread([conn = std::move(conn), e = std::move(e), wait_id, &server] {
    json reply;
    std::string why;
    int exit_code = 255;
    bool alive = true;
    while (alive && !conn->take_reply(wait_id, &reply)) alive = conn->pump(-1, &why);
    if (alive && reply.contains("result")) exit_code = reply["result"].value("exit_code", 255);
    finished(server, *e, exit_code);
  }).detach();
}

// Marks the instance started; false after a 404 or 409.
bool claim(Context& c, std::shared_ptr<ExecInstance>* out) {
  std::shared_ptr<ExecInstance> e = c.server.find_exec(c.param("id"));
  if (!e) return c.reply_error(404, "No such exec instance: " + c.param("id")), false;
  std::lock_guard<std::mutex> lock(c.server.exec_mutex());
  if (e->started) return c.reply_error(409, "Exec " + e->id + " has already been started"), false;
  e->started = e->running = true;
  *out = e;
  return true;
}

// raw: no docker framing of the output (the start's Tty).
void start_instance(Context& c, const std::shared_ptr<ExecInstance>& e, StartMode mode, bool raw) {
  auto fail = [&](int status, const std::string& message) {
    finished(c.server, *e, 126);
    c.reply_error(status, message);
  };
  bool detach = mode == StartMode::kDetach;
  container::Containers all;
  Error err;
  if (!all.open(c.server.data_root(), &err)) return fail(500, err.message);
  auto conn = std::make_unique<proto::Client>();
  container::Container ct(all, e->container_id);
  if (!ct.load(&err)) return fail(404, "No such container: " + e->container_id);
  if (!container::connect(ct, conn.get(), &err)) return fail(409, "Container " + ct.id() + " is not running");
  const json& cfg = e->config;
  container::ExecOptions o{.args = strings_of(cfg, "Cmd"),
                           .env = strings_of(cfg, "Env"),
                           .workdir = cfg.value("WorkingDir", ""),
                           .user = cfg.value("User", ""),
                           .tty = cfg.value("Tty", false),
                           .stdin_open = cfg.value("AttachStdin", false) && !detach,
                           .attach_output = !detach};
  if (json size = cfg.value("ConsoleSize", json()); size.is_array() && size.size() == 2 && size[0].is_number_unsigned())
    o.rows = size[0].get<unsigned>(), o.cols = size[1].get<unsigned>();
  // The web UI's terminal says its size when it connects.
  if (mode == StartMode::kWebSocket && c.req.has_param("h") && c.req.has_param("w"))
    o.rows = unsigned(std::strtoul(c.query("h").c_str(), nullptr, 10)),
    o.cols = unsigned(std::strtoul(c.query("w").c_str(), nullptr, 10));
  auto open_stream = [&] {
    if (mode == StartMode::kWebSocket)
      return c.conn.hijack({{"Sec-WebSocket-Accept", http::websocket_accept(c.req.header("sec-websocket-key"))}},
                           "websocket");
    return c.conn.hijack({{"Content-Type", raw ? "application/vnd.docker.raw-stream"
                                               : "application/vnd.docker.multiplexed-stream"},
                          {"Api-Version", std::string(kApiVersion)}});
  };
  container::AttachedProcess p;
  std::string code;
  if (!container::start_exec(*conn, ct.spec, o, &p, &code, &err)) {
    // docker answers a command that cannot run with the exec's exit code
    // (126/127) on an otherwise normal start.
    int exit_code = code.empty() ? 126 : container::exit_code_for_agent_error(code);
    finished(c.server, *e, exit_code);
    if (detach) return c.reply_empty(200);
    std::string line = "OCI runtime exec failed: " + err.message + "\r\n";
    if (mode == StartMode::kWebSocket) {
      if (!open_stream()) return;
      WebSocketEnds ends(c.conn);
      ends.write_output(2, line);
      return ends.close(exit_code);
    }
    c.conn.hijack({{"Content-Type", "application/vnd.docker.raw-stream"}});
    c.conn.stream().write_all(raw ? line : frame(2, line));
    return c.conn.stream().shutdown_write();
  }
  if (detach) {
    c.reply_empty(200);
    return collect_exit(std::move(conn), e, p.wait_id, c.server);
  }
  if (::pipe2(e->resize_pipe, O_CLOEXEC | O_NONBLOCK) != 0) e->resize_pipe[0] = e->resize_pipe[1] = -1;
  if (!open_stream()) return finished(c.server, *e, 255);
  p.proxy_signals = false;
  container::RelayEnd end;
  std::string why;
  if (mode == StartMode::kWebSocket) {
    WithResizes<WebSocketEnds> ends(e, c.server, c.conn);
    bool done = container::relay(*conn, p, ends, &end, &why);
    // A browser tab closed under a shell is a terminal hung up.
    if (!done) conn->request("kill", {{"exec_id", "1"}, {"signal", "SIGHUP"}}), conn->flush(&why);
    finished(c.server, *e, end.exit_code);
    return ends.close(end.exit_code);
  }
  // raw: the start's Tty (docker frames the output unless the start asks
  // for a raw stream, whether or not the exec has a pty).
  WithResizes<HijackedEnds> ends(e, c.server, c.conn, raw, cfg.value("AttachStdin", false),
                                 cfg.value("AttachStdout", false), cfg.value("AttachStderr", false));
  p.detach_keys = e->detach_keys;
  bool done = container::relay(*conn, p, ends, &end, &why);
  // Detached: the command runs on; its exit is still wanted for inspect.
  if (done && end.detached) {
    c.conn.stream().shutdown_write();
    return collect_exit(std::move(conn), e, p.wait_id, c.server);
  }
  // The exit is recorded before the stream ends: clients (the docker CLI)
  // inspect the exec as soon as it does.
  finished(c.server, *e, end.exit_code);
  c.conn.stream().shutdown_write();
}

}  // namespace

void exec_start(Context& c) {
  json body;
  if (!c.json_body(&body)) return;
  std::shared_ptr<ExecInstance> e;
  if (!claim(c, &e)) return;
  bool detach = false, raw = false;
  Error bad;
  if (!body_object(body, &bad) || !body_field(body, "Detach", &detach, &bad) || !body_field(body, "Tty", &raw, &bad)) {
    finished(c.server, *e, 126);
    return c.reply_error(bad);
  }
  start_instance(c, e, detach ? StartMode::kDetach : StartMode::kHijack, raw);
}

void exec_start_websocket(Context& c) {
  std::string why;
  if (!http::is_websocket_request(c.req, &why)) return c.reply_error(400, "want a WebSocket: " + why);
  std::shared_ptr<ExecInstance> e;
  if (claim(c, &e)) start_instance(c, e, StartMode::kWebSocket, true);
}

void exec_inspect(Context& c) {
  std::shared_ptr<ExecInstance> e = c.server.find_exec(c.param("id"));
  if (!e) return c.reply_error(404, "No such exec instance: " + c.param("id"));
  std::lock_guard<std::mutex> lock(c.server.exec_mutex());
  const json& cfg = e->config;
  std::vector<std::string> cmd = strings_of(cfg, "Cmd");
  c.reply_json(200, {{"ID", e->id},
                     {"Running", e->running},
                     {"ExitCode", e->exited ? json(e->exit_code) : json(nullptr)},
                     {"ProcessConfig",
                      {{"tty", cfg.value("Tty", false)},
                       {"entrypoint", cmd.empty() ? "" : cmd[0]},
                       {"arguments", cmd.empty() ? std::vector<std::string>() : std::vector<std::string>(cmd.begin() + 1, cmd.end())},
                       {"privileged", false},
                       {"user", cfg.value("User", "")}}},
                     {"OpenStdin", cfg.value("AttachStdin", false)},
                     {"OpenStderr", cfg.value("AttachStderr", false)},
                     {"OpenStdout", cfg.value("AttachStdout", false)},
                     {"CanRemove", false},
                     {"ContainerID", e->container_id},
                     {"DetachKeys", cfg.value("DetachKeys", "")},
                     {"Pid", 0}});
}

void exec_resize(Context& c) {
  std::shared_ptr<ExecInstance> e = c.server.find_exec(c.param("id"));
  if (!e) return c.reply_error(404, "No such exec instance: " + c.param("id"));
  int64_t h, w;
  if (!c.int_query("h", 0, &h) || !c.int_query("w", 0, &w)) return;
  {
    std::lock_guard<std::mutex> lock(c.server.exec_mutex());
    e->rows = unsigned(std::max<int64_t>(0, h));
    e->cols = unsigned(std::max<int64_t>(0, w));
  }
  if (e->resize_pipe[1] >= 0) (void)!::write(e->resize_pipe[1], "r", 1);
  c.reply_empty(200);
}

}  // namespace ctk::api
