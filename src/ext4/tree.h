// The file tree an ext4 image is built from: nodes (inodes) with metadata,
// data extents already written to the image, and directory entries. Layers
// edit it; ext4::Writer turns it into on-disk metadata at the end.
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::ext4 {

struct Timestamp {
  int64_t sec = 0;
  uint32_t nsec = 0;
};

struct Extent {
  uint32_t logical;  // first file block
  uint32_t length;   // blocks
  uint64_t physical;  // first image block
};

struct Xattr {
  std::string name;  // full name: "security.capability"
  std::string value;
};

struct Node;

struct DirEntry {
  Node* node;
  int layer;  // the layer that created this entry, or last gave it (a directory merged)
};

struct Node {
  uint32_t mode = 0;  // file type and permission bits, as in st_mode
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Timestamp atime, mtime, ctime, crtime;
  uint32_t links = 0;  // directory entries naming this node (non-directories)
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  std::vector<Extent> extents;  // regular files: data already in the image
  std::string symlink;          // symlink target
  std::vector<Xattr> xattrs;
  std::unique_ptr<std::map<std::string, DirEntry, std::less<>>> children;  // directories
  Node* parent = nullptr;  // directories: for ".."
  uint32_t ino = 0;        // assigned when the image is written

  // Filled in by the writer while laying out metadata.
  uint32_t flags = 0;            // i_flags
  uint32_t xattr_block = 0;      // block holding the xattrs that did not fit in the inode
  uint16_t xattrs_inline = 0;    // how many of `xattrs` (in on-disk order) live in the inode
  uint32_t tree_blocks = 0;      // extent index and leaf blocks outside the inode
  std::unique_ptr<std::array<uint32_t, 15>> extent_root;  // i_block of a deep extent tree

  bool is_dir() const { return S_ISDIR(mode); }
};

class Tree {
 public:
  Tree();

  Node* root() { return root_; }
  // A new node, not yet linked anywhere.
  Node* make(uint32_t mode);

  Node* lookup(Node* dir, std::string_view name) const;
  DirEntry* entry(Node* dir, std::string_view name) const;

  // Resolves every component but the last of `path` (relative, already
  // cleaned: no "", ".", ".." components). Symlinks among the parents are
  // followed inside the tree, as if chrooted: ".." and absolute targets never
  // leave the root. Missing directories are created (mode 0755) when `create`.
  // On success *dir is the parent directory and *leaf the last component.
  // Created directories are recorded as made by `layer`.
  bool resolve_parent(std::string_view path, bool create, int layer, Node** dir,
                      std::string_view* leaf, std::string* err);

  // Adds name -> node in dir (the name must be free).
  DirEntry* link(Node* dir, std::string_view name, Node* node, int layer);
  // Removes the entry; a directory's whole subtree loses its links.
  void unlink(Node* dir, std::string_view name);

  size_t node_count() const { return nodes_.size(); }

 private:
  bool walk_to_dir(Node* start, std::string_view path, bool create, int layer, int depth,
                   Node** out, std::string* err);
  void drop(Node* node);

  std::deque<Node> nodes_;  // stable addresses; dead nodes stay, unlinked
  Node* root_;
};

// Splits a tar member name into a clean relative path: strips "./" and
// trailing slashes, resolves "." and "..". Returns false when the name is
// absolute or climbs above the root; "" means the root itself.
bool clean_path(std::string_view name, std::string* out);

}  // namespace ctk::ext4
