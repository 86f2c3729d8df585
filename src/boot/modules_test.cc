#include "boot/modules.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace ctk::boot;

TEST_CASE("module names compare as the kernel does") {
  CHECK(module_name("kernel/drivers/block/virtio_blk.ko") == "virtio_blk");
  CHECK(module_name("kernel/drivers/char/hw_random/virtio-rng.ko.xz") == "virtio_rng");
}

TEST_CASE("closure loads dependencies first, each once") {
  auto dir = std::filesystem::temp_directory_path() / ("ctk-modtest-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream dep(dir / "modules.dep");
    dep << "kernel/virtio_net.ko: kernel/net_failover.ko kernel/failover.ko kernel/virtio.ko kernel/virtio_ring.ko\n"
           "kernel/net_failover.ko: kernel/failover.ko\n"
           "kernel/failover.ko:\n"
           "kernel/virtio.ko: kernel/virtio_ring.ko\n"
           "kernel/virtio_ring.ko:\n"
           "kernel/virtio_blk.ko: kernel/virtio.ko kernel/virtio_ring.ko\n";
  }
  ModuleDb db;
  std::string err;
  REQUIRE(db.load(dir.string(), &err));
  std::vector<std::string> missing;
  auto order = db.closure({"virtio_blk", "virtio-net", "ext4"}, &missing);
  CHECK(order == std::vector<std::string>{"kernel/virtio_ring.ko", "kernel/virtio.ko",
                                          "kernel/virtio_blk.ko", "kernel/failover.ko",
                                          "kernel/net_failover.ko", "kernel/virtio_net.ko"});
  CHECK(missing == std::vector<std::string>{"ext4"});
  std::filesystem::remove_all(dir);
  CHECK_FALSE(db.load(dir.string(), &err));
  CHECK(err.find("modules.dep") != std::string::npos);
}
