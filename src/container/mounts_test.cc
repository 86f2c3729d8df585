#include "container/mounts.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/test_dir.h"
#include "volume/volumes.h"

using namespace ctk;
using namespace ctk::container;

namespace {

MountPoint volume_flag(const std::string& text) {
  MountPoint m;
  std::string err;
  INFO(text);
  REQUIRE(parse_volume_flag(text, &m, &err));
  return m;
}

std::string volume_flag_error(const std::string& text) {
  MountPoint m;
  std::string err;
  INFO(text);
  CHECK_FALSE(parse_volume_flag(text, &m, &err));
  return err;
}

MountPoint mount_flag(const std::string& text) {
  MountPoint m;
  std::string err;
  INFO(text);
  REQUIRE(parse_mount_flag(text, &m, &err));
  return m;
}

std::string mount_flag_error(const std::string& text) {
  MountPoint m;
  std::string err;
  INFO(text);
  CHECK_FALSE(parse_mount_flag(text, &m, &err));
  return err;
}

// A volume named `name` in data root `root`, populated or not.
void make_volume(const std::string& root, const std::string& name, bool populated) {
  volume::Volumes volumes;
  Error err;
  REQUIRE(volumes.open(root, &err));
  volume::Volume v;
  v.name = name;
  v.populated = populated;
  bool created;
  REQUIRE(volumes.create(&v, true, &created, &err));
}

MountPoint bind_mount(const std::string& source, const std::string& destination, bool read_only = false) {
  MountPoint m;
  m.type = "bind";
  m.source = source;
  m.destination = destination;
  m.read_only = read_only;
  return m;
}

}  // namespace

TEST_CASE("-v: anonymous volumes, named volumes and binds with their options") {
  MountPoint m = volume_flag("/data");
  CHECK(m.type == "volume");
  CHECK(m.anonymous);
  CHECK(m.source.empty());
  CHECK(m.destination == "/data");

  m = volume_flag("data:/var//lib/./x/");
  CHECK(m.type == "volume");
  CHECK_FALSE(m.anonymous);
  CHECK(m.source == "data");
  CHECK(m.destination == "/var/lib/x");
  CHECK_FALSE(m.create_source);

  m = volume_flag("data:/d:ro,nocopy");
  CHECK(m.read_only);
  CHECK(m.no_copy);

  m = volume_flag("/host/dir/:/d");
  CHECK(m.type == "bind");
  CHECK(m.source == "/host/dir");
  CHECK(m.create_source);  // docker makes a missing -v host path
  CHECK_FALSE(m.read_only);

  CHECK(volume_flag("/h:/d:ro").read_only);
  CHECK_FALSE(volume_flag("/h:/d:rw").read_only);
  CHECK(volume_flag("/h:/d:z").type == "bind");
  CHECK(volume_flag("/h:/d:Z,ro").read_only);
}

TEST_CASE("-v: refused spellings") {
  CHECK(volume_flag_error("").find("want SRC:DST") != std::string::npos);
  CHECK(volume_flag_error("a:/b:ro:x").find("want SRC:DST") != std::string::npos);
  CHECK(volume_flag_error("relative/dir:/d").find("neither an absolute host path nor a valid volume name") !=
        std::string::npos);
  CHECK(volume_flag_error("./dir:/d").find("neither") != std::string::npos);
  CHECK(volume_flag_error("/h/../etc:/d").find("may not contain '..'") != std::string::npos);
  CHECK(volume_flag_error("/h:d").find("not an absolute path") != std::string::npos);
  CHECK(volume_flag_error("/h:/a/../b").find("not an absolute path") != std::string::npos);
  CHECK(volume_flag_error("/h:/").find("cannot be /") != std::string::npos);
  CHECK(volume_flag_error("/").find("cannot be /") != std::string::npos);
  CHECK(volume_flag_error("/h:/d:rx").find("unknown option 'rx'") != std::string::npos);
  CHECK(volume_flag_error("/h:/d:ro,rw").find("unknown option 'rw'") != std::string::npos);  // one mode only
  CHECK(volume_flag_error("/h:/d:nocopy").find("unknown option 'nocopy'") != std::string::npos);  // volumes only
}

TEST_CASE("--mount: docker's fields") {
  MountPoint m = mount_flag("type=bind,source=/h,target=/d,readonly");
  CHECK(m.type == "bind");
  CHECK(m.source == "/h");
  CHECK(m.destination == "/d");
  CHECK(m.read_only);
  CHECK_FALSE(m.create_source);  // --mount wants the source to exist

  CHECK_FALSE(mount_flag("type=bind,src=/h,dst=/d,readonly=false").read_only);
  CHECK(mount_flag("type=bind,src=/h,dst=/d,ro=1").read_only);
  CHECK(mount_flag("type=bind,src=/h,destination=/d,bind-propagation=rprivate").type == "bind");

  m = mount_flag("type=volume,source=data,target=/d,volume-nocopy");
  CHECK(m.type == "volume");
  CHECK(m.source == "data");
  CHECK(m.no_copy);
  CHECK_FALSE(m.anonymous);

  m = mount_flag("target=/d");  // type defaults to volume; no source: anonymous
  CHECK(m.type == "volume");
  CHECK(m.anonymous);

  m = mount_flag("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1777");
  CHECK(m.type == "tmpfs");
  CHECK(m.options == "size=67108864,mode=1777");
  CHECK(mount_flag("type=tmpfs,dst=/t,tmpfs-mode=700").options == "mode=700");
}

