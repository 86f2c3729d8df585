#include "init/users.h"

#include <doctest/doctest.h>

using namespace ctk::init;

namespace {
const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "user:x:1000:1000::/home/user:/bin/sh\n"
    "broken:x:abc:1\n";
const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:user,other\n"
    "audio:x:29:other,user\n"
    "user:x:1000:\n"
    "nogroup:x:65534:\n";

ResolvedUser resolve(const std::string& spec) {
  ResolvedUser u;
  std::string err;
  REQUIRE_MESSAGE(resolve_user(spec, kPasswd, kGroup, &u, &err), err);
  return u;
}
}  // namespace

TEST_CASE("a user name takes the primary group, home and its memberships") {
  ResolvedUser u = resolve("user");
  CHECK(u.uid == 1000);
  CHECK(u.gid == 1000);
  CHECK(u.home == "/home/user");
  CHECK(u.additional_gids == std::vector<gid_t>{10, 29});
  u = resolve("nobody");
  CHECK((u.uid == 65534 && u.gid == 65534 && u.additional_gids.empty()));
}

TEST_CASE("a numeric user is looked up, and stands for itself without an entry") {
  ResolvedUser u = resolve("1000");
  CHECK((u.uid == 1000 && u.gid == 1000 && u.home == "/home/user"));
  u = resolve("4242");
  CHECK((u.uid == 4242 && u.gid == 0 && u.home.empty()));
}

TEST_CASE("an explicit group replaces the primary one and drops memberships") {
  ResolvedUser u = resolve("user:wheel");
  CHECK((u.uid == 1000 && u.gid == 10 && u.additional_gids.empty()));
  u = resolve("user:29");
  CHECK(u.gid == 29);
  u = resolve("1234:5678");
  CHECK((u.uid == 1234 && u.gid == 5678));
}

TEST_CASE("unknown names are errors that name them") {
  ResolvedUser u;
  std::string err;
  CHECK_FALSE(resolve_user("ghost", kPasswd, kGroup, &u, &err));
  CHECK(err == "unable to find user ghost: no matching entries in passwd file");
  CHECK_FALSE(resolve_user("user:ghosts", kPasswd, kGroup, &u, &err));
  CHECK(err == "unable to find group ghosts: no matching entries in group file");
  CHECK_FALSE(resolve_user("user:", kPasswd, kGroup, &u, &err));
  CHECK_FALSE(resolve_user("ghost", "", "", &u, &err));
}

TEST_CASE("group_add: names and numbers, each once, after the user's own") {
  std::vector<gid_t> gids = {10};
  std::string err;
  REQUIRE(resolve_groups({"audio", "1000", "wheel", "1000"}, kGroup, &gids, &err));
  CHECK(gids == std::vector<gid_t>{10, 29, 1000});
  CHECK_FALSE(resolve_groups({"ghosts"}, kGroup, &gids, &err));
  CHECK(err == "unable to find group ghosts: no matching entries in group file");
}
