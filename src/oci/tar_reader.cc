#include "oci/tar_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "base/strings.h"
#include "oci/tar_format.h"

namespace ctk::oci {

namespace {

using tar::kBlock;

// libarchive's limits: an extension header's body ('x', 'g', 'L', 'K') and
// the headers one member may have.
constexpr int64_t kMaxExtension = 1 << 20;
constexpr int kMaxHeaders = 32;

uint64_t padded(uint64_t size) { return (size + kBlock - 1) & ~uint64_t(kBlock - 1); }

std::string_view chars(const unsigned char* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

// Up to the first NUL, as C strings end.
std::string_view c_string(std::string_view s) { return s.substr(0, s.find('\0')); }

std::string_view text_field(const unsigned char* h, tar::Field f) { return c_string(chars(h + f.at, f.size)); }

// A pax number as libarchive reads it: blanks, an optional '-', then digits
// up to the first other character; saturated when out of range.
int64_t parse_decimal(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  bool negative = i < s.size() && s[i] == '-';
  if (negative) ++i;
  const uint64_t limit = negative ? uint64_t(1) << 63 : uint64_t(std::numeric_limits<int64_t>::max());
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    unsigned digit = unsigned(s[i] - '0');
    if (digit >= 10) break;
    if (v > (limit - digit) / 10)
      return negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    v = v * 10 + digit;
  }
  return negative ? int64_t(0 - v) : int64_t(v);
}

// GNU's base-256: a set high bit, then a big-endian two's complement number
// whose sign is the next bit.
int64_t parse_base256(const unsigned char* p, size_t n) {
  const bool negative = p[0] & 0x40;
  const unsigned char fill = negative ? 0xff : 0x00;
  const int64_t overflow = negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  uint64_t v = negative ? ~uint64_t(0) : 0;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = i > 0 ? p[i] : negative ? p[0] | 0x80 : p[0] & 0x7f;
    if (i + 8 < n) {  // beyond 64 bits: sign extension only
      if (c != fill) return overflow;
      continue;
    }
    if (i + 8 == n && ((c ^ fill) & 0x80)) return overflow;
    v = v << 8 | c;
  }
  return int64_t(v);
}

// An octal header field, read the same way; it holds at most 12 digits (36
// bits), so there is no overflow to check for.
int64_t parse_octal(const unsigned char* p, size_t n) {
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\t')) ++i;
  bool negative = i < n && p[i] == '-';
  if (negative) ++i;
  int64_t v = 0;
  for (; i < n && unsigned(p[i] - '0') < 8; ++i) v = v << 3 | (p[i] - '0');
  return negative ? -v : v;
}

int64_t number_field(const unsigned char* h, tar::Field f) {
  const unsigned char* p = h + f.at;
  return (p[0] & 0x80) ? parse_base256(p, f.size) : parse_octal(p, f.size);
}

bool checksum_ok(const unsigned char* h) {
  const unsigned char* field = h + tar::kChecksum.at;
  for (size_t i = 0; i < tar::kChecksum.size; ++i)
    if (field[i] != ' ' && field[i] != '\0' && unsigned(field[i] - '0') >= 8) return false;
  int64_t want = parse_octal(field, tar::kChecksum.size);
  if (want == tar::header_sum(h)) return true;
  // Some old tars (BSD, Solaris, HP-UX) summed signed bytes; libarchive
  // takes those too.
  int32_t sum = tar::kChecksum.size * ' ';
  for (size_t i = 0; i < kBlock; ++i)
    if (i < tar::kChecksum.at || i >= tar::kChecksum.at + tar::kChecksum.size) sum += int8_t(h[i]);
  return want == sum;
}

bool zero_block(const unsigned char* h) {
  return h[0] == 0 && std::all_of(h, h + kBlock, [](unsigned char c) { return c == 0; });
}

// A pax time: seconds with an optional fraction, before 1970 when negative.
EntryTime pax_time(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  size_t i = negative ? 1 : 0;
  int64_t sec = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (sec > (std::numeric_limits<int64_t>::max() - (s[i] - '0')) / 10)
      return {negative ? -std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::max(), 0, true};
    sec = sec * 10 + (s[i] - '0');
  }
  uint32_t nsec = 0;
  if (i < s.size() && s[i] == '.') {
    uint32_t scale = 100000000;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9' && scale > 0; ++i, scale /= 10)
      nsec += uint32_t(s[i] - '0') * scale;
  }
  if (!negative) return {sec, nsec, true};
  if (nsec == 0) return {-sec, 0, true};
  return {-sec - 1, 1000000000 - nsec, true};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// LIBARCHIVE.xattr names are URL-encoded.
std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += char(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// What one member's pax records say; views into the record text.
struct Pax {
  std::string_view path, linkpath;
  std::optional<int64_t> size, uid, gid, devmajor, devminor;
  EntryTime mtime, atime, ctime, birthtime;
  bool sparse = false;  // GNU or Solaris sparse records: libarchive reads those
};

// Applies one record; later records override earlier ones.
bool pax_record(std::string_view key, std::string_view value, Pax* pax, std::vector<ext4::Xattr>* xattrs,
                std::string* err) {
  constexpr std::string_view kSchily = "SCHILY.xattr.", kLibarchive = "LIBARCHIVE.xattr.";
  std::string_view text = c_string(value);  // what libarchive takes as a string
  if (key == "path") {
    pax->path = text;
  } else if (key == "linkpath") {
    pax->linkpath = text;
  } else if (key == "size") {
    int64_t size = parse_decimal(text);
    if (size < 0 || size == std::numeric_limits<int64_t>::max()) {
      *err = "pax size out of range";
      return false;
    }
    pax->size = size;
  } else if (key == "uid") {
    pax->uid = parse_decimal(text);
  } else if (key == "gid") {
    pax->gid = parse_decimal(text);
  } else if (key == "mtime") {
    pax->mtime = pax_time(text);
  } else if (key == "atime") {
    pax->atime = pax_time(text);
  } else if (key == "ctime") {
    pax->ctime = pax_time(text);
  } else if (key == "LIBARCHIVE.creationtime") {
    pax->birthtime = pax_time(text);
  } else if (key == "SCHILY.devmajor") {
    pax->devmajor = parse_decimal(text);
  } else if (key == "SCHILY.devminor") {
    pax->devminor = parse_decimal(text);
  } else if (key.size() > kSchily.size() && key.starts_with(kSchily)) {
    xattrs->push_back({std::string(key.substr(kSchily.size())), std::string(value)});
  } else if (key.size() > kLibarchive.size() && key.starts_with(kLibarchive)) {
    std::string name = url_decode(key.substr(kLibarchive.size())), decoded;
    if (!base64_decode(text, &decoded)) {
      *err = "pax record '" + std::string(key) + "': invalid base64";
      return false;
    }
    xattrs->push_back({std::string(c_string(name)), std::move(decoded)});
  } else if (key == "RHT.security.selinux") {
    xattrs->push_back({"security.selinux", std::string(value)});
  } else if (key.starts_with("GNU.sparse.") || key == "SCHILY.realsize" || key == "SUN.holesdata") {
    pax->sparse = true;
  }
  // Anything else (owner names, charsets, ACLs in star's text form, file
  // flags, comments) ctk has no use for.
  return true;
}

// Records are "LENGTH KEY=VALUE\n", LENGTH counting the whole record.
bool parse_pax(std::string_view body, Pax* pax, std::vector<ext4::Xattr>* xattrs, std::string* err) {
  while (!body.empty()) {
    size_t space = body.find(' '), length = 0;
    bool ok = space != std::string_view::npos && space > 0;
    for (size_t i = 0; ok && i < space; ++i) {
      ok = body[i] >= '0' && body[i] <= '9' && length <= body.size();
      length = length * 10 + size_t(body[i] - '0');
    }
    ok = ok && length > space + 1 && length <= body.size() && body[length - 1] == '\n';
    std::string_view record = ok ? body.substr(space + 1, length - space - 2) : std::string_view();
    size_t eq = record.find('=');
    if (!ok || eq == 0 || eq == std::string_view::npos || record.substr(0, eq).find('\0') != std::string_view::npos) {
      *err = "malformed pax header";
      return false;
    }
    if (!pax_record(record.substr(0, eq), record.substr(eq + 1), pax, xattrs, err)) return false;
    body.remove_prefix(length);
  }
  return true;
}

}  // namespace

bool TarReader::recognizes(const unsigned char* data, size_t len) {
  if (len < kBlock || !checksum_ok(data)) return false;
  std::string_view magic = chars(data + tar::kMagic.at, tar::kMagic.size);
  return magic == tar::kUstarMagic || magic == tar::kGnuMagic;
}

// Where an extension header's body lies, from in_.data().
struct TarReader::Headers {
  struct Body {
    size_t at = 0, size = 0;
    bool present = false;
  } pax, long_name, long_link;
  // libarchive applies a member's headers innermost first, so the first of
  // those that can name the member (or its link target) has the last word.
  char name_first = 0, link_first = 0;
  size_t main = 0;  // the member's own header
};

TarReader::Next TarReader::next(ArchiveEntry* entry, std::string* err) {
  if (!in_.skip(data_left_ + padded(data_size_) - data_size_, err)) return Next::kError;
  data_size_ = data_left_ = 0;
  Headers headers;
  Next next = read_headers(&headers, err);
  return next == Next::kEntry ? interpret(headers, entry, err) : next;
}

TarReader::Next TarReader::read_headers(Headers* headers, std::string* err) {
  bool only_global = true;
  size_t& at = headers->main;
  for (int count = 0;; ++count) {
    if (!in_.fill(at + kBlock, err)) return Next::kError;
    size_t have = in_.avail() - at;
    if (have == 0 || (have >= kBlock && zero_block(in_.data() + at))) {
      if (only_global) return Next::kEnd;
      *err = "Damaged tar archive: an extension header without its member";
      return Next::kError;
    }
    if (have < kBlock) {
      *err = "Truncated tar archive";
      return Next::kError;
    }
    const unsigned char* h = in_.data() + at;
    if (!checksum_ok(h)) {
      *err = "Damaged tar archive: bad header checksum";
      return Next::kError;
    }
    if (count == kMaxHeaders) {
      *err = "too many extension headers for one member";
      return Next::kError;
    }
    char type = char(h[tar::kType]);
    if (type != 'x' && type != 'g' && type != 'L' && type != 'K') return Next::kEntry;
    int64_t size = number_field(h, tar::kSize);
    if (size < 0 || size > kMaxExtension) {
      *err = "extension header too large";
      return Next::kError;
    }
    size_t end = at + kBlock + size_t(padded(uint64_t(size)));
    if (!in_.fill(end, err)) return Next::kError;
    if (in_.avail() < end) {
      *err = "Truncated tar archive";
      return Next::kError;
    }
    if (type == 'x' || type == 'g') format_ = Format::kPax;
    if (type != 'g') {
      only_global = false;
      Headers::Body& body = type == 'x' ? headers->pax : type == 'L' ? headers->long_name : headers->long_link;
      // libarchive keeps one buffer per kind and applies the last one as
      // often as there were headers: not worth copying.
      if (body.present) return Next::kHandOff;
      body = {at + kBlock, size_t(size), true};
      if (type != 'K' && !headers->name_first) headers->name_first = type;
      if (type != 'L' && !headers->link_first) headers->link_first = type;
    }
    at = end;
  }
}

TarReader::Next TarReader::interpret(const Headers& headers, ArchiveEntry* entry, std::string* err) {
  const unsigned char* h = in_.data() + headers.main;
  std::string_view magic = chars(h + tar::kMagic.at, tar::kMagic.size);
  const bool gnu = magic == tar::kGnuMagic;
  if (!gnu && magic != tar::kUstarMagic) return Next::kHandOff;  // old-style tar, other ustar versions
  const char type = char(h[tar::kType]);
  uint32_t file_type;
  switch (type) {
    case '0': case '\0': case '7': file_type = S_IFREG; break;
    case '1': file_type = 0; break;  // a hard link: the type is the target's
    case '2': file_type = S_IFLNK; break;
    case '3': file_type = S_IFCHR; break;
    case '4': file_type = S_IFBLK; break;
    case '5': file_type = S_IFDIR; break;
    case '6': file_type = S_IFIFO; break;
    default: return Next::kHandOff;  // sparse, GNU incremental or multi-volume, vendor types
  }
  if (gnu) format_ = Format::kGnu;
  else if (format_ != Format::kPax) format_ = Format::kUstar;

  auto body_text = [&](const Headers::Body& b) { return c_string(chars(in_.data() + b.at, b.size)); };
  Pax p;
  entry->xattrs.clear();
  if (headers.pax.present) {
    if (!parse_pax(chars(in_.data() + headers.pax.at, headers.pax.size), &p, &entry->xattrs, err))
      return Next::kError;
    if (p.sparse) return Next::kHandOff;
  }

  int64_t size = number_field(h, tar::kSize);
  if (size < 0 || size == std::numeric_limits<int64_t>::max()) {
    *err = "size out of range";
    return Next::kError;
  }
  const uint32_t raw_mode = uint32_t(number_field(h, tar::kMode));
  uint32_t mode = (raw_mode & ~uint32_t(S_IFMT)) | file_type;
  if (type == '1') {
    // A hard link's size means data only in pax archives (libarchive's
    // rule); GNU tar's is ignored, and for plain ustar libarchive guesses
    // from the next block.
    mode = size > 0 ? (raw_mode & ~uint32_t(S_IFMT)) | S_IFREG : raw_mode;
    if (size > 0 && gnu) size = 0;
    else if (size > 0 && format_ != Format::kPax) return Next::kHandOff;
  } else if (file_type != S_IFREG) {
    size = 0;
  }
  if (p.size) size = *p.size;
  int64_t data = size;

  std::string& path = entry->path;
  std::string_view name = text_field(h, tar::kName), prefix = gnu ? "" : text_field(h, tar::kPrefix);
  path.assign(prefix);
  if (!prefix.empty() && prefix.back() != '/') path += '/';
  path.append(name);
  if (headers.name_first == 'L') path.assign(body_text(headers.long_name));
  else if (!p.path.empty()) path.assign(p.path);
  else if (headers.long_name.present) path.assign(body_text(headers.long_name));

  entry->hardlink = type == '1';
  entry->link.assign(type == '1' || type == '2' ? text_field(h, tar::kLinkname) : "");
  bool relinked = true;
  if (headers.link_first == 'K') entry->link.assign(body_text(headers.long_link));
  else if (!p.linkpath.empty()) entry->link.assign(p.linkpath);
  else if (headers.long_link.present) entry->link.assign(body_text(headers.long_link));
  else relinked = false;
  // As libarchive's archive_entry_copy_link: a symlink's target, otherwise
  // a hard link's.
  if (relinked && type != '2') entry->hardlink = true;

  // An old convention: a regular file named with a trailing slash is a
  // directory (with no data, whatever its size says).
  if ((mode & S_IFMT) == S_IFREG && !path.empty() && path.back() == '/') {
    mode = (mode & ~uint32_t(S_IFMT)) | S_IFDIR;
    data = 0;
  }

  entry->mode = mode;
  entry->size = size;
  entry->uid = p.uid ? *p.uid : number_field(h, tar::kUid);
  entry->gid = p.gid ? *p.gid : number_field(h, tar::kGid);
  entry->mtime = p.mtime.set ? p.mtime : EntryTime{number_field(h, tar::kMtime), 0, true};
  auto gnu_time = [&](tar::Field f) {
    int64_t t = gnu ? number_field(h, f) : 0;
    return t > 0 ? EntryTime{t, 0, true} : EntryTime{};
  };
  entry->atime = p.atime.set ? p.atime : gnu_time(tar::kGnuAtime);
  entry->ctime = p.ctime.set ? p.ctime : gnu_time(tar::kGnuCtime);
  entry->birthtime = p.birthtime;
  bool device = type == '3' || type == '4';
  entry->rdev_major = uint32_t(p.devmajor ? *p.devmajor : device ? number_field(h, tar::kDevMajor) : 0);
  entry->rdev_minor = uint32_t(p.devminor ? *p.devminor : device ? number_field(h, tar::kDevMinor) : 0);
  // libarchive lists a member's extended attributes last first.
  std::reverse(entry->xattrs.begin(), entry->xattrs.end());

  in_.consume(headers.main + kBlock);
  data_size_ = data_left_ = uint64_t(data);
  return Next::kEntry;
}

bool TarReader::read(const void** buf, size_t* len, uint64_t* offset, std::string* err) {
  if (data_left_ == 0) {
    *len = 0;
    return true;
  }
  if (in_.avail() == 0 && !in_.fill(1, err)) return false;
  if (in_.avail() == 0) {
    *err = "Truncated tar archive";
    return false;
  }
  *buf = in_.data();
  *len = size_t(std::min<uint64_t>(data_left_, in_.avail()));
  *offset = data_size_ - data_left_;
  in_.consume(*len);
  data_left_ -= *len;
  return true;
}

int TarReader::file(uint64_t* offset) {
  if (in_.file() < 0 || data_left_ != data_size_) return -1;
  *offset = in_.offset();
  return in_.file();
}

}  // namespace ctk::oci
