#include "init/spec.h"

#include <doctest/doctest.h>
#include <sched.h>
#include <sys/mount.h>

#include <nlohmann/json.hpp>

using namespace ctk::init;
using nlohmann::json;

namespace {
json minimal() {
  return json::parse(R"({
    "process": {"args": ["/bin/sh"], "env": ["A=1"], "cwd": "/tmp",
                "user": {"uid": 1000, "gid": 100, "additionalGids": [5, 6]},
                "terminal": true, "consoleSize": {"height": 24, "width": 80}},
    "root": {"path": "rootfs", "readonly": true},
    "hostname": "box",
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]},
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc"},
      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
       "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
      {"destination": "/data", "source": "/srv", "options": ["rbind", "ro", "rprivate"]}
    ]})");
}
}  // namespace

TEST_CASE("config.json subset") {
  Spec s;
  std::string err;
  REQUIRE(parse_spec(minimal(), "/b", &s, &err));
  CHECK(s.root == "/b/rootfs");
  CHECK(s.readonly);
  CHECK(s.hostname == "box");
  CHECK(s.namespaces == (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS));
  CHECK(s.process.uid == 1000);
  CHECK(s.process.additional_gids == std::vector<gid_t>{5, 6});
  CHECK(s.process.rows == 24);
  REQUIRE(s.mounts.size() == 3);
  CHECK(s.mounts[1].flags == (MS_NOSUID | MS_STRICTATIME));
  CHECK(s.mounts[1].data == "mode=755,size=65536k");
  CHECK(s.mounts[2].bind);
  CHECK(s.mounts[2].flags == (MS_REC | MS_RDONLY));
  CHECK(s.mounts[2].propagation == (MS_PRIVATE | MS_REC));
}

TEST_CASE("config errors name the field") {
  std::string err;
  Spec s;
  json j = minimal();
  j["process"]["args"] = json::array();
  CHECK_FALSE(parse_spec(j, "/b", &s, &err));
  CHECK(err == "process.args is empty");
  j = minimal();
  j["linux"]["namespaces"].push_back({{"type", "time"}});
  CHECK_FALSE(parse_spec(j, "/b", &s, &err));
  CHECK(err == "unsupported namespace type 'time'");
  j = minimal();
  j.erase("root");
  CHECK_FALSE(parse_spec(j, "/b", &s, &err));
  CHECK(err.find("config: ") == 0);
  CHECK_FALSE(parse_spec(json::array(), "/b", &s, &err));
}

TEST_CASE("environment defaults") {
  ProcessSpec p;
  p.env = {"PATH=/bin"};
  p.terminal = true;
  fill_env_defaults(&p);
  CHECK(env_value(p.env, "PATH") == "/bin");
  CHECK(env_value(p.env, "HOME") == "/root");
  CHECK(env_value(p.env, "TERM") == "xterm");
  ProcessSpec q;
  q.uid = 5;
  fill_env_defaults(&q);
  CHECK(env_value(q.env, "HOME") == "/");
  CHECK(env_value(q.env, "TERM").empty());
}

TEST_CASE("namespaces joined by path") {
  std::string err;
  Spec s;
  json j = minimal();
  j["linux"]["namespaces"] = json::parse(R"([{"type": "mount"}, {"type": "uts", "path": "/proc/7/ns/uts"},
                                             {"type": "network", "path": "/run/netns/a"}, {"type": "pid"}])");
  REQUIRE_MESSAGE(parse_spec(j, "/b", &s, &err), err);
  CHECK(s.namespaces == (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID));
  REQUIRE(s.joins.size() == 2);
  CHECK((s.joins[0].flag == CLONE_NEWUTS && s.joins[0].path == "/proc/7/ns/uts"));
  CHECK((s.joins[1].flag == CLONE_NEWNET && s.joins[1].path == "/run/netns/a"));

  j["linux"]["namespaces"] = json::parse(R"([{"type": "mount", "path": "/proc/7/ns/mnt"}])");
  CHECK_FALSE(parse_spec(j, "/b", &(s = Spec()), &err));
  CHECK(err == "joining an existing mount namespace (/proc/7/ns/mnt) is not supported");
  j["linux"]["namespaces"] = json::parse(R"([{"type": "mount"}, {"type": "ipc", "path": "ns/ipc"}])");
  CHECK_FALSE(parse_spec(j, "/b", &(s = Spec()), &err));
  CHECK(err == "namespace path 'ns/ipc' is not absolute");
  j["linux"]["namespaces"] =
      json::parse(R"([{"type": "mount"}, {"type": "uts"}, {"type": "uts", "path": "/x"}])");
  CHECK_FALSE(parse_spec(j, "/b", &(s = Spec()), &err));
  CHECK(err == "namespace type 'uts' is listed twice");
}
