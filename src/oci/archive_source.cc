#include "oci/archive_source.h"

#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "base/error.h"
#include "oci/tar_format.h"
#include "oci/tar_reader.h"

namespace ctk::oci {

namespace {

constexpr size_t kReadBlock = 1 << 20;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveCloser>;

// libarchive's last error, never empty.
std::string archive_error(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown archive error";
}

}  // namespace

ArchiveSource::ArchiveSource(int fd) : fd_(fd), in_(kReadBlock) {}

ArchiveSource::~ArchiveSource() {
  if (gzip_) inflateEnd(&z_);
}

bool ArchiveSource::start(std::string* err) {
  struct stat st;
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
    regular_ = true;
    size_ = uint64_t(st.st_size);
  }
  if (!fill(2, err)) return false;
  if (avail() >= 2 && data()[0] == 0x1f && data()[1] == 0x8b) {
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
      *err = "gzip: cannot initialize zlib";
      return false;
    }
    gzip_ = true;
    out_.resize(kReadBlock);
  }
  return true;
}

bool ArchiveSource::fill(size_t n, std::string* err) {
  if (avail() >= n || eof_) return true;
  std::memmove(in_.data(), data(), avail());
  end_ -= begin_;
  begin_ = 0;
  if (n > in_.size()) in_.resize(n);
  while (end_ < n) {
    ssize_t got = ::read(fd_, in_.data() + end_, in_.size() - end_);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      *err = sys_error("read");
      return false;
    }
    if (got == 0) {
      eof_ = true;
      break;
    }
    end_ += size_t(got);
    offset_ += uint64_t(got);
  }
  return true;
}

bool ArchiveSource::skip(uint64_t n, std::string* err) {
  if (n <= avail()) {
    consume(size_t(n));
    return true;
  }
  n -= avail();
  begin_ = end_ = 0;
  if (regular_) {
    if (offset_ + n > size_) {
      *err = "Truncated tar archive";
      return false;
    }
    if (::lseek(fd_, off_t(n), SEEK_CUR) < 0) {
      *err = sys_error("lseek");
      return false;
    }
    offset_ += n;
    return true;
  }
  while (n > 0) {
    if (!fill(1, err)) return false;
    if (avail() == 0) {
      *err = "Truncated tar archive";
      return false;
    }
    size_t step = size_t(std::min<uint64_t>(n, avail()));
    consume(step);
    n -= step;
  }
  return true;
}

la_ssize_t ArchiveSource::read(archive* a, void* self, const void** buf) {
  return static_cast<ArchiveSource*>(self)->next(a, buf);
}

la_int64_t ArchiveSource::skip(archive*, void* self, la_int64_t request) {
  auto* s = static_cast<ArchiveSource*>(self);
  // libarchive skips only past what it was given, so the file's position
  // is offset_ and nothing is buffered.
  if (s->gzip_ || !s->regular_ || request <= 0) return 0;
  if (::lseek(s->fd_, request, SEEK_CUR) < 0) return 0;
  s->offset_ += uint64_t(request);
  return request;
}

bool ArchiveSource::finish(archive* a) {
  const void* buf;
  la_ssize_t n = 0;
  while (gzip_ && (n = next(a, &buf)) > 0) {}
  return n >= 0;
}

la_ssize_t ArchiveSource::next(archive* a, const void** buf) {
  std::string err;
  auto failed = [&](const std::string& why) {
    archive_set_error(a, EINVAL, "%s", why.c_str());
    return -1;
  };
  if (!gzip_) {  // plain or another compression: the bytes as they are
    if (avail() == 0 && !fill(1, &err)) return failed(err);
    *buf = data();
    la_ssize_t n = la_ssize_t(avail());
    consume(avail());
    return n;
  }
  while (!done_) {
    if (avail() == 0) {
      if (eof_) return failed("gzip: truncated data");
      if (!fill(1, &err)) return failed(err);
      continue;
    }
    z_.next_in = const_cast<unsigned char*>(data());
    z_.avail_in = uInt(avail());
    z_.next_out = out_.data();
    z_.avail_out = uInt(out_.size());
    int r = inflate(&z_, Z_NO_FLUSH);
    consume(avail() - z_.avail_in);
    size_t produced = out_.size() - z_.avail_out;
    if (r == Z_STREAM_END) {
      // Another member may follow (concatenated gzip); anything else
      // after the last member is ignored, as gzip and libarchive do.
      if (!fill(2, &err)) return failed(err);
      if (avail() >= 2 && data()[0] == 0x1f && data()[1] == 0x8b) inflateReset(&z_);
      else done_ = true;
    } else if (r != Z_OK && !(r == Z_BUF_ERROR && produced > 0)) {
      return failed(std::string("gzip: ") + (z_.msg ? z_.msg : "invalid compressed data"));
    }
    if (produced > 0) {
      *buf = out_.data();
      return la_ssize_t(produced);
    }
  }
  return 0;
}

