#include "ext4/reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "base/error.h"
#include "ext4/acl.h"
#include "ext4/format.h"

namespace ctk::ext4 {

namespace {

// On-disk values ctk's writer never sets but other images may.
constexpr uint32_t kIncompat64bit = 0x80;
constexpr std::pair<uint32_t, const char*> kIncompatRejected[] = {
    {0x1, "compression"}, {0x8, "journal_dev"}, {0x10, "meta_bg"}, {0x1000, "dirdata"},
};
// Features that change nothing this reader looks at, or that it checks per
// inode (ea_inode, inline_data, encrypt): recover, mmp, csum_seed, largedir,
// casefold (names are still stored as given).
constexpr uint32_t kIncompatReadable = kIncompatFiletype | 0x4 | kIncompatExtents | kIncompat64bit |
                                       0x100 | kIncompatFlexBg | 0x400 | 0x2000 | 0x4000 | 0x8000 |
                                       0x10000 | 0x20000;
constexpr uint32_t kEncryptFl = 0x800;
constexpr uint32_t kHugeFileFl = 0x40000;
constexpr uint32_t kInlineDataFl = 0x10000000;
constexpr uint32_t kMinDescSize64 = 64;
constexpr size_t kDescInodeTableHi = 0x28;
constexpr uint16_t kMaxExtentDepth = 5;
constexpr int kMaxSymlinkDepth = 40;  // as the kernel's MAXSYMLINKS
constexpr size_t kFastSymlinkMax = sizeof(Inode::block);
constexpr uint64_t kMaxWholeRead = 1 << 30;

template <typename T>
T load_at(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool xattr_prefix(uint8_t index, std::string_view* out) {
  switch (index) {
    case 1: *out = "user."; return true;
    case 2: *out = "system.posix_acl_access"; return true;
    case 3: *out = "system.posix_acl_default"; return true;
    case 4: *out = "trusted."; return true;
    case 6: *out = "security."; return true;
    case 7: *out = "system."; return true;
    case 8: *out = "system.richacl"; return true;
  }
  return false;
}

// Entries from `pos` until a zero word or the region's end; value offsets
// count from `value_base`. The error is unprefixed.
bool parse_xattrs(std::string_view region, size_t pos, size_t value_base, std::vector<Xattr>* out,
                  std::string* err) {
  while (pos + 4 <= region.size() && load_at<uint32_t>(region.data() + pos) != 0) {
    if (pos + sizeof(XattrEntry) > region.size()) {
      *err = "attribute entry at offset " + std::to_string(pos) + " overflows its area";
      return false;
    }
    auto e = load_at<XattrEntry>(region.data() + pos);
    size_t name_at = pos + sizeof e;
    std::string_view prefix;
    if (name_at + e.name_len > region.size()) {
      *err = "attribute name at offset " + std::to_string(pos) + " overflows its area";
      return false;
    }
    if (!xattr_prefix(e.name_index, &prefix)) {
      *err = "unknown attribute name index " + std::to_string(e.name_index);
      return false;
    }
    Xattr x;
    x.name = std::string(prefix) + std::string(region.substr(name_at, e.name_len));
    if (e.value_size > 0) {
      if (e.value_inum != 0) {
        *err = "attribute '" + x.name + "' keeps its value in an inode (ea_inode), not supported";
        return false;
      }
      uint64_t at = uint64_t(value_base) + e.value_offs;
      if (at + e.value_size > region.size()) {
        *err = "value of attribute '" + x.name + "' overflows its area";
        return false;
      }
      x.value = std::string(region.substr(at, e.value_size));
      // ACLs read back in the form getxattr gives, the one the writer takes.
      std::string acl;
      if (e.name_index == 2 || e.name_index == 3) {
        if (!acl_from_disk(x.value, &acl, err)) {
          *err = "attribute '" + x.name + "': " + *err;
          return false;
        }
        x.value = std::move(acl);
      }
    }
    out->push_back(std::move(x));
    pos = name_at + round_up(e.name_len, 4);
  }
  return true;
}

}  // namespace

struct Reader::InodeData {
  uint32_t ino = 0;
  Inode in = {};    // the on-disk inode's first bytes; zero past its size
  std::string raw;  // the whole on-disk inode
  size_t extra_end = 0;  // 128 + i_extra_isize: where in-inode attributes start

