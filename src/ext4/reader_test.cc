#include "ext4/reader.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "base/test_dir.h"
#include "ext4/format.h"
#include "ext4/writer.h"

using namespace ctk::ext4;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spill(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (char& c : s) c = char(rng());
  return s;
}

// Builds an image with ctk's writer: `fill` adds nodes to the tree and
// streams file data.
template <typename Fill>
void build_image(const std::string& path, const WriterOptions& options, Fill fill) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  Writer w;
  std::string err;
  REQUIRE(w.begin(fd, options, &err));
  fill(w);
  const uint8_t seed[] = {1, 2, 3};
  REQUIRE_MESSAGE(w.finish(seed, &err), err);
  REQUIRE(::ftruncate(fd, off_t(w.stats().blocks * kBlockSize)) == 0);
  ::close(fd);
}

Node* add_file(Writer& w, Node* dir, const char* name, uint32_t mode,
               const std::vector<std::pair<uint64_t, std::string>>& chunks, uint64_t size) {
  Node* n = w.tree().make(S_IFREG | mode);
  w.tree().link(dir, name, n, 0);
  n->size = size;
  std::string err;
  w.begin_file(n);
  for (const auto& [offset, data] : chunks) REQUIRE(w.write(offset, data.data(), data.size(), &err));
  w.end_file();
  return n;
}

// The content a file written as `chunks` reads back as.
std::string expand(const std::vector<std::pair<uint64_t, std::string>>& chunks, uint64_t size) {
  std::string s(size, '\0');
  for (const auto& [offset, data] : chunks) s.replace(offset, data.size(), data);
  return s;
}

uint32_t must_lookup(Reader& r, std::string_view path) {
  uint32_t ino = 0;
  std::string err;
  REQUIRE_MESSAGE(r.lookup(path, &ino, &err), err);
  return ino;
}

std::string must_read(Reader& r, std::string_view path) {
  std::string out, err;
  REQUIRE_MESSAGE(r.read(must_lookup(r, path), &out, &err), err);
  return out;
}

std::set<std::string> names(Reader& r, std::string_view dir) {
  std::vector<Entry> entries;
  std::string err;
  REQUIRE_MESSAGE(r.list(must_lookup(r, dir), &entries, &err), err);
  std::set<std::string> out;
  for (const Entry& e : entries) out.insert(e.name);
  return out;
}

bool same_time(Timestamp a, Timestamp b) { return a.sec == b.sec && a.nsec == b.nsec; }

// Tree and data for the round-trip and corruption tests.
const std::vector<std::pair<uint64_t, std::string>> kMulti = {{0, pattern(3 * 4096 + 123, 1)}};
const std::vector<std::pair<uint64_t, std::string>> kSparse = {{0, std::string(4096, 'a')},
                                                               {5 * 4096 + 10, "tail"}};
constexpr uint64_t kSparseSize = 8 * 4096 + 7;  // ends in a hole too
const std::string kSlowTarget = std::string(100, 'x') + "/" + std::string(100, 'y');

std::vector<std::pair<uint64_t, std::string>> fragments(int count) {
  std::vector<std::pair<uint64_t, std::string>> chunks;
  for (int i = 0; i < count; ++i) chunks.push_back({uint64_t(2 * i) * 4096, "block " + std::to_string(i)});
  return chunks;
}
uint64_t fragments_size(int count) { return uint64_t(2 * count - 2) * 4096 + 4096; }

