#include "ext4/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "base/sha256.h"
#include "ext4/acl.h"
#include "ext4/format.h"
#include "ext4/hash.h"

namespace ctk::ext4 {

namespace {

// Large enough for few system calls, small enough that data is still in the
// CPU cache when pwrite copies it (8 MiB measured 1.7x slower than 1 MiB).
constexpr size_t kOutputBuffer = 1 << 20;
// Descriptor blocks reserved in automatic mode at least: 16 blocks describe
// 2048 groups, 256 GiB. Unused ones stay free blocks.
constexpr uint64_t kMinGdtReserve = 16;
constexpr uint64_t kHeadroomMinBlocks = (64 << 20) / kBlockSize;

uint8_t file_type_of(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return kFtReg;
    case S_IFDIR: return kFtDir;
    case S_IFCHR: return kFtChr;
    case S_IFBLK: return kFtBlk;
    case S_IFIFO: return kFtFifo;
    case S_IFSOCK: return kFtSock;
    case S_IFLNK: return kFtSymlink;
  }
  return kFtUnknown;
}

uint32_t dirent_size(size_t name_len) { return uint32_t(round_up(8 + name_len, 4)); }

// ext4 stores seconds as 32 bits plus two epoch bits in the *_extra field,
// whose upper 30 bits hold nanoseconds.
void encode_time(Timestamp t, uint32_t* sec, uint32_t* extra) {
  *sec = uint32_t(t.sec);
  uint32_t epoch = uint32_t((t.sec - int64_t(int32_t(t.sec))) >> 32) & 3;
  *extra = epoch | (t.nsec << 2);
}

struct XattrName {
  uint8_t index;
  std::string_view suffix;
};

bool xattr_name(std::string_view full, XattrName* out) {
  static const struct {
    std::string_view prefix;
    uint8_t index;
  } kPrefixes[] = {
      {"user.", 1}, {"system.posix_acl_access", 2}, {"system.posix_acl_default", 3},
      {"trusted.", 4}, {"security.", 6}, {"system.", 7},
  };
  for (const auto& p : kPrefixes) {
    if (full.starts_with(p.prefix)) {
      *out = {p.index, full.substr(p.prefix.size())};
      return true;
    }
  }
  return false;
}

// Attributes in the order ext4 keeps them sorted: index, name length, name.
struct SortedXattr {
  XattrName name;
  std::string value;  // as stored on disk
  uint32_t entry_size() const { return 16 + uint32_t(round_up(name.suffix.size(), 4)); }
  uint32_t value_size() const { return uint32_t(round_up(value.size(), 4)); }
};

bool sorted_xattrs(const Node& node, std::vector<SortedXattr>* out, std::string* err) {
  out->clear();
  for (const Xattr& x : node.xattrs) {
    XattrName n;
    if (!xattr_name(x.name, &n)) {
      *err = "unsupported extended attribute namespace '" + x.name + "'";
      return false;
    }
    if (n.suffix.size() > 255) {
      *err = "extended attribute name too long '" + x.name + "'";
      return false;
    }
    std::string value = x.value;
    if ((n.index == 2 || n.index == 3) && !acl_to_disk(x.value, &value, err)) {
      *err = "'" + x.name + "': " + *err;
      return false;
    }
    out->push_back({n, std::move(value)});
  }
  std::sort(out->begin(), out->end(), [](const SortedXattr& a, const SortedXattr& b) {
    if (a.name.index != b.name.index) return a.name.index < b.name.index;
    if (a.name.suffix.size() != b.name.suffix.size())
      return a.name.suffix.size() < b.name.suffix.size();
    return a.name.suffix < b.name.suffix;
  });
  return true;
}

// Writes entries from the start of `region` and values from its end;
// value offsets are relative to `offs_base`. Returns the entry hashes.
std::vector<uint32_t> pack_xattrs(std::span<const SortedXattr> attrs, uint8_t* region,
                                  size_t region_size, size_t offs_base) {
  std::vector<uint32_t> hashes;
  size_t entry_pos = 0;
  size_t value_end = region_size;
  for (const SortedXattr& a : attrs) {
    value_end -= a.value_size();
    XattrEntry e = {};
    e.name_len = uint8_t(a.name.suffix.size());
    e.name_index = a.name.index;
    e.value_offs = a.value.empty() ? 0 : uint16_t(value_end + offs_base);
    e.value_size = uint32_t(a.value.size());
    e.hash = xattr_entry_hash(a.name.suffix, a.value);
    hashes.push_back(e.hash);
    std::memcpy(region + entry_pos, &e, sizeof e);
    std::memcpy(region + entry_pos + sizeof e, a.name.suffix.data(), a.name.suffix.size());
    std::memcpy(region + value_end, a.value.data(), a.value.size());
    entry_pos += a.entry_size();
  }
  return hashes;
}

// The inode's i_block for an extent-mapped file: the root of its tree.
void inode_extent_root(const Node& n, uint32_t out[15]) {
  if (n.extent_root) {
    std::memcpy(out, n.extent_root->data(), 60);
    return;
  }
  char* p = reinterpret_cast<char*>(out);
  std::memset(p, 0, 60);
  ExtentHeader h = {kExtentMagic, uint16_t(n.extents.size()), 4, 0, 0};
  std::memcpy(p, &h, sizeof h);
  for (size_t i = 0; i < n.extents.size(); ++i) {
    const Extent& e = n.extents[i];
    ExtentLeaf l = {e.logical, uint16_t(e.length), uint16_t(e.physical >> 32), uint32_t(e.physical)};
    std::memcpy(p + 12 + i * 12, &l, sizeof l);
  }
}

constexpr size_t kInlineXattrSpace = kInodeSize - 128 - kExtraIsize - 4;  // after the magic
constexpr size_t kBlockXattrSpace = kBlockSize - sizeof(XattrBlockHeader);

}  // namespace