namespace {

// A libarchive reader over `source`, from data() on; null with err set.
ArchiveReader open_archive(ArchiveSource& source, std::string* err) {
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
    *err = archive_error(ar);
    return nullptr;
  }
  return a;
}

// The member libarchive read last, as an ArchiveEntry.
void fill_entry(archive_entry* e, ArchiveEntry* out) {
  const char* path = archive_entry_pathname(e);
  const char* hardlink = archive_entry_hardlink(e);
  const char* symlink = archive_entry_symlink(e);
  out->path = path ? path : "";
  out->mode = archive_entry_mode(e);
  out->hardlink = hardlink != nullptr;
  out->link = hardlink ? hardlink : symlink ? symlink : "";
  out->uid = archive_entry_uid(e);
  out->gid = archive_entry_gid(e);
  out->size = archive_entry_size(e);
  auto time = [](bool set, time_t sec, long nsec) { return EntryTime{int64_t(sec), uint32_t(nsec), set}; };
  out->mtime = time(true, archive_entry_mtime(e), archive_entry_mtime_nsec(e));
  out->atime = time(archive_entry_atime_is_set(e), archive_entry_atime(e), archive_entry_atime_nsec(e));
  out->ctime = time(archive_entry_ctime_is_set(e), archive_entry_ctime(e), archive_entry_ctime_nsec(e));
  out->birthtime =
      time(archive_entry_birthtime_is_set(e), archive_entry_birthtime(e), archive_entry_birthtime_nsec(e));
  out->rdev_major = uint32_t(archive_entry_rdevmajor(e));
  out->rdev_minor = uint32_t(archive_entry_rdevminor(e));
  out->xattrs.clear();
  const char* name;
  const void* value;
  size_t len;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &len) == ARCHIVE_OK)
    out->xattrs.push_back({name, std::string(static_cast<const char*>(value), len)});
}

// The data of the member libarchive read last.
class LibarchiveData final : public EntryData {
 public:
  // `base`: the input's offset where libarchive started reading.
  LibarchiveData(archive* a, const ArchiveSource& source, uint64_t base) : a_(a), source_(source), base_(base) {}

  void set(archive_entry* e) { sparse_ = archive_entry_sparse_count(e) != 0; }

  bool read(const void** buf, size_t* len, uint64_t* offset, std::string* err) override {
    la_int64_t at;
    int r;
    // An empty run would read as the end.
    do r = archive_read_data_block(a_, buf, len, &at);
    while (r >= ARCHIVE_WARN && r != ARCHIVE_EOF && *len == 0);
    if (r == ARCHIVE_EOF) {
      *len = 0;
      return true;
    }
    if (r < ARCHIVE_WARN) {
      *err = archive_error(a_);
      return false;
    }
    *offset = uint64_t(at);
    return true;
  }

  int file(uint64_t* offset) override {
    if (source_.gzip() || archive_filter_count(a_) != 1 || sparse_ || source_.file() < 0) return -1;
    *offset = base_ + uint64_t(archive_filter_bytes(a_, 0));
    return source_.file();
  }

 private:
  archive* a_;
  const ArchiveSource& source_;
  uint64_t base_;
  bool sparse_ = false;
};

}  // namespace

bool for_each_entry(ArchiveSource& source, const std::string& what,
                    const std::function<bool(const ArchiveEntry&, EntryData&, std::string* err)>& each,
                    std::string* err) {
  std::string last, why;
  auto fail = [&](const std::string& reason) {
    *err = what + ": " + (last.empty() ? "" : "after '" + last + "': ") + reason;
    return false;
  };
  if (!source.start(&why)) return fail(why);
  ArchiveEntry entry;
  if (!source.gzip()) {
    if (!source.fill(tar::kBlock, &why)) return fail(why);
    if (TarReader::recognizes(source.data(), source.avail())) {
      TarReader tar(source);
      for (;;) {
        TarReader::Next next = tar.next(&entry, &why);
        if (next == TarReader::Next::kEnd) return true;
        if (next == TarReader::Next::kError) return fail(why);
        if (next == TarReader::Next::kHandOff) break;  // libarchive goes on from this member
        last = entry.path;
        if (!each(entry, tar, err)) return false;
      }
    }
  }
  uint64_t base = source.offset();
  ArchiveReader a = open_archive(source, &why);
  if (!a) return fail(why);
  LibarchiveData data(a.get(), source, base);
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    // ARCHIVE_RETRY is a damaged header that libarchive would skip.
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return fail(archive_error(a.get()));
    fill_entry(e, &entry);
    data.set(e);
    last = entry.path;
    if (!each(entry, data, err)) return false;
  }
  if (!source.finish(a.get())) {
    *err = what + ": " + archive_error(a.get());
    return false;
  }
  return true;
}

}  // namespace ctk::oci
