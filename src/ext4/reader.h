// Reads files out of an ext4 image: ctk's own images and those of
// `mke2fs -t ext4` with its default features. Read-only, pread-based, no
// caching beyond the group descriptors' inode table locations. Checksums
// (metadata_csum) are not verified, but every structure is bounds-checked, so
// a damaged image gives an error, never a crash or an endless walk.
//
// Supported: 1-64 KiB blocks, any inode size, 32- or 64-byte group
// descriptors, extent-mapped files (any depth, holes, unwritten extents),
// linear and hashed directories, fast and slow symlinks, in-inode and block
// xattrs. Not supported, with an error naming it: block-mapped (ext2/ext3)
// files, inline data, encrypted inodes, xattr values in inodes (ea_inode), and
// the meta_bg descriptor layout.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ext4/tree.h"

namespace ctk::ext4 {

struct Stat {
  uint32_t mode = 0;  // file type and permission bits, as in st_mode
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint32_t links = 0;
  Timestamp atime, mtime, ctime, crtime;  // nanoseconds only with large inodes
  uint32_t rdev_major = 0;  // character and block devices
  uint32_t rdev_minor = 0;
  uint32_t flags = 0;   // i_flags
  uint64_t blocks = 0;  // 512-byte units, as st_blocks
};

struct Entry {
  std::string name;
  uint32_t ino;
  uint8_t type;  // kFt* from format.h; kFtUnknown without the filetype feature
};

class Reader {
 public:
  Reader() = default;
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Opens the image and validates its superblock and descriptors.
  bool open(const std::string& path, std::string* err);

  uint32_t block_size() const { return block_size_; }

  // Resolves a path from the root ("/" and "" are the root). Symlinks among
  // the parents are followed as if chrooted to the image; the last component
  // is not followed (lstat semantics).
  bool lookup(std::string_view path, uint32_t* ino, std::string* err);

  bool stat(uint32_t ino, Stat* out, std::string* err);

  // A directory's entries in on-disk order, without "." and "..".
  bool list(uint32_t ino, std::vector<Entry>* out, std::string* err);

  // A regular file's whole content; holes read as zeros. Refuses files over
  // 1 GiB, which callers stream with read_range instead.
  bool read(uint32_t ino, std::string* out, std::string* err);
  // Up to `len` bytes from `offset`; shorter at the end of the file.
  bool read_range(uint32_t ino, uint64_t offset, size_t len, std::string* out, std::string* err);

  bool readlink(uint32_t ino, std::string* target, std::string* err);

  // Extended attributes with full names ("user.x"): those in the inode, then
  // those in its attribute block. Values are the raw on-disk bytes (POSIX
  // ACLs in ext4's own format, not the getxattr one).
  bool xattrs(uint32_t ino, std::vector<Xattr>* out, std::string* err);

 private:
  struct InodeData;

  bool fail(std::string* err, const std::string& message) const;  // prefixes the image path
  bool pread_exact(uint64_t pos, void* buf, size_t len, std::string* err) const;
  bool read_blocks(uint64_t block, uint64_t count, void* buf, std::string* err) const;
  bool block_in_range(uint64_t first, uint64_t count) const;
  bool load(uint32_t ino, InodeData* out, std::string* err) const;
  bool extents(const InodeData& in, std::vector<Extent>* out, std::string* err) const;
  bool walk_extent_node(const InodeData& in, const char* node, size_t node_size, int depth,
                        std::set<uint64_t>* visited, std::vector<Extent>* out,
                        uint64_t* next_logical, std::string* err) const;
  bool read_data(const InodeData& in, uint64_t offset, size_t len, std::string* out,
                 std::string* err) const;
  bool scan_dir(const InodeData& dir, std::vector<Entry>* out, std::string* err) const;
  bool find(const InodeData& dir, std::string_view name, uint32_t* ino, bool* found, std::string* err) const;
  bool resolve(uint32_t start, std::string_view path, int depth, uint32_t* ino,
               std::string* err);

  int fd_ = -1;
  std::string path_;
  uint32_t block_size_ = 0;
  uint64_t blocks_count_ = 0;
  uint32_t first_data_block_ = 0;
  uint32_t inodes_count_ = 0;
  uint32_t inodes_per_group_ = 0;
  uint32_t inode_size_ = 0;
  bool filetype_ = false;  // dirents carry a file type; else name_len is 16 bits
  bool is_64bit_ = false;
  bool huge_file_ = false;
  std::vector<uint64_t> inode_tables_;  // per group
};

}  // namespace ctk::ext4
