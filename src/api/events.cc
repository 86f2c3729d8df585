// GET /events and the event bus behind it (events.h).
#include "api/events.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "api/handlers.h"
#include "api/server_state.h"
#include "base/clock.h"
#include "container/log.h"
#include "container/state.h"

namespace ctk::api {

using nlohmann::json;

namespace {

// An RFC 3339 time of the state in ns; 0 when absent or unreadable.
int64_t state_time(const std::string& text) {
  int64_t ns = 0;
  std::string ignored;
  if (text.empty() || !container::parse_log_time(text, 0, &ns, &ignored)) return 0;
  return ns;
}

Event container_event(const std::string& id, const ContainerSnapshot& s, const char* action, int64_t time_ns) {
  Event e{.type = "container", .action = action, .id = id, .attributes = s.labels, .time_ns = time_ns};
  e.attributes["name"] = s.name;
  e.attributes["image"] = s.image;
  return e;
}

// A filter value against a source: equal, or (fuzzy) a prefix of it, as
// docker's filters.Args.FuzzyMatch.
bool any_match(const EventFilter& f, const std::string& key, std::initializer_list<std::string> sources, bool fuzzy) {
  auto it = f.values.find(key);
  if (it == f.values.end()) return true;
  for (const std::string& want : it->second)
    for (const std::string& s : sources)
      if (!s.empty() && (s == want || (fuzzy && s.starts_with(want)))) return true;
  return false;
}

// An image name without its tag (busybox:latest -> busybox; a registry port
// is not a tag).
std::string strip_tag(const std::string& name) {
  size_t at = name.find('@');
  std::string n = at == std::string::npos ? name : name.substr(0, at);
  size_t colon = n.rfind(':');
  if (colon != std::string::npos && n.find('/', colon) == std::string::npos) n.erase(colon);
  return n;
}

bool labels_match(const EventFilter& f, const std::map<std::string, std::string>& attributes) {
  auto it = f.values.find("label");
  if (it == f.values.end()) return true;
  // Every label filter must hold (docker's MatchKVList).
  for (const std::string& want : it->second) {
    size_t eq = want.find('=');
    auto a = attributes.find(want.substr(0, eq));
    if (a == attributes.end()) return false;
    if (eq != std::string::npos && a->second != want.substr(eq + 1)) return false;
  }
  return true;
}

}  // namespace

json event_json(const Event& e) {
  json j = {{"Type", e.type},
            {"Action", e.action},
            {"Actor", {{"ID", e.id}, {"Attributes", e.attributes}}},
            {"scope", "local"},
            {"time", e.time_ns / 1000000000},
            {"timeNano", e.time_ns}};
  // The fields docker had before Type/Action/Actor, still sent to API
  // versions below 1.52 and read by older clients.
  if (e.type == "container" || e.type == "image") {
    j["status"] = e.action;
    j["id"] = e.id;
    if (e.type == "container") j["from"] = e.attributes.contains("image") ? e.attributes.at("image") : "";
  }
  return j;
}

bool parse_event_filter(const std::vector<std::string>& texts, EventFilter* out, Error* err) {
  static const std::set<std::string> kKeys = {"type", "event", "container", "image", "label", "network", "volume",
                                               "scope", "daemon"};
  for (const std::string& t : texts) {
    size_t eq = t.find('=');
    std::string key = t.substr(0, eq);
    if (!kKeys.contains(key)) return err->fail(ErrorCode::invalid, "invalid filter '" + key + "'");
    out->values[key].push_back(eq == std::string::npos ? "" : t.substr(eq + 1));
  }
  return true;
}

bool event_matches(const EventFilter& f, const Event& e) {
  const std::string name = e.attributes.contains("name") ? e.attributes.at("name") : "";
  // An image event's actor name is its "name", a container's image its "image".
  const std::string image_attr = e.attributes.contains(e.type == "image" ? "name" : "image")
                                     ? e.attributes.at(e.type == "image" ? "name" : "image")
                                     : "";
  // docker matches exec_start and health_status loosely ("exec_start: sh").
  bool fuzzy_event = false;
  if (auto it = f.values.find("event"); it != f.values.end())
    for (const std::string& v : it->second) fuzzy_event |= v == "exec_create" || v == "exec_start" || v == "health_status";
  auto typed = [&](const char* type) {
    // container=X, network=X, volume=X apply to that type's events only
    // through its actor, as docker's fuzzyMatchName: other types pass only
    // when the key is absent.
    return any_match(f, type, {e.type == type ? e.id : std::string(), e.type == type ? name : std::string()}, true);
  };
  return any_match(f, "event", {e.action}, fuzzy_event) && any_match(f, "type", {e.type}, false) &&
         any_match(f, "scope", {std::string("local")}, false) && typed("container") && typed("network") &&
         typed("volume") &&
         any_match(f, "image", {e.id, image_attr, strip_tag(e.id), strip_tag(image_attr)}, false) &&
         labels_match(f, e.attributes);
}

bool parse_event_time(const std::string& text, int64_t* ns, Error* err) {
  auto bad = [&] { return err->fail(ErrorCode::invalid, "invalid timestamp '" + text + "'"); };
  size_t dot = text.find('.');
  std::string secs = text.substr(0, dot), frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  bool negative = secs.starts_with("-");
  if (negative) secs.erase(0, 1);
  if (secs.empty() || secs.size() > 12 || frac.size() > 9 ||
      secs.find_first_not_of("0123456789") != std::string::npos ||
      frac.find_first_not_of("0123456789") != std::string::npos)
    return bad();
  frac.resize(9, '0');
  int64_t v = std::stoll(secs) * 1000000000 + std::stoll(frac);
  *ns = negative ? -v : v;
  return true;
}

void diff_snapshots(const Snapshots& before, const Snapshots& after, int64_t now, std::vector<Event>* out) {
  // Named, not bound: the lambdas below capture them (clang 14 cannot
  // capture structured bindings).
  for (const auto& entry : after) {
    const std::string& id = entry.first;
    const ContainerSnapshot& s = entry.second;
    auto it = before.find(id);
    ContainerSnapshot old;
    if (it == before.end()) {
      int64_t created = state_time(s.created);
      out->push_back(container_event(id, s, "create", created ? created : now));
    } else {
      old = it->second;
      if (old.name != s.name) {
        Event e = container_event(id, s, "rename", now);
        e.attributes["oldName"] = "/" + old.name;
        out->push_back(std::move(e));
      }
    }
    bool started = !s.started_at.empty() && s.started_at != old.started_at;
    bool died = !s.finished_at.empty() && s.finished_at != old.finished_at;
    // A supervisor gone without writing its state: no new finished_at.
    if (!died && !started && old.running && !s.running) died = true;
    int64_t start_t = state_time(s.started_at), die_t = state_time(s.finished_at);
    auto die = [&] {
      Event e = container_event(id, s, "die", die_t && s.finished_at != old.finished_at ? die_t : now);
      e.attributes["exitCode"] = std::to_string(s.exit_code);
      out->push_back(std::move(e));
    };
    auto start = [&] { out->push_back(container_event(id, s, "start", start_t ? start_t : now)); };
    // Both between two scans: it ran and exited, or it exited and was
    // started again (a restart policy); their times tell which.
    if (started && died && die_t < start_t)
      die(), start();
    else {
      if (started) start();
      if (died) die();
    }
  }
  for (auto& [id, s] : before)
    if (!after.contains(id)) out->push_back(container_event(id, s, "destroy", now));
}

bool scan_containers(const std::string& data_root, Snapshots* out, Error* err) {
  container::Containers all;
  std::vector<std::string> ids;
  if (!all.open(data_root, err) || !all.list(&ids, err)) return false;
  for (const std::string& id : ids) {
    container::Container ct(all, id);
    Error ignored;
    if (!ct.load(&ignored)) continue;
    container::State st = ct.effective_state();
    ContainerSnapshot s{.name = ct.spec.name,
                        .image = ct.spec.image,
                        .labels = ct.spec.labels,
                        .created = ct.spec.created,
                        .running = st.status == container::Status::running,
                        .started_at = st.started_at,
                        .finished_at = st.finished_at,
                        .exit_code = st.exit_code};
    (*out)[id] = std::move(s);
  }
  return true;
}

EventBus::~EventBus() {
  if (watcher_.joinable()) {
    uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof one) < 0) {}
    watcher_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void EventBus::publish(Event e) {
  if (e.time_ns == 0) e.time_ns = now_ns();
  std::lock_guard<std::mutex> lock(mu_);
  history_.push_back(e);
  if (history_.size() > kHistory) history_.pop_front();
  for (auto& s : subscribers_) {
    // A client that reads nothing while thousands of events pass is ended
    // rather than let it hold the server's memory.
    if (s->queue.size() >= kHistory) s->overflowed = true;
    if (!s->overflowed) s->queue.push_back(e);
  }
  cv_.notify_all();
}

void EventBus::rescan() {
  std::lock_guard<std::mutex> lock(scan_mu_);
  if (scanned_) scan_locked();
}

void EventBus::scan_locked() {
  Snapshots now;
  Error err;
  if (!scan_containers(data_root_, &now, &err)) return;
  std::vector<Event> events;
  diff_snapshots(snapshot_, now, now_ns(), &events);
  snapshot_ = std::move(now);
  for (Event& e : events) publish(std::move(e));
}

void EventBus::start_watcher(const std::string& data_root) {
  std::lock_guard<std::mutex> lock(scan_mu_);
  if (scanned_) return;
  data_root_ = data_root;
  // What exists now happened before the server: no events for it.
  Error err;
  scan_containers(data_root_, &snapshot_, &err);
  scanned_ = true;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ >= 0) watcher_ = std::thread([this] { watch(); });
}

