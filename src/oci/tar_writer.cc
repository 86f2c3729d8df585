#include "oci/tar_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "oci/fsutil.h"

namespace ctk::oci {

namespace {

constexpr size_t kBlock = 512;

// An octal field of `width` bytes, NUL-terminated.
void octal(char* field, size_t width, uint64_t value) {
  std::snprintf(field, width, "%0*llo", int(width - 1), static_cast<unsigned long long>(value));
}

}  // namespace

bool TarWriter::header(const std::string& name, char type, uint64_t size, std::string* err) {
  if (name.size() >= 100) {
    *err = path_ + ": tar member name '" + name + "' is too long";
    return false;
  }
  char h[kBlock] = {};
  std::memcpy(h, name.data(), name.size());
  octal(h + 100, 8, type == '5' ? 0755 : 0644);
  octal(h + 108, 8, 0);  // uid
  octal(h + 116, 8, 0);  // gid
  if (size < (uint64_t(1) << 33)) {
    octal(h + 124, 12, size);
  } else {  // base-256: a set high bit, then the value big-endian
    h[124] = char(0x80);
    for (int i = 11; i >= 4; --i, size >>= 8) h[124 + i] = char(size & 0xff);
  }
  octal(h + 136, 12, 0);  // mtime
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);  // six digits, NUL, and the space left
  return write_all(fd_, h, kBlock, path_, err);
}

bool TarWriter::pad(uint64_t size, std::string* err) {
  static const char zeros[kBlock] = {};
  size_t rest = size_t(size % kBlock);
  return rest == 0 || write_all(fd_, zeros, kBlock - rest, path_, err);
}

bool TarWriter::add_dir(const std::string& name, std::string* err) { return header(name, '5', 0, err); }

bool TarWriter::add_file(const std::string& name, const std::string& data, std::string* err) {
  return header(name, '0', data.size(), err) && write_all(fd_, data.data(), data.size(), path_, err) &&
         pad(data.size(), err);
}

bool TarWriter::add_file_from(const std::string& name, const std::string& source, uint64_t size, std::string* err) {
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    *err = sys_error(source);
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{in};
  if (!header(name, '0', size, err)) return false;
  // copy_file_range shares extents where the filesystem can; read and write
  // where it cannot (another filesystem, an old kernel).
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

bool TarWriter::finish(std::string* err) {
  static const char zeros[2 * kBlock] = {};
  return write_all(fd_, zeros, sizeof zeros, path_, err);
}

}  // namespace ctk::oci
