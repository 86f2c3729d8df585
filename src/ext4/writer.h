// Writes an ext4 image in one streaming pass. File data goes straight to its
// final blocks as it arrives (begin_file/write/end_file); the tree's metadata
// (directories, extent trees, xattr blocks, journal, inode tables, bitmaps,
// group descriptors, superblock) is laid out after the data by finish().
//
// Layout: block 0 superblock, then the group descriptor table (with room
// reserved for growth), then file data in arrival order, then all other
// metadata. flex_bg lets bitmaps and inode tables live anywhere, and
// sparse_super2 with no backups keeps every other group free for data, which
// is what makes a single pass possible before the image size is known.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ext4/tree.h"

namespace ctk::ext4 {

struct WriterOptions {
  uint64_t size = 0;        // image size in bytes; 0 = smallest that fits plus headroom
  bool journal = false;     // add an internal jbd2 journal
  uint64_t size_hint = 0;   // expected data bytes, to reserve descriptor room (automatic size)
  std::optional<std::array<uint8_t, 16>> uuid;  // default: derived from the seed given to finish()
};

struct WriterStats {
  uint64_t blocks = 0;       // image size in blocks
  uint64_t used_blocks = 0;
  uint32_t inodes = 0;       // inodes in use, reserved ones included
  uint64_t data_bytes = 0;   // file bytes streamed
};

class Writer {
 public:
  Writer();
  ~Writer();

  // Starts an image on fd, which must be an empty, writable regular file.
  bool begin(int fd, const WriterOptions& options, std::string* err);
  Tree& tree() { return tree_; }

  // Streams a regular file's contents. Chunks come in increasing offset
  // order; gaps between them stay holes (tar sparse files).
  void begin_file(Node* node);
  bool write(uint64_t offset, const void* data, size_t len, std::string* err);
  void end_file();
  // A whole regular file whose bytes are at `offset` in `fd`: copied by the
  // kernel into freshly allocated contiguous blocks, in the background; fd
  // must stay open until drain().
  bool copy_file(Node* node, int fd, uint64_t offset, uint64_t size, std::string* err);
  // Waits for all queued writes and copies.
  bool drain(std::string* err);

  // Lays out and writes all metadata. `seed` (any bytes describing the
  // input) determines the UUID and directory-hash seed, so the same input
  // gives a byte-identical image.
  bool finish(std::span<const uint8_t> seed, std::string* err);

  const WriterStats& stats() const { return stats_; }

 private:
  class Output;
  struct Layout;

  bool reserve_blocks(uint64_t count, uint64_t* first, std::string* err);
  bool write_block_range(uint64_t first, const void* data, size_t len, std::string* err);
  bool build_directory(Node* dir, std::string* err);
  bool build_extent_tree(Node* node, std::string* err);
  bool build_xattrs(Node* node, std::string* err);
  bool build_symlink(Node* node, std::string* err);
  bool build_journal(uint64_t estimate_blocks, std::string* err);
  bool compute_layout(uint32_t inodes_used, Layout* layout, std::string* err);
  bool write_inode_tables(const Layout& layout, std::string* err);
  bool write_bitmaps_and_descriptors(const Layout& layout, std::string* err);

  Tree tree_;
  WriterOptions options_;
  std::unique_ptr<Output> out_;
  uint64_t gdt_reserved_ = 0;  // blocks after the superblock kept for descriptors
  uint64_t cursor_ = 0;        // next free block
  uint64_t metadata_start_ = 0;  // first block finish() allocated
  uint64_t max_blocks_ = 0;    // fixed image size in blocks, or 0
  uint32_t hash_seed_[4] = {};
  std::array<uint8_t, 16> uuid_{};
  std::vector<Node*> by_ino_;  // index = inode number; null for unused reserved ones
  Node* journal_ = nullptr;
  int64_t newest_mtime_ = 0;
  WriterStats stats_;

  // The file being streamed.
  Node* file_ = nullptr;
  int64_t file_block_ = -1;  // its last allocated logical block
};

}  // namespace ctk::ext4
