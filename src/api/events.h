// docker events for `ctk serve`. Containers change through other processes
// too (the ctk CLI, supervisors restarting them), so their events are not
// published by the handlers that cause them but derived from the data root:
// a watcher thread diffs snapshots of <root>/containers/ (woken by inotify,
// and every few seconds regardless, for a supervisor that died without
// writing its state). Images, volumes and networks change events come from
// the handlers that change them (ServerState::events().publish). The bus
// keeps the last events it saw for `since`: a replay goes back only to the
// server's start.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace ctk::container {
class Container;
}

namespace ctk::api {

// One event, docker's events.Message without its legacy fields (added by
// event_json for containers and images).
struct Event {
  std::string type{};    // container, image, volume, network
  std::string action{};  // create, start, die, ...
  std::string id{};      // the actor: a container id, an image id or name, ...
  std::map<std::string, std::string> attributes{};
  int64_t time_ns = 0;
};

nlohmann::json event_json(const Event& e);
// A container's event with docker's attributes (its labels, name, image),
// for the actions a handler knows of (kill, stop, restart).
Event container_event(const container::Container& ct, const char* action);

// /events' filters (Context::filters's "key=value" strings).
struct EventFilter {
  std::map<std::string, std::vector<std::string>> values;  // key -> accepted values
};
// invalid for a key docker does not know.
bool parse_event_filter(const std::vector<std::string>& texts, EventFilter* out, Error* err);
// docker's Filter.Include: every key given must match.
bool event_matches(const EventFilter& f, const Event& e);

// since/until as the docker CLI sends them: Unix seconds with an optional
// fraction ("1700000000.123456789"); invalid otherwise.
bool parse_event_time(const std::string& text, int64_t* ns, Error* err);

// What the watcher knows of one container between two scans.
struct ContainerSnapshot {
  std::string name{}, image{};
  std::map<std::string, std::string> labels{};
  std::string created{};
  bool running = false;
  std::string started_at{}, finished_at{};
  int exit_code = 0;
};
using Snapshots = std::map<std::string, ContainerSnapshot>;  // by id

// The events that turn `before` into `after`, in order (create, start, die,
// rename, destroy), timed from the state's own times where it has them.
void diff_snapshots(const Snapshots& before, const Snapshots& after, int64_t now_ns, std::vector<Event>* out);

// Every container of a data root as the watcher sees it; one whose files
// are half written (being created) is left for the next scan.
bool scan_containers(const std::string& data_root, Snapshots* out, Error* err);

class EventBus {
 public:
  // Events kept for `since`.
  static constexpr size_t kHistory = 2048;

  struct Subscriber {
    std::deque<Event> queue;
    bool overflowed = false;  // a client too slow to read: it is ended
  };

  ~EventBus();

  // Adds an event (time_ns 0: now) for every subscriber and the history.
  void publish(Event e);
  void publish(std::string type, std::string action, std::string id, std::map<std::string, std::string> attributes) {
    publish(Event{.type = std::move(type), .action = std::move(action), .id = std::move(id),
                  .attributes = std::move(attributes)});
  }
  // Takes the events of a container scan now (after a handler's action, so
  // its die comes before the handler's stop).
  void rescan();
  // Starts the container watcher on a data root (once).
  void start_watcher(const std::string& data_root);

  // A new subscriber, with the kept events from since_ns on (up to
  // until_ns, 0: no bound) in *past.
  std::shared_ptr<Subscriber> subscribe(int64_t since_ns, int64_t until_ns, std::vector<Event>* past);
  void unsubscribe(const std::shared_ptr<Subscriber>& s);
  // Waits up to `timeout` for the subscriber's next events, moved to *out;
  // false when it overflowed.
  bool wait(const std::shared_ptr<Subscriber>& s, std::chrono::milliseconds timeout, std::vector<Event>* out);

 private:
  void watch();
  void scan_locked();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> history_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;

  // The watcher's snapshot, under scan_mu_ (scans come from the watcher
  // and from handlers).
  std::mutex scan_mu_;
  std::string data_root_;
  Snapshots snapshot_;
  bool scanned_ = false;
  std::thread watcher_;
  int wake_fd_ = -1;  // an eventfd that ends the watcher
};

}  // namespace ctk::api