// inotify on containers/ (a container made or removed) and on each
// container's directory (state.json and config.json are replaced by
// rename); a scan follows each burst of changes, and one every 2 s
// regardless, for the state a dead supervisor leaves unchanged.
void EventBus::watch() {
  int in = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  std::string dir = data_root_ + "/containers";
  std::set<std::string> watched;
  auto add_watches = [&] {
    if (in < 0) return;
    ::inotify_add_watch(in, dir.c_str(), IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR);
    std::lock_guard<std::mutex> lock(scan_mu_);
    std::set<std::string> now;
    for (auto& [id, s] : snapshot_) {
      now.insert(id);
      if (!watched.contains(id))
        ::inotify_add_watch(in, (dir + "/" + id).c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
    }
    // Watches of removed directories went with them.
    watched = std::move(now);
  };
  add_watches();
  for (;;) {
    pollfd p[2] = {{wake_fd_, POLLIN, 0}, {in, POLLIN, 0}};
    int n = ::poll(p, in >= 0 ? 2 : 1, 2000);
    if (n < 0 && errno != EINTR) break;
    if (p[0].revents) break;
    if (n > 0 && (p[1].revents & POLLIN)) {
      // A create or a start writes several files: wait for the burst.
      ::usleep(20000);
      char buf[8192];
      while (::read(in, buf, sizeof buf) > 0) {}
    }
    rescan();
    add_watches();
  }
  if (in >= 0) ::close(in);
}

std::shared_ptr<EventBus::Subscriber> EventBus::subscribe(int64_t since_ns, int64_t until_ns, std::vector<Event>* past) {
  auto s = std::make_shared<Subscriber>();
  std::lock_guard<std::mutex> lock(mu_);
  // docker replays only when since or until is given.
  if (since_ns != 0 || until_ns != 0)
    for (const Event& e : history_)
      if (e.time_ns >= since_ns && (until_ns == 0 || e.time_ns <= until_ns)) past->push_back(e);
  // The state's own times may put a later event before an earlier one.
  std::stable_sort(past->begin(), past->end(), [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
  subscribers_.push_back(s);
  return s;
}

void EventBus::unsubscribe(const std::shared_ptr<Subscriber>& s) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(subscribers_, s);
}

bool EventBus::wait(const std::shared_ptr<Subscriber>& s, std::chrono::milliseconds timeout, std::vector<Event>* out) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !s->queue.empty() || s->overflowed; });
  if (s->overflowed) return false;
  out->assign(std::make_move_iterator(s->queue.begin()), std::make_move_iterator(s->queue.end()));
  s->queue.clear();
  return true;
}

