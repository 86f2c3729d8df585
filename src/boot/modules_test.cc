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

TEST_CASE("module signatures are cut off whole, and only when present") {
  std::string body = "\x7f" "ELF module body";
  std::string pkcs7(681, 'S');
  std::string info = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, char(169)};  // sig_len 681
  std::string signed_module = body + pkcs7 + info + "~Module signature appended~\n";
  CHECK(without_signature(signed_module) == body);
  CHECK(without_signature(body) == body);
  // A length beyond the file is not trusted.
  std::string bogus = body + std::string(4, 0) + std::string{0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0} +
                      "~Module signature appended~\n";
  CHECK(without_signature(bogus) == bogus);
}

TEST_CASE("signatures are kept unless the kernel's config says they are optional") {
  auto dir = std::filesystem::temp_directory_path() / ("ctk-sigtest-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string image = (dir / "vmlinuz-6.1.0-test").string();
  CHECK(kernel_requires_signatures(image, "6.1.0-test"));  // no config: keep them
  std::ofstream(dir / "config-6.1.0-test") << "CONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\n";
  CHECK_FALSE(kernel_requires_signatures(image, "6.1.0-test"));
  std::ofstream(dir / "config-6.1.0-test") << "CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n";
  CHECK(kernel_requires_signatures(image, "6.1.0-test"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("kernel_has: a module in modules.dep, or =y in the config, or nothing known") {
  auto dir = std::filesystem::temp_directory_path() / ("ctk-kernelhas-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "boot");
  std::filesystem::create_directories(dir / "modules");
  std::string image = (dir / "boot/vmlinuz-9.9").string(), modules = (dir / "modules").string();
  CHECK(kernel_has(image, "9.9", modules, "virtiofs", "CONFIG_VIRTIO_FS"));  // nothing to read
  std::ofstream(dir / "modules/modules.dep") << "kernel/fs/fuse/fuse.ko:\n";
  CHECK_FALSE(kernel_has(image, "9.9", modules, "virtiofs", "CONFIG_VIRTIO_FS"));
  std::ofstream(dir / "modules/modules.dep") << "kernel/fs/fuse/virtiofs.ko.xz: kernel/fs/fuse/fuse.ko\n";
  CHECK(kernel_has(image, "9.9", modules, "virtiofs", "CONFIG_VIRTIO_FS"));
  std::ofstream(dir / "modules/modules.dep") << "kernel/fs/fuse/fuse.ko:\n";
  std::ofstream(dir / "boot/config-9.9") << "# CONFIG_VIRTIO_FS is not set\nCONFIG_VIRTIO_FS_X=y\n";
  CHECK_FALSE(kernel_has(image, "9.9", modules, "virtiofs", "CONFIG_VIRTIO_FS"));
  std::ofstream(dir / "boot/config-9.9") << "CONFIG_VIRTIO_FS=y\n";
  CHECK(kernel_has(image, "9.9", modules, "virtiofs", "CONFIG_VIRTIO_FS"));
  std::filesystem::remove_all(dir);
}