  uint64_t size() const { return in.size_lo | uint64_t(in.size_high) << 32; }
  // Whether the large-inode field at `offset` is present.
  bool has(size_t offset, size_t len) const { return offset + len <= extra_end; }
};

Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

bool Reader::fail(std::string* err, const std::string& message) const {
  *err = path_ + ": " + message;
  return false;
}

bool Reader::pread_exact(uint64_t pos, void* buf, size_t len, std::string* err) const {
  auto p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd_, p, len, off_t(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = sys_error(path_);
      return false;
    }
    if (n == 0) return fail(err, "unexpected end of image at byte " + std::to_string(pos));
    p += n;
    pos += uint64_t(n);
    len -= size_t(n);
  }
  return true;
}

// Block 0 (and with 1 KiB blocks, block 1) holds the superblock, so no
// pointer to file data or metadata may name it.
bool Reader::block_in_range(uint64_t first, uint64_t count) const {
  return first > first_data_block_ && count <= blocks_count_ && first <= blocks_count_ - count;
}

bool Reader::read_blocks(uint64_t block, uint64_t count, void* buf, std::string* err) const {
  if (!block_in_range(block, count))
    return fail(err, "block " + std::to_string(block) + " is outside the filesystem");
  return pread_exact(block * block_size_, buf, count * block_size_, err);
}

bool Reader::open(const std::string& path, std::string* err) {
  path_ = path;
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    *err = sys_error(path);
    return false;
  }
  SuperBlock sb;
  if (!pread_exact(kSuperOffset, &sb, sizeof sb, err)) return false;
  if (sb.magic != kSuperMagic) return fail(err, "not an ext4 image (bad superblock magic)");
  if (sb.log_block_size > 6) return fail(err, "superblock: block size over 64 KiB");
  block_size_ = 1024u << sb.log_block_size;

  for (auto [bit, name] : kIncompatRejected)
    if (sb.feature_incompat & bit) return fail(err, std::string("unsupported feature ") + name);
  if (uint32_t unknown = sb.feature_incompat & ~kIncompatReadable) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", unknown);
    return fail(err, std::string("unknown incompatible features ") + hex);
  }
  filetype_ = sb.feature_incompat & kIncompatFiletype;
  is_64bit_ = sb.feature_incompat & kIncompat64bit;
  huge_file_ = sb.feature_ro_compat & kRoCompatHugeFile;

  inode_size_ = sb.rev_level == 0 ? 128 : sb.inode_size;
  if (inode_size_ < 128 || inode_size_ > block_size_ || !std::has_single_bit(inode_size_))
    return fail(err, "superblock: bad inode size " + std::to_string(inode_size_));
  uint32_t desc_size = kDescSize;
  if (is_64bit_) {
    desc_size = sb.desc_size;
    if (desc_size < kMinDescSize64 || desc_size > block_size_ || !std::has_single_bit(desc_size))
      return fail(err, "superblock: bad group descriptor size " + std::to_string(desc_size));
  }
  blocks_count_ = sb.blocks_count_lo | (is_64bit_ ? uint64_t(sb.blocks_count_hi) << 32 : 0);
  first_data_block_ = sb.first_data_block;
  inodes_count_ = sb.inodes_count;
  inodes_per_group_ = sb.inodes_per_group;
  uint32_t bits_per_block = block_size_ * 8;
  if (sb.blocks_per_group < 8 || sb.blocks_per_group > bits_per_block || inodes_per_group_ == 0 ||
      inodes_per_group_ > bits_per_block || first_data_block_ >= blocks_count_ ||
      inodes_count_ < kFirstIno)
    return fail(err, "superblock: inconsistent block or inode counts");

  off_t end = ::lseek(fd_, 0, SEEK_END);  // unlike st_size, also right for block devices
  if (end < 0) {
    *err = sys_error(path);
    return false;
  }
  if (uint64_t(end) / block_size_ < blocks_count_)
    return fail(err, "image is truncated: " + std::to_string(end) + " bytes, but the superblock says " +
                         std::to_string(blocks_count_) + " blocks of " + std::to_string(block_size_));

  uint64_t groups = div_round_up(blocks_count_ - first_data_block_, sb.blocks_per_group);
  if (uint64_t(inodes_count_) > groups * inodes_per_group_)
    return fail(err, "superblock: more inodes than the groups hold");
  uint64_t table_blocks = div_round_up(groups * desc_size, block_size_);
  std::string table(table_blocks * block_size_, '\0');
  if (!read_blocks(first_data_block_ + 1, table_blocks, table.data(), err)) return false;
  inode_tables_.resize(groups);
  for (uint64_t g = 0; g < groups; ++g) {
    const char* d = table.data() + g * desc_size;
    inode_tables_[g] = load_at<GroupDesc>(d).inode_table;
    if (desc_size >= kMinDescSize64)
      inode_tables_[g] |= uint64_t(load_at<uint32_t>(d + kDescInodeTableHi)) << 32;
  }
  return true;
}

