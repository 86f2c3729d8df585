#include "container/lifecycle.h"

#include <doctest/doctest.h>

#include "base/test_dir.h"

using namespace ctk;
using namespace ctk::container;

TEST_CASE("remove_volume refuses a volume a container names") {
  testing::TempDir dir;
  volume::Volumes volumes;
  Containers containers;
  Error err;
  REQUIRE(volumes.open(dir.path, &err));
  REQUIRE(containers.open(dir.path, &err));
  for (const char* name : {"data", "free"}) {
    volume::Volume v;
    v.name = name;
    bool created;
    REQUIRE(volumes.create(&v, true, &created, &err));
  }
  for (const char* name : {"web", "db"}) {
    Spec s;
    s.name = name;
    MountPoint m;
    std::string why;
    REQUIRE(parse_volume_flag("data:/data", &m, &why));
    s.mounts.push_back(m);
    REQUIRE(containers.create(&s, &err));
  }
  CHECK_FALSE(remove_volume(containers, volumes, "data", &err));
  CHECK(err.code == ErrorCode::conflict);
  CHECK(err.message == "volume data is in use by containers db, web");
  REQUIRE(remove_volume(containers, volumes, "free", &err));
  CHECK_FALSE(remove_volume(containers, volumes, "free", &err));
  CHECK(err.code == ErrorCode::not_found);
}
