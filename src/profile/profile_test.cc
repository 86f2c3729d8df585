#include "profile/profile.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "applets/container_common.h"
#include "base/test_dir.h"
#include "init/security.h"

using namespace ctk;
using profile::Profile;

namespace {

const std::vector<std::string>* setting(const Profile& p, const std::string& flag) {
  for (const profile::Setting& s : p.settings)
    if (s.flag == flag) return &s.values;
  return nullptr;
}

std::string parse_error(const std::string& text) {
  Profile p;
  std::string err;
  CHECK_FALSE(profile::parse(text, "/p/x.toml", &p, &err));
  return err;
}

void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// $XDG_CONFIG_HOME pointed at a fresh directory for one test.
struct ConfigHome {
  testing::TempDir dir;
  std::string saved;
  bool had;
  ConfigHome() {
    const char* old = ::getenv("XDG_CONFIG_HOME");
    had = old != nullptr;
    if (had) saved = old;
    ::setenv("XDG_CONFIG_HOME", dir.path.c_str(), 1);
  }
  ~ConfigHome() {
    if (had) ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
    else ::unsetenv("XDG_CONFIG_HOME");
  }
  std::string profiles() const { return dir.path + "/ctk/profiles"; }
};

Flags command_line(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  Flags f;
  std::string err;
  REQUIRE(f.parse(argv, kCreateOptions, true, &err));
  return f;
}

}  // namespace

TEST_CASE("every key becomes the create flag it stands for") {
  Profile p;
  std::string err;
  REQUIRE_MESSAGE(profile::parse("network = \"nat\"\n"
                         "cpus = 1.5\n"
                         "memory = \"512M\"\n"
                         "pids_limit = 256\n"
                         "read_only = true\n"
                         "mounts = [\"/src:/work\", \"/data:/data:rw\"]\n"
                         "tmpfs = [\"/tmp\", \"/run:size=64m\"]\n"
                         "env = [\"A=1\", \"B=x=y\"]\n"
                         "user = \"1000:1000\"\n"
                         "workdir = \"/work\"\n"
                         "timeout = \"10m\"\n"
                         "cap_drop = [\"ALL\"]\n"
                         "cap_add = [\"net_bind_service\", \"CAP_CHOWN\"]\n"
                         "no_new_privileges = true\n"
                         "bind_read_only = true\n",
                         "p.toml", &p, &err),
          err);
  using V = std::vector<std::string>;
  CHECK(*setting(p, "network") == V{"nat"});
  CHECK(*setting(p, "cpus") == V{"1.5"});
  CHECK(*setting(p, "memory") == V{std::to_string(512 << 20)});
  CHECK(*setting(p, "pids-limit") == V{"256"});
  CHECK(*setting(p, "read-only") == V{""});
  CHECK(*setting(p, "volume") == V{"/src:/work", "/data:/data:rw"});
  CHECK(*setting(p, "tmpfs") == V{"/tmp", "/run:size=64m"});
  CHECK(*setting(p, "env") == V{"A=1", "B=x=y"});
  CHECK(*setting(p, "user") == V{"1000:1000"});
  CHECK(*setting(p, "workdir") == V{"/work"});
  CHECK(*setting(p, "timeout") == V{"600"});
  CHECK(*setting(p, "cap-drop") == V{"ALL"});
  CHECK(*setting(p, "cap-add") == V{"CAP_NET_BIND_SERVICE", "CAP_CHOWN"});
  CHECK(*setting(p, "security-opt") == V{"no-new-privileges=true"});
  CHECK(p.bind_read_only);
  // Each feeds a flag that run and create take; values put before the
  // command line's need a repeatable flag (a single value, which the command
  // line replaces, may feed either: --network).
  for (const profile::Setting& s : p.settings) {
    INFO(s.flag);
    bool known = false;
    for (const Option& o : kCreateOptions) known |= o.name == s.flag && (o.repeatable || !s.repeatable);
    CHECK(known);
  }
}