bool Reader::load(uint32_t ino, InodeData* out, std::string* err) const {
  if (ino == 0 || ino > inodes_count_) return fail(err, "inode " + std::to_string(ino) + " does not exist");
  uint32_t group = (ino - 1) / inodes_per_group_;
  uint64_t offset = uint64_t((ino - 1) % inodes_per_group_) * inode_size_;
  uint64_t block = inode_tables_[group] + offset / block_size_;
  if (!block_in_range(block, 1))
    return fail(err, "inode " + std::to_string(ino) + ": inode table outside the filesystem");
  out->ino = ino;
  out->raw.assign(inode_size_, '\0');
  if (!pread_exact(block * block_size_ + offset % block_size_, out->raw.data(), inode_size_, err))
    return false;
  out->in = {};
  std::memcpy(&out->in, out->raw.data(), std::min<size_t>(sizeof(Inode), inode_size_));
  out->extra_end = 128;
  if (inode_size_ > 128) {
    out->extra_end += out->in.extra_isize;
    if (out->extra_end > inode_size_ || out->in.extra_isize % 4)
      return fail(err, "inode " + std::to_string(ino) + ": bad i_extra_isize");
  }
  return true;
}

bool Reader::stat(uint32_t ino, Stat* out, std::string* err) {
  InodeData d;
  if (!load(ino, &d, err)) return false;
  const Inode& in = d.in;
  *out = {};
  out->mode = in.mode;
  out->uid = in.uid | uint32_t(in.uid_high) << 16;
  out->gid = in.gid | uint32_t(in.gid_high) << 16;
  out->size = d.size();
  out->links = in.links_count;
  // Seconds are 32 signed bits, plus two epoch bits from *_extra, whose upper
  // 30 bits are nanoseconds; small inodes have no *_extra.
  auto time = [&](uint32_t sec, uint32_t extra, size_t extra_at) {
    Timestamp t{int32_t(sec), 0};
    if (d.has(extra_at, 4)) {
      t.sec += int64_t(extra & 3) << 32;
      t.nsec = extra >> 2;
    }
    return t;
  };
  out->atime = time(in.atime, in.atime_extra, offsetof(Inode, atime_extra));
  out->mtime = time(in.mtime, in.mtime_extra, offsetof(Inode, mtime_extra));
  out->ctime = time(in.ctime, in.ctime_extra, offsetof(Inode, ctime_extra));
  if (d.has(offsetof(Inode, crtime), 4))
    out->crtime = time(in.crtime, in.crtime_extra, offsetof(Inode, crtime_extra));
  if (S_ISCHR(in.mode) || S_ISBLK(in.mode)) {
    // Old encoding (8-bit major and minor) in i_block[0]; otherwise the
    // kernel's new_encode_dev in i_block[1].
    if (in.block[0]) {
      out->rdev_major = (in.block[0] >> 8) & 0xff;
      out->rdev_minor = in.block[0] & 0xff;
    } else {
      out->rdev_major = (in.block[1] >> 8) & 0xfff;
      out->rdev_minor = (in.block[1] & 0xff) | ((in.block[1] >> 12) & 0xfff00);
    }
  }
  out->flags = in.flags;
  out->blocks = in.blocks_lo | (huge_file_ ? uint64_t(in.blocks_high) << 32 : 0);
  if (huge_file_ && (in.flags & kHugeFileFl)) out->blocks *= block_size_ / 512;
  return true;
}