std::vector<Xattr> sorted(std::vector<Xattr> v) {
  std::sort(v.begin(), v.end(), [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return v;
}

}  // namespace

TEST_CASE("reader: round trip of a ctk image") {
  ctk::testing::TempDir tmp;
  std::string img = tmp.path + "/img";
  constexpr int kFragments = 1500;  // over 4 * 340 extents: a depth-2 tree
  // What "multi" gets; the writer's tree is gone once the image is built.
  const Timestamp mtime = {1700000000, 123456789};
  const Timestamp atime = {3000000000, 5};  // past 2038: needs the epoch bits
  const Timestamp ctime = {-1000, 999999999};
  const Timestamp crtime = {1, 2};
  const std::vector<Xattr> xattrs = {{"user.small", "v"},
                                     {"user.empty", ""},
                                     {"security.selinux", "system_u:object_r:etc_t:s0"},
                                     {"trusted.big", pattern(300, 2)},  // spills to the attribute block
                                     {"system.posix_acl_access", std::string("\x02\0\0\0", 4)}};
  build_image(img, {}, [&](Writer& w) {
    Tree& t = w.tree();
    Node* root = t.root();
    root->mtime = {1600000000, 1};
    add_file(w, root, "empty", 0644, {}, 0);
    Node* multi = add_file(w, root, "multi", 0640, kMulti, kMulti[0].second.size());
    multi->uid = 100000;
    multi->gid = 200000;
    multi->mtime = mtime;
    multi->atime = atime;
    multi->ctime = ctime;
    multi->crtime = crtime;
    multi->xattrs = xattrs;
    t.link(root, "hard", multi, 0);
    add_file(w, root, "sparse", 0644, kSparse, kSparseSize);
    add_file(w, root, "fragmented", 0644, fragments(kFragments), fragments_size(kFragments));

    Node* dir = t.make(S_IFDIR | 0755);
    t.link(root, "dir", dir, 0);
    for (int i = 0; i < 2000; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "f%04d", i);
      t.link(dir, name, t.make(S_IFREG | 0600), 0);
    }
    Node* a = t.make(S_IFDIR | 0700);
    Node* b = t.make(S_IFDIR | 0755);
    t.link(root, "a", a, 0);
    t.link(a, "b", b, 0);
    add_file(w, b, "c", 0644, {{0, "deep\n"}}, 5);

    auto symlink = [&](const char* name, std::string target) {
      Node* n = t.make(S_IFLNK | 0777);
      n->symlink = std::move(target);
      t.link(root, name, n, 0);
    };
    symlink("fast", "multi");
    symlink("slow", kSlowTarget);
    symlink("dirlink", "a/b");
    symlink("abslink", "/a/../dir");
    symlink("loop", "loop/x");

    Node* null = t.make(S_IFCHR | 0666);
    null->rdev_major = 1;
    null->rdev_minor = 3;
    t.link(root, "null", null, 0);
    Node* nvme = t.make(S_IFBLK | 0660);
    nvme->rdev_major = 259;
    nvme->rdev_minor = 70000;  // needs the new encoding
    t.link(root, "nvme", nvme, 0);
    t.link(root, "fifo", t.make(S_IFIFO | 0644), 0);
  });

  Reader r;
  std::string err, out;
  REQUIRE_MESSAGE(r.open(img, &err), err);
  CHECK(r.block_size() == 4096);

  CHECK(names(r, "/") == std::set<std::string>{"a", "abslink", "dir", "dirlink", "empty", "fast",
                                                "fifo", "fragmented", "hard", "lost+found", "loop",
                                                "multi", "null", "nvme", "slow", "sparse"});
  CHECK(must_read(r, "empty").empty());
  CHECK(must_read(r, "multi") == kMulti[0].second);
  CHECK(must_read(r, "sparse") == expand(kSparse, kSparseSize));
  CHECK(must_read(r, "fragmented") == expand(fragments(kFragments), fragments_size(kFragments)));
  CHECK(must_read(r, "/a/b/c") == "deep\n");
  CHECK(must_read(r, "dirlink/c") == "deep\n");  // symlinked parent
  CHECK(must_read(r, "abslink/../a/./b//c") == "deep\n");
  CHECK(must_lookup(r, "hard") == must_lookup(r, "multi"));
  CHECK(must_lookup(r, "/") == kRootIno);
  CHECK(must_lookup(r, "..") == kRootIno);

  SUBCASE("ranges") {
    uint32_t ino = must_lookup(r, "sparse");
    REQUIRE(r.read_range(ino, 4000, 200, &out, &err));
    CHECK(out == std::string(96, 'a') + std::string(104, '\0'));
    REQUIRE(r.read_range(ino, kSparseSize - 3, 100, &out, &err));
    CHECK(out == std::string(3, '\0'));
    REQUIRE(r.read_range(ino, kSparseSize + 10, 100, &out, &err));
    CHECK(out.empty());
  }

  SUBCASE("stat") {
    Stat st;
    REQUIRE(r.stat(must_lookup(r, "multi"), &st, &err));
    CHECK(st.mode == (S_IFREG | 0640));
    CHECK(st.uid == 100000);
    CHECK(st.gid == 200000);
    CHECK(st.size == kMulti[0].second.size());
    CHECK(st.links == 2);
    CHECK(same_time(st.mtime, mtime));
    CHECK(same_time(st.atime, atime));
    CHECK(same_time(st.ctime, ctime));
    CHECK(same_time(st.crtime, crtime));
    CHECK((st.flags & kExtentsFl));
    CHECK(st.blocks == (4 + 1) * 8);  // data plus the attribute block

    REQUIRE(r.stat(must_lookup(r, "null"), &st, &err));
    CHECK(S_ISCHR(st.mode));
    CHECK(st.rdev_major == 1);
    CHECK(st.rdev_minor == 3);
    REQUIRE(r.stat(must_lookup(r, "nvme"), &st, &err));
    CHECK(S_ISBLK(st.mode));
    CHECK(st.rdev_major == 259);
    CHECK(st.rdev_minor == 70000);
    REQUIRE(r.stat(must_lookup(r, "fifo"), &st, &err));
    CHECK(st.mode == (S_IFIFO | 0644));
    REQUIRE(r.stat(must_lookup(r, "a"), &st, &err));
    CHECK(st.mode == (S_IFDIR | 0700));
    CHECK(st.links == 3);
    REQUIRE(r.stat(kRootIno, &st, &err));
    CHECK(same_time(st.mtime, {1600000000, 1}));
  }

  SUBCASE("hashed directory") {
    uint32_t dir = must_lookup(r, "dir");
    Stat st;
    REQUIRE(r.stat(dir, &st, &err));
    CHECK((st.flags & kIndexFl));
    std::vector<Entry> entries;
    REQUIRE(r.list(dir, &entries, &err));
    CHECK(entries.size() == 2000);
    std::set<uint32_t> inos;
    for (const Entry& e : entries) {
      CHECK(e.type == kFtReg);
      inos.insert(e.ino);
    }
    CHECK(inos.size() == 2000);
    CHECK(names(r, "dir").count("f1999") == 1);
    uint32_t ino = must_lookup(r, "abslink/f1234");
    REQUIRE(r.stat(ino, &st, &err));
    CHECK(st.mode == (S_IFREG | 0600));
    CHECK_FALSE(r.lookup("dir/f2000", &ino, &err));
    CHECK(err.find("'dir/f2000' does not exist") != std::string::npos);
  }

  SUBCASE("symlinks") {
    REQUIRE(r.readlink(must_lookup(r, "fast"), &out, &err));
    CHECK(out == "multi");
    REQUIRE(r.readlink(must_lookup(r, "slow"), &out, &err));
    CHECK(out == kSlowTarget);
    Stat st;
    REQUIRE(r.stat(must_lookup(r, "slow"), &st, &err));
    CHECK(st.size == kSlowTarget.size());
    uint32_t ino;
    CHECK_FALSE(r.lookup("loop/x/y", &ino, &err));
    CHECK(err.find("too many levels") != std::string::npos);
    CHECK(must_lookup(r, "loop") != 0);  // the last component is not followed
  }

  SUBCASE("xattrs") {
    std::vector<Xattr> got;
    REQUIRE(r.xattrs(must_lookup(r, "multi"), &got, &err));
    std::vector<Xattr> want = sorted(xattrs);
    got = sorted(got);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].name == want[i].name);
      CHECK(got[i].value == want[i].value);
    }
    REQUIRE(r.xattrs(must_lookup(r, "empty"), &got, &err));
    CHECK(got.empty());
  }

  SUBCASE("wrong kinds") {
    CHECK_FALSE(r.read(must_lookup(r, "dir"), &out, &err));
    CHECK(err.find("not a regular file") != std::string::npos);
    std::vector<Entry> entries;
    CHECK_FALSE(r.list(must_lookup(r, "multi"), &entries, &err));
    CHECK(err.find("not a directory") != std::string::npos);
    CHECK_FALSE(r.readlink(must_lookup(r, "multi"), &out, &err));
    uint32_t ino;
    CHECK_FALSE(r.lookup("multi/x", &ino, &err));
    CHECK(err.find("not a directory") != std::string::npos);
    Stat st;
    CHECK_FALSE(r.stat(0, &st, &err));
    CHECK_FALSE(r.stat(UINT32_MAX, &st, &err));
  }
}

