#include "oci/tar_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "oci/fsutil.h"
#include "oci/tar_format.h"

namespace ctk::oci {

namespace {

// A numeric field of `width` bytes: octal digits and a NUL when the value
// fits, else base-256 (a set high bit, then the value big-endian in two's
// complement).
void number(char* field, size_t width, int64_t value) {
  if (value >= 0 && uint64_t(value) < (uint64_t(1) << (3 * (width - 1)))) {
    std::snprintf(field, width, "%0*llo", int(width - 1), static_cast<unsigned long long>(value));
    return;
  }
  for (size_t i = width; i-- > 0; value >>= 8) field[i] = char(value & 0xff);
  field[0] = char(field[0] | 0x80);
}

// "LEN key=value\n", where LEN counts the whole record, its own digits too.
std::string pax_record(const std::string& key, const std::string& value) {
  size_t body = key.size() + value.size() + 3;  // ' ', '=' and '\n'
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

// The typeflag of a file type; 0 for one tar cannot hold (a socket).
char type_flag(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return '0';
    case S_IFLNK: return '2';
    case S_IFCHR: return '3';
    case S_IFBLK: return '4';
    case S_IFDIR: return '5';
    case S_IFIFO: return '6';
    default: return 0;
  }
}

}  // namespace

bool TarWriter::header(const std::string& name, const ArchiveEntry& e, char type, uint64_t size, std::string* err) {
  char h[tar::kBlock] = {};
  std::memcpy(h, name.data(), std::min(name.size(), tar::kName.size - 1));
  number(h + tar::kMode.at, tar::kMode.size, e.mode & 07777);
  number(h + tar::kUid.at, tar::kUid.size, e.uid);
  number(h + tar::kGid.at, tar::kGid.size, e.gid);
  number(h + tar::kSize.at, tar::kSize.size, int64_t(size));
  number(h + tar::kMtime.at, tar::kMtime.size, e.mtime.sec);
  h[tar::kType] = type;
  if (type == '1' || type == '2') std::memcpy(h + tar::kLinkname.at, e.link.data(), std::min(e.link.size(), tar::kLinkname.size - 1));
  std::memcpy(h + tar::kMagic.at, tar::kUstarMagic.data(), tar::kMagic.size);
  if (type == '3' || type == '4') {
    number(h + tar::kDevMajor.at, tar::kDevMajor.size, e.rdev_major);
    number(h + tar::kDevMinor.at, tar::kDevMinor.size, e.rdev_minor);
  }
  // Six digits, NUL, and a space.
  std::snprintf(h + tar::kChecksum.at, tar::kChecksum.size, "%06o",
                tar::header_sum(reinterpret_cast<const unsigned char*>(h)));
  h[tar::kChecksum.at + 7] = ' ';
  return write_all(fd_, h, tar::kBlock, path_, err);
}

bool TarWriter::pad(uint64_t size, std::string* err) {
  static const char zeros[tar::kBlock] = {};
  size_t rest = size_t(size % tar::kBlock);
  return rest == 0 || write_all(fd_, zeros, tar::kBlock - rest, path_, err);
}

bool TarWriter::add_entry(const ArchiveEntry& e, std::string* err) {
  char type = e.hardlink ? '1' : type_flag(e.mode);
  if (!type) {
    *err = path_ + ": '" + e.path + "' is a socket, which tar cannot hold";
    return false;
  }
  std::string pax;
  if (e.path.size() >= tar::kName.size) pax += pax_record("path", e.path);
  if ((type == '1' || type == '2') && e.link.size() >= tar::kLinkname.size) pax += pax_record("linkpath", e.link);
  if (!pax.empty()) {
    ArchiveEntry extension;
    extension.mode = 0644;
    if (!header("././@PaxHeader", extension, 'x', pax.size(), err) ||
        !write_all(fd_, pax.data(), pax.size(), path_, err) || !pad(pax.size(), err))
      return false;
  }
  return header(e.path, e, type, type == '0' ? uint64_t(e.size) : 0, err);
}

bool TarWriter::add_data(int in, const std::string& source, uint64_t size, std::string* err) {
  // copy_file_range shares extents where the filesystem can; read and write
  // where it cannot (another filesystem, an old kernel, a pipe).
  uint64_t left = size;
  bool kernel_copy = true;
  std::string buf;
  while (left > 0) {
    size_t want = size_t(std::min<uint64_t>(left, 1 << 30));
    ssize_t n = -1;
    if (kernel_copy) {
      n = ::copy_file_range(in, nullptr, fd_, nullptr, want, 0);
      if (n < 0 && errno != EINTR) {
        kernel_copy = false;
        buf.resize(1 << 20);
        continue;
      }
    } else {
      n = ::read(in, buf.data(), std::min(want, buf.size()));
      if (n > 0 && !write_all(fd_, buf.data(), size_t(n), path_, err)) return false;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = sys_error(source);
      return false;
    }
    if (n == 0) {
      *err = source + ": shorter than its " + std::to_string(size) + " bytes";
      return false;
    }
    left -= uint64_t(n);
  }
  return pad(size, err);
}

bool TarWriter::add_dir(const std::string& name, std::string* err) {
  ArchiveEntry e;
  e.path = name;
  e.mode = S_IFDIR | 0755;
  return add_entry(e, err);
}

bool TarWriter::add_file(const std::string& name, const std::string& data, std::string* err) {
  ArchiveEntry e;
  e.path = name;
  e.mode = S_IFREG | 0644;
  e.size = int64_t(data.size());
  return add_entry(e, err) && write_all(fd_, data.data(), data.size(), path_, err) && pad(data.size(), err);
}

bool TarWriter::add_file_from(const std::string& name, const std::string& source, uint64_t size, std::string* err) {
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    *err = sys_error(source);
    return false;
  }
  ArchiveEntry e;
  e.path = name;
  e.mode = S_IFREG | 0644;
  e.size = int64_t(size);
  return add_entry(e, err) && add_data(in.get(), source, size, err);
}

bool TarWriter::finish(std::string* err) {
  static const char zeros[2 * tar::kBlock] = {};
  return write_all(fd_, zeros, sizeof zeros, path_, err);
}

}  // namespace ctk::oci
