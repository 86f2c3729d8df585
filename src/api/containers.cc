// /containers/...: docker's container routes over container/ (create,
// lifecycle, inspect, log, top, stats), each a client of the container's
// files and supervisor, as the CLI is.
#include <signal.h>
#include <string.h>
#include <time.h>

#include <cctype>
#include <chrono>
#include <thread>

#include "api/container_config.h"
#include "api/events.h"
#include "api/handlers.h"
#include "api/profiles.h"
#include "api/server_state.h"
#include "api/stdio_stream.h"
#include "base/clock.h"
#include "base/dirs.h"
#include "boot/arch.h"
#include "oci/image.h"
#include "base/strings.h"
#include "container/create.h"
#include "container/inspect.h"
#include "container/lifecycle.h"
#include "container/log.h"
#include "container/stats.h"
#include "container/top.h"
#include "network/networks.h"
#include "volume/volumes.h"

namespace ctk::api {

using nlohmann::json;
using container::Container;
using container::Containers;

namespace {

// The container a route's {id} names (an id, a unique prefix, a name with
// or without docker's leading slash), loaded; false after a 404.
bool find(Context& c, Containers* all, std::unique_ptr<Container>* out) {
  Error err;
  std::string ref = c.param("id"), id;
  if (ref.starts_with("/")) ref.erase(0, 1);
  if (!all->open(c.server.data_root(), &err) || !all->find(ref, &id, &err)) {
    if (err.code == ErrorCode::not_found) err.message = "No such container: " + ref;
    c.reply_error(err);
    return false;
  }
  auto ct = std::make_unique<Container>(*all, id);
  if (!ct->load(&err)) {
    // Removed between the lookup and the read.
    c.reply_error(404, "No such container: " + ref);
    return false;
  }
  *out = std::move(ct);
  return true;
}

bool running(const Container& ct) {
  container::Status s = ct.effective_state().status;
  return s == container::Status::running || s == container::Status::restarting;
}

// Seconds since the epoch of an RFC 3339 time (0 for none).
int64_t unix_seconds(const std::string& t) {
  int64_t ns;
  std::string ignored;
  return !t.empty() && container::parse_log_time(t, 0, &ns, &ignored) ? ns / 1000000000 : 0;
}

// docker ps's entry (GET /containers/json).
json summary(const container::Summary& s, const json& inspected) {
  json ports = json::array();
  for (const container::PortBinding& p : s.full.ports)
    ports.push_back({{"IP", p.host_ip}, {"PrivatePort", p.container_port}, {"PublicPort", p.host_port}, {"Type", p.protocol}});
  // Ports declared but not bound (a stopped container) show without a host side.
  if (s.full.ports.empty())
    for (const container::PortBinding& p : s.spec.ports)
      ports.push_back({{"PrivatePort", p.container_port}, {"Type", p.protocol}});
  json networks = json::object();
  for (auto& [name, ep] : inspected["NetworkSettings"]["Networks"].items()) networks[name] = ep;
  return {{"Id", s.id},
          {"Names", {"/" + s.name}},
          {"Image", s.image},
          {"ImageID", s.spec.image_id},
          {"Command", s.command},
          {"Created", unix_seconds(s.created)},
          {"Ports", ports},
          {"Labels", s.spec.labels},
          {"State", s.state},
          {"Status", s.status_text},
          {"HostConfig", {{"NetworkMode", s.spec.network}}},
          {"NetworkSettings", {{"Networks", networks}}},
          {"Mounts", inspected["Mounts"]}};
}

json inspect(Context& c, const Container& ct) {
  volume::Volumes volumes;
  network::Networks networks;
  Error ignored;
  volumes.open(c.server.data_root(), &ignored);
  networks.open(c.server.data_root(), &ignored);
  json j = container::inspect_json(ct, volumes, networks);
  j["ExecIDs"] = c.server.execs_of(ct.id());
  if (j["ExecIDs"].empty()) j["ExecIDs"] = nullptr;
  return j;
}

// ps filters: ctk's own (id, name, status, label, ancestor) in the library,
// exited=N here.
bool split_filters(Context& c, std::vector<container::Filter>* lib, std::vector<int>* exited) {
  std::vector<std::string> texts;
  if (!c.filters(&texts)) return false;
  for (std::string& t : texts) {
    if (t.starts_with("exited=")) {
      exited->push_back(std::atoi(t.c_str() + 7));
      continue;
    }
    if (t.starts_with("name=/")) t.erase(5, 1);
    container::Filter f;
    std::string why;
    if (!container::parse_filter(t, &f, &why)) return c.reply_error(400, "invalid filter: " + why), false;
    lib->push_back(f);
  }
  return true;
}

// docker's kill event, the signal as a number ("15"), before the signal goes.
// The watcher may not yet have taken the container's start from its state
// (it waits for a burst of writes to end): a scan first keeps docker's order.
void publish_kill(Context& c, const Container& ct, std::string signal) {
  c.server.events().rescan();
  if (signal.starts_with("SIG")) signal.erase(0, 3);
  for (int n = 1; n < 65 && !signal.empty() && !std::isdigit((unsigned char)signal[0]); n++)
    if (const char* abbrev = ::sigabbrev_np(n); abbrev && signal == abbrev) signal = std::to_string(n);
  Event e = container_event(ct, "kill");
  e.attributes["signal"] = signal;
  c.server.events().publish(std::move(e));
}

// An event that follows the container's exit (stop, restart): the watcher
// first takes the die from its state, so they come in docker's order.
void publish_after_exit(Context& c, const Container& ct, const char* action) {
  c.server.events().rescan();
  c.server.events().publish(container_event(ct, action));
}

}  // namespace

void containers_list(Context& c) {
  std::vector<container::Filter> filters;
  std::vector<int> exited;
  if (!split_filters(c, &filters, &exited)) return;
  int64_t limit;
  if (!c.int_query("limit", -1, &limit)) return;
  Containers all;
  Error err;
  std::vector<container::Summary> list;
  bool include_stopped = c.flag("all") || limit > 0 || !exited.empty();
  if (!all.open(c.server.data_root(), &err) || !container::list(all, include_stopped, filters, &list, &err))
    return c.reply_error(err);
  json out = json::array();
  for (const container::Summary& s : list) {
    if (!exited.empty() && (s.state != "exited" || std::find(exited.begin(), exited.end(), s.full.exit_code) == exited.end()))
      continue;
    if (limit > 0 && int64_t(out.size()) >= limit) break;
    Container ct(all, s.id);
    ct.spec = s.spec;
    ct.state = s.full;
    out.push_back(summary(s, inspect(c, ct)));
  }
  c.reply_json(200, out);
}

void containers_create(Context& c) {
  json body;
  if (!c.json_body(&body)) return;
  container::CreateOptions o;
  Error err;
  std::string name = c.query("name");
  if (name.starts_with("/")) name.erase(0, 1);
  // ctk's own parameter: a sandbox profile under the request's settings.
  uint64_t profile_timeout = 0;
  if (std::string ref = c.query("profile"); !ref.empty()) {
    profile::Profile p;
    std::string why;
    // By name only: a path would read the server's files.
    if (ref.find('/') != std::string::npos || ref.ends_with(".toml"))
      return c.reply_error(400, "profile '" + ref + "': give a profile's name (ctk profile ls), not a file");
    if (!profile::load(ref, &p, &why)) return c.reply_error(400, why);
    if (!apply_profile(p, &body, &profile_timeout, &err)) return c.reply_error(err);
  }
  if (!create_options_from_docker(body, name, &o, &err)) return c.reply_error(err);
  if (profile_timeout) o.timeout = profile_timeout;
  o.pull_if_missing = false;  // clients pull first, on a 404 (docker run's "Unable to find image")
  std::string why;
  if (!vz::apply_environment(&o.machine, &why)) return c.reply_error(500, why);
  if (std::string platform = c.query("platform"); !platform.empty()) {
    if (!oci::parse_platform(platform, &o.pull.platform, &why)) return c.reply_error(400, why);
    o.machine.arch = boot::arch_from_platform(o.pull.platform.arch);
    if (o.machine.arch.empty()) return c.reply_error(400, "unsupported platform '" + platform + "'");
  }
  Containers all;
  container::Spec spec;
  Timings timings;
  if (!all.open(c.server.data_root(), &err) || !container::create(all, o, timings, &spec, &err)) return c.reply_error(err);
  c.reply_json(201, {{"Id", spec.id}, {"Warnings", json::array()}});
}

void containers_inspect(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  json j = inspect(c, *ct);
  if (c.flag("size")) j["SizeRw"] = 0, j["SizeRootFs"] = 0;
  c.reply_json(200, j);
}

void containers_start(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  if (running(*ct)) return c.reply_empty(304);
  // An attach client waiting for this start (docker run, start -a) gets the
  // supervisor connection, with its output from the first byte.
  std::shared_ptr<PendingAttach> waiting = c.server.take_pending_attach(ct->id());
  PendingExits exits = c.server.take_pending_exits(ct->id());
  auto conn = std::make_unique<proto::Client>();
  container::Started started;
  Timings timings;
  Error err;
  container::StartRequest request{.attach = waiting != nullptr, .wait = waiting != nullptr || !exits.empty()};
  if (!container::start(all, *ct, request, conn.get(), &started, timings, &err)) {
    c.server.tell_exits(exits, nullptr);
    // A --rm container that could not start goes, as docker's does.
    // Its supervisor is on its way out; it is waited for, briefly.
    Error ignored;
    for (int i = 0; ct->spec.auto_remove && i < 500 && ct->supervised(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (ct->spec.auto_remove && ct->load(&ignored) && !ct->supervised()) container::remove(all, *ct, false, true, &ignored);
    if (waiting) {
      std::lock_guard<std::mutex> lock(c.server.start_mutex());
      waiting->abandoned = true;
      c.server.start_changed().notify_all();
    }
    return c.reply_error(err);
  }
  if (waiting) {
    std::lock_guard<std::mutex> lock(c.server.start_mutex());
    waiting->conn = std::move(conn);
    waiting->wait_id = started.wait_id;
    waiting->exits = std::move(exits);
    waiting->handed = true;
    c.server.start_changed().notify_all();
  } else if (!exits.empty()) {
    std::thread([conn = std::move(conn), wait_id = started.wait_id, exits = std::move(exits), &server = c.server] {
      server.deliver_exit(*conn, wait_id, exits);
    }).detach();
  }
  c.reply_empty(204);
}

void containers_stop(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  int64_t t;
  if (!c.int_query(c.req.has_param("timeout") ? "timeout" : "t", ct->spec.stop_timeout, &t)) return;
  if (!running(*ct)) return c.reply_empty(304);
  Error err;
  publish_kill(c, *ct, ct->spec.stop_signal);
  if (!container::stop(*ct, int(t < 0 ? ct->spec.stop_timeout : t), &err)) return c.reply_error(err);
  publish_after_exit(c, *ct, "stop");
  c.reply_empty(204);
}

void containers_restart(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  int64_t t;
  if (!c.int_query(c.req.has_param("timeout") ? "timeout" : "t", ct->spec.stop_timeout, &t)) return;
  Error err;
  if (running(*ct)) publish_kill(c, *ct, ct->spec.stop_signal);
  if (!container::stop(*ct, int(t < 0 ? ct->spec.stop_timeout : t), &err) || !ct->load(&err)) return c.reply_error(err);
  publish_after_exit(c, *ct, "stop");
  proto::Client conn;
  container::Started started;
  Timings timings;
  if (!container::start(all, *ct, {}, &conn, &started, timings, &err)) return c.reply_error(err);
  publish_after_exit(c, *ct, "restart");
  c.reply_empty(204);
}

void containers_kill(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  if (!running(*ct)) return c.reply_error(409, "Container " + ct->id() + " is not running");
  Error err;
  std::string signal = c.query("signal", "SIGKILL");
  if (!container::kill(*ct, signal, &err)) return c.reply_error(err);
  publish_kill(c, *ct, signal);
  c.reply_empty(204);
}

void containers_delete(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  Error err;
  bool force = c.flag("force");
  if (running(*ct) && !force)
    return c.reply_error(409, "You cannot remove a running container " + ct->id() +
                                  ". Stop the container before attempting removal or force remove");
  if (!container::remove(all, *ct, force, c.flag("v"), &err)) return c.reply_error(err);
  c.reply_empty(204);
}

void containers_rename(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  Error err;
  if (!all.rename(ct->id(), c.query("name"), &err)) return c.reply_error(err);
  c.reply_empty(204);
}

void containers_prune(Context& c) {
  std::vector<container::Filter> filters;
  std::vector<int> exited;
  if (!split_filters(c, &filters, &exited)) return;
  Containers all;
  Error err;
  std::vector<container::Summary> list;
  if (!all.open(c.server.data_root(), &err) || !container::list(all, true, filters, &list, &err)) return c.reply_error(err);
  json deleted = json::array();
  uint64_t reclaimed = 0;
  for (const container::Summary& s : list) {
    if (s.state == "running" || s.state == "restarting") continue;
    Container ct(all, s.id);
    if (!ct.load(&err) || running(ct)) continue;
    // Its directory: the writable layer (what the container wrote), logs.
    uint64_t size = disk_usage(ct.dir());
    if (!container::remove(all, ct, false, false, &err)) continue;
    deleted.push_back(s.id);
    reclaimed += size;
  }
  c.reply_json(200, {{"ContainersDeleted", deleted.empty() ? json(nullptr) : deleted}, {"SpaceReclaimed", reclaimed}});
}

// wait: the 200 head goes out at once (docker run waits for it before it
// starts the container), the body when the condition is met.
namespace {

// Until the start tells pending the exit; false: the client left meanwhile.
bool wait_for_exit(Context& c, const std::shared_ptr<PendingExit>& pending) {
  std::unique_lock<std::mutex> lock(c.server.start_mutex());
  while (!pending->done) {
    c.server.start_changed().wait_for(lock, std::chrono::milliseconds(200));
    if (!pending->done && c.conn.client_left(0, true)) {
      pending->abandoned = true;
      lock.unlock();
      c.server.remove_pending_exit(pending);
      return false;
    }
  }
  return true;
}

// Until a container is gone from the disk (its --rm supervisor removes it
// right after telling the exit), or the client leaves.
void wait_removed(Context& c, Container& ct) {
  Error err;
  while (ct.load(&err) && !c.conn.client_left(0, true)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void finish_wait(Context& c, int exit_code, const std::string& error) {
  json body = {{"StatusCode", exit_code}, {"Error", error.empty() ? json(nullptr) : json{{"Message", error}}}};
  c.conn.write_chunk(body.dump() + "\n");
  c.conn.end_stream();
}

}  // namespace

void containers_wait(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  std::string condition = c.query("condition", "not-running");
  if (condition != "not-running" && condition != "next-exit" && condition != "removed")
    return c.reply_error(400, "invalid condition: '" + condition + "'");
  std::string first_start = ct->state.started_at, first_error = ct->state.error;
  bool must_run = condition == "next-exit" || (condition == "removed" && ct->spec.auto_remove);
  int exit_code = 0;
  std::string error;
  // One that has yet to start: its start tells this wait the exit (docker
  // run's order; its client starts it once this answer's head arrives, so
  // the wait registers first).
  std::shared_ptr<PendingExit> pending;
  if (must_run && !running(*ct)) {
    pending = std::make_shared<PendingExit>();
    pending->container_id = ct->id();
    c.server.add_pending_exit(pending);
  }
  c.conn.begin_stream(200, {{"Content-Type", "application/json"}, {"Api-Version", std::string(kApiVersion)}});
  if (pending) {
    if (!wait_for_exit(c, pending)) return;
    if (!pending->unknown) {
      if (condition == "removed") wait_removed(c, *ct);
      return finish_wait(c, pending->exit_code, error);
    }
  }
  // Until the condition holds: a running container's exit comes from its
  // supervisor; a created one (docker run's order: wait, then start) is
  // watched until it has run.
  for (;;) {
    Error err;
    if (!ct->load(&err)) {
      // Gone: removed (by --rm's supervisor, or rm) after its exit.
      if (condition == "removed" || must_run) break;
      error = err.message;
      break;
    }
    container::State st = ct->effective_state();
    bool is_running = st.status == container::Status::running || st.status == container::Status::restarting;
    if (is_running) {
      int code;
      if (container::wait(*ct, &code, &err)) exit_code = code;
      must_run = false;
      if (condition != "removed") break;
      continue;
    }
    exit_code = st.exit_code;
    // It ran since the wait began, or a start failed (the error is new).
    bool ran = (st.started_at != first_start && !st.started_at.empty()) || (!st.error.empty() && st.error != first_error);
    if ((st.status == container::Status::exited || (st.status == container::Status::created && ran)) &&
        (!must_run || ran)) {
      if (condition != "removed") break;
      must_run = false;
    }
    // The client may have gone meanwhile: stop waiting for it.
    if (c.conn.client_left(50, true)) return;
  }
  finish_wait(c, exit_code, error);
}

void containers_resize(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  int64_t h, w;
  if (!c.int_query("h", 0, &h) || !c.int_query("w", 0, &w)) return;
  proto::Client conn;
  Error err;
  json result;
  std::string why;
  if (!container::connect(*ct, &conn, &err)) return c.reply_error(err);
  if (h > 0 && w > 0 && ct->spec.tty && !conn.call("resize", {{"rows", h}, {"cols", w}}, &result, &why))
    return c.reply_error(500, why);
  c.reply_empty(200);
}

void containers_top(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  std::vector<std::string> args, columns;
  for (const std::string& a : split(c.query("ps_args"), ' '))
    if (!a.empty()) args.push_back(a);
  std::string why;
  if (!container::top_columns(args, &columns, &why)) return c.reply_error(400, why);
  proto::Client conn;
  Error err;
  json reply;
  if (!container::connect(*ct, &conn, &err)) return c.reply_error(409, "Container " + ct->id() + " is not running");
  if (!conn.call("top", json::object(), &reply, &why)) return c.reply_error(500, why);
  container::TopTable t = container::top_table(reply, columns, now_ns());
  c.reply_json(200, {{"Titles", t.titles}, {"Processes", t.processes}});
}

void containers_logs(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  bool want_out = c.flag("stdout"), want_err = c.flag("stderr");
  if (!want_out && !want_err) return c.reply_error(400, "you must choose at least one stream");
  if (ct->spec.log_driver == "none") return c.reply_error(501, "configured logging driver does not support reading");
  container::LogQuery q;
  std::string why;
  int64_t now = now_ns();
  for (auto [key, at] : {std::pair{"since", &q.since}, std::pair{"until", &q.until}}) {
    std::string v = c.query(key);
    if (v.empty() || v == "0") continue;
    if (!container::parse_log_time(v, now, at, &why)) return c.reply_error(400, why);
  }
  std::string tail = c.query("tail", "all");
  if (tail != "all") {
    char* end;
    q.tail = std::strtol(tail.c_str(), &end, 10);
    if (*end || tail.empty() || q.tail < 0) q.tail = -1;  // docker treats a bad tail as all
  }
  q.follow = c.flag("follow");
  bool timestamps = c.flag("timestamps"), tty = ct->spec.tty;
  c.conn.begin_stream(200, {{"Content-Type", tty ? "application/vnd.docker.raw-stream"
                                                  : "application/vnd.docker.multiplexed-stream"},
                            {"Api-Version", std::string(kApiVersion)}});
  auto emit = [&](const container::LogRecord& r) {
    int stream = r.stream == container::Stream::out ? 1 : 2;
    if (stream == 1 ? !want_out : !want_err) return true;
    std::string data = timestamps ? format_rfc3339(r.time_ns) + " " + std::string(r.data) : std::string(r.data);
    return c.conn.write_chunk(tty ? data : frame(stream, data));
  };
  Error err;
  container::read_log(*ct, q, emit, [&] { return c.conn.client_left(0, true); }, &err);
  c.conn.end_stream();
}

void containers_stats(Context& c) {
  Containers all;
  std::unique_ptr<Container> ct;
  if (!find(c, &all, &ct)) return;
  bool stream = c.flag("stream", true) && !c.flag("one-shot");
  c.conn.begin_stream(200, {{"Content-Type", "application/json"}, {"Api-Version", std::string(kApiVersion)}});
  container::StatsSample before = container::sample_stats(*ct);
  long cpus = std::max(1u, ct->spec.machine.cpus);
  auto cpu_json = [&](const container::StatsSample& s) {
    return json{{"cpu_usage",
                 {{"total_usage", s.cpu_usec * 1000},
                  {"usage_in_usermode", s.user_usec * 1000},
                  {"usage_in_kernelmode", s.system_usec * 1000}}},
                {"system_cpu_usage", uint64_t(s.at * 1e9) * uint64_t(cpus)},
                {"online_cpus", cpus},
                {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  };
  for (;;) {
    // CPU use is a rate: docker's first sample compares with the one a
    // second before (its precpu_stats).
    std::this_thread::sleep_for(std::chrono::milliseconds(stream ? 1000 : 500));
    container::StatsSample now = container::sample_stats(*ct);
    uint64_t limit = now.memory_max ? now.memory_max : now.vm_memory;
    json j = {{"read", format_rfc3339(now_ns())},
              {"preread", format_rfc3339(now_ns() - (stream ? 1000000000 : 500000000))},
              {"id", ct->id()},
              {"name", "/" + ct->spec.name},
              {"num_procs", 0},
              {"pids_stats", {{"current", now.pids}}},
              {"cpu_stats", cpu_json(now)},
              {"precpu_stats", cpu_json(before)},
              {"memory_stats", {{"usage", now.memory}, {"limit", limit}, {"stats", json::object()}}},
              {"blkio_stats", {{"io_service_bytes_recursive", nullptr}}},
              {"networks", json::object()}};
    if (!now.ok) j["cpu_stats"] = json::object(), j["memory_stats"] = json::object();
    if (!c.conn.write_chunk(j.dump() + "\n") || !stream || !now.ok) break;
    before = now;
  }
  c.conn.end_stream();
}

}  // namespace ctk::api