// Collects the initialized extents in logical order; unwritten ones read as
// holes. Each tree block is visited once and depths must step down by one,
// so a damaged tree cannot loop.
bool Reader::extents(const InodeData& d, std::vector<Extent>* out, std::string* err) const {
  std::string where = "inode " + std::to_string(d.ino) + ": ";
  if (d.in.flags & kEncryptFl) return fail(err, where + "encrypted files are not supported");
  if (d.in.flags & kInlineDataFl) return fail(err, where + "inline data is not supported");
  if (!(d.in.flags & kExtentsFl))
    return fail(err, where + "block-mapped (ext2/ext3) files are not supported, only extents");
  out->clear();
  std::set<uint64_t> visited;
  uint64_t next = 0;
  return walk_extent_node(d, reinterpret_cast<const char*>(d.in.block), sizeof d.in.block, -1,
                          &visited, out, &next, err);
}

bool Reader::walk_extent_node(const InodeData& d, const char* node, size_t node_size, int depth,
                              std::set<uint64_t>* visited, std::vector<Extent>* out,
                              uint64_t* next_logical, std::string* err) const {
  std::string where = "inode " + std::to_string(d.ino) + ": extent tree: ";
  auto h = load_at<ExtentHeader>(node);
  if (h.magic != kExtentMagic) return fail(err, where + "bad header magic");
  if (depth < 0 ? h.depth > kMaxExtentDepth : h.depth != depth)
    return fail(err, where + "bad depth " + std::to_string(h.depth));
  if (h.entries > h.max || sizeof h + size_t(h.max) * sizeof(ExtentLeaf) > node_size)
    return fail(err, where + "more entries than fit in a node");
  const char* p = node + sizeof h;
  if (h.depth == 0) {
    for (uint16_t i = 0; i < h.entries; ++i, p += sizeof(ExtentLeaf)) {
      auto l = load_at<ExtentLeaf>(p);
      bool unwritten = l.len > kMaxExtentLen;
      uint32_t len = unwritten ? l.len - kMaxExtentLen : l.len;
      uint64_t physical = l.start_lo | uint64_t(l.start_hi) << 32;
      if (len == 0 || l.block < *next_logical || uint64_t(l.block) + len > (uint64_t(1) << 32))
        return fail(err, where + "extent at file block " + std::to_string(l.block) +
                             " is empty, overlaps another or is out of order");
      if (!block_in_range(physical, len))
        return fail(err, where + "extent points outside the filesystem (block " +
                             std::to_string(physical) + ")");
      *next_logical = uint64_t(l.block) + len;
      if (!unwritten) out->push_back({l.block, len, physical});
    }
    return true;
  }
  std::string child(block_size_, '\0');
  for (uint16_t i = 0; i < h.entries; ++i, p += sizeof(ExtentIndex)) {
    auto x = load_at<ExtentIndex>(p);
    uint64_t block = x.leaf_lo | uint64_t(x.leaf_hi) << 32;
    if (!visited->insert(block).second)
      return fail(err, where + "block " + std::to_string(block) + " is used twice");
    if (!read_blocks(block, 1, child.data(), err)) return false;
    if (!walk_extent_node(d, child.data(), child.size(), h.depth - 1, visited, out, next_logical, err))
      return false;
  }
  return true;
}