namespace {

std::string find_mke2fs() {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/local/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = std::string(dir) + "mke2fs";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

}  // namespace

TEST_CASE("reader: images made by mke2fs") {
  std::string mke2fs = find_mke2fs();
  if (mke2fs.empty()) {
    MESSAGE("mke2fs not found; skipping");
    return;
  }
  ctk::testing::TempDir tmp;
  std::string src = tmp.path + "/src";
  fs::create_directories(src + "/sub/deep");
  fs::create_directories(src + "/many");
  spill(src + "/hello.txt", "hello world\n");
  std::string big = pattern(300000, 3);
  spill(src + "/big.bin", big);
  {
    int fd = ::open((src + "/sparse.bin").c_str(), O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "x", 1, 0) == 1);
    REQUIRE(::pwrite(fd, "y", 1, (1 << 20) + 5) == 1);
    ::close(fd);
  }
  spill(src + "/sub/deep/file.txt", "deep");
  for (int i = 0; i < 500; ++i) spill(src + "/many/entry-with-a-longish-name-" + std::to_string(i), "");
  std::string long_target = std::string(80, 'l') + "/target";
  fs::create_symlink("hello.txt", src + "/link");
  fs::create_symlink(long_target, src + "/longlink");
  fs::create_symlink("sub/deep", src + "/deeplink");
  REQUIRE(::mkfifo((src + "/fifo").c_str(), 0640) == 0);
  // The filesystem under the temp dir may not take user xattrs.
  bool has_xattr = ::setxattr((src + "/hello.txt").c_str(), "user.test", "value", 5, 0) == 0;

