// pack_tree and unpack_tree: a tree through tar and back, docker's names,
// and an archive that wants out of the directory it is extracted into.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/file_io.h"
#include "base/test_dir.h"
#include "oci/tar_writer.h"
#include "oci/tree_pack.h"
#include "oci/tree_unpack.h"

using namespace ctk;
using namespace ctk::oci;
using ctk::testing::TempDir;

namespace {

void write(const std::string& path, const std::string& data, mode_t mode = 0644) {
  std::ofstream(path) << data;
  ::chmod(path.c_str(), mode);
}

std::string read(const std::string& path) {
  std::string out, err;
  REQUIRE(read_file(path, &out, nullptr, &err));
  return out;
}

// Packs `entry` of dir into `tar` as `name`.
void pack(const std::string& dir, const std::string& entry, const std::string& name, const std::string& tar) {
  UniqueFd d(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd out(::open(tar.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  TarWriter writer(out.get(), tar);
  std::string err;
  CHECK_MESSAGE(pack_tree(d.get(), entry, name, dir + "/" + entry, {}, writer, &err), err);
}

bool unpack(const std::string& tar, const std::string& dir, const UnpackOptions& o, std::string* err) {
  UniqueFd in(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ArchiveSource source(in.get());
  return unpack_tree(source, root.get(), dir, o, err);
}

}  // namespace

TEST_CASE("a tree survives pack and unpack under a new name") {
  TempDir t;
  std::string src = t.path + "/src", dst = t.path + "/dst";
  std::filesystem::create_directories(src + "/sub/deep");
  write(src + "/a", "alpha", 0600);
  write(src + "/sub/deep/x", std::string(300000, 'x'), 04755);
  std::string long_name(150, 'n');
  write(src + "/sub/" + long_name, "long");
  ::symlink("../a", (src + "/sub/up").c_str());
  ::symlink(std::string(120, 't').c_str(), (src + "/sub/dangling").c_str());
  ::link((src + "/a").c_str(), (src + "/sub/hard").c_str());
  ::mkfifo((src + "/fifo").c_str(), 0640);
  ::chmod((src + "/sub").c_str(), 0555);
  struct timespec times[2] = {{1600000000, 0}, {1600000000, 0}};
  ::utimensat(AT_FDCWD, (src + "/sub").c_str(), times, AT_SYMLINK_NOFOLLOW);
  pack(t.path, "src", "src", t.path + "/t.tar");
  std::filesystem::create_directories(dst);
  std::string err;
  REQUIRE_MESSAGE(unpack(t.path + "/t.tar", dst, {true, "src", "copy"}, &err), err);
  std::string c = dst + "/copy";
  CHECK(read(c + "/a") == "alpha");
  CHECK(read(c + "/sub/deep/x") == std::string(300000, 'x'));
  CHECK(read(c + "/sub/" + long_name) == "long");
  CHECK(std::filesystem::read_symlink(c + "/sub/up") == "../a");
  CHECK(std::filesystem::read_symlink(c + "/sub/dangling") == std::string(120, 't'));
  struct stat a, hard, st;
  REQUIRE(::stat((c + "/a").c_str(), &a) == 0);
  REQUIRE(::stat((c + "/sub/hard").c_str(), &hard) == 0);
  CHECK(a.st_ino == hard.st_ino);
  CHECK((a.st_mode & 07777) == 0600);
  REQUIRE(::stat((c + "/sub/deep/x").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 04755);
  REQUIRE(::stat((c + "/fifo").c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK((st.st_mode & 07777) == 0640);
  REQUIRE(::stat((c + "/sub").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0555);
  CHECK(st.st_mtim.tv_sec == 1600000000);
}

TEST_CASE("a directory's contents as '.' land in an existing directory") {
  TempDir t;
  std::filesystem::create_directories(t.path + "/src/d");
  write(t.path + "/src/d/f", "f");
  pack(t.path + "/src", ".", ".", t.path + "/t.tar");
  std::filesystem::create_directories(t.path + "/dst");
  std::string err;
  REQUIRE_MESSAGE(unpack(t.path + "/t.tar", t.path + "/dst", {}, &err), err);
  CHECK(read(t.path + "/dst/d/f") == "f");
}

TEST_CASE("members cannot get out: '..' is refused, symlinks resolve inside") {
  TempDir t;
  std::string dst = t.path + "/dst", out = t.path + "/outside";
  std::filesystem::create_directories(dst);
  std::filesystem::create_directories(out);
  auto archive = [&](const std::vector<ArchiveEntry>& entries) {
    UniqueFd fd(::open((t.path + "/evil.tar").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    TarWriter w(fd.get(), "evil.tar");
    std::string err;
    for (const ArchiveEntry& e : entries) {
      REQUIRE(w.add_entry(e, &err));
      if (e.size) REQUIRE(write_all(fd.get(), "pwned", 5, "evil.tar", &err));
      if (e.size) REQUIRE(write_all(fd.get(), std::string(507, '\0').data(), 507, "evil.tar", &err));
    }
    REQUIRE(w.finish(&err));
  };
  ArchiveEntry file;
  file.mode = S_IFREG | 0644;
  file.size = 5;
  file.path = "a/../../outside/f";
  archive({file});
  std::string err;
  CHECK_FALSE(unpack(t.path + "/evil.tar", dst, {}, &err));
  CHECK(err == "'a/../../outside/f' is outside of " + dst);
  // Symlinks to the outside, one in the archive and one planted before,
  // then files through them: root is "/" for both, so they land inside.
  ArchiveEntry link;
  link.mode = S_IFLNK | 0777;
  link.path = "l";
  link.link = "/";
  file.path = "l/f";
  ArchiveEntry through = file;
  through.path = "planted/g";
  archive({link, file, through});
  ::symlink("../../../../../../..", (dst + "/planted").c_str());
  REQUIRE_MESSAGE(unpack(t.path + "/evil.tar", dst, {}, &err), err);
  CHECK(std::filesystem::is_empty(out));
  CHECK(read(dst + "/f") == "pwned");
  CHECK(read(dst + "/g") == "pwned");
}

TEST_CASE("a directory and a non-directory do not replace each other") {
  TempDir t;
  std::string dst = t.path + "/dst";
  std::filesystem::create_directories(dst + "/d");
  write(t.path + "/d", "file");
  pack(t.path, "d", "d", t.path + "/t.tar");
  std::string err;
  CHECK_FALSE(unpack(t.path + "/t.tar", dst, {}, &err));
  CHECK(err == "cannot overwrite directory " + dst + "/d with non-directory 'd'");
}

TEST_CASE("docker's path splitting") {
  std::string dir, entry;
  auto split = [&](const char* p) {
    split_path(p, &dir, &entry);
    return dir + "|" + entry;
  };
  CHECK(split("/a/b") == "/a|b");
  CHECK(split("/a/b/") == "/a|b");
  CHECK(split("/a/b/.") == "/a/b|.");
  CHECK(split("/") == "/|.");
  CHECK(split("/a") == "/|a");
  CHECK(split("a") == ".|a");
  CHECK(split(".") == ".|.");
  CHECK(clean_path("/a//b/../c/.") == "/a/c");
  CHECK(clean_path("/../x") == "/x");
  CHECK(clean_path("a/..") == ".");
}
