#include "base/dirs.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/test_dir.h"

namespace ctk {

TEST_CASE("disk_usage: allocated bytes, a sparse file's holes not counted, symlinks not followed") {
  testing::TempDir dir;
  std::string sub = dir.path + "/sub";
  std::filesystem::create_directory(sub);
  int fd = ::open((sub + "/sparse").c_str(), O_WRONLY | O_CREAT, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, 1ll << 30) == 0);  // 1 GiB, all of it a hole
  std::string data(64 * 1024, 'x');
  REQUIRE(::pwrite(fd, data.data(), data.size(), 0) == ssize_t(data.size()));
  REQUIRE(::fsync(fd) == 0);
  ::close(fd);
  std::filesystem::create_symlink("/usr", sub + "/link");
  uint64_t used = disk_usage(dir.path);
  CHECK(used >= data.size());
  CHECK(used < (16u << 20));
  CHECK(disk_usage(dir.path + "/missing") == 0);
}

}  // namespace ctk