bool Reader::read_data(const InodeData& d, uint64_t offset, size_t len, std::string* out,
                       std::string* err) const {
  uint64_t size = d.size();
  len = offset >= size ? 0 : size_t(std::min<uint64_t>(len, size - offset));
  out->assign(len, '\0');
  if (len == 0) return true;
  std::vector<Extent> map;
  if (!extents(d, &map, err)) return false;
  uint64_t end = offset + len;
  for (const Extent& e : map) {
    uint64_t first = uint64_t(e.logical) * block_size_;
    uint64_t lo = std::max(first, offset);
    uint64_t hi = std::min(first + uint64_t(e.length) * block_size_, end);
    if (lo >= hi) continue;
    if (!pread_exact(e.physical * block_size_ + (lo - first), out->data() + (lo - offset), hi - lo, err))
      return false;
  }
  return true;
}

bool Reader::read_range(uint32_t ino, uint64_t offset, size_t len, std::string* out, std::string* err) {
  InodeData d;
  if (!load(ino, &d, err)) return false;
  if (!S_ISREG(d.in.mode)) return fail(err, "inode " + std::to_string(ino) + " is not a regular file");
  return read_data(d, offset, len, out, err);
}

bool Reader::read(uint32_t ino, std::string* out, std::string* err) {
  InodeData d;
  if (!load(ino, &d, err)) return false;
  if (!S_ISREG(d.in.mode)) return fail(err, "inode " + std::to_string(ino) + " is not a regular file");
  if (d.size() > kMaxWholeRead)
    return fail(err, "inode " + std::to_string(ino) + " is too large to read at once");
  return read_data(d, 0, size_t(d.size()), out, err);
}

bool Reader::readlink(uint32_t ino, std::string* target, std::string* err) {
  InodeData d;
  if (!load(ino, &d, err)) return false;
  std::string where = "inode " + std::to_string(ino);
  if (!S_ISLNK(d.in.mode)) return fail(err, where + " is not a symlink");
  uint64_t size = d.size();
  if (size == 0 || size >= block_size_) return fail(err, where + ": bad symlink length");
  // Short targets live in i_block itself ("fast" symlinks).
  if (size < kFastSymlinkMax && !(d.in.flags & (kExtentsFl | kInlineDataFl))) {
    if (d.in.flags & kEncryptFl) return fail(err, where + ": encrypted symlinks are not supported");
    target->assign(reinterpret_cast<const char*>(d.in.block), size_t(size));
    return true;
  }
  return read_data(d, 0, size_t(size), target, err);
}

bool Reader::xattrs(uint32_t ino, std::vector<Xattr>* out, std::string* err) {
  InodeData d;
  if (!load(ino, &d, err)) return false;
  out->clear();
  std::string where = "inode " + std::to_string(ino) + ": ";
  // In the inode: a magic word after i_extra_isize, then entries whose value
  // offsets count from the first entry.
  std::string_view inside = std::string_view(d.raw).substr(d.extra_end);
  if (inside.size() >= 4 && load_at<uint32_t>(inside.data()) == kXattrMagic &&
      !parse_xattrs(inside, 4, 4, out, err))
    return fail(err, where + *err);
  uint64_t block = d.in.file_acl_lo | (is_64bit_ ? uint64_t(d.in.file_acl_high) << 32 : 0);
  if (block == 0) return true;
  // A block: header, then entries whose value offsets count from the block start.
  std::string data(block_size_, '\0');
  if (!read_blocks(block, 1, data.data(), err)) return false;
  auto h = load_at<XattrBlockHeader>(data.data());
  if (h.magic != kXattrMagic || h.blocks != 1) return fail(err, where + "bad attribute block header");
  if (!parse_xattrs(data, sizeof h, 0, out, err)) return fail(err, where + *err);
  return true;
}