  for (const char* options : {"", "-b 4096", "-b 2048 -O ^64bit,^metadata_csum", "-b 4096 -I 128"}) {
    CAPTURE(options);
    std::string img = tmp.path + "/img";
    fs::remove(img);
    std::string log = tmp.path + "/log";
    std::string cmd = mke2fs + " -q -F -t ext4 " + options + " -d " + src + " " + img + " 16M >" + log + " 2>&1";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, slurp(log));

    Reader r;
    std::string err, out;
    REQUIRE_MESSAGE(r.open(img, &err), err);
    CHECK(names(r, "/") == std::set<std::string>{"big.bin", "deeplink", "fifo", "hello.txt", "link",
                                                  "longlink", "lost+found", "many", "sparse.bin", "sub"});
    CHECK(names(r, "many").size() == 500);
    CHECK(must_read(r, "hello.txt") == "hello world\n");
    CHECK(must_read(r, "big.bin") == big);
    CHECK(must_read(r, "sparse.bin") == slurp(src + "/sparse.bin"));
    CHECK(must_read(r, "/deeplink/file.txt") == "deep");
    REQUIRE(r.readlink(must_lookup(r, "link"), &out, &err));
    CHECK(out == "hello.txt");
    REQUIRE(r.readlink(must_lookup(r, "longlink"), &out, &err));
    CHECK(out == long_target);
    Stat st;
    REQUIRE(r.stat(must_lookup(r, "fifo"), &st, &err));
    CHECK(st.mode == (S_IFIFO | 0640));
    CHECK(st.uid == ::getuid());
    REQUIRE(r.stat(must_lookup(r, "hello.txt"), &st, &err));
    struct stat host;
    REQUIRE(::stat((src + "/hello.txt").c_str(), &host) == 0);
    CHECK(st.mtime.sec == host.st_mtim.tv_sec);
    CHECK(st.size == 12);
    if (has_xattr) {
      std::vector<Xattr> xs;
      REQUIRE(r.xattrs(must_lookup(r, "hello.txt"), &xs, &err));
      CHECK(std::any_of(xs.begin(), xs.end(),
                        [](const Xattr& x) { return x.name == "user.test" && x.value == "value"; }));
    }
  }
}

namespace {

// Where inode `ino` of a single-group ctk image lies.
uint64_t inode_offset(const std::string& image, uint32_t ino) {
  std::string data = slurp(image);
  GroupDesc d;
  std::memcpy(&d, data.data() + kBlockSize, sizeof d);
  return uint64_t(d.inode_table) * kBlockSize + uint64_t(ino - 1) * kInodeSize;
}

void patch(const std::string& image, uint64_t offset, const void* bytes, size_t len) {
  int fd = ::open(image.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes, len, off_t(offset)) == ssize_t(len));
  ::close(fd);
}

template <typename T>
T peek(const std::string& image, uint64_t offset) {
  T v;
  std::memcpy(&v, slurp(image).data() + offset, sizeof v);
  return v;
}