TEST_CASE("other spellings: env as a table, integer memory and timeout, false switches") {
  Profile p;
  std::string err;
  REQUIRE_MESSAGE(profile::parse("env = { A = \"1\", B = \"two\" }\nmemory = 134217728\ntimeout = 90\n"
                         "read_only = false\nno_new_privileges = false\ncpus = 2\n",
                         "p.toml", &p, &err),
          err);
  using V = std::vector<std::string>;
  CHECK(*setting(p, "env") == V{"A=1", "B=two"});
  CHECK(*setting(p, "memory") == V{"134217728"});
  CHECK(*setting(p, "timeout") == V{"90"});
  CHECK(setting(p, "read-only")->empty());
  CHECK(*setting(p, "security-opt") == V{"no-new-privileges=false"});
  CHECK(*setting(p, "cpus") == V{"2"});
  CHECK_FALSE(p.bind_read_only);
}

TEST_CASE("errors name the file, the line and the key") {
  CHECK(parse_error("network = \"none\"\n\nmemory = \"lots\"\n") ==
        "/p/x.toml:3: key 'memory': invalid size 'lots' (at least 64M)");
  CHECK(parse_error("memory = 1000\n") == "/p/x.toml:1: key 'memory': invalid size '1000' (at least 64M)");
  CHECK(parse_error("cpus = 1\nmemroy = \"1G\"\n") == "/p/x.toml:2: unknown key 'memroy' (did you mean 'memory'?)");
  CHECK(parse_error("[limits]\ncpus = 1\n") == "/p/x.toml:1: unknown key 'limits'");
  // Wrong types.
  CHECK(parse_error("cpus = \"2\"\n") == "/p/x.toml:1: key 'cpus': want a number");
  CHECK(parse_error("read_only = \"yes\"\n") == "/p/x.toml:1: key 'read_only': want true or false");
  CHECK(parse_error("pids_limit = 1.5\n") == "/p/x.toml:1: key 'pids_limit': want an integer");
  CHECK(parse_error("cap_drop = \"ALL\"\n") == "/p/x.toml:1: key 'cap_drop': want an array of strings");
  CHECK(parse_error("env = { A = 1 }\n") == "/p/x.toml:1: key 'env': want a string value for 'A'");
  CHECK(parse_error("user = 0\n") == "/p/x.toml:1: key 'user': want a user name or number");
  CHECK(parse_error("timeout = true\n") ==
        "/p/x.toml:1: key 'timeout': want seconds or a duration like \"90s\", \"10m\", \"1h\"");
  // Bad values; an array's element is blamed on its own line.
  CHECK(parse_error("network = \"host\"\n") == "/p/x.toml:1: key 'network': invalid network 'host': want none or nat");
  CHECK(parse_error("cpus = 0\n") == "/p/x.toml:1: key 'cpus': invalid cpus: want more than 0, at most 256");
  CHECK(parse_error("pids_limit = 0\n") ==
        "/p/x.toml:1: key 'pids_limit': invalid pids_limit 0: want a positive number or -1");
  CHECK(parse_error("workdir = \"work\"\n") ==
        "/p/x.toml:1: key 'workdir': invalid workdir 'work': want an absolute path");
  CHECK(parse_error("timeout = \"5x\"\n") ==
        "/p/x.toml:1: key 'timeout': invalid duration '5x': want seconds or N followed by s, m or h");
  CHECK(parse_error("timeout = 0\n") ==
        "/p/x.toml:1: key 'timeout': invalid duration '0': want seconds or N followed by s, m or h");
  CHECK(parse_error("cap_drop = [\n  \"NET_RAW\",\n  \"NET_RWA\",\n]\n") ==
        "/p/x.toml:3: key 'cap_drop': unknown capability 'NET_RWA'");
  CHECK(parse_error("mounts = [\"/a\"]\n") ==
        "/p/x.toml:1: key 'mounts': invalid mount '/a': want SRC:DST[:ro|rw] with DST absolute");
  CHECK(parse_error("mounts = [\"/a:/b:rx\"]\n") ==
        "/p/x.toml:1: key 'mounts': invalid mount '/a:/b:rx': want SRC:DST[:ro|rw] with DST absolute");
  CHECK(parse_error("tmpfs = [\"tmp\"]\n") == "/p/x.toml:1: key 'tmpfs': invalid tmpfs 'tmp': want /path[:options]");
  CHECK(parse_error("env = [\"A\"]\n") == "/p/x.toml:1: key 'env': invalid env 'A': want K=V");
  // TOML syntax: the parser's words, at the file and line.
  std::string syntax = parse_error("cpus = 1\nmemory = \"512M\n");
  CHECK(syntax.starts_with("/p/x.toml:2: "));
  CHECK(parse_error("cpus = 1\ncpus = 2\n").starts_with("/p/x.toml:2: "));
}

