#include "oci/tar_reader.h"

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "oci/archive_source.h"
#include "oci/tar_format.h"
#include "base/test_gzip.h"

using namespace ctk::oci;
using ctk::testing::gzip;

namespace {

// Hand-built tar headers ------------------------------------------------------

struct Header {
  std::string name;
  char type = '0';
  uint32_t mode = 0644;
  uint64_t uid = 1000, gid = 100, size = 0;
  int64_t mtime = 1700000000;
  std::string linkname{}, prefix{};
  std::string_view magic = tar::kUstarMagic;
  uint32_t devmajor = 0, devminor = 0;
  std::string raw_uid{}, raw_size{}, raw_mtime{};  // field bytes as is (base-256)
  int checksum_delta = 0;
};

// Zero-padded octal digits and a NUL, as tar writers fill numeric fields.
void octal(std::string& h, tar::Field f, uint64_t v) {
  for (size_t i = f.size - 1; i-- > 0; v >>= 3) h[f.at + i] = char('0' + (v & 7));
  h[f.at + f.size - 1] = '\0';
}

void put(std::string& h, tar::Field f, const std::string& bytes) {
  REQUIRE(bytes.size() <= f.size);
  h.replace(f.at, bytes.size(), bytes);
}

// A base-256 field: the high bit, then the value big-endian, sign-extended.
std::string base256(int64_t v, size_t width) {
  std::string out(width, '\0');
  for (size_t i = width; i-- > 0; v >>= 8) out[i] = char(v & 0xff);
  out[0] = char(out[0] | 0x80);
  return out;
}

std::string header(const Header& in) {
  std::string h(tar::kBlock, '\0');
  put(h, tar::kName, in.name);
  octal(h, tar::kMode, in.mode);
  octal(h, tar::kUid, in.uid);
  octal(h, tar::kGid, in.gid);
  octal(h, tar::kSize, in.size);
  octal(h, tar::kMtime, uint64_t(in.mtime));
  if (!in.raw_uid.empty()) put(h, tar::kUid, in.raw_uid);
  if (!in.raw_size.empty()) put(h, tar::kSize, in.raw_size);
  if (!in.raw_mtime.empty()) put(h, tar::kMtime, in.raw_mtime);
  h[tar::kType] = in.type;
  put(h, tar::kLinkname, in.linkname);
  put(h, tar::kMagic, std::string(in.magic));
  octal(h, tar::kDevMajor, in.devmajor);
  octal(h, tar::kDevMinor, in.devminor);
  if (in.magic == tar::kUstarMagic) put(h, tar::kPrefix, in.prefix);
  uint32_t sum = tar::header_sum(reinterpret_cast<const unsigned char*>(h.data())) + in.checksum_delta;
  std::snprintf(h.data() + tar::kChecksum.at, 8, "%06o", sum);
  h[tar::kChecksum.at + 7] = ' ';
  return h;
}

std::string pad(std::string data) {
  data.resize((data.size() + tar::kBlock - 1) / tar::kBlock * tar::kBlock, '\0');
  return data;
}

// A member: its header and data (whose length is the size unless given).
std::string member(Header h, const std::string& data = "") {
  if (h.raw_size.empty() && h.size == 0) h.size = data.size();
  return header(h) + pad(data);
}

std::string file(const std::string& name, const std::string& data) { return member({.name = name}, data); }

// A pax record: "LENGTH KEY=VALUE\n", LENGTH counting itself.
std::string record(const std::string& key, const std::string& value) {
  std::string rest = " " + key + "=" + value + "\n";
  size_t n = rest.size() + 1;
  while (std::to_string(n).size() + rest.size() != n) ++n;
  return std::to_string(n) + rest;
}

std::string extension(char type, const std::string& body, std::string_view magic = tar::kUstarMagic) {
  return member({.name = "././@Ext", .type = type, .magic = magic}, body);
}

const std::string kEnd(2 * tar::kBlock, '\0');

// Reading through for_each_entry ----------------------------------------------

struct Member {
  ArchiveEntry entry;
  std::string data{};    // as read, holes as zeros
  bool native = false;   // read by TarReader
  int64_t file_at = -1;  // EntryData::file's offset
};

struct Result {
  bool ok = false;
  std::string err;
  std::vector<Member> members;
};

int memfd(const std::string& bytes) {
  int fd = memfd_create("tar-reader-test", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  return fd;
}

// Reads every member's data but that of the member named `unread`.
Result read_fd(int fd, std::string_view unread = "") {
  Result r;
  ArchiveSource source(fd);
  r.ok = for_each_entry(source, "test.tar", [&](const ArchiveEntry& e, EntryData& data, std::string* err) {
    Member m{e};
    m.native = dynamic_cast<TarReader*>(&data) != nullptr;
    uint64_t at;
    if (data.file(&at) >= 0) m.file_at = int64_t(at);
    while (e.path != unread) {
      const void* buf;
      size_t len;
      uint64_t offset;
      if (!data.read(&buf, &len, &offset, err)) return false;
      if (len == 0) break;
      if (m.data.size() < offset) m.data.resize(offset, '\0');
      m.data.append(static_cast<const char*>(buf), len);
    }
    r.members.push_back(std::move(m));
    return true;
  }, &r.err);
  return r;
}

Result read(const std::string& bytes, std::string_view unread = "") {
  int fd = memfd(bytes);
  Result r = read_fd(fd, unread);
  ::close(fd);
  return r;
}

// The same archive through a pipe: not a file copy_file_range can read.
Result read_pipe(const std::string& bytes, std::string_view unread) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::thread writer([&] {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fds[1], bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += size_t(n);
    }
    ::close(fds[1]);
  });
  Result r = read_fd(fds[0], unread);
  ::close(fds[0]);
  writer.join();
  return r;
}