// Coalesces the image's writes (mostly sequential) into large buffers that an
// I/O thread writes, together with in-kernel copies of whole files: the
// kernel's copying into the page cache overlaps with parsing the next entries.
// At most kBuffers buffers exist, which bounds memory.
class Writer::Output {
 public:
  explicit Output(int fd) : fd_(fd), io_([this] { run(); }) {
    for (int i = 0; i < kBuffers; ++i) free_.emplace_back();
    buf_ = take_buffer();
  }
  ~Output() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    io_.join();
  }

  bool write_at(uint64_t pos, const void* data, size_t len, std::string* err) {
    bool extends = len_ > 0 && pos >= start_ && pos <= start_ + len_ + kBlockSize &&
                   pos + len <= start_ + kOutputBuffer;
    if (!extends) {
      if (!submit_buffer(err)) return false;
      if (len > kOutputBuffer) {  // large: in pieces, each a buffer
        auto p = static_cast<const char*>(data);
        for (size_t done = 0; done < len; done += kOutputBuffer) {
          size_t n = std::min(kOutputBuffer, len - done);
          if (!write_at(pos + done, p + done, n, err) || !submit_buffer(err)) return false;
        }
        return true;
      }
      start_ = pos;
    }
    size_t at = pos - start_;
    if (at > len_) std::memset(buf_.data() + len_, 0, at - len_);
    std::memcpy(buf_.data() + at, data, len);
    len_ = std::max(len_, at + len);
    return true;
  }

  // Copies len bytes at in_off of in_fd to pos in the image, in the kernel.
  bool copy_range(int in_fd, uint64_t in_off, uint64_t pos, uint64_t len, std::string* err) {
    return enqueue(Job{pos, {}, 0, in_fd, in_off, len}, err);
  }

  // Waits until everything queued is written.
  bool flush(std::string* err) {
    if (!submit_buffer(err)) return false;
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
    return check(err);
  }

 private:
  static constexpr int kBuffers = 4;
  struct Job {
    uint64_t pos;
    std::vector<char> buf;  // data to write (len bytes), or empty for a copy
    size_t len;
    int in_fd;  // copy: from this file
    uint64_t in_off;
    uint64_t copy_len;
  };

  std::vector<char> take_buffer() {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return !free_.empty(); });
    std::vector<char> b = std::move(free_.back());
    free_.pop_back();
    b.resize(kOutputBuffer);
    return b;
  }

  bool submit_buffer(std::string* err) {
    if (len_ == 0) return true;
    Job job{start_, std::move(buf_), len_, -1, 0, 0};
    len_ = 0;
    if (!enqueue(std::move(job), err)) return false;
    buf_ = take_buffer();
    return true;
  }

  bool enqueue(Job job, std::string* err) {
    {
      std::lock_guard lock(mu_);
      if (!check(err)) return false;
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

  bool check(std::string* err) {  // mu_ held
    if (error_.empty()) return true;
    *err = error_;
    return false;
  }

  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
      }
      std::string failure = job.in_fd >= 0 ? copy(job) : write(job);
      {
        std::lock_guard lock(mu_);
        if (error_.empty()) error_ = failure;
        if (job.in_fd < 0) free_.push_back(std::move(job.buf));
        busy_ = false;
      }
      idle_.notify_all();
    }
  }

  std::string write(const Job& job) {
    const char* p = job.buf.data();
    size_t len = job.len;
    off_t pos = off_t(job.pos);
    while (len > 0) {
      ssize_t n = ::pwrite(fd_, p, len, pos);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return sys_error("writing the image");
      p += n;
      pos += n;
      len -= size_t(n);
    }
    return "";
  }

  std::string copy(const Job& job) {
    loff_t in = loff_t(job.in_off), out = loff_t(job.pos);
    uint64_t left = job.copy_len;
    while (left > 0) {
      ssize_t n = ::copy_file_range(job.in_fd, &in, fd_, &out, left, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
        // No in-kernel copy between these files: through a buffer instead.
        std::vector<char> buf(std::min<uint64_t>(left, kOutputBuffer));
        while (left > 0) {
          ssize_t r = ::pread(job.in_fd, buf.data(), std::min<uint64_t>(left, buf.size()), in);
          if (r <= 0) return r < 0 ? sys_error("reading a layer") : "layer ends early";
          Job piece{uint64_t(out), std::move(buf), size_t(r), -1, 0, 0};
          std::string failure = write(piece);
          if (!failure.empty()) return failure;
          buf = std::move(piece.buf);
          in += r;
          out += r;
          left -= uint64_t(r);
        }
        return "";
      }
      if (n < 0) return sys_error("copying file data into the image");
      if (n == 0) return "layer ends early";
      left -= uint64_t(n);
    }
    return "";
  }

  int fd_;
  std::vector<char> buf_;  // being filled
  uint64_t start_ = 0;
  size_t len_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;    // work for the I/O thread
  std::condition_variable idle_;  // a buffer came back / the queue drained
  std::deque<Job> queue_;
  std::vector<std::vector<char>> free_;
  bool busy_ = false, stop_ = false;
  std::string error_;
  std::thread io_;
};

struct Writer::Layout {
  uint64_t blocks;
  uint32_t groups;
  uint32_t inodes_per_group;
  uint32_t itable_blocks;   // per group
  uint64_t block_bitmaps;   // first of `groups` consecutive blocks
  uint64_t inode_bitmaps;
  uint64_t inode_tables;    // first of groups * itable_blocks
};