TEST_CASE("capability names as docker takes them") {
  CHECK(init::canonical_capability("net_raw") == "CAP_NET_RAW");
  CHECK(init::canonical_capability("CAP_CHOWN") == "CAP_CHOWN");
  CHECK(init::canonical_capability("cap_sys_admin") == "CAP_SYS_ADMIN");
  CHECK(init::canonical_capability("all") == "ALL");
  CHECK(init::canonical_capability("NET_RWA") == "");
  CHECK(init::canonical_capability("") == "");
}

TEST_CASE("lookup: a user file, else a built-in; a path is a file") {
  ConfigHome home;
  Profile p;
  std::string err;
  REQUIRE(profile::load("untrusted", &p, &err));
  CHECK(p.source == "built-in");
  CHECK(*setting(p, "network") == std::vector<std::string>{"none"});
  REQUIRE(profile::load("default", &p, &err));
  CHECK(p.settings.empty());
  CHECK(p.toml.empty());

  write(home.profiles() + "/untrusted.toml", "network = \"nat\"\n");
  write(home.profiles() + "/mine.toml", "cpus = 2\n");
  REQUIRE(profile::load("untrusted", &p, &err));
  CHECK(p.source == home.profiles() + "/untrusted.toml");
  CHECK(p.settings.size() == 1);
  REQUIRE(profile::load("mine", &p, &err));
  CHECK(*setting(p, "cpus") == std::vector<std::string>{"2"});

  std::string file = home.dir.path + "/elsewhere.toml";
  write(file, "pids_limit = 9\n");
  REQUIRE(profile::load(file, &p, &err));
  CHECK(p.source == file);
  // A relative name ending in .toml is a file too, not a profile name.
  CHECK_FALSE(profile::load("nowhere.toml", &p, &err));
  CHECK(err.find("nowhere.toml") != std::string::npos);

  CHECK_FALSE(profile::load("nosuch", &p, &err));
  CHECK(err == "unknown profile 'nosuch': not built in (default, untrusted) and no " + home.profiles() + "/nosuch.toml");

  write(home.profiles() + "/broken.toml", "cpus = 1\nmemory = \"lots\"\n");
  CHECK_FALSE(profile::load("broken", &p, &err));
  CHECK(err == home.profiles() + "/broken.toml:2: key 'memory': invalid size 'lots' (at least 64M)");

  std::vector<profile::Entry> all = profile::list();
  REQUIRE(all.size() == 4);
  CHECK(all[0].name == "broken");
  CHECK(all[1].name == "default");
  CHECK(all[1].source == "built-in");
  CHECK(all[2].name == "mine");
  CHECK(all[3].name == "untrusted");
  CHECK(all[3].source == home.profiles() + "/untrusted.toml");
}

TEST_CASE("the built-in untrusted profile") {
  ConfigHome home;
  Profile p;
  std::string err;
  REQUIRE(profile::load("untrusted", &p, &err));
  using V = std::vector<std::string>;
  CHECK(*setting(p, "network") == V{"none"});
  CHECK(*setting(p, "read-only") == V{""});
  CHECK(*setting(p, "tmpfs") == V{"/tmp"});
  CHECK(*setting(p, "cpus") == V{"1"});
  CHECK(*setting(p, "memory") == V{std::to_string(512 << 20)});
  CHECK(*setting(p, "pids-limit") == V{"256"});
  CHECK(*setting(p, "security-opt") == V{"no-new-privileges=true"});
  CHECK(setting(p, "cap-drop")->size() == 7);
  CHECK(p.bind_read_only);
  CHECK(p.toml.find("network = ") != std::string::npos);
}

