#include "api/container_config.h"

#include <doctest/doctest.h>

namespace ctk::api {

using nlohmann::json;

namespace {

bool parse(const json& body, container::CreateOptions* o, Error* err) {
  return create_options_from_docker(body, "", o, err);
}

}  // namespace

TEST_CASE("create body: HostConfig.LogConfig") {
  container::CreateOptions o;
  Error err;
  REQUIRE(parse({{"Image", "alpine"}}, &o, &err));
  CHECK(o.log_driver == "json-file");
  REQUIRE(parse({{"Image", "alpine"}, {"HostConfig", {{"LogConfig", {{"Type", ""}, {"Config", {{"max-file", "100"}}}}}}}},
                &o, &err));
  CHECK(o.log_driver == "json-file");
  CHECK(o.log_options == std::map<std::string, std::string>{{"max-file", "100"}});
  REQUIRE(parse({{"Image", "alpine"}, {"HostConfig", {{"LogConfig", {{"Type", "none"}, {"Config", nullptr}}}}}}, &o, &err));
  CHECK(o.log_driver == "none");
  CHECK(o.log_options.empty());
  CHECK_FALSE(parse({{"Image", "alpine"}, {"HostConfig", {{"LogConfig", {{"Type", "asdf"}}}}}}, &o, &err));
  CHECK(err.code == ErrorCode::invalid);
  CHECK(err.message == "logger: no log driver named 'asdf' is registered");
  CHECK_FALSE(parse({{"Image", "alpine"}, {"HostConfig", {{"LogConfig", {{"Config", {{"k", 1}}}}}}}}, &o, &err));
  CHECK_FALSE(parse({{"Image", "alpine"}, {"HostConfig", {{"LogConfig", "json-file"}}}}, &o, &err));
}

TEST_CASE("create body: Config.Volumes are anonymous volumes unless HostConfig mounts the path") {
  container::CreateOptions o;
  Error err;
  REQUIRE(parse({{"Image", "alpine"},
                 {"Volumes", {{"/data", json::object()}, {"/conf", json::object()}, {"/scratch", json::object()}}},
                 {"HostConfig", {{"Binds", {"/srv/conf:/conf:ro"}}, {"Tmpfs", {{"/scratch", ""}}}}}},
                &o, &err));
  REQUIRE(o.mounts.size() == 3);
  CHECK((o.mounts[0].type == "bind" && o.mounts[0].destination == "/conf" && o.mounts[0].read_only));
  CHECK((o.mounts[1].type == "tmpfs" && o.mounts[1].destination == "/scratch"));
  CHECK((o.mounts[2].type == "volume" && o.mounts[2].destination == "/data" && o.mounts[2].anonymous));
  CHECK_FALSE(parse({{"Image", "alpine"}, {"Volumes", {{"relative", json::object()}}}}, &o, &err));
  CHECK(err.code == ErrorCode::invalid);
  CHECK_FALSE(parse({{"Image", "alpine"}, {"Volumes", {"/data"}}}, &o, &err));
}

}  // namespace ctk::api