Writer::Writer() = default;
Writer::~Writer() = default;

bool Writer::begin(int fd, const WriterOptions& options, std::string* err) {
  options_ = options;
  out_ = std::make_unique<Output>(fd);
  if (options.size) {
    max_blocks_ = options.size / kBlockSize;
    uint64_t groups = div_round_up(max_blocks_, kBlocksPerGroup);
    gdt_reserved_ = div_round_up(groups, kDescsPerBlock);
    if (max_blocks_ < 64 || max_blocks_ > UINT32_MAX) {
      *err = "--size must be between 256 KiB and 16 TiB";
      return false;
    }
  } else {
    uint64_t hint_groups = div_round_up(options.size_hint / kBlockSize * 2, kBlocksPerGroup);
    gdt_reserved_ = std::max(kMinGdtReserve, div_round_up(hint_groups, kDescsPerBlock));
  }
  cursor_ = 1 + gdt_reserved_;
  Node* root = tree_.root();
  root->mode = S_IFDIR | 0755;
  return true;
}

bool Writer::reserve_blocks(uint64_t count, uint64_t* first, std::string* err) {
  if (max_blocks_ && cursor_ + count > max_blocks_) {
    *err = "image full: --size " + std::to_string(options_.size) + " is too small";
    return false;
  }
  if (cursor_ + count > UINT32_MAX) {
    *err = "image would exceed 16 TiB";
    return false;
  }
  *first = cursor_;
  cursor_ += count;
  return true;
}

bool Writer::write_block_range(uint64_t first, const void* data, size_t len, std::string* err) {
  return out_->write_at(first * kBlockSize, data, len, err);
}

void Writer::begin_file(Node* node) {
  file_ = node;
  file_block_ = -1;
  node->extents.clear();
}

bool Writer::write(uint64_t offset, const void* data, size_t len, std::string* err) {
  auto p = static_cast<const char*>(data);
  stats_.data_bytes += len;
  while (len > 0) {
    uint64_t lblock = offset / kBlockSize;
    if (lblock > UINT32_MAX - 1) {
      *err = "file larger than 16 TiB";
      return false;
    }
    if (int64_t(lblock) != file_block_) {
      uint64_t phys;
      if (!reserve_blocks(1, &phys, err)) return false;
      std::vector<Extent>& ext = file_->extents;
      if (!ext.empty() && ext.back().logical + ext.back().length == lblock &&
          ext.back().physical + ext.back().length == phys && ext.back().length < kMaxExtentLen) {
        ++ext.back().length;
      } else {
        ext.push_back({uint32_t(lblock), 1, phys});
      }
      file_block_ = int64_t(lblock);
    }
    const Extent& last = file_->extents.back();
    uint64_t phys = last.physical + (lblock - last.logical);
    size_t within = offset % kBlockSize;
    size_t n = std::min<size_t>(len, kBlockSize - within);
    if (!out_->write_at(phys * kBlockSize + within, p, n, err)) return false;
    p += n;
    offset += n;
    len -= n;
  }
  return true;
}

void Writer::end_file() { file_ = nullptr; }

bool Writer::drain(std::string* err) { return out_->flush(err); }

bool Writer::copy_file(Node* node, int fd, uint64_t offset, uint64_t size, std::string* err) {
  // The copy runs later on the I/O thread: a layer too short for this file
  // must be caught now, while the error can still name it.
  struct stat st;
  if (::fstat(fd, &st) != 0 || uint64_t(st.st_size) < offset + size) {
    *err = "truncated archive: file data ends early";
    return false;
  }
  uint64_t count = div_round_up(size, kBlockSize), first;
  if (count > UINT32_MAX - 1) {
    *err = "file larger than 16 TiB";
    return false;
  }
  if (!reserve_blocks(count, &first, err)) return false;
  node->extents.clear();
  for (uint64_t done = 0; done < count; done += kMaxExtentLen)
    node->extents.push_back({uint32_t(done), uint32_t(std::min<uint64_t>(kMaxExtentLen, count - done)),
                             first + done});
  stats_.data_bytes += size;
  return out_->copy_range(fd, offset, first * kBlockSize, size, err);
}

