#include "api/profiles.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "api/container_config.h"
#include "applets/container_common.h"
#include "base/test_dir.h"

using namespace ctk;
using json = nlohmann::json;

namespace {

// A profile with every key a profile may have.
const char* kEveryKey =
    "network = \"none\"\n"
    "cpus = 1.5\n"
    "memory = \"256M\"\n"
    "pids_limit = 100\n"
    "read_only = true\n"
    "mounts = [\"/srv:/srv\", \"/out:/out:rw\", \"cache:/cache\"]\n"
    "tmpfs = [\"/tmp\", \"/run:size=1m\"]\n"
    "env = [\"A=1\", \"B=1\"]\n"
    "user = \"nobody\"\n"
    "workdir = \"/w\"\n"
    "timeout = \"90s\"\n"
    "cap_drop = [\"NET_RAW\"]\n"
    "cap_add = [\"SYS_TIME\"]\n"
    "no_new_privileges = true\n"
    "bind_read_only = true\n";

profile::Profile parsed(const char* toml) {
  profile::Profile p;
  std::string err;
  REQUIRE_MESSAGE(profile::parse(toml, "p.toml", &p, &err), err);
  return p;
}

// `ctk create --profile` with these words.
container::CreateOptions from_cli(const std::string& profile_file, std::vector<std::string> words) {
  words.insert(words.begin(), {"--profile", profile_file});
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  Flags f;
  std::string err;
  REQUIRE(f.parse(argv, kCreateOptions, true, &err));
  container::CreateOptions o;
  int code = 0;
  REQUIRE_MESSAGE(create_options(f, &o, &err, &code), err);
  return o;
}

container::CreateOptions from_api(const profile::Profile& p, json body) {
  uint64_t timeout = 0;
  Error err;
  REQUIRE_MESSAGE(api::apply_profile(p, &body, &timeout, &err), err.message);
  container::CreateOptions o;
  REQUIRE_MESSAGE(api::create_options_from_docker(body, "", &o, &err), err.message);
  o.timeout = timeout;
  return o;
}

// The mounts, one "TYPE SRC:DST[:ro] OPTIONS;" each, sorted: docker's
// Tmpfs is a map, so the API has no order for them.
std::string mounts(const container::CreateOptions& o) {
  std::vector<std::string> each;
  for (const container::MountPoint& m : o.mounts)
    each.push_back(m.type + " " + m.source + ":" + m.destination + (m.read_only ? ":ro " : " ") + m.options + ";");
  std::sort(each.begin(), each.end());
  std::string out;
  for (const std::string& m : each) out += m;
  return out;
}

// What a profile can set, as create sees it.
void check_same(const container::CreateOptions& cli, const container::CreateOptions& api) {
  CHECK(api.env == cli.env);
  CHECK(api.user == cli.user);
  CHECK(api.workdir == cli.workdir);
  CHECK(api.timeout == cli.timeout);
  CHECK(api.memory_limit == cli.memory_limit);
  CHECK(api.cpus == cli.cpus);
  CHECK(api.pids_limit == cli.pids_limit);
  CHECK(api.read_only == cli.read_only);
  CHECK(api.network == cli.network);
  CHECK(api.cap_add == cli.cap_add);
  CHECK(api.cap_drop == cli.cap_drop);
  CHECK(api.no_new_privileges == cli.no_new_privileges);
  CHECK(mounts(api) == mounts(cli));
}

}  // namespace

TEST_CASE("a profile through the API makes the container the CLI's --profile makes") {
  testing::TempDir dir;
  std::string file = dir.path + "/p.toml";
  { std::ofstream(file) << kEveryKey; }
  profile::Profile p = parsed(kEveryKey);

  // Nothing else given: the profile's settings, every one.
  container::CreateOptions cli = from_cli(file, {"busybox", "true"});
  container::CreateOptions api = from_api(p, {{"Image", "busybox"}, {"Cmd", {"true"}}});
  CHECK(cli.timeout == 90);
  CHECK(cli.memory_limit == 256u << 20);
  std::string all = mounts(cli);
  CHECK(std::count(all.begin(), all.end(), ';') == 5);
  check_same(cli, api);

  // The request's own settings win; lists merge, the profile's first.
  cli = from_cli(file, {"--memory", "128m", "--cpus", "2", "-e", "B=2", "-u", "root", "-w", "/x", "--network", "nat",
                        "-v", "/data:/data", "--tmpfs", "/tmp:size=2m", "--cap-drop", "MKNOD", "--pids-limit", "7",
                        "busybox", "true"});
  api = from_api(p, {{"Image", "busybox"},
                     {"Cmd", {"true"}},
                     {"Env", {"B=2"}},
                     {"User", "root"},
                     {"WorkingDir", "/x"},
                     {"HostConfig",
                      {{"Memory", 128 << 20},
                       {"NanoCpus", 2000000000},
                       {"NetworkMode", "nat"},
                       {"Binds", {"/data:/data"}},
                       {"Tmpfs", {{"/tmp", "size=2m"}}},
                       {"CapDrop", {"MKNOD"}},
                       {"PidsLimit", 7}}}});
  CHECK(cli.env == std::vector<std::string>{"A=1", "B=1", "B=2"});
  CHECK(cli.memory_limit == 128u << 20);
  // The request's /tmp replaces the profile's.
  CHECK(mounts(cli).find("tmpfs :/tmp size=2m;") != std::string::npos);
  CHECK(mounts(cli).find("tmpfs :/tmp ;") == std::string::npos);
  check_same(cli, api);
}

TEST_CASE("a profile through the API: what the docker CLI sends for a flag not given is unset") {
  profile::Profile p = parsed("memory = \"256M\"\nnetwork = \"none\"\nread_only = true\n");
  // docker run sends zeroes, false and NetworkMode "default".
  container::CreateOptions api = from_api(
      p, {{"Image", "busybox"},
          {"HostConfig", {{"Memory", 0}, {"NanoCpus", 0}, {"ReadonlyRootfs", false}, {"NetworkMode", "default"}}}});
  CHECK(api.memory_limit == 256u << 20);
  CHECK(api.network == "none");
  CHECK(api.read_only);
}

TEST_CASE("a profile through the API leaves a wrongly typed body for create to refuse") {
  profile::Profile p = parsed(kEveryKey);
  json body = {{"Image", "busybox"}, {"Env", "x"}, {"HostConfig", 5}};
  uint64_t timeout = 0;
  Error err;
  REQUIRE(api::apply_profile(p, &body, &timeout, &err));
  container::CreateOptions o;
  CHECK_FALSE(api::create_options_from_docker(body, "", &o, &err));
  CHECK(err.code == ErrorCode::invalid);
}