void check_same(const Member& a, const Member& b) {
  INFO("member '" << a.entry.path << "'");
  CHECK(a.entry.path == b.entry.path);
  CHECK(a.entry.mode == b.entry.mode);
  CHECK(a.entry.hardlink == b.entry.hardlink);
  CHECK(a.entry.link == b.entry.link);
  CHECK(a.entry.uid == b.entry.uid);
  CHECK(a.entry.gid == b.entry.gid);
  CHECK(a.entry.size == b.entry.size);
  std::pair<EntryTime, EntryTime> times[] = {{a.entry.mtime, b.entry.mtime}, {a.entry.atime, b.entry.atime},
                                             {a.entry.ctime, b.entry.ctime}, {a.entry.birthtime, b.entry.birthtime}};
  for (auto [x, y] : times) {
    CHECK(x.set == y.set);
    CHECK(x.sec == y.sec);
    CHECK(x.nsec == y.nsec);
  }
  if (S_ISCHR(a.entry.mode) || S_ISBLK(a.entry.mode)) {
    CHECK(a.entry.rdev_major == b.entry.rdev_major);
    CHECK(a.entry.rdev_minor == b.entry.rdev_minor);
  }
  REQUIRE(a.entry.xattrs.size() == b.entry.xattrs.size());
  for (size_t i = 0; i < a.entry.xattrs.size(); ++i) {
    CHECK(a.entry.xattrs[i].name == b.entry.xattrs[i].name);
    CHECK(a.entry.xattrs[i].value == b.entry.xattrs[i].value);
  }
  CHECK(a.data == b.data);
}

// Reads `bytes` as plain tar and gzipped (which libarchive reads): both
// must succeed with the same members. Returns the plain reading.
Result read_both(const std::string& bytes) {
  Result plain = read(bytes), zipped = read(gzip(bytes));
  REQUIRE_MESSAGE(plain.ok, plain.err);
  REQUIRE_MESSAGE(zipped.ok, zipped.err);
  REQUIRE(plain.members.size() == zipped.members.size());
  for (size_t i = 0; i < plain.members.size(); ++i) {
    CHECK_FALSE(zipped.members[i].native);
    check_same(plain.members[i], zipped.members[i]);
  }
  return plain;
}

