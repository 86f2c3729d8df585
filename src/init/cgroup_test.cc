#include "init/cgroup.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using namespace ctk::init;
using nlohmann::json;

namespace {
using Values = std::vector<std::pair<std::string, std::string>>;

Values values_of(const char* text) {
  Resources r;
  std::string err;
  REQUIRE_MESSAGE(parse_resources(json::parse(text), &r, &err), err);
  return cgroup_values(r);
}
}  // namespace

TEST_CASE("linux.resources to cgroup v2 files") {
  CHECK(values_of(R"({"memory": {"limit": 67108864}, "cpu": {"quota": 50000, "period": 100000,
                      "shares": 1024}, "pids": {"limit": 64}})") ==
        Values{{"memory.max", "67108864"}, {"cpu.max", "50000 100000"}, {"cpu.weight", "39"},
               {"pids.max", "64"}});
  // Quota alone takes the default period; a period alone leaves the quota unlimited.
  CHECK(values_of(R"({"cpu": {"quota": 150000}})") == Values{{"cpu.max", "150000 100000"}});
  CHECK(values_of(R"({"cpu": {"period": 20000}})") == Values{{"cpu.max", "max 20000"}});
  CHECK(values_of(R"({"pids": {"limit": -1}, "memory": {"limit": -1}})") == Values{{"pids.max", "max"}});
  CHECK(values_of(R"({"unified": {"memory.high": "1000000"}})") == Values{{"memory.high", "1000000"}});
  CHECK(values_of("{}").empty());
}

TEST_CASE("cpu.shares to cpu.weight covers the range") {
  CHECK(shares_to_weight(2) == 1);
  CHECK(shares_to_weight(262144) == 10000);
}

TEST_CASE("bad linux.resources") {
  Resources r;
  std::string err;
  CHECK_FALSE(parse_resources(json::parse(R"({"unified": {"../cgroup.procs": "1"}})"), &r, &err));
  CHECK(err.find("../cgroup.procs") != std::string::npos);
  CHECK_FALSE(parse_resources(json::parse(R"({"memory": {"limit": 0}})"), &r, &err));
  CHECK_FALSE(parse_resources(json::parse(R"({"cpu": {"shares": 1}})"), &r, &err));
  CHECK_FALSE(parse_resources(json::parse(R"({"memory": {"limit": "lots"}})"), &r, &err));
}
