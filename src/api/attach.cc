// POST /containers/{id}/attach: the main process's stdio on the hijacked
// connection (GET /ui/ws/attach/{id}: as WebSocket messages, for the web UI). A running container's supervisor is asked for its stdio
// channels; for one not yet started (docker run attaches, then starts) the
// client waits for the start, which hands it the start's own connection so
// no output is missed.
#include <sys/socket.h>

#include <chrono>
#include <memory>

#include "api/handlers.h"
#include "api/server_state.h"
#include "api/stdio_stream.h"
#include "container/detach_keys.h"
#include "container/lifecycle.h"
#include "container/log.h"
#include "http/websocket.h"

namespace ctk::api {

using nlohmann::json;

namespace {

// Waits for the start that hands pending its connection; false when the
// start failed or the client left first.
bool wait_for_start(Context& c, const std::shared_ptr<PendingAttach>& pending) {
  std::unique_lock<std::mutex> lock(c.server.start_mutex());
  for (;;) {
    if (pending->handed) return true;
    if (pending->abandoned) return false;
    c.server.start_changed().wait_for(lock, std::chrono::milliseconds(500));
    if (!pending->handed && c.conn.client_left(0, false)) {
      pending->abandoned = true;
      return false;
    }
  }
}

// docker's attach (a hijacked connection, the query's choices) or the web
// UI's (a WebSocket with stdin, stdout and stderr, from now on).
void attach_client(Context& c, bool websocket) {
  container::Containers all;
  Error err;
  std::string ref = c.param("id"), id;
  if (ref.starts_with("/")) ref.erase(0, 1);
  if (!all.open(c.server.data_root(), &err) || !all.find(ref, &id, &err)) {
    if (err.code == ErrorCode::not_found) err.message = "No such container: " + ref;
    return c.reply_error(err);
  }
  container::Container ct(all, id);
  if (!ct.load(&err)) return c.reply_error(404, "No such container: " + ref);
  bool want_in = websocket || c.flag("stdin"), want_out = websocket || c.flag("stdout"),
       want_err = websocket || c.flag("stderr"), stream = websocket || c.flag("stream");
  bool tty = ct.spec.tty;
  // docker's detach keys end a tty's attach (not the web UI's terminal,
  // where every key belongs to the program).
  std::string detach_keys, why;
  if (!websocket && !container::parse_detach_keys(c.query("detachKeys"), &detach_keys, &why))
    return c.reply_error(400, why);
  // Registered before the hijack's answer: a start that follows it at once
  // finds this client waiting.
  std::shared_ptr<PendingAttach> pending;
  container::State st = ct.effective_state();
  bool is_running = st.status == container::Status::running || st.status == container::Status::restarting;
  if (!is_running && stream) {
    pending = std::make_shared<PendingAttach>();
    pending->container_id = id;
    pending->want_stdin = want_in;
    c.server.add_pending_attach(pending);
  }
  std::unique_ptr<container::AttachEnds> owned_ends;
  if (websocket) {
    c.conn.hijack({{"Sec-WebSocket-Accept", http::websocket_accept(c.req.header("sec-websocket-key"))}}, "websocket");
    owned_ends = std::make_unique<WebSocketEnds>(c.conn);
  } else {
    c.conn.hijack({{"Content-Type", tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"},
                   {"Api-Version", std::string(kApiVersion)}});
    owned_ends = std::make_unique<HijackedEnds>(c.conn, tty, want_in && ct.spec.interactive, want_out, want_err);
  }
  container::AttachEnds& ends = *owned_ends;
  if (!websocket && c.flag("logs")) {
    container::LogQuery q;
    container::read_log(ct, q, [&](const container::LogRecord& r) {
      return ends.write_output(r.stream == container::Stream::out ? 1 : 2, r.data);
    }, nullptr, &err);
  }
  if (!stream) return c.conn.stream().shutdown_write();
  std::unique_ptr<proto::Client> owned;
  PendingExits exits;  // waits told the exit this client sees
  container::AttachedProcess p = container::main_attachment(ct.spec, want_in);
  p.detach_keys = std::move(detach_keys);
  if (pending) {
    if (!wait_for_start(c, pending)) {
      c.server.remove_pending_attach(pending);
      return c.conn.stream().shutdown_write();
    }
    owned = std::move(pending->conn);
    p.wait_id = pending->wait_id;
    exits = std::move(pending->exits);
  } else {
    owned = std::make_unique<proto::Client>();
    json result;
    if (!container::connect(ct, owned.get(), &err) ||
        !owned->call("attach", container::attach_request(p, owned.get()), &result, &why))
      return c.conn.stream().shutdown_write();
    p.wait_id = owned->request("wait", json::object());
  }
  // Signals are not proxied here: docker's CLI sends them as kill requests.
  p.proxy_signals = false;
  container::RelayEnd end;
  bool exited = container::relay(*owned, p, ends, &end, &why) && !end.detached;
  int exit_code = end.exit_code;
  // A tab closed on an attached process detaches from it, as docker's does.
  if (websocket && exited) static_cast<WebSocketEnds&>(ends).close(exit_code);
  c.conn.stream().shutdown_write();
  // A client that left before the exit leaves the waits to hear it here.
  if (exited) c.server.tell_exits(exits, &exit_code);
  else if (!exits.empty()) c.server.deliver_exit(*owned, p.wait_id, exits);
}

}  // namespace

void containers_attach(Context& c) { attach_client(c, false); }

void containers_attach_websocket(Context& c) {
  std::string why;
  if (!http::is_websocket_request(c.req, &why)) return c.reply_error(400, "want a WebSocket: " + why);
  attach_client(c, true);
}

}  // namespace ctk::api