std::string text(const std::string& s, size_t at, size_t n) { return s.substr(at, n); }

}  // namespace

TEST_CASE("tar reader: ustar members of every type, as libarchive reads them") {
  std::string archive = file("etc/hostname", "box\n") +
                        member({.name = "etc", .type = '5', .mode = 0755}) +
                        member({.name = "bin/sh", .type = '2', .mode = 0777, .linkname = "busybox"}) +
                        member({.name = "bin/ash", .type = '1', .linkname = "etc/hostname"}) +
                        member({.name = "dev/null", .type = '3', .mode = 0666, .devmajor = 1, .devminor = 3}) +
                        member({.name = "dev/sda", .type = '4', .mode = 0660, .devmajor = 8, .devminor = 0}) +
                        member({.name = "run/fifo", .type = '6', .mode = 0600}) +
                        member({.name = "name", .prefix = "a/long/prefix"}, "prefixed") +
                        member({.name = "old-dir/", .mode = 0700}) +  // a regular file named like a directory
                        member({.name = "contiguous", .type = '7'}, "seven") +
                        member({.name = "setuid", .mode = 04755}, "x") + kEnd;
  Result r = read_both(archive);
  REQUIRE(r.members.size() == 11);
  for (const Member& m : r.members) CHECK(m.native);
  const ArchiveEntry& f = r.members[0].entry;
  CHECK(f.path == "etc/hostname");
  CHECK(f.mode == (S_IFREG | 0644));
  CHECK(f.uid == 1000);
  CHECK(f.gid == 100);
  CHECK(f.size == 4);
  CHECK(f.mtime.sec == 1700000000);
  CHECK_FALSE(f.atime.set);
  CHECK(r.members[0].data == "box\n");
  CHECK(r.members[0].file_at == 512);  // the data as it lies in the file
  CHECK(r.members[1].entry.mode == (S_IFDIR | 0755));
  CHECK(r.members[2].entry.mode == (S_IFLNK | 0777));
  CHECK(r.members[2].entry.link == "busybox");
  CHECK_FALSE(r.members[2].entry.hardlink);
  CHECK(r.members[3].entry.hardlink);
  CHECK(r.members[3].entry.link == "etc/hostname");
  CHECK(r.members[3].entry.mode == 0644);  // no type: it is the target's
  CHECK(r.members[4].entry.mode == (S_IFCHR | 0666));
  CHECK(r.members[4].entry.rdev_major == 1);
  CHECK(r.members[4].entry.rdev_minor == 3);
  CHECK(r.members[5].entry.mode == (S_IFBLK | 0660));
  CHECK(r.members[6].entry.mode == (S_IFIFO | 0600));
  CHECK(r.members[7].entry.path == "a/long/prefix/name");
  CHECK(r.members[7].data == "prefixed");
  CHECK(r.members[8].entry.mode == (S_IFDIR | 0700));
  CHECK(r.members[9].entry.mode == (S_IFREG | 0644));
  CHECK(r.members[10].entry.mode == (S_IFREG | 04755));
}

