#include "oci/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "base/error.h"
#include "oci/archive_source.h"

namespace ctk::oci {

namespace {

// Below this, a file's data is usually already in libarchive's read buffer
// and a system call per file costs more than the copy it saves.
constexpr int64_t kCopyInKernelMin = 1 << 20;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

ext4::Timestamp stamp(bool set, time_t sec, long nsec, ext4::Timestamp fallback) {
  if (!set) return fallback;
  return {int64_t(sec), uint32_t(nsec)};
}

}  // namespace

bool LayerApplier::apply(const std::string& path, std::string* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = sys_error(path);
    return false;
  }
  // The writer may still be copying file data from fd in the background:
  // it is closed only once that is done, whichever way this returns.
  struct LayerFile {
    ext4::Writer& writer;
    int fd;
    ~LayerFile() {
      std::string ignored;
      writer.drain(&ignored);
      ::close(fd);
    }
  } layer_file{writer_, fd};
  ++layer_;
  identity_.update("layer", 5);
  ArchiveSource source(fd);
  auto apply_one = [&](archive* ar, archive_entry* e, std::string* err) {
    plain_fd_ = source.plain_fd(ar);
    std::string why;
    if (!apply_entry(ar, e, &why)) {
      const char* name = archive_entry_pathname(e);
      *err = path + ": '" + (name ? name : "") + "': " + why;
      return false;
    }
    ++entries_;
    return true;
  };
  if (!for_each_entry(source, path, apply_one, err)) return false;
  if (!writer_.drain(err)) {
    *err = path + ": " + *err;
    return false;
  }
  return true;
}

bool LayerApplier::apply_whiteout(ext4::Node* dir, std::string_view leaf, std::string* err) {
  ext4::Tree& tree = writer_.tree();
  if (leaf == kOpaqueMarker) {
    // Hide what lower layers put in this directory; this layer's entries
    // stay. That goes for the whole subtree: a directory this layer holds
    // below an opaque one is new, so none of its lower children show either.
    auto hide_lower = [&](auto& self, ext4::Node* d) -> void {
      std::vector<std::string> lower;
      for (auto& [name, e] : *d->children) {
        if (e.layer < layer_) lower.push_back(name);
        else if (e.node->is_dir()) self(self, e.node);
      }
      for (const std::string& name : lower) tree.unlink(d, name);
    };
    hide_lower(hide_lower, dir);
    return true;
  }
  std::string_view target = leaf.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..") {
    *err = "invalid whiteout";
    return false;
  }
  tree.unlink(dir, target);
  return true;
}