// Touches everything reachable; on a damaged image only errors may come out.
void walk_all(Reader& r, uint32_t ino, int depth, std::set<uint32_t>* seen) {
  if (depth > 6 || !seen->insert(ino).second) return;
  std::string err, out;
  Stat st;
  if (!r.stat(ino, &st, &err)) return;
  std::vector<Xattr> xs;
  (void)r.xattrs(ino, &xs, &err);
  if (S_ISREG(st.mode)) (void)r.read_range(ino, 0, 1 << 20, &out, &err);
  if (S_ISLNK(st.mode)) (void)r.readlink(ino, &out, &err);
  std::vector<Entry> entries;
  if (S_ISDIR(st.mode) && r.list(ino, &entries, &err))
    for (const Entry& e : entries) walk_all(r, e.ino, depth + 1, seen);
}

}  // namespace

TEST_CASE("reader: malformed images give errors") {
  ctk::testing::TempDir tmp;
  std::string good = tmp.path + "/good";
  WriterOptions options;
  options.size = 4 << 20;
  build_image(good, options, [&](Writer& w) {
    Node* root = w.tree().root();
    add_file(w, root, "file", 0644, {{0, pattern(9000, 4)}}, 9000);
    add_file(w, root, "frag", 0644, fragments(400), fragments_size(400));  // two leaves
    Node* dir = w.tree().make(S_IFDIR | 0755);
    w.tree().link(root, "dir", dir, 0);
    w.tree().link(dir, "x", w.tree().make(S_IFREG | 0644), 0);
    Node* big = w.tree().make(S_IFREG | 0644);
    big->xattrs = {{"user.big", pattern(500, 5)}};
    w.tree().link(root, "attrs", big, 0);
  });
  uint32_t file, frag, dir, attrs;
  {
    Reader r;
    std::string err;
    REQUIRE(r.open(good, &err));
    file = must_lookup(r, "file");
    frag = must_lookup(r, "frag");
    dir = must_lookup(r, "dir");
    attrs = must_lookup(r, "attrs");
  }
  std::string img = tmp.path + "/img";
  auto fresh = [&] { fs::copy_file(good, img, fs::copy_options::overwrite_existing); };
  auto open_error = [&] {
    Reader r;
    std::string err;
    CHECK_FALSE(r.open(img, &err));
    return err;
  };
  // Runs `op` on a freshly opened reader and returns its error.
  auto op_error = [&](auto op) {
    Reader r;
    std::string err;
    REQUIRE_MESSAGE(r.open(img, &err), err);
    CHECK_FALSE(op(r, &err));
    return err;
  };
  auto read_file = [](uint32_t ino) {
    return [ino](Reader& r, std::string* err) {
      std::string out;
      return r.read(ino, &out, err);
    };
  };

  SUBCASE("missing, truncated and empty files") {
    Reader r;
    std::string err;
    CHECK_FALSE(r.open(tmp.path + "/none", &err));
    CHECK(err.find("No such file") != std::string::npos);
    fresh();
    fs::resize_file(img, 2 << 20);
    CHECK(open_error().find("truncated") != std::string::npos);
    fs::resize_file(img, 1500);
    CHECK(open_error().find("unexpected end of image") != std::string::npos);
    fs::resize_file(img, 0);
    CHECK(open_error().find("unexpected end of image") != std::string::npos);
  }

  SUBCASE("bad superblock") {
    fresh();
    uint16_t zero = 0;
    patch(img, kSuperOffset + offsetof(SuperBlock, magic), &zero, 2);
    CHECK(open_error().find("bad superblock magic") != std::string::npos);
    fresh();
    uint32_t huge = 30;
    patch(img, kSuperOffset + offsetof(SuperBlock, log_block_size), &huge, 4);
    CHECK(open_error().find("block size") != std::string::npos);
    fresh();
    uint32_t meta_bg = kIncompatFiletype | kIncompatExtents | 0x10;
    patch(img, kSuperOffset + offsetof(SuperBlock, feature_incompat), &meta_bg, 4);
    CHECK(open_error().find("meta_bg") != std::string::npos);
    fresh();
    uint32_t unknown = kIncompatFiletype | kIncompatExtents | 0x80000000;
    patch(img, kSuperOffset + offsetof(SuperBlock, feature_incompat), &unknown, 4);
    CHECK(open_error().find("unknown incompatible features 0x80000000") != std::string::npos);
  }

  SUBCASE("bad extent header") {
    fresh();
    uint16_t zero = 0;
    patch(img, inode_offset(img, file) + offsetof(Inode, block), &zero, 2);
    CHECK(op_error(read_file(file)).find("bad header magic") != std::string::npos);
  }

  SUBCASE("extent outside the filesystem") {
    fresh();
    uint32_t far = 0x7fffffff;
    patch(img, inode_offset(img, file) + offsetof(Inode, block) + 12 + offsetof(ExtentLeaf, start_lo), &far, 4);
    CHECK(op_error(read_file(file)).find("outside the filesystem") != std::string::npos);
  }

  SUBCASE("extent tree loops") {
    fresh();
    uint64_t root = inode_offset(img, frag) + offsetof(Inode, block);
    REQUIRE(peek<ExtentHeader>(img, root).depth == 1);
    REQUIRE(peek<ExtentHeader>(img, root).entries == 2);
    auto first = peek<ExtentIndex>(img, root + 12);
    auto second = peek<ExtentIndex>(img, root + 24);
    second.leaf_lo = first.leaf_lo;
    patch(img, root + 24, &second, sizeof second);
    CHECK(op_error(read_file(frag)).find("used twice") != std::string::npos);

    // A leaf that claims to be an index pointing at itself.
    fresh();
    uint64_t leaf = uint64_t(first.leaf_lo) * kBlockSize;
    ExtentHeader h = {kExtentMagic, 1, 340, 1, 0};
    ExtentIndex self = {0, first.leaf_lo, 0, 0};
    patch(img, leaf, &h, sizeof h);
    patch(img, leaf + 12, &self, sizeof self);
    CHECK(op_error(read_file(frag)).find("bad depth") != std::string::npos);

    fresh();
    uint16_t deep = 6;
    patch(img, root + offsetof(ExtentHeader, depth), &deep, 2);
    CHECK(op_error(read_file(frag)).find("bad depth") != std::string::npos);
  }

  SUBCASE("block-mapped file") {
    fresh();
    uint32_t flags = 0;
    patch(img, inode_offset(img, file) + offsetof(Inode, flags), &flags, 4);
    CHECK(op_error(read_file(file)).find("block-mapped") != std::string::npos);
  }

  SUBCASE("bad directory entries") {
    auto list = [dir](Reader& r, std::string* err) {
      std::vector<Entry> entries;
      return r.list(dir, &entries, err);
    };
    uint64_t block = uint64_t(peek<ExtentLeaf>(good, inode_offset(good, dir) + offsetof(Inode, block) + 12).start_lo) *
                     kBlockSize;
    for (uint16_t rec_len : {0, 6, 13, 4096 + 4}) {
      CAPTURE(rec_len);
      fresh();
      patch(img, block + offsetof(Dirent, rec_len), &rec_len, 2);
      CHECK(op_error(list).find("bad rec_len") != std::string::npos);
    }
    fresh();
    uint32_t bad_ino = 0xfffffff0;
    patch(img, block, &bad_ino, 4);
    CHECK(op_error(list).find("bad entry") != std::string::npos);
  }

  SUBCASE("bad attribute block") {
    fresh();
    uint32_t at = peek<uint32_t>(img, inode_offset(img, attrs) + offsetof(Inode, file_acl_lo));
    REQUIRE(at != 0);
    uint16_t offs = 4000;  // the value would run past the block
    patch(img, uint64_t(at) * kBlockSize + sizeof(XattrBlockHeader) + offsetof(XattrEntry, value_offs), &offs, 2);
    CHECK(op_error([&](Reader& r, std::string* err) {
            std::vector<Xattr> xs;
            return r.xattrs(attrs, &xs, err);
          }).find("overflows") != std::string::npos);
  }

  SUBCASE("random damage never crashes") {
    std::string data = slurp(good);
    std::mt19937 rng(7);
    // The writer puts metadata after all file data, starting with the root
    // directory's block; damage from there to the last non-zero byte, and
    // the superblock and descriptors now and then.
    size_t start = peek<ExtentLeaf>(good, inode_offset(good, kRootIno) + offsetof(Inode, block) + 12).start_lo *
                   size_t(kBlockSize);
    size_t end = data.size();
    while (end > start && data[end - 1] == 0) --end;
    REQUIRE(end > start);
    for (int round = 0; round < 300; ++round) {
      std::string copy = data;
      for (int k = 0; k < 16; ++k) {
        size_t at = round % 10 == 0 ? rng() % (2 * kBlockSize) : start + rng() % (end - start);
        copy[at] = char(rng());
      }
      spill(img, copy);
      Reader r;
      std::string err;
      if (!r.open(img, &err)) continue;
      std::set<uint32_t> seen;
      walk_all(r, kRootIno, 0, &seen);
      uint32_t ino;
      (void)r.lookup("dir/x", &ino, &err);
    }
  }
}
