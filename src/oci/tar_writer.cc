#include "oci/tar_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "oci/fsutil.h"
#include "oci/tar_format.h"

namespace ctk::oci {

namespace {

// An octal field of `width` bytes, NUL-terminated.
void octal(char* field, size_t width, uint64_t value) {
  std::snprintf(field, width, "%0*llo", int(width - 1), static_cast<unsigned long long>(value));
}

}  // namespace

bool TarWriter::header(const std::string& name, char type, uint64_t size, std::string* err) {
  if (name.size() >= tar::kName.size) {
    *err = path_ + ": tar member name '" + name + "' is too long";
    return false;
  }
  char h[tar::kBlock] = {};
  std::memcpy(h, name.data(), name.size());
  octal(h + tar::kMode.at, tar::kMode.size, type == '5' ? 0755 : 0644);
  octal(h + tar::kUid.at, tar::kUid.size, 0);
  octal(h + tar::kGid.at, tar::kGid.size, 0);
  if (size < (uint64_t(1) << 33)) {
    octal(h + tar::kSize.at, tar::kSize.size, size);
  } else {  // base-256: a set high bit, then the value big-endian
    char* field = h + tar::kSize.at;
    field[0] = char(0x80);
    for (size_t i = tar::kSize.size - 1; i >= 4; --i, size >>= 8) field[i] = char(size & 0xff);
  }
  octal(h + tar::kMtime.at, tar::kMtime.size, 0);
  h[tar::kType] = type;
  std::memcpy(h + tar::kMagic.at, tar::kUstarMagic.data(), tar::kMagic.size);
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
  static const char zeros[2 * tar::kBlock] = {};
  return write_all(fd_, zeros, sizeof zeros, path_, err);
}

}  // namespace ctk::oci