TEST_CASE("tar reader: GNU long names, long link targets and base-256 numbers") {
  std::string long_name = std::string(150, 'n') + "/" + std::string(120, 'm');
  std::string long_target = "/" + std::string(300, 't');
  auto gnu = [](Header h) {
    h.magic = tar::kGnuMagic;
    return h;
  };
  std::string big(70000, 'b');
  std::string archive =
      extension('L', long_name + '\0', tar::kGnuMagic) +
      member(gnu({.name = long_name.substr(0, 99)}), "long") +
      extension('K', long_target + '\0', tar::kGnuMagic) +
      member(gnu({.name = "link", .type = '2', .mode = 0777, .linkname = long_target.substr(0, 99)})) +
      extension('L', "both\0", tar::kGnuMagic) + extension('K', "both-target\0", tar::kGnuMagic) +
      member(gnu({.name = "b", .type = '1', .linkname = "x"})) +
      // Numbers past the octal fields: uid 3e9, a size, a time before 1970.
      member(gnu({.name = "owned", .raw_uid = base256(3000000000, 8), .raw_size = base256(big.size(), 12),
                  .raw_mtime = base256(-86400, 12)}),
             big) +
      // GNU tar with --format=gnu may give the size of a hard link's target: not its data.
      member(gnu({.name = "hard", .type = '1', .size = 4, .linkname = "owned"})) +
      file("after", "ok") + kEnd;
  Result r = read_both(archive);
  REQUIRE(r.members.size() == 6);
  CHECK(r.members[0].native);
  CHECK(r.members[0].entry.path == long_name);
  CHECK(r.members[0].data == "long");
  CHECK(r.members[1].entry.link == long_target);
  CHECK_FALSE(r.members[1].entry.hardlink);
  CHECK(r.members[2].entry.path == "both");
  CHECK(r.members[2].entry.link == "both-target");
  CHECK(r.members[2].entry.hardlink);
  CHECK(r.members[3].entry.uid == 3000000000);
  CHECK(r.members[3].entry.size == int64_t(big.size()));
  CHECK(r.members[3].entry.mtime.sec == -86400);
  CHECK(r.members[3].data == big);
  CHECK(r.members[4].entry.size == 0);
  CHECK(r.members[4].entry.mode == (S_IFREG | 0644));
  CHECK(r.members[5].data == "ok");
}

TEST_CASE("tar reader: pax records") {
  std::string body = record("path", "pax/" + std::string(200, 'p')) + record("uid", "70000") +
                     record("gid", "4000000000") + record("mtime", "1700000000.123456789") +
                     record("atime", "1600000000.5") + record("ctime", "1500000000") +
                     record("LIBARCHIVE.creationtime", "1400000000.000000001") +
                     record("SCHILY.xattr.user.mime_type", "text/plain") +
                     record("SCHILY.xattr.security.capability", std::string("\x01\0\0\x02\n=", 6)) +
                     record("LIBARCHIVE.xattr.user.%41%20b", "AAEC/w==") +
                     record("RHT.security.selinux", "system_u:object_r:bin_t:s0") +
                     record("uname", "someone") + record("comment", "ignored") + record("hdrcharset", "BINARY");
  std::string device = record("SCHILY.devmajor", "300") + record("SCHILY.devminor", "70000");
  std::string archive = extension('g', record("comment", "global records are read past")) +
                        extension('x', body) + file("short", "pax data") +
                        extension('x', record("linkpath", std::string(150, 'l'))) +
                        member({.name = "sym", .type = '2', .mode = 0777, .linkname = "short"}) +
                        extension('x', device) + member({.name = "dev/big", .type = '3'}) +
                        extension('x', record("size", "10")) + member({.name = "sized", .size = 3}, "0123456789") +
                        // In pax archives a hard link's size is its data's (libarchive's rule).
                        member({.name = "hard", .type = '1', .size = 5, .linkname = "short"}, "12345") +
                        extension('x', record("mtime", "4102444800.999999999")) + file("future", "") +
                        file("plain", "ustar after pax") + kEnd;
  Result r = read_both(archive);
  REQUIRE(r.members.size() == 7);
  const ArchiveEntry& e = r.members[0].entry;
  CHECK(r.members[0].native);
  CHECK(e.path == "pax/" + std::string(200, 'p'));
  CHECK(e.uid == 70000);
  CHECK(e.gid == 4000000000);
  CHECK(e.mtime.sec == 1700000000);
  CHECK(e.mtime.nsec == 123456789);
  CHECK(e.atime.set);
  CHECK(e.atime.nsec == 500000000);
  CHECK(e.ctime.sec == 1500000000);
  CHECK(e.birthtime.nsec == 1);
  REQUIRE(e.xattrs.size() == 4);  // the archive's last first, as libarchive lists them
  CHECK(e.xattrs[0].name == "security.selinux");
  CHECK(e.xattrs[1].name == "user.A b");
  CHECK(e.xattrs[1].value == std::string("\x00\x01\x02\xff", 4));
  CHECK(e.xattrs[2].name == "security.capability");
  CHECK(e.xattrs[2].value == std::string("\x01\0\0\x02\n=", 6));
  CHECK(e.xattrs[3].value == "text/plain");
  CHECK(r.members[0].data == "pax data");
  CHECK(r.members[1].entry.link == std::string(150, 'l'));
  CHECK(r.members[2].entry.rdev_major == 300);
  CHECK(r.members[2].entry.rdev_minor == 70000);
  CHECK(r.members[3].entry.size == 10);
  CHECK(r.members[3].data == "0123456789");
  CHECK(r.members[4].entry.size == 5);
  CHECK(r.members[4].entry.mode == (S_IFREG | 0644));
  CHECK(r.members[5].entry.mtime.nsec == 999999999);
  CHECK(r.members[6].data == "ustar after pax");
}

