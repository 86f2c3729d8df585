#include "boot/arch.h"
#include "base/test_gzip.h"

#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

using namespace ctk::boot;
using ctk::testing::gzip;

namespace {

// A file holding `bytes` in a fresh temp name; removed with the object.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& bytes) {
    path = (std::filesystem::temp_directory_path() / ("ctk-archtest-" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(counter++)))
               .string();
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~TempFile() { std::filesystem::remove(path); }
  static inline int counter = 0;
};

}  // namespace

TEST_CASE("kernel images are told apart by their boot headers") {
  std::string x86(8192, '\0'), arm(8192, '\0');
  x86.replace(0x202, 4, "HdrS");
  arm.replace(0x38, 4, std::string("ARM\x64", 4));
  std::string arch, err;
  TempFile bz(x86), image(arm), gz(gzip(arm)), junk(std::string(8192, 'x'));
  CHECK(kernel_arch(bz.path, &arch, &err));
  CHECK(arch == "x86_64");
  CHECK(kernel_arch(image.path, &arch, &err));
  CHECK(arch == "aarch64");
  CHECK(kernel_arch(gz.path, &arch, &err));  // Debian's arm64 vmlinuz is a gzipped Image
  CHECK(arch == "aarch64");
  CHECK_FALSE(kernel_arch(junk.path, &arch, &err));
  CHECK(err == "kernel " + junk.path + ": not an x86 bzImage or arm64 Image");
  CHECK_FALSE(kernel_arch("/nonexistent/vmlinuz", &arch, &err));
}

TEST_CASE("elf_arch reads e_machine") {
  std::string arch, err;
  REQUIRE(elf_arch("/proc/self/exe", &arch, &err));
  CHECK(arch == host_arch());
  TempFile text("#!/bin/sh\necho not elf, but long enough to hold an ELF header......\n");
  CHECK_FALSE(elf_arch(text.path, &arch, &err));
  CHECK(err == text.path + ": not an ELF executable");
}

TEST_CASE("platform names map to guest architectures and back") {
  CHECK(arch_from_platform("arm64") == "aarch64");
  CHECK(arch_from_platform("amd64") == "x86_64");
  CHECK(arch_from_platform("s390x") == "");
  CHECK(platform_arch("aarch64") == "arm64");
  CHECK(platform_arch("x86_64") == "amd64");
  std::string path, err;
  REQUIRE(guest_ctk(host_arch(), &path, &err));
  CHECK(path == "/proc/self/exe");
}
