#include "container/guest_setup.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ctk::container;

namespace {
bool has(const std::vector<std::string>& caps, const char* c) { return std::find(caps.begin(), caps.end(), c) != caps.end(); }
}  // namespace

TEST_CASE("capabilities: docker's defaults, --cap-drop and --cap-add as docker applies them") {
  Spec s;
  std::vector<std::string> defaults = capabilities(s);
  CHECK(defaults.size() == 14);
  CHECK(has(defaults, "CAP_CHOWN"));
  CHECK_FALSE(has(defaults, "CAP_SYS_ADMIN"));

  s.cap_drop = {"CAP_NET_RAW", "CAP_CHOWN"};
  s.cap_add = {"CAP_SYS_PTRACE"};
  std::vector<std::string> c = capabilities(s);
  CHECK(c.size() == 13);
  CHECK_FALSE(has(c, "CAP_NET_RAW"));
  CHECK_FALSE(has(c, "CAP_CHOWN"));
  CHECK(has(c, "CAP_SYS_PTRACE"));

  s.cap_drop = {"ALL"};
  s.cap_add = {"CAP_KILL"};
  CHECK(capabilities(s) == std::vector<std::string>{"CAP_KILL"});
  s.cap_add.clear();
  CHECK(capabilities(s).empty());

  s.cap_add = {"ALL"};
  s.cap_drop = {"CAP_SYS_ADMIN"};
  c = capabilities(s);
  CHECK(c.size() == 40);
  CHECK_FALSE(has(c, "CAP_SYS_ADMIN"));
}

TEST_CASE("the process config carries the capability sets and noNewPrivileges") {
  Spec s;
  s.args = {"true"};
  s.cap_drop = {"ALL"};
  s.no_new_privileges = true;
  nlohmann::json config = main_process_config(s, MountPlan{}, 0, 0);
  const nlohmann::json& p = config["process"];
  CHECK(p["noNewPrivileges"] == true);
  for (const char* set : {"bounding", "effective", "permitted"}) CHECK(p["capabilities"][set] == nlohmann::json::array());
  s.no_new_privileges = false;
  CHECK(main_process_config(s, MountPlan{}, 0, 0)["process"]["noNewPrivileges"] == false);
}

TEST_CASE("a config from before caps, no-new-privileges and timeout still loads") {
  Spec s;
  s.cap_drop = {"CAP_MKNOD"};
  s.no_new_privileges = true;
  s.timeout = 90;
  nlohmann::json j = to_json(s);
  Spec back;
  std::string err;
  REQUIRE(spec_from_json(j, &back, &err));
  CHECK(back.cap_drop == s.cap_drop);
  CHECK(back.no_new_privileges);
  CHECK(back.timeout == 90);
  for (const char* key : {"cap_add", "cap_drop", "no_new_privileges", "timeout"}) j.erase(key);
  Spec old;
  REQUIRE(spec_from_json(j, &old, &err));
  CHECK(old.cap_drop.empty());
  CHECK_FALSE(old.no_new_privileges);
  CHECK(old.timeout == 0);
}
