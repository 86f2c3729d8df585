#include <doctest/doctest.h>

#include "api/events.h"

namespace ctk::api {

namespace {

std::vector<std::string> actions(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(e.action);
  return out;
}

ContainerSnapshot snap(std::string started, std::string finished, bool running, int code = 0) {
  return ContainerSnapshot{.name = "web",
                           .image = "busybox:latest",
                           .labels = {{"app", "x"}},
                           .created = "2024-05-01T12:00:00.000000001Z",
                           .running = running,
                           .started_at = std::move(started),
                           .finished_at = std::move(finished),
                           .exit_code = code};
}

}  // namespace

TEST_CASE("container snapshots diff into docker's events") {
  const std::string id(64, 'a');
  const std::string t1 = "2024-05-01T12:00:01Z", t2 = "2024-05-01T12:00:02Z", t3 = "2024-05-01T12:00:03Z";
  std::vector<Event> out;

  // Made and started between two scans: create, then start, at their times.
  diff_snapshots({}, {{id, snap(t1, "", true)}}, 99, &out);
  REQUIRE(actions(out) == std::vector<std::string>{"create", "start"});
  CHECK(out[0].time_ns == 1714564800000000001);
  CHECK(out[1].time_ns == 1714564801000000000);
  CHECK(out[1].attributes.at("name") == "web");
  CHECK(out[1].attributes.at("image") == "busybox:latest");
  CHECK(out[1].attributes.at("app") == "x");

  // Exited: die with its code.
  out.clear();
  diff_snapshots({{id, snap(t1, "", true)}}, {{id, snap(t1, t2, false, 3)}}, 99, &out);
  REQUIRE(actions(out) == std::vector<std::string>{"die"});
  CHECK(out[0].attributes.at("exitCode") == "3");

  // Exited and started again (a restart policy) between scans: die first.
  out.clear();
  diff_snapshots({{id, snap(t1, "", true)}}, {{id, snap(t3, t2, true)}}, 99, &out);
  CHECK(actions(out) == std::vector<std::string>{"die", "start"});
  // Started and exited between scans: start first.
  out.clear();
  diff_snapshots({{id, snap(t1, t2, false)}}, {{id, snap(t3, "2024-05-01T12:00:04Z", false)}}, 99, &out);
  CHECK(actions(out) == std::vector<std::string>{"start", "die"});

  // A supervisor that died without writing its state: die, timed now.
  out.clear();
  diff_snapshots({{id, snap(t1, "", true)}}, {{id, snap(t1, "", false, 255)}}, 99, &out);
  REQUIRE(actions(out) == std::vector<std::string>{"die"});
  CHECK(out[0].time_ns == 99);

  // Nothing changed: nothing.
  out.clear();
  diff_snapshots({{id, snap(t1, t2, false)}}, {{id, snap(t1, t2, false)}}, 99, &out);
  CHECK(out.empty());

  // Renamed, then gone.
  ContainerSnapshot renamed = snap(t1, t2, false);
  renamed.name = "api";
  diff_snapshots({{id, snap(t1, t2, false)}}, {{id, renamed}}, 99, &out);
  REQUIRE(actions(out) == std::vector<std::string>{"rename"});
  CHECK(out[0].attributes.at("oldName") == "/web");
  CHECK(out[0].attributes.at("name") == "api");
  out.clear();
  diff_snapshots({{id, renamed}}, {}, 99, &out);
  REQUIRE(actions(out) == std::vector<std::string>{"destroy"});
  CHECK(out[0].attributes.at("name") == "api");
}

TEST_CASE("event filters match as docker's") {
  Event start{.type = "container", .action = "start", .id = std::string(64, 'b'),
              .attributes = {{"name", "web"}, {"image", "busybox:latest"}, {"app", "x"}}};
  Event net{.type = "network", .action = "connect", .id = "n1", .attributes = {{"name", "front"}, {"container", "c"}}};
  auto matches = [](std::vector<std::string> texts, const Event& e) {
    EventFilter f;
    Error err;
    REQUIRE(parse_event_filter(texts, &f, &err));
    return event_matches(f, e);
  };
  CHECK(matches({}, start));
  CHECK(matches({"type=container"}, start));
  CHECK_FALSE(matches({"type=container"}, net));
  CHECK(matches({"type=container", "type=network"}, net));
  CHECK(matches({"event=start", "event=die"}, start));
  CHECK_FALSE(matches({"event=die"}, start));
  CHECK(matches({"container=web"}, start));
  CHECK(matches({"container=bbbb"}, start));  // an id prefix
  CHECK_FALSE(matches({"container=db"}, start));
  CHECK_FALSE(matches({"container=web"}, net));
  CHECK(matches({"network=front"}, net));
  CHECK_FALSE(matches({"network=front"}, start));
  CHECK(matches({"image=busybox"}, start));
  CHECK(matches({"image=busybox:latest"}, start));
  CHECK_FALSE(matches({"image=alpine"}, start));
  CHECK(matches({"label=app"}, start));
  CHECK(matches({"label=app=x"}, start));
  CHECK_FALSE(matches({"label=app=y"}, start));
  CHECK_FALSE(matches({"label=app", "label=tier"}, start));

  EventFilter f;
  Error err;
  CHECK_FALSE(parse_event_filter({"colour=red"}, &f, &err));
  CHECK(err.code == ErrorCode::invalid);
}

TEST_CASE("event times and JSON") {
  int64_t ns;
  Error err;
  REQUIRE(parse_event_time("1700000000", &ns, &err));
  CHECK(ns == 1700000000000000000);
  REQUIRE(parse_event_time("1700000000.5", &ns, &err));
  CHECK(ns == 1700000000500000000);
  REQUIRE(parse_event_time("1700000000.000000001", &ns, &err));
  CHECK(ns == 1700000000000000001);
  for (const char* bad : {"", "x", "1.2.3", "1.0000000001", "12e3", "99999999999999999999", "-", "."})
    CHECK_FALSE(parse_event_time(bad, &ns, &err));

  Event e{.type = "container", .action = "die", .id = "abc", .attributes = {{"image", "busybox"}},
          .time_ns = 1700000000123456789};
  nlohmann::json j = event_json(e);
  CHECK(j["Type"] == "container");
  CHECK(j["Action"] == "die");
  CHECK(j["Actor"]["ID"] == "abc");
  CHECK(j["time"] == 1700000000);
  CHECK(j["timeNano"] == 1700000000123456789);
  CHECK(j["scope"] == "local");
  CHECK(j["status"] == "die");
  CHECK(j["from"] == "busybox");
  Event v{.type = "volume", .action = "create", .id = "data"};
  CHECK_FALSE(event_json(v).contains("status"));
}

TEST_CASE("the bus replays what it kept, and a subscriber gets what follows") {
  EventBus bus;
  bus.publish(Event{.type = "volume", .action = "create", .id = "a", .time_ns = 100});
  bus.publish(Event{.type = "volume", .action = "create", .id = "b", .time_ns = 200});
  std::vector<Event> past;
  auto none = bus.subscribe(0, 0, &past);
  CHECK(past.empty());  // no since, no until: live events only
  auto s = bus.subscribe(150, 0, &past);
  REQUIRE(past.size() == 1);
  CHECK(past[0].id == "b");
  past.clear();
  bus.unsubscribe(bus.subscribe(1, 150, &past));
  REQUIRE(past.size() == 1);
  CHECK(past[0].id == "a");
  bus.publish("network", "create", "n", {});
  std::vector<Event> got;
  REQUIRE(bus.wait(s, std::chrono::milliseconds(0), &got));
  REQUIRE(got.size() == 1);
  CHECK(got[0].id == "n");
  CHECK(got[0].time_ns > 0);
  bus.unsubscribe(s);
  bus.unsubscribe(none);
}

}  // namespace ctk::api
