#include "oci/archive_source.h"

#include <unistd.h>

#include <string>

#include <cerrno>
#include <cstring>
#include <memory>

namespace ctk::oci {

namespace {

constexpr size_t kReadBlock = 1 << 20;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveCloser>;

}  // namespace

ArchiveSource::ArchiveSource(int fd) : fd_(fd), in_(kReadBlock) {}

ArchiveSource::~ArchiveSource() {
  if (gzip_) inflateEnd(&z_);
}

la_ssize_t ArchiveSource::read(archive* a, void* self, const void** buf) {
  return static_cast<ArchiveSource*>(self)->next(a, buf);
}

la_int64_t ArchiveSource::skip(archive*, void* self, la_int64_t request) {
  auto* s = static_cast<ArchiveSource*>(self);
  if (!s->started_ || s->gzip_ || request <= 0) return 0;
  return ::lseek(s->fd_, request, SEEK_CUR) < 0 ? 0 : request;
}

int ArchiveSource::plain_fd(archive* a) const {
  return started_ && !gzip_ && archive_filter_count(a) == 1 ? fd_ : -1;
}

bool ArchiveSource::finish(archive* a) {
  const void* buf;
  la_ssize_t n = 0;
  while (gzip_ && (n = next(a, &buf)) > 0) {}
  return n >= 0;
}

bool ArchiveSource::fill(archive* a, size_t keep) {
  std::memmove(in_.data(), z_.next_in, keep);
  ssize_t n;
  do n = ::read(fd_, in_.data() + keep, in_.size() - keep);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "read: %s", std::strerror(errno));
    return false;
  }
  eof_ = n == 0;
  z_.next_in = in_.data();
  z_.avail_in = uInt(keep + size_t(n));
  return true;
}

la_ssize_t ArchiveSource::next(archive* a, const void** buf) {
  if (!started_) {
    started_ = true;
    z_.next_in = in_.data();
    if (!fill(a, 0)) return -1;
    if (z_.avail_in >= 2 && in_[0] == 0x1f && in_[1] == 0x8b) {
      if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
        archive_set_error(a, ENOMEM, "gzip: cannot initialize zlib");
        return -1;
      }
      gzip_ = true;
      out_.resize(kReadBlock);
    }
  }
  if (!gzip_) {  // plain or another compression: the bytes as they are
    if (z_.avail_in == 0 && !eof_ && !fill(a, 0)) return -1;
    *buf = z_.next_in;
    la_ssize_t n = z_.avail_in;
    z_.avail_in = 0;
    return n;
  }
  while (!done_) {
    if (z_.avail_in == 0) {
      if (eof_) {
        archive_set_error(a, EINVAL, "gzip: truncated data");
        return -1;
      }
      if (!fill(a, 0)) return -1;
      continue;
    }
    z_.next_out = out_.data();
    z_.avail_out = uInt(out_.size());
    int r = inflate(&z_, Z_NO_FLUSH);
    size_t produced = out_.size() - z_.avail_out;
    if (r == Z_STREAM_END) {
      // Another member may follow (concatenated gzip); anything else
      // after the last member is ignored, as gzip and libarchive do.
      if (z_.avail_in < 2 && !eof_ && !fill(a, z_.avail_in)) return -1;
      if (z_.avail_in >= 2 && z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b) inflateReset(&z_);
      else done_ = true;
    } else if (r != Z_OK && !(r == Z_BUF_ERROR && produced > 0)) {
      archive_set_error(a, EINVAL, "gzip: %s",
                        z_.msg ? z_.msg : "invalid compressed data");
      return -1;
    }
    if (produced > 0) {
      *buf = out_.data();
      return la_ssize_t(produced);
    }
  }
  return 0;
}

namespace {

// A libarchive reader over `source`; null with err set on failure.
ArchiveReader open_archive(ArchiveSource& source, const std::string& what, std::string* err) {
  ArchiveReader a(archive_read_new());
  archive* ar = a.get();
  archive_read_support_format_tar(ar);
  archive_read_support_format_cpio(ar);
  archive_read_support_filter_gzip(ar);
  archive_read_support_filter_zstd(ar);
  archive_read_support_filter_lz4(ar);
  archive_read_support_filter_xz(ar);
  archive_read_support_filter_bzip2(ar);
  archive_read_set_skip_callback(ar, ArchiveSource::skip);
  if (archive_read_open(ar, &source, nullptr, ArchiveSource::read, nullptr) != ARCHIVE_OK) {
    *err = what + ": " + archive_error(ar);
    return nullptr;
  }
  return a;
}

}  // namespace

bool for_each_entry(ArchiveSource& source, const std::string& what,
                    const std::function<bool(archive*, archive_entry*, std::string* err)>& each,
                    std::string* err) {
  ArchiveReader a = open_archive(source, what, err);
  if (!a) return false;
  std::string last;
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      *err = what + ": " + (last.empty() ? "" : "after '" + last + "': ") + archive_error(a.get());
      return false;
    }
    last = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (!each(a.get(), e, err)) return false;
  }
  if (!source.finish(a.get())) {
    *err = what + ": " + archive_error(a.get());
    return false;
  }
  return true;
}

std::string archive_error(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown archive error";
}

}  // namespace ctk::oci