TEST_CASE("--mount: refused fields") {
  CHECK(mount_flag_error("type=bind,target=/d").find("needs an absolute source") != std::string::npos);
  CHECK(mount_flag_error("type=bind,source=rel,target=/d").find("needs an absolute source") != std::string::npos);
  CHECK(mount_flag_error("type=bind,source=/a/../b,target=/d").find("'..'") != std::string::npos);
  CHECK(mount_flag_error("type=volume,source=/h,target=/d").find("not a path") != std::string::npos);
  CHECK(mount_flag_error("type=volume,source=b@d,target=/d").find("valid volume name") != std::string::npos);
  CHECK(mount_flag_error("type=npipe,target=/d").find("type must be") != std::string::npos);
  CHECK(mount_flag_error("type=bind,source=/h").find("no target") != std::string::npos);
  CHECK(mount_flag_error("type=bind,source=/h,target=/").find("cannot be /") != std::string::npos);
  CHECK(mount_flag_error("type=bind,source=/h,target=/d,readonly=maybe").find("invalid value") != std::string::npos);
  CHECK(mount_flag_error("type=bind,source=/h,target=/d,bind-propagation=shared").find("unsupported field") !=
        std::string::npos);
  CHECK(mount_flag_error("type=bind,source=/h,target=/d,consistency=cached").find("unsupported field") !=
        std::string::npos);
  CHECK(mount_flag_error("type=tmpfs,source=x,target=/t").find("takes no source") != std::string::npos);
  CHECK(mount_flag_error("type=tmpfs,target=/t,tmpfs-size=lots").find("invalid tmpfs-size") != std::string::npos);
  CHECK(mount_flag_error("type=tmpfs,target=/t,tmpfs-mode=888").find("invalid tmpfs-mode") != std::string::npos);
  CHECK(mount_flag_error("type=tmpfs,target=/t,tmpfs-mode=17777").find("invalid tmpfs-mode") != std::string::npos);
}

TEST_CASE("--tmpfs: a destination and tmpfs options") {
  MountPoint m;
  std::string err;
  REQUIRE(parse_tmpfs_flag("/run", &m, &err));
  CHECK(m.type == "tmpfs");
  CHECK(m.destination == "/run");
  CHECK(m.options.empty());
  REQUIRE(parse_tmpfs_flag("/tmp:size=64m,mode=1777,exec,noatime", &m, &err));
  CHECK(m.options == "size=64m,mode=1777,exec,noatime");
  CHECK_FALSE(parse_tmpfs_flag("/tmp:size=", &m, &err));
  CHECK_FALSE(parse_tmpfs_flag("/tmp:bogus", &m, &err));
  CHECK(err == "unknown tmpfs option 'bogus'");
  CHECK_FALSE(parse_tmpfs_flag("tmp", &m, &err));
  CHECK_FALSE(parse_tmpfs_flag("/", &m, &err));
}

TEST_CASE("a mount survives to_json and mount_from_json") {
  MountPoint m = volume_flag("data:/d:ro,nocopy");
  MountPoint back;
  std::string err;
  REQUIRE(mount_from_json(to_json(m), &back, &err));
  CHECK(back.type == m.type);
  CHECK(back.source == m.source);
  CHECK(back.destination == m.destination);
  CHECK(back.read_only);
  CHECK(back.no_copy);
  CHECK_FALSE(back.anonymous);
  REQUIRE(mount_from_json(to_json(mount_flag("type=tmpfs,dst=/t,tmpfs-mode=700")), &back, &err));
  CHECK(back.options == "mode=700");
  REQUIRE(mount_from_json(to_json(volume_flag("/anon")), &back, &err));
  CHECK(back.anonymous);
  CHECK_FALSE(mount_from_json(nlohmann::json{{"type", "bind"}}, &back, &err));
  CHECK(err.find("mounts") != std::string::npos);
}