Event container_event(const container::Container& ct, const char* action) {
  ContainerSnapshot s{.name = ct.spec.name, .image = ct.spec.image, .labels = ct.spec.labels};
  return container_event(ct.id(), s, action, 0);
}

void system_events(Context& c) {
  Error err;
  int64_t since = 0, until = 0;
  std::string since_text = c.query("since"), until_text = c.query("until");
  if ((!since_text.empty() && !parse_event_time(since_text, &since, &err)) ||
      (!until_text.empty() && !parse_event_time(until_text, &until, &err)))
    return c.reply_error(err);
  if (until != 0 && until < since)
    return c.reply_error(400, "`since` time (" + since_text + ") cannot be after `until` time (" + until_text + ")");
  std::vector<std::string> texts;
  EventFilter filter;
  if (!c.filters(&texts)) return;
  if (!parse_event_filter(texts, &filter, &err)) return c.reply_error(err);
  EventBus& bus = c.server.events();
  // What changed on disk up to now is part of the replay.
  bus.rescan();
  std::vector<Event> batch;
  auto sub = bus.subscribe(since, until, &batch);
  struct Unsubscribe {
    EventBus& bus;
    std::shared_ptr<EventBus::Subscriber> sub;
    ~Unsubscribe() { bus.unsubscribe(sub); }
  } unsubscribe{bus, sub};
  if (!c.conn.begin_stream(200, {{"Content-Type", "application/json"}, {"Api-Version", std::string(kApiVersion)}}))
    return;
  auto client_gone = [&] { return c.conn.client_left(0, true); };
  for (;;) {
    for (const Event& e : batch)
      if (event_matches(filter, e) && !c.conn.write_chunk(event_json(e).dump() + "\n")) return;
    batch.clear();
    if (until != 0 && now_ns() >= until) break;
    if (client_gone()) return c.conn.abort();
    int64_t wait_ms = 250;
    if (until != 0) wait_ms = std::clamp<int64_t>((until - now_ns()) / 1000000, 1, 250);
    if (!bus.wait(sub, std::chrono::milliseconds(wait_ms), &batch)) return c.conn.abort();
  }
  c.conn.end_stream();
}

}  // namespace ctk::api