// Directory contents: "." and ".." then children; one block is linear, more
// become a hashed (htree) directory so lookups stay fast in huge directories.
bool Writer::build_directory(Node* dir, std::string* err) {
  struct Entry {
    std::string_view name;
    uint32_t ino;
    uint8_t type;
    DirHash hash;
  };
  std::vector<Entry> entries;
  entries.reserve(dir->children->size());
  size_t total = dirent_size(1) + dirent_size(2);
  for (const auto& [name, e] : *dir->children) {
    entries.push_back({name, e.node->ino, file_type_of(e.node->mode), {}});
    total += dirent_size(name.size());
  }

  auto put = [](char* block, size_t* used, uint32_t ino, std::string_view name, uint8_t type) {
    Dirent d = {ino, uint16_t(dirent_size(name.size())), uint8_t(name.size()), type};
    std::memcpy(block + *used, &d, sizeof d);
    std::memcpy(block + *used + sizeof d, name.data(), name.size());
    size_t at = *used;
    *used += d.rec_len;
    return at;
  };
  // The last entry of a block covers the rest of it.
  auto close_block = [](char* block, size_t last, size_t used) {
    Dirent d;
    std::memcpy(&d, block + last, sizeof d);
    d.rec_len = uint16_t(d.rec_len + (kBlockSize - used));
    std::memcpy(block + last, &d, sizeof d);
  };

  std::vector<char> blocks;
  if (total <= kBlockSize) {
    blocks.assign(kBlockSize, 0);
    size_t used = 0, last = 0;
    put(blocks.data(), &used, dir->ino, ".", kFtDir);
    last = put(blocks.data(), &used, dir->parent->ino, "..", kFtDir);
    for (const Entry& e : entries) last = put(blocks.data(), &used, e.ino, e.name, e.type);
    close_block(blocks.data(), last, used);
  } else {
    for (Entry& e : entries) e.hash = dir_hash_half_md4(e.name, hash_seed_);
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      if (a.hash.major != b.hash.major) return a.hash.major < b.hash.major;
      return a.name < b.name;
    });
    // Leaves, each with the hash its index entry carries. A run of equal
    // hashes that crosses a leaf boundary marks the next leaf's hash with the
    // low "continued" bit.
    std::vector<std::vector<char>> leaves;
    std::vector<uint32_t> leaf_hash;
    size_t used = kBlockSize, last = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (used + dirent_size(e.name.size()) > kBlockSize) {
        if (!leaves.empty()) close_block(leaves.back().data(), last, used);
        leaves.emplace_back(kBlockSize, 0);
        uint32_t h = e.hash.major;
        if (i > 0 && entries[i - 1].hash.major == h) h |= 1;
        leaf_hash.push_back(h);
        used = 0;
      }
      last = put(leaves.back().data(), &used, e.ino, e.name, e.type);
    }
    close_block(leaves.back().data(), last, used);

    uint8_t levels = 0;
    std::vector<std::vector<char>> nodes;
    std::vector<uint32_t> root_hash = leaf_hash;
    std::vector<uint32_t> root_block;
    size_t nleaves = leaves.size();
    if (nleaves > kDxRootLimit) {
      levels = 1;
      size_t nnodes = div_round_up(nleaves, kDxNodeLimit);
      if (nnodes > kDxRootLimit) {
        *err = "directory too large for a two-level hash index";
        return false;
      }
      root_hash.clear();
      for (size_t n = 0; n < nnodes; ++n) {
        std::vector<char> node(kBlockSize, 0);
        Dirent fake = {0, uint16_t(kBlockSize), 0, 0};
        std::memcpy(node.data(), &fake, sizeof fake);
        size_t first = n * kDxNodeLimit;
        size_t count = std::min<size_t>(kDxNodeLimit, nleaves - first);
        DxCountLimit cl = {uint16_t(kDxNodeLimit), uint16_t(count)};
        std::memcpy(node.data() + 8, &cl, sizeof cl);
        for (size_t k = 0; k < count; ++k) {
          uint32_t block = uint32_t(1 + nnodes + first + k);
          DxEntry de = {leaf_hash[first + k], block};
          if (k == 0) std::memcpy(node.data() + 8 + 4, &block, 4);
          else std::memcpy(node.data() + 8 + k * 8, &de, sizeof de);
        }
        root_hash.push_back(leaf_hash[first]);
        root_block.push_back(uint32_t(1 + n));
        nodes.push_back(std::move(node));
      }
    } else {
      for (size_t k = 0; k < nleaves; ++k) root_block.push_back(uint32_t(1 + k));
    }

    std::vector<char> root(kBlockSize, 0);
    Dirent dot = {dir->ino, 12, 1, kFtDir};
    std::memcpy(root.data(), &dot, sizeof dot);
    root[8] = '.';
    Dirent dotdot = {dir->parent->ino, uint16_t(kBlockSize - 12), 2, kFtDir};
    std::memcpy(root.data() + 12, &dotdot, sizeof dotdot);
    root[20] = '.';
    root[21] = '.';
    DxRootInfo info = {0, kHashHalfMd4, 8, levels, 0};
    std::memcpy(root.data() + 24, &info, sizeof info);
    DxCountLimit cl = {uint16_t(kDxRootLimit), uint16_t(root_block.size())};
    std::memcpy(root.data() + 32, &cl, sizeof cl);
    for (size_t k = 0; k < root_block.size(); ++k) {
      DxEntry de = {root_hash[k], root_block[k]};
      if (k == 0) std::memcpy(root.data() + 32 + 4, &root_block[0], 4);
      else std::memcpy(root.data() + 32 + k * 8, &de, sizeof de);
    }

    blocks.reserve((1 + nodes.size() + leaves.size()) * kBlockSize);
    blocks.insert(blocks.end(), root.begin(), root.end());
    for (auto& n : nodes) blocks.insert(blocks.end(), n.begin(), n.end());
    for (auto& l : leaves) blocks.insert(blocks.end(), l.begin(), l.end());
    dir->flags |= kIndexFl;
  }

  uint64_t count = blocks.size() / kBlockSize, first;
  if (!reserve_blocks(count, &first, err)) return false;
  if (!write_block_range(first, blocks.data(), blocks.size(), err)) return false;
  dir->extents.clear();
  for (uint64_t done = 0; done < count; done += kMaxExtentLen)
    dir->extents.push_back({uint32_t(done), uint32_t(std::min<uint64_t>(kMaxExtentLen, count - done)),
                            first + done});
  dir->size = blocks.size();
  return true;
}