TEST_CASE("plan_mounts: shares, their order and what the guest mounts") {
  testing::TempDir dir;
  std::string host = dir.path + "/host";
  REQUIRE(::mkdir(host.c_str(), 0755) == 0);
  REQUIRE(::mkdir((host + "/sub").c_str(), 0755) == 0);
  std::ofstream(host + "/file.conf") << "x";
  std::string root = dir.path + "/root";

  SUBCASE("one share per directory and mode; a file shares its parent") {
    std::vector<MountPoint> mounts = {bind_mount(host, "/a/b"), bind_mount(host, "/a"),
                                      bind_mount(host + "/file.conf", "/etc/f.conf"), bind_mount(host, "/ro", true)};
    MountPlan plan;
    Error err;
    REQUIRE(plan_mounts(mounts, root, "/rootfs", &plan, &err));
    REQUIRE(plan.shares.size() == 2);
    CHECK(plan.shares[0].path == host);
    CHECK_FALSE(plan.shares[0].read_only);
    CHECK(plan.shares[1].path == host);
    CHECK(plan.shares[1].read_only);
    CHECK(plan.shares[1].tag == "ctk1");
    REQUIRE(plan.oci_mounts.size() == 4);
    // Parents before children.
    CHECK(plan.oci_mounts[0]["destination"] == "/a");
    CHECK(plan.oci_mounts[1]["destination"] == "/ro");
    CHECK(plan.oci_mounts[2]["destination"] == "/a/b");
    CHECK(plan.oci_mounts[3]["destination"] == "/etc/f.conf");
    CHECK(plan.oci_mounts[3]["source"] == "/run/ctk/shares/0/file.conf");
    CHECK(plan.oci_mounts[1]["options"] == nlohmann::json::array({"rbind", "ro"}));
    CHECK(plan.first_use.empty());
  }

  SUBCASE("a missing bind source") {
    MountPlan plan;
    Error err;
    CHECK_FALSE(plan_mounts({bind_mount(host + "/gone", "/x")}, root, "/rootfs", &plan, &err));
    CHECK(err.code == ErrorCode::not_found);
  }

  SUBCASE("a volume is populated on its first use only") {
    make_volume(root, "fresh", false);
    make_volume(root, "used", true);
    MountPoint fresh = volume_flag("fresh:/data"), used = volume_flag("used:/old");
    MountPlan plan;
    Error err;
    REQUIRE(plan_mounts({fresh, used}, root, "/rootfs", &plan, &err));
    CHECK(plan.first_use == std::vector<std::string>{"fresh"});
    auto calls = guest_calls(plan, vz::ShareTransport::virtiofs);
    REQUIRE(calls.size() == 3);  // two mounts, then the copy
    CHECK(calls[2].op == "populate");
    CHECK(calls[2].args["from"] == "/rootfs/data");
    CHECK(calls[2].args["to"] == "/run/ctk/shares/0");
    CHECK(plan.shares[0].path == root + "/volumes/fresh/_data");
  }

  SUBCASE("nocopy and missing volumes") {
    make_volume(root, "fresh", false);
    MountPlan plan;
    Error err;
    REQUIRE(plan_mounts({volume_flag("fresh:/data:nocopy")}, root, "/rootfs", &plan, &err));
    CHECK(plan.first_use.empty());
    CHECK(plan.populate.empty());
    CHECK_FALSE(plan_mounts({volume_flag("nosuch:/data")}, root, "/rootfs", &plan, &err));
    CHECK(err.code == ErrorCode::not_found);
  }

  SUBCASE("tmpfs: no share, the guest's options") {
    MountPoint t;
    std::string why;
    REQUIRE(parse_tmpfs_flag("/tmp:size=1m", &t, &why));
    MountPlan plan;
    Error err;
    REQUIRE(plan_mounts({t}, root, "/rootfs", &plan, &err));
    CHECK(plan.shares.empty());
    REQUIRE(plan.oci_mounts.size() == 1);
    CHECK(plan.oci_mounts[0]["type"] == "tmpfs");
    CHECK(plan.oci_mounts[0]["options"] == nlohmann::json::array({"nosuid", "nodev", "noexec", "size=1m"}));
  }
}

TEST_CASE("guest_calls: each share mounted over the VM's transport, read-only ones ro") {
  MountPlan plan;
  plan.shares = {{"ctk0", "/srv/a", false}, {"ctk1", "/srv/a", true}};
  plan.populate = {{"populate", {{"from", "/rootfs/data"}, {"to", "/run/ctk/shares/0"}}}};

  auto calls = guest_calls(plan, vz::ShareTransport::virtiofs);
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].op == "mount");
  CHECK(calls[0].args == nlohmann::json{{"destination", "/run/ctk/shares/0"}, {"type", "virtiofs"},
                                        {"source", "ctk0"}, {"options", nlohmann::json::array()}});
  CHECK(calls[1].args["type"] == "virtiofs");
  CHECK(calls[1].args["source"] == "ctk1");
  CHECK(calls[1].args["options"] == nlohmann::json::array({"ro"}));
  CHECK(calls[2].op == "populate");  // after every mount

  calls = guest_calls(plan, vz::ShareTransport::ninep);
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].args == nlohmann::json{{"destination", "/run/ctk/shares/0"}, {"type", "9p"}, {"source", "ctk0"},
                                        {"options", {"trans=virtio", "version=9p2000.L", "msize=512000",
                                                     "cache=mmap"}}});
  CHECK(calls[1].args["destination"] == "/run/ctk/shares/1");
  CHECK(calls[1].args["options"] ==
        nlohmann::json::array({"trans=virtio", "version=9p2000.L", "msize=512000", "cache=mmap", "ro"}));
  CHECK(calls[2].op == "populate");

  CHECK(guest_calls(MountPlan{}, vz::ShareTransport::ninep).empty());
}