TEST_CASE("the command line overrides the profile; lists merge, the profile's first") {
  Profile p;
  std::string err;
  REQUIRE_MESSAGE(profile::parse("network = \"none\"\nmemory = \"512M\"\nenv = [\"A=1\", \"B=1\"]\ncap_drop = [\"NET_RAW\"]\n"
                         "no_new_privileges = true\nread_only = true\n",
                         "p.toml", &p, &err),
          err);
  Flags f = command_line({"--network", "nat", "-e", "B=2", "--cap-drop", "MKNOD", "--security-opt",
                          "no-new-privileges=false", "img", "sh"});
  profile::apply(p, &f);
  CHECK(f.get("network") == "nat");
  CHECK(f.get("memory") == std::to_string(512 << 20));
  CHECK(f.all("env") == std::vector<std::string>{"A=1", "B=1", "B=2"});
  CHECK(f.all("cap-drop") == std::vector<std::string>{"CAP_NET_RAW", "MKNOD"});
  CHECK(f.all("security-opt") == std::vector<std::string>{"no-new-privileges=true", "no-new-privileges=false"});
  CHECK(f.has("read-only"));
  CHECK(f.positional() == std::vector<std::string>{"img", "sh"});
}

TEST_CASE("bind_read_only makes host paths without a mode read-only") {
  Profile p;
  std::string err;
  REQUIRE_MESSAGE(profile::parse("bind_read_only = true\nmounts = [\"/opt:/opt\"]\n", "p.toml", &p, &err), err);
  Flags f = command_line({"-v", "/src:/work", "-v", "/out:/out:rw", "-v", "/ro:/ro:ro", "-v", "cache:/cache", "img"});
  profile::apply(p, &f);
  CHECK(f.all("volume") ==
        std::vector<std::string>{"/opt:/opt:ro", "/src:/work:ro", "/out:/out:rw", "/ro:/ro:ro", "cache:/cache"});
  // Without it, mounts are as given.
  REQUIRE(profile::parse("mounts = [\"/opt:/opt\"]\n", "p.toml", &p, &err));
  Flags g = command_line({"-v", "/src:/work", "img"});
  profile::apply(p, &g);
  CHECK(g.all("volume") == std::vector<std::string>{"/opt:/opt", "/src:/work"});
}

TEST_CASE("create_options: the profile under the command line, exit 125 when it is bad") {
  ConfigHome home;
  std::string env_file = home.dir.path + "/env";
  write(env_file, "B=2\nC=2\n");
  write(home.profiles() + "/e.toml", "env = [\"A=1\", \"B=1\"]\n");
  container::CreateOptions o;
  std::string err;
  int code = 0;
  Flags f = command_line({"--profile", "e", "--env-file", env_file, "-e", "C=3", "busybox", "true"});
  REQUIRE_MESSAGE(create_options(f, &o, &err, &code), err);
  // docker's order, the profile first: its values, --env-file's, then -e's.
  CHECK(o.env == std::vector<std::string>{"A=1", "B=1", "B=2", "C=2", "C=3"});

  container::CreateOptions u;
  f = command_line({"--profile", "untrusted", "--cpus", "2", "--cap-add", "net_raw", "busybox", "true"});
  REQUIRE_MESSAGE(create_options(f, &u, &err, &code), err);
  CHECK(u.network == "none");
  CHECK(u.memory_limit == 512u << 20);
  CHECK(u.pids_limit == 256);
  CHECK(u.cpus == 2);
  CHECK(u.no_new_privileges);
  CHECK(u.cap_drop.size() == 7);
  CHECK(u.cap_add == std::vector<std::string>{"CAP_NET_RAW"});
  CHECK(u.timeout == 0);

  write(home.profiles() + "/bad.toml", "\nmemory = \"lots\"\n");
  container::CreateOptions b;
  f = command_line({"--profile", "bad", "busybox", "true"});
  CHECK_FALSE(create_options(f, &b, &err, &code));
  CHECK(code == 125);
  CHECK(err == home.profiles() + "/bad.toml:2: key 'memory': invalid size 'lots' (at least 64M)");
  f = command_line({"--cap-drop", "NET_RWA", "busybox", "true"});
  CHECK_FALSE(create_options(f, &b, &err, &code));
  CHECK(code == 2);
  f = command_line({"--timeout", "1h", "--security-opt", "no-new-privileges", "busybox", "true"});
  REQUIRE_MESSAGE(create_options(f, &b, &err, &code), err);
  CHECK(b.timeout == 3600);
  CHECK(b.no_new_privileges);
}