// Up to four extents live in the inode; more need leaf blocks and, above
// four leaves, index blocks: a tree as deep as the extent count requires.
bool Writer::build_extent_tree(Node* node, std::string* err) {
  node->flags |= kExtentsFl;
  if (node->extents.size() <= 4) return true;
  constexpr uint16_t kPerBlock = (kBlockSize - sizeof(ExtentHeader)) / sizeof(ExtentLeaf);  // 340

  struct Child {
    uint32_t first_logical;
    uint64_t block;
  };
  std::vector<Child> level;
  uint16_t depth = 0;
  std::vector<char> block(kBlockSize);
  // Leaves.
  for (size_t i = 0; i < node->extents.size(); i += kPerBlock) {
    size_t n = std::min<size_t>(kPerBlock, node->extents.size() - i);
    std::fill(block.begin(), block.end(), 0);
    ExtentHeader h = {kExtentMagic, uint16_t(n), kPerBlock, 0, 0};
    std::memcpy(block.data(), &h, sizeof h);
    for (size_t k = 0; k < n; ++k) {
      const Extent& e = node->extents[i + k];
      ExtentLeaf l = {e.logical, uint16_t(e.length), uint16_t(e.physical >> 32), uint32_t(e.physical)};
      std::memcpy(block.data() + sizeof h + k * sizeof l, &l, sizeof l);
    }
    uint64_t at;
    if (!reserve_blocks(1, &at, err) || !write_block_range(at, block.data(), kBlockSize, err))
      return false;
    level.push_back({node->extents[i].logical, at});
    ++node->tree_blocks;
  }
  depth = 1;
  auto put_index = [](char* p, const Child& c) {
    ExtentIndex x = {c.first_logical, uint32_t(c.block), uint16_t(c.block >> 32), 0};
    std::memcpy(p, &x, sizeof x);
  };
  while (level.size() > 4) {
    std::vector<Child> up;
    for (size_t i = 0; i < level.size(); i += kPerBlock) {
      size_t n = std::min<size_t>(kPerBlock, level.size() - i);
      std::fill(block.begin(), block.end(), 0);
      ExtentHeader h = {kExtentMagic, uint16_t(n), kPerBlock, depth, 0};
      std::memcpy(block.data(), &h, sizeof h);
      for (size_t k = 0; k < n; ++k) put_index(block.data() + sizeof h + k * 12, level[i + k]);
      uint64_t at;
      if (!reserve_blocks(1, &at, err) || !write_block_range(at, block.data(), kBlockSize, err))
        return false;
      up.push_back({level[i].first_logical, at});
      ++node->tree_blocks;
    }
    level = std::move(up);
    ++depth;
  }
  node->extent_root = std::make_unique<std::array<uint32_t, 15>>();
  char* root = reinterpret_cast<char*>(node->extent_root->data());
  ExtentHeader h = {kExtentMagic, uint16_t(level.size()), 4, depth, 0};
  std::memcpy(root, &h, sizeof h);
  for (size_t k = 0; k < level.size(); ++k) put_index(root + 12 + k * 12, level[k]);
  return true;
}

// Attributes go in the inode while they fit (in sorted order); the rest
// spill to one attribute block.
bool Writer::build_xattrs(Node* node, std::string* err) {
  if (node->xattrs.empty()) return true;
  std::vector<SortedXattr> attrs;
  if (!sorted_xattrs(*node, &attrs, err)) return false;
  size_t used = 4;  // the terminating zero word
  size_t n = 0;
  for (; n < attrs.size(); ++n) {
    size_t need = attrs[n].entry_size() + attrs[n].value_size();
    if (used + need > kInlineXattrSpace) break;
    used += need;
  }
  node->xattrs_inline = uint16_t(n);
  if (n == attrs.size()) return true;

  std::span<const SortedXattr> rest(attrs.begin() + n, attrs.end());
  size_t need = 4;
  for (const SortedXattr& a : rest) need += a.entry_size() + a.value_size();
  if (need > kBlockXattrSpace) {
    *err = "extended attributes too large (" + std::to_string(need) + " bytes; a 4 KiB block holds " +
           std::to_string(kBlockXattrSpace) + ")";
    return false;
  }
  std::vector<uint8_t> block(kBlockSize, 0);
  std::vector<uint32_t> hashes = pack_xattrs(rest, block.data() + sizeof(XattrBlockHeader),
                                             kBlockXattrSpace, sizeof(XattrBlockHeader));
  XattrBlockHeader h = {kXattrMagic, 1, 1, xattr_block_hash(hashes), 0, {}};
  std::memcpy(block.data(), &h, sizeof h);
  uint64_t at;
  if (!reserve_blocks(1, &at, err) || !write_block_range(at, block.data(), kBlockSize, err))
    return false;
  node->xattr_block = uint32_t(at);
  return true;
}

// Targets under 60 bytes live in i_block ("fast" symlinks); longer ones get a block.
bool Writer::build_symlink(Node* node, std::string* err) {
  node->size = node->symlink.size();
  if (node->symlink.size() < 60) return true;
  if (node->symlink.size() >= kBlockSize) {
    *err = "symlink target longer than 4095 bytes";
    return false;
  }
  std::vector<char> block(kBlockSize, 0);
  std::memcpy(block.data(), node->symlink.data(), node->symlink.size());
  uint64_t at;
  if (!reserve_blocks(1, &at, err) || !write_block_range(at, block.data(), kBlockSize, err))
    return false;
  node->extents = {{0, 1, at}};
  node->flags |= kExtentsFl;
  return true;
}