TEST_CASE("tar reader: negative pax times with a fraction are before 1970") {
  // libarchive 3.6 reads "-1.25" as -0.75 (-1 s + 0.25 s); POSIX means 1.25 s before the epoch.
  Result r = read(extension('x', record("mtime", "-1.25")) + file("past", "") + kEnd);
  REQUIRE_MESSAGE(r.ok, r.err);
  CHECK(r.members[0].entry.mtime.sec == -2);
  CHECK(r.members[0].entry.mtime.nsec == 750000000);
}

TEST_CASE("tar reader: damaged and truncated archives fail naming the last good member") {
  std::string first = file("first", std::string(100, 'a'));
  auto error_of = [](const std::string& bytes) {
    Result r = read(bytes);
    CHECK_FALSE(r.ok);
    return r.err;
  };
  Header bad{.name = "second", .checksum_delta = 1};
  CHECK(error_of(first + member(bad, "x") + kEnd) ==
        "test.tar: after 'first': Damaged tar archive: bad header checksum");
  std::string second = file("second", std::string(3000, 'b'));
  CHECK(error_of(first + second.substr(0, 200)) == "test.tar: after 'first': Truncated tar archive");
  // Data cut short: the error comes from reading it, named by the caller.
  Result cut = read(first + second.substr(0, 512 + 1000));
  CHECK_FALSE(cut.ok);
  CHECK(cut.err == "Truncated tar archive");
  // Cut short in data nobody read: found when it is skipped.
  Result skipped = read(first + second.substr(0, 512 + 1000), "second");
  CHECK(skipped.err == "test.tar: after 'second': Truncated tar archive");
  CHECK(error_of(first + extension('x', record("path", "cut")).substr(0, 600)) ==
        "test.tar: after 'first': Truncated tar archive");
  CHECK(error_of(first + extension('x', "99 path=abc\n") + file("x", "") + kEnd) ==
        "test.tar: after 'first': malformed pax header");
  CHECK(error_of(first + extension('x', "6 abc\n") + file("x", "") + kEnd) ==
        "test.tar: after 'first': malformed pax header");
  CHECK(error_of(first + extension('x', record("path", "orphan")) + kEnd) ==
        "test.tar: after 'first': Damaged tar archive: an extension header without its member");
  CHECK(error_of(first + member({.name = "L", .type = 'L', .size = 2 << 20}) + kEnd) ==
        "test.tar: after 'first': extension header too large");
  CHECK(error_of(first + extension('x', record("size", "-5")) + file("x", "") + kEnd) ==
        "test.tar: after 'first': pax size out of range");
  CHECK(error_of(first + extension('x', record("LIBARCHIVE.xattr.user.a", "!!")) + file("x", "") + kEnd) ==
        "test.tar: after 'first': pax record 'LIBARCHIVE.xattr.user.a': invalid base64");
  // The end marker is optional, as in libarchive.
  Result unterminated = read(first);
  CHECK_MESSAGE(unterminated.ok, unterminated.err);
}

