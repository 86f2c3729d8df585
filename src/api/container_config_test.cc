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

}  // namespace ctk::api