bool Writer::build_journal(uint64_t estimate_blocks, std::string* err) {
  // Sizes as mke2fs picks them for a filesystem of this size.
  uint64_t jblocks = estimate_blocks < 32768 ? 1024
                     : estimate_blocks < 256 * 1024 ? 4096
                     : estimate_blocks < 512 * 1024 ? 8192
                     : estimate_blocks < 4096 * 1024 ? 16384
                                                     : 32768;
  uint64_t first;
  if (!reserve_blocks(jblocks, &first, err)) return false;
  auto be = [](uint32_t v) { return __builtin_bswap32(v); };
  std::vector<uint32_t> sb(kBlockSize / 4, 0);
  sb[0] = be(kJournalMagic);
  sb[1] = be(kJournalSuperblockV2);
  sb[3] = be(kBlockSize);            // s_blocksize
  sb[4] = be(uint32_t(jblocks));     // s_maxlen
  sb[5] = be(1);                     // s_first
  sb[6] = be(1);                     // s_sequence
  std::memcpy(&sb[12], uuid_.data(), 16);  // s_uuid at 0x30
  sb[16] = be(1);                    // s_nr_users at 0x40
  std::memcpy(reinterpret_cast<char*>(sb.data()) + 0x100, uuid_.data(), 16);  // s_users[0]
  if (!write_block_range(first, sb.data(), kBlockSize, err)) return false;

  journal_ = tree_.make(S_IFREG | 0600);
  journal_->links = 1;
  journal_->size = jblocks * kBlockSize;
  for (uint64_t done = 0; done < jblocks; done += kMaxExtentLen)
    journal_->extents.push_back(
        {uint32_t(done), uint32_t(std::min<uint64_t>(kMaxExtentLen, jblocks - done)), first + done});
  return build_extent_tree(journal_, err);
}

bool Writer::compute_layout(uint32_t inodes_used, Layout* L, std::string* err) {
  auto fill = [&](uint64_t blocks, uint64_t inodes_wanted) {
    L->blocks = blocks;
    L->groups = uint32_t(div_round_up(blocks, kBlocksPerGroup));
    uint64_t ipg = round_up(div_round_up(inodes_wanted, L->groups), kInodesPerBlock);
    L->inodes_per_group = uint32_t(std::clamp<uint64_t>(ipg, kInodesPerBlock, kBlocksPerGroup));
    L->itable_blocks = L->inodes_per_group / kInodesPerBlock;
    return uint64_t(L->groups) * (2 + L->itable_blocks);  // metadata blocks
  };
  uint64_t used = cursor_;
  if (max_blocks_) {
    // As mke2fs: one inode per 16 KiB, but never fewer than the tree needs.
    uint64_t wanted = std::max<uint64_t>(max_blocks_ / 4, inodes_used + 16);
    uint64_t meta = fill(max_blocks_, wanted);
    if (uint64_t(L->inodes_per_group) * L->groups < inodes_used) {
      *err = "--size too small for " + std::to_string(inodes_used) + " inodes";
      return false;
    }
    if (used + meta > max_blocks_) {
      *err = "--size " + std::to_string(options_.size) + " is too small: the content needs at least " +
             std::to_string((used + meta) * kBlockSize / (1 << 20) + 1) + " MiB";
      return false;
    }
  } else {
    // Room to grow for a writable root: a quarter more space (at least 64
    // MiB) and inodes. The image is sparse, so unused room costs no disk.
    uint64_t headroom = std::max<uint64_t>(used / 4, kHeadroomMinBlocks);
    uint64_t wanted = uint64_t(inodes_used) + inodes_used / 4 + 1024;
    uint64_t blocks = used + headroom;
    for (;;) {
      uint64_t meta = fill(blocks, wanted);
      if (uint64_t(L->inodes_per_group) * L->groups < wanted) {
        blocks = div_round_up(wanted, kBlocksPerGroup) * kBlocksPerGroup;
        continue;
      }
      if (used + meta + headroom <= blocks) break;
      blocks = used + meta + headroom;
    }
    if (blocks > UINT32_MAX) {
      *err = "image would exceed 16 TiB";
      return false;
    }
  }
  if (div_round_up(L->groups, kDescsPerBlock) > gdt_reserved_) {
    *err = "image needs more group descriptors than were reserved; pass --size";
    return false;
  }
  L->block_bitmaps = cursor_;
  L->inode_bitmaps = L->block_bitmaps + L->groups;
  L->inode_tables = L->inode_bitmaps + L->groups;
  cursor_ = L->inode_tables + uint64_t(L->groups) * L->itable_blocks;
  return true;
}