TEST_CASE("tar reader: members it does not take go to libarchive, with the rest of the archive") {
  // An old GNU sparse member: 5 bytes stored, at offset 4096 of a 4101-byte file.
  std::string sparse = header({.name = "sparse", .type = 'S', .size = 5, .magic = tar::kGnuMagic});
  octal(sparse, {386, 12}, 4096);     // sparse[0].offset
  octal(sparse, {398, 12}, 5);        // sparse[0].numbytes
  octal(sparse, {483, 12}, 4101);     // realsize
  std::snprintf(sparse.data() + tar::kChecksum.at, 8, "%06o",
                tar::header_sum(reinterpret_cast<const unsigned char*>(sparse.data())));
  sparse[tar::kChecksum.at + 7] = ' ';
  std::string big(1 << 20, 'z');
  std::string archive = file("before", "native") + sparse + pad("hello") + file("after", "libarchive") +
                        file("big", big) + kEnd;
  Result r = read_both(archive);
  REQUIRE(r.members.size() == 4);
  CHECK(r.members[0].native);
  CHECK_FALSE(r.members[1].native);
  CHECK(r.members[1].entry.size == 4101);
  CHECK(r.members[1].data == std::string(4096, '\0') + "hello");
  CHECK(r.members[1].file_at == -1);  // sparse: not as is in the file
  CHECK_FALSE(r.members[2].native);
  CHECK(r.members[2].data == "libarchive");
  // libarchive's offsets count from where it started.
  size_t big_at = size_t(r.members[3].file_at);
  CHECK(archive.substr(big_at, big.size()) == big);
  CHECK(text(archive, big_at - 512, 3) == "big");

  // pax sparse records, a second 'x' header, a ustar hard link with a size:
  // libarchive's too.
  for (const std::string& odd : {extension('x', record("GNU.sparse.map", "0,3")) + file("s", "abc"),
                                 extension('x', record("uid", "1")) + extension('x', record("gid", "2")) +
                                     file("twice", "x"),
                                 member({.name = "ustar-hard", .type = '1', .size = 3, .linkname = "before"}) +
                                     file("next", "n")}) {
    Result handed = read_both(file("before", "native") + odd + kEnd);
    REQUIRE(handed.members.size() >= 2);
    CHECK(handed.members[0].native);
    CHECK_FALSE(handed.members[1].native);
  }
}

TEST_CASE("tar reader: piped input is read through, never offered as a file") {
  std::string big(3 << 20, 'p');
  std::string archive = file("small", "s") + file("big", big) + file("skipped", std::string(200000, 'q')) +
                        file("last", "l") + kEnd;
  Result r = read_pipe(archive, "skipped");
  REQUIRE_MESSAGE(r.ok, r.err);
  REQUIRE(r.members.size() == 4);
  for (const Member& m : r.members) {
    CHECK(m.native);
    CHECK(m.file_at == -1);
  }
  CHECK(r.members[1].data == big);
  CHECK(r.members[3].data == "l");
}

TEST_CASE("tar reader: only ustar and GNU archives") {
  std::string h = header({.name = "a"});
  auto bytes = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); };
  CHECK(TarReader::recognizes(bytes(h), h.size()));
  CHECK(TarReader::recognizes(bytes(header({.name = "a", .magic = tar::kGnuMagic})), tar::kBlock));
  CHECK_FALSE(TarReader::recognizes(bytes(h), 511));
  CHECK_FALSE(TarReader::recognizes(bytes(header({.name = "a", .magic = std::string_view("\0\0\0\0\0\0\0\0", 8)})),
                                    tar::kBlock));  // old-style tar
  CHECK_FALSE(TarReader::recognizes(bytes(header({.name = "a", .checksum_delta = 1})), tar::kBlock));
  CHECK_FALSE(TarReader::recognizes(bytes(kEnd), tar::kBlock));
}