bool LayerApplier::apply_entry(archive* ar, archive_entry* e, std::string* err) {
  ext4::Tree& tree = writer_.tree();
  const char* raw = archive_entry_pathname(e);
  std::string path;
  if (!raw || !ext4::clean_path(raw, &path)) {
    *err = raw && raw[0] == '/' ? "absolute path" : "path escapes the image root";
    return false;
  }

  uint32_t mode = archive_entry_mode(e);
  const char* hardlink = archive_entry_hardlink(e);
  const char* symlink = archive_entry_symlink(e);
  int64_t size = archive_entry_size(e);
  // Everything that identifies this entry feeds the image's identity.
  identity_.update(path.c_str(), path.size() + 1);
  struct {
    uint32_t mode, uid, gid;
    int64_t size, mtime, mtime_ns;
  } meta = {mode, uint32_t(archive_entry_uid(e)), uint32_t(archive_entry_gid(e)), size,
            int64_t(archive_entry_mtime(e)), int64_t(archive_entry_mtime_nsec(e))};
  identity_.update(&meta, sizeof meta);
  if (hardlink) identity_.update(hardlink, strlen(hardlink) + 1);
  if (symlink) identity_.update(symlink, strlen(symlink) + 1);

  ext4::Node* root = tree.root();
  ext4::Timestamp mtime = {int64_t(archive_entry_mtime(e)), uint32_t(archive_entry_mtime_nsec(e))};
  auto set_meta = [&](ext4::Node* n) {
    n->mode = (n->mode & S_IFMT) | (mode & 07777);
    n->uid = uint32_t(archive_entry_uid(e));
    n->gid = uint32_t(archive_entry_gid(e));
    n->mtime = mtime;
    n->atime = stamp(archive_entry_atime_is_set(e), archive_entry_atime(e), archive_entry_atime_nsec(e), mtime);
    n->ctime = stamp(archive_entry_ctime_is_set(e), archive_entry_ctime(e), archive_entry_ctime_nsec(e), mtime);
    n->crtime = stamp(archive_entry_birthtime_is_set(e), archive_entry_birthtime(e),
                      archive_entry_birthtime_nsec(e), mtime);
    n->xattrs.clear();
    const char* name;
    const void* value;
    size_t len;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &len) == ARCHIVE_OK)
      n->xattrs.push_back({name, std::string(static_cast<const char*>(value), len)});
  };

  if (path.empty()) {  // "./": the root directory's own metadata
    if (!S_ISDIR(mode) || hardlink) {
      *err = "the image root must be a directory";
      return false;
    }
    set_meta(root);
    return true;
  }

  ext4::Node* dir;
  std::string_view leaf;
  std::string why;
  // A whiteout hides something or nothing; it never creates its parents. (An
  // opaque marker does: its directory is part of the layer.)
  std::string_view base = std::string_view(path).substr(path.rfind('/') + 1);  // npos + 1 == 0
  bool whiteout = base.starts_with(kWhiteoutPrefix) && base != kOpaqueMarker;
  if (!tree.resolve_parent(path, !whiteout, layer_, &dir, &leaf, &why)) {
    if (whiteout) return true;  // its parent does not exist: nothing to hide
    *err = "parent: " + why;
    return false;
  }
  if (leaf.starts_with(kWhiteoutPrefix)) return apply_whiteout(dir, leaf, err);
  if (leaf.size() > 255) {
    *err = "name longer than 255 bytes";
    return false;
  }

  ext4::DirEntry* existing = tree.entry(dir, leaf);
  if (existing && existing->layer == layer_ && existing->named) {
    *err = "duplicate entry";
    return false;
  }

  if (hardlink) {
    std::string target_path;
    ext4::Node* target = nullptr;
    ext4::Node* tdir;
    std::string_view tleaf;
    if (ext4::clean_path(hardlink, &target_path) && !target_path.empty() &&
        tree.resolve_parent(target_path, false, layer_, &tdir, &tleaf, &why))
      target = tree.lookup(tdir, tleaf);
    if (!target) {
      *err = "hard link to missing '" + std::string(hardlink) + "'";
      return false;
    }
    if (target->is_dir()) {
      *err = "hard link to a directory '" + std::string(hardlink) + "'";
      return false;
    }
    if (existing && existing->node == target) {
      existing->named = true;
      return true;
    }
    if (existing) tree.unlink(dir, leaf);
    tree.link(dir, leaf, target, layer_)->named = true;
    return true;
  }

  if (S_ISDIR(mode)) {
    if (existing && existing->node->is_dir()) {  // merge: keep lower layers' children
      set_meta(existing->node);
      existing->layer = layer_;
      existing->named = true;
      return true;
    }
    if (existing) tree.unlink(dir, leaf);
    ext4::Node* n = tree.make(S_IFDIR);
    set_meta(n);
    tree.link(dir, leaf, n, layer_)->named = true;
    return true;
  }

  uint32_t type = mode & S_IFMT;
  if (type != S_IFREG && type != S_IFLNK && type != S_IFCHR && type != S_IFBLK &&
      type != S_IFIFO && type != S_IFSOCK) {
    *err = "unsupported entry type";
    return false;
  }
  if (existing) tree.unlink(dir, leaf);
  ext4::Node* n = tree.make(type);
  set_meta(n);
  if (type == S_IFLNK) {
    n->symlink = symlink ? symlink : "";
    if (n->symlink.empty()) {
      *err = "symlink with an empty target";
      return false;
    }
  } else if (type == S_IFCHR || type == S_IFBLK) {
    n->rdev_major = uint32_t(archive_entry_rdevmajor(e));
    n->rdev_minor = uint32_t(archive_entry_rdevminor(e));
  }
  tree.link(dir, leaf, n, layer_)->named = true;

  if (type == S_IFREG) {
    if (size < 0) {
      *err = "regular file without a size";
      return false;
    }
    n->size = uint64_t(size);
    // Plain tar: the kernel copies the data from the layer file to its blocks
    // (copy_file_range); libarchive then skips it with lseek.
    if (plain_fd_ >= 0 && size >= kCopyInKernelMin && archive_entry_sparse_count(e) == 0)
      return writer_.copy_file(n, plain_fd_, uint64_t(archive_filter_bytes(ar, 0)), uint64_t(size), err);
    writer_.begin_file(n);
    for (;;) {
      const void* buf;
      size_t len;
      la_int64_t offset;
      int r = archive_read_data_block(ar, &buf, &len, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        *err = archive_error(ar);
        return false;
      }
      if (offset < 0 || uint64_t(offset) + len > uint64_t(size)) {
        *err = "data beyond the entry's size";
        return false;
      }
      if (len && !writer_.write(uint64_t(offset), buf, len, err)) return false;
    }
    writer_.end_file();
  }
  return true;
}

}  // namespace ctk::oci