bool Writer::finish(std::span<const uint8_t> seed, std::string* err) {
  metadata_start_ = cursor_;
  // Identity from the input: UUID and directory-hash seed.
  {
    std::array<uint8_t, 32> digest = sha256(seed);
    std::memcpy(uuid_.data(), digest.data(), 16);
    std::memcpy(hash_seed_, digest.data() + 16, 16);
    if (options_.uuid) uuid_ = *options_.uuid;
    uuid_[6] = uint8_t((uuid_[6] & 0x0f) | 0x50);  // name-based UUID
    uuid_[8] = uint8_t((uuid_[8] & 0x3f) | 0x80);
  }

  Node* root = tree_.root();
  Node* lost = tree_.lookup(root, "lost+found");
  if (!lost) {
    lost = tree_.make(S_IFDIR | 0700);
    lost->mtime = lost->atime = lost->ctime = lost->crtime = root->mtime;
    tree_.link(root, "lost+found", lost, 0);
  } else if (!lost->is_dir()) {
    *err = "'lost+found' in the root must be a directory";
    return false;
  }

  // Inode numbers: depth-first in name order, so a directory's entries sit
  // together in the inode table and the numbering is reproducible.
  by_ino_.assign(kFirstIno + 1, nullptr);
  by_ino_[kRootIno] = root;
  root->ino = kRootIno;
  lost->ino = kFirstIno;
  by_ino_[kFirstIno] = lost;
  std::vector<Node*> dirs;
  std::vector<Node*> stack = {root};
  while (!stack.empty()) {
    Node* dir = stack.back();
    stack.pop_back();
    dirs.push_back(dir);
    size_t mark = stack.size();
    for (auto& [name, e] : *dir->children) {
      Node* n = e.node;
      if (n->ino == 0) {
        n->ino = uint32_t(by_ino_.size());
        by_ino_.push_back(n);
        newest_mtime_ = std::max(newest_mtime_, n->mtime.sec);
      }
      if (n->is_dir()) stack.push_back(n);
    }
    std::reverse(stack.begin() + ptrdiff_t(mark), stack.end());
  }
  if (by_ino_.size() - 1 > UINT32_MAX / 2) {
    *err = "too many files";
    return false;
  }

  uint64_t estimate = cursor_ + cursor_ / 4 + kHeadroomMinBlocks;
  if (options_.journal) {
    if (!build_journal(max_blocks_ ? max_blocks_ : estimate, err)) return false;
    by_ino_[kJournalIno] = journal_;
    journal_->ino = kJournalIno;
  }

  for (Node* dir : dirs)
    if (!build_directory(dir, err)) return false;
  for (size_t ino = 1; ino < by_ino_.size(); ++ino) {
    Node* n = by_ino_[ino];
    if (!n || n == journal_) continue;
    if (S_ISLNK(n->mode) && !build_symlink(n, err)) return false;
    if ((S_ISREG(n->mode) || n->is_dir()) && !build_extent_tree(n, err)) return false;
    if (!build_xattrs(n, err)) return false;
  }

  Layout layout;
  if (!compute_layout(uint32_t(by_ino_.size() - 1), &layout, err)) return false;
  if (!write_inode_tables(layout, err)) return false;
  if (!write_bitmaps_and_descriptors(layout, err)) return false;
  if (!out_->flush(err)) return false;
  stats_.blocks = layout.blocks;
  stats_.inodes = uint32_t(by_ino_.size() - 1);
  return true;
}

bool Writer::write_inode_tables(const Layout& L, std::string* err) {
  uint32_t last_ino = uint32_t(by_ino_.size() - 1);
  std::vector<SortedXattr> attrs;
  std::vector<char> table;
  for (uint32_t g = 0; g < L.groups; ++g) {
    uint32_t first = g * L.inodes_per_group + 1;
    if (first > last_ino) break;
    uint32_t count = std::min(L.inodes_per_group, last_ino - first + 1);
    table.assign(round_up(uint64_t(count) * kInodeSize, kBlockSize), 0);
    for (uint32_t k = 0; k < count; ++k) {
      Node* n = by_ino_[first + k];
      if (!n) continue;
      Inode in = {};
      in.mode = uint16_t(n->mode);
      in.uid = uint16_t(n->uid);
      in.uid_high = uint16_t(n->uid >> 16);
      in.gid = uint16_t(n->gid);
      in.gid_high = uint16_t(n->gid >> 16);
      in.size_lo = uint32_t(n->size);
      in.size_high = uint32_t(n->size >> 32);
      encode_time(n->atime, &in.atime, &in.atime_extra);
      encode_time(n->ctime, &in.ctime, &in.ctime_extra);
      encode_time(n->mtime, &in.mtime, &in.mtime_extra);
      encode_time(n->crtime, &in.crtime, &in.crtime_extra);
      if (n->is_dir()) {
        uint32_t subdirs = 0;
        for (auto& [name, e] : *n->children) subdirs += e.node->is_dir();
        in.links_count = uint16_t(2 + subdirs > kMaxLinks ? 1 : 2 + subdirs);
      } else {
        in.links_count = uint16_t(n->links);
      }
      uint64_t blocks = n->tree_blocks + (n->xattr_block ? 1 : 0);
      for (const Extent& e : n->extents) blocks += e.length;
      blocks *= kBlockSize / 512;
      in.blocks_lo = uint32_t(blocks);
      in.blocks_high = uint16_t(blocks >> 32);
      in.flags = n->flags;
      in.file_acl_lo = n->xattr_block;
      in.extra_isize = kExtraIsize;

      if (n->flags & kExtentsFl) {
        inode_extent_root(*n, in.block);
      } else if (S_ISLNK(n->mode)) {
        std::memcpy(in.block, n->symlink.data(), n->symlink.size());
      } else if (S_ISCHR(n->mode) || S_ISBLK(n->mode)) {
        uint32_t major = n->rdev_major, minor = n->rdev_minor;
        if (major < 256 && minor < 256) in.block[0] = (major << 8) | minor;
        else in.block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
      }

      if (n->xattrs_inline) {
        if (!sorted_xattrs(*n, &attrs, err)) return false;
        uint32_t magic = kXattrMagic;
        std::memcpy(in.inline_xattrs, &magic, 4);
        pack_xattrs(std::span(attrs).first(n->xattrs_inline), in.inline_xattrs + 4,
                    kInlineXattrSpace, 0);
      }
      std::memcpy(table.data() + size_t(k) * kInodeSize, &in, sizeof in);
    }
    uint64_t at = L.inode_tables + uint64_t(g) * L.itable_blocks;
    if (!write_block_range(at, table.data(), table.size(), err)) return false;
  }
  return true;
}

