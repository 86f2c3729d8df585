#include <doctest/doctest.h>

#include "api/handlers.h"

namespace ctk::api {

using nlohmann::json;

TEST_CASE("POST /volumes/create bodies") {
  volume::Volume v;
  Error err;
  REQUIRE(volume_from_body(json::parse(R"({"Name": "data", "Driver": "local", "DriverOpts": {},
                                           "Labels": {"k": "v"}, "ClusterVolumeSpec": null})"),
                           &v, &err));
  CHECK(v.name == "data");
  CHECK(v.labels == std::map<std::string, std::string>{{"k", "v"}});

  // No name: a generated one, 64 hex digits as docker's.
  volume::Volume anon;
  REQUIRE(volume_from_body(json::object(), &anon, &err));
  CHECK(anon.name.size() == 64);
  CHECK(anon.name.find_first_not_of("0123456789abcdef") == std::string::npos);

  volume::Volume bad;
  CHECK_FALSE(volume_from_body(json::parse(R"({"Name": "x", "Driver": "nfs"})"), &bad, &err));
  CHECK(err.code == ErrorCode::not_found);
  CHECK(err.message == "plugin \"nfs\" not found");
  CHECK_FALSE(volume_from_body(json::parse(R"({"Name": "x", "DriverOpts": {"type": "tmpfs"}})"), &bad, &err));
  CHECK(err.code == ErrorCode::invalid);
  CHECK(err.message.find("type") != std::string::npos);
  CHECK_FALSE(volume_from_body(json::parse(R"({"Name": 5})"), &bad, &err));
  CHECK(err.code == ErrorCode::invalid);
  CHECK_FALSE(volume_from_body(json::parse(R"({"Labels": ["a"]})"), &bad, &err));
  CHECK_FALSE(volume_from_body(json::parse(R"({"ClusterVolumeSpec": {}})"), &bad, &err));
  CHECK_FALSE(volume_from_body(json::parse(R"([1])"), &bad, &err));
}

}  // namespace ctk::api