bool Reader::scan_dir(const InodeData& d, std::vector<Entry>* out, std::string* err) const {
  std::string where = "directory inode " + std::to_string(d.ino);
  if (!S_ISDIR(d.in.mode)) return fail(err, "inode " + std::to_string(d.ino) + " is not a directory");
  if (d.size() % block_size_) return fail(err, where + ": size is not a whole number of blocks");
  std::vector<Extent> map;
  if (!extents(d, &map, err)) return false;
  uint64_t nblocks = d.size() / block_size_;
  std::string block(block_size_, '\0');
  out->clear();
  // Hashed directories need no special case: their index blocks look like
  // one empty entry spanning the block (or, in block 0, a long "..").
  for (const Extent& e : map) {
    for (uint64_t b = e.logical; b < uint64_t(e.logical) + e.length && b < nblocks; ++b) {
      if (!read_blocks(e.physical + (b - e.logical), 1, block.data(), err)) return false;
      for (size_t pos = 0; pos < block_size_;) {
        auto bad = [&](const std::string& what) {
          return fail(err, where + " block " + std::to_string(b) + " offset " + std::to_string(pos) + ": " + what);
        };
        if (pos + sizeof(Dirent) > block_size_) return bad("entry overflows the block");
        auto de = load_at<Dirent>(block.data() + pos);
        size_t rec_len = de.rec_len;
        if (block_size_ == 65536)  // rec_len's low two bits hold bits 16-17; 0 or 65535 mean 64 KiB
          rec_len = (rec_len == 0 || rec_len == 65535) ? 65536 : (rec_len & 65532) | (rec_len & 3) << 16;
        size_t name_len = filetype_ ? de.name_len : de.name_len | size_t(de.file_type) << 8;
        if (rec_len < sizeof de || rec_len % 4 || rec_len > block_size_ - pos ||
            sizeof de + name_len > rec_len)
          return bad("bad rec_len " + std::to_string(rec_len));
        if (de.inode) {
          if (de.inode > inodes_count_ || name_len == 0) return bad("bad entry");
          out->push_back({block.substr(pos + sizeof de, name_len), de.inode,
                          filetype_ ? de.file_type : uint8_t(kFtUnknown)});
        }
        pos += rec_len;
      }
    }
  }
  return true;
}

bool Reader::list(uint32_t ino, std::vector<Entry>* out, std::string* err) {
  InodeData d;
  if (!load(ino, &d, err) || !scan_dir(d, out, err)) return false;
  std::erase_if(*out, [](const Entry& e) { return e.name == "." || e.name == ".."; });
  return true;
}

bool Reader::find(const InodeData& dir, std::string_view name, uint32_t* ino, bool* found,
                  std::string* err) const {
  std::vector<Entry> entries;
  if (!scan_dir(dir, &entries, err)) return false;
  auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == name; });
  *found = it != entries.end();
  if (*found) *ino = it->ino;
  return true;
}

bool Reader::lookup(std::string_view path, uint32_t* ino, std::string* err) {
  return resolve(kRootIno, path, 0, ino, err);
}

bool Reader::resolve(uint32_t start, std::string_view path, int depth, uint32_t* ino,
                     std::string* err) {
  uint32_t cur = path.starts_with('/') ? kRootIno : start;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = std::min(path.find('/', pos), path.size());
    std::string_view part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    std::string so_far(path.substr(0, slash));
    InodeData d;
    if (!load(cur, &d, err)) return false;
    if (!S_ISDIR(d.in.mode)) return fail(err, "'" + so_far + "': a parent is not a directory");
    uint32_t next;
    bool found;
    if (!find(d, part, &next, &found, err)) return false;
    if (!found) return fail(err, "'" + so_far + "' does not exist");
    bool last = path.find_first_not_of('/', slash) == std::string_view::npos;
    if (!last) {
      InodeData n;
      if (!load(next, &n, err)) return false;
      if (S_ISLNK(n.in.mode)) {
        if (depth >= kMaxSymlinkDepth) return fail(err, "'" + so_far + "': too many levels of symbolic links");
        std::string target;
        if (!readlink(next, &target, err) || !resolve(cur, target, depth + 1, &next, err)) return false;
      }
    }
    cur = next;
  }
  *ino = cur;
  return true;
}

}  // namespace ctk::ext4