bool Writer::write_bitmaps_and_descriptors(const Layout& L, std::string* err) {
  uint64_t bits = uint64_t(L.groups) * kBlocksPerGroup;
  std::vector<uint8_t> used(bits / 8, 0);
  auto mark = [&](uint64_t first, uint64_t count) {
    for (uint64_t b = first; b < first + count; ++b) used[b >> 3] |= uint8_t(1u << (b & 7));
  };
  uint64_t gdt_blocks = div_round_up(L.groups, kDescsPerBlock);
  mark(0, 1 + gdt_blocks);
  mark(L.blocks, bits - L.blocks);  // past the end: padding, always "in use"
  // File data: only live files' blocks; those of files a later layer
  // removed stay free.
  for (size_t ino = 1; ino < by_ino_.size(); ++ino) {
    Node* n = by_ino_[ino];
    if (n && S_ISREG(n->mode) && n != journal_)
      for (const Extent& e : n->extents) mark(e.physical, e.length);
  }
  // Everything finish() allocated is in use: directories, symlinks, extent
  // trees, xattr blocks, the journal, bitmaps and inode tables.
  mark(metadata_start_, cursor_ - metadata_start_);

  uint32_t last_ino = uint32_t(by_ino_.size() - 1);
  std::vector<GroupDesc> descs(gdt_blocks * kDescsPerBlock);
  uint64_t free_blocks = 0;
  std::vector<uint8_t> ibitmap(kBlockSize);
  for (uint32_t g = 0; g < L.groups; ++g) {
    const uint8_t* bb = used.data() + uint64_t(g) * kBlockSize;
    uint32_t used_count = 0;
    bool any = false;
    for (size_t i = 0; i < kBlockSize; i += 8) {
      uint64_t w;
      std::memcpy(&w, bb + i, 8);
      used_count += uint32_t(std::popcount(w));
      any |= w != 0;
    }
    if (any && !write_block_range(L.block_bitmaps + g, bb, kBlockSize, err)) return false;

    std::fill(ibitmap.begin(), ibitmap.end(), 0);
    uint32_t first = g * L.inodes_per_group + 1;
    uint32_t in_use = first > last_ino ? 0 : std::min(L.inodes_per_group, last_ino - first + 1);
    for (uint32_t i = 0; i < in_use; ++i) ibitmap[i >> 3] |= uint8_t(1u << (i & 7));
    for (uint32_t i = L.inodes_per_group; i < kBlockSize * 8; ++i) ibitmap[i >> 3] |= uint8_t(1u << (i & 7));
    if (!write_block_range(L.inode_bitmaps + g, ibitmap.data(), kBlockSize, err)) return false;

    uint32_t dirs = 0;
    for (uint32_t i = 0; i < in_use; ++i) {
      Node* n = by_ino_[first + i];
      dirs += n && n->is_dir();
    }
    GroupDesc& d = descs[g];
    d.block_bitmap = uint32_t(L.block_bitmaps + g);
    d.inode_bitmap = uint32_t(L.inode_bitmaps + g);
    d.inode_table = uint32_t(L.inode_tables + uint64_t(g) * L.itable_blocks);
    d.free_blocks_count = uint16_t(kBlocksPerGroup - used_count);
    d.free_inodes_count = uint16_t(L.inodes_per_group - in_use);
    d.used_dirs_count = uint16_t(dirs);
    free_blocks += kBlocksPerGroup - used_count;
  }
  if (!write_block_range(1, descs.data(), descs.size() * sizeof(GroupDesc), err)) return false;

  SuperBlock sb = {};
  sb.inodes_count = L.groups * L.inodes_per_group;
  sb.blocks_count_lo = uint32_t(L.blocks);
  sb.free_blocks_count_lo = uint32_t(free_blocks);
  sb.free_inodes_count = sb.inodes_count - last_ino;
  sb.first_data_block = 0;
  sb.log_block_size = kLogBlockSize;
  sb.log_cluster_size = kLogBlockSize;
  sb.blocks_per_group = kBlocksPerGroup;
  sb.clusters_per_group = kBlocksPerGroup;
  sb.inodes_per_group = L.inodes_per_group;
  // Times come from the input, for reproducibility, but never from the future.
  uint32_t when = uint32_t(std::clamp<int64_t>(newest_mtime_, 0, int64_t(std::time(nullptr))));
  sb.wtime = when;
  sb.mkfs_time = when;
  sb.lastcheck = when;
  sb.max_mnt_count = -1;
  sb.magic = kSuperMagic;
  sb.state = 1;   // cleanly unmounted
  sb.errors = 1;  // continue
  sb.rev_level = 1;
  sb.first_ino = kFirstIno;
  sb.inode_size = kInodeSize;
  sb.feature_compat = kCompatExtAttr | kCompatDirIndex | kCompatSparseSuper2 |
                      (journal_ ? kCompatHasJournal : 0);
  sb.feature_incompat = kIncompatFiletype | kIncompatExtents | kIncompatFlexBg;
  sb.feature_ro_compat = kRoCompatSparseSuper | kRoCompatLargeFile | kRoCompatHugeFile |
                         kRoCompatDirNlink | kRoCompatExtraIsize;
  std::memcpy(sb.uuid, uuid_.data(), 16);
  std::memcpy(sb.hash_seed, hash_seed_, sizeof sb.hash_seed);
  sb.def_hash_version = kHashHalfMd4;
  sb.default_mount_opts = 0x0004 | 0x0008;  // user_xattr, acl
  sb.min_extra_isize = kExtraIsize;
  sb.want_extra_isize = kExtraIsize;
  sb.flags = kFlagsUnsignedHash;
  sb.log_groups_per_flex = 4;
  if (journal_) {
    sb.journal_inum = kJournalIno;
    sb.jnl_backup_type = 1;  // s_jnl_blocks holds a copy of the journal inode's i_block
    inode_extent_root(*journal_, sb.jnl_blocks);
    sb.jnl_blocks[15] = uint32_t(journal_->size >> 32);
    sb.jnl_blocks[16] = uint32_t(journal_->size);
  }
  if (!out_->write_at(kSuperOffset, &sb, sizeof sb, err)) return false;
  stats_.used_blocks = L.blocks - free_blocks;
  return true;
}

}  // namespace ctk::ext4
