#include "volume/volumes.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "base/test_dir.h"
#include "base/random.h"

using namespace ctk;
using namespace ctk::volume;

TEST_CASE("volume names: docker's rule") {
  CHECK(valid_name("data"));
  CHECK(valid_name("a1"));
  CHECK(valid_name("my_vol.v2-x"));
  CHECK(valid_name(std::string(64, 'f')));
  CHECK_FALSE(valid_name(""));
  CHECK_FALSE(valid_name("a"));  // at least 2 characters
  CHECK_FALSE(valid_name("_data"));
  CHECK_FALSE(valid_name(".hidden"));
  CHECK_FALSE(valid_name("-x"));
  CHECK_FALSE(valid_name("a/b"));
  CHECK_FALSE(valid_name("a b"));
  CHECK_FALSE(valid_name("a:b"));
  CHECK_FALSE(valid_name(std::string(256, 'a')));
}

TEST_CASE("volumes: create, load, list, remove") {
  testing::TempDir dir;
  Volumes volumes;
  Error err;
  REQUIRE(volumes.open(dir.path, &err));

  Volume v;
  v.name = "data";
  v.labels = {{"k", "v"}};
  bool created;
  REQUIRE(volumes.create(&v, false, &created, &err));
  CHECK(created);
  CHECK_FALSE(v.created.empty());
  struct stat st;
  REQUIRE(::stat(volumes.data("data").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));

  // Again: kept as it is, unless it must be new.
  Volume again;
  again.name = "data";
  REQUIRE(volumes.create(&again, false, &created, &err));
  CHECK_FALSE(created);
  CHECK(again.labels == v.labels);
  CHECK(again.created == v.created);
  CHECK_FALSE(volumes.create(&again, true, &created, &err));
  CHECK(err.code == ErrorCode::conflict);
  CHECK(err.message == "volume data already exists");

  Volume bad;
  bad.name = "no/slash";
  CHECK_FALSE(volumes.create(&bad, false, &created, &err));
  CHECK(err.code == ErrorCode::invalid);

  Volume anon;
  anon.name = random_id();
  anon.anonymous = true;
  REQUIRE(volumes.create(&anon, true, &created, &err));
  anon.populated = true;
  REQUIRE(volumes.save(anon, &err));

  Volume loaded;
  REQUIRE(volumes.load(anon.name, &loaded, &err));
  CHECK(loaded.anonymous);
  CHECK(loaded.populated);
  CHECK(loaded.labels.empty());
  CHECK_FALSE(volumes.load("nosuch", &loaded, &err));
  CHECK(err.code == ErrorCode::not_found);
  CHECK_FALSE(volumes.load("../x", &loaded, &err));
  CHECK(err.code == ErrorCode::not_found);

  // Left-overs of a create that died half-way are no volumes.
  REQUIRE(::mkdir((dir.path + "/volumes/.new-half").c_str(), 0700) == 0);
  REQUIRE(::mkdir((dir.path + "/volumes/nojson").c_str(), 0700) == 0);
  std::vector<Volume> all;
  REQUIRE(volumes.list(&all, &err));
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == std::min(anon.name, std::string("data")));

  std::ofstream(volumes.data("data") + "/f") << "12345";
  CHECK(volumes.size("data") == 5);
  REQUIRE(::link((volumes.data("data") + "/f").c_str(), (volumes.data("data") + "/g").c_str()) == 0);
  CHECK(volumes.size("data") == 5);  // a hard link counts once

  REQUIRE(volumes.remove("data", &err));
  CHECK(::access(volumes.dir("data").c_str(), F_OK) != 0);
  CHECK(::access((dir.path + "/volumes/.removing-data").c_str(), F_OK) != 0);
  CHECK_FALSE(volumes.remove("data", &err));
  CHECK(err.code == ErrorCode::not_found);
}

TEST_CASE("volumes: a failed create leaves no volume") {
  if (::geteuid() == 0) return;  // root writes through the read-only directory
  testing::TempDir dir;
  Volumes volumes;
  Error err;
  REQUIRE(volumes.open(dir.path, &err));
  std::string path = dir.path + "/volumes";
  REQUIRE(::chmod(path.c_str(), 0500) == 0);
  Volume v;
  v.name = "data";
  bool created;
  CHECK_FALSE(volumes.create(&v, false, &created, &err));
  CHECK_FALSE(created);
  REQUIRE(::chmod(path.c_str(), 0700) == 0);
  std::vector<Volume> all;
  REQUIRE(volumes.list(&all, &err));
  CHECK(all.empty());
  CHECK(::access(volumes.dir("data").c_str(), F_OK) != 0);
}

TEST_CASE("volume filters") {
  Volume v;
  v.name = "project-data";
  v.labels = {{"env", "prod"}, {"team", ""}};
  auto match = [&](const std::string& text, bool in_use, bool prune = false) {
    Filter f;
    std::string err;
    INFO(text);
    REQUIRE(parse_filter(text, prune, &f, &err));
    return matches(v, in_use, {f});
  };
  CHECK(match("dangling=true", false));
  CHECK_FALSE(match("dangling=true", true));
  CHECK(match("dangling=false", true));
  CHECK(match("name=data", false));
  CHECK_FALSE(match("name=other", false));
  CHECK(match("label=env", false));
  CHECK(match("label=env=prod", false));
  CHECK_FALSE(match("label=env=dev", false));
  CHECK(match("label=team", false));
  CHECK(match("driver=local", false));
  CHECK_FALSE(match("driver=nfs", false));
  CHECK(match("label!=env=dev", false, true));
  CHECK_FALSE(match("label!=env", false, true));
  Filter f;
  std::string err;
  CHECK_FALSE(parse_filter("dangling=maybe", false, &f, &err));
  CHECK_FALSE(parse_filter("driver=local", true, &f, &err));  // ls's only
  CHECK_FALSE(parse_filter("name", false, &f, &err));
  CHECK_FALSE(parse_filter("label!=x", false, &f, &err));  // prune's only
  CHECK_FALSE(parse_filter("name=x", true, &f, &err));
  CHECK(err.find("label= or label!=") != std::string::npos);
}
