#include "oci/layer.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "base/error.h"
#include "oci/archive_source.h"

namespace ctk::oci {

namespace {

// Below this, a file's data is usually already in the reader's buffer and a
// system call per file costs more than the copy it saves.
constexpr int64_t kCopyInKernelMin = 1 << 20;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

ext4::Timestamp stamp(const EntryTime& t, ext4::Timestamp fallback) {
  if (!t.set) return fallback;
  return {t.sec, t.nsec};
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
  auto apply_one = [&](const ArchiveEntry& e, EntryData& data, std::string* err) {
    std::string why;
    if (!apply_entry(e, data, &why)) {
      *err = path + ": '" + e.path + "': " + why;
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

bool LayerApplier::apply_entry(const ArchiveEntry& e, EntryData& data, std::string* err) {
  ext4::Tree& tree = writer_.tree();
  std::string& path = path_;
  if (!ext4::clean_path(e.path, &path)) {
    *err = e.path.starts_with('/') ? "absolute path" : "path escapes the image root";
    return false;
  }

  const uint32_t mode = e.mode;
  const int64_t size = e.size;
  // Everything that identifies this entry feeds the image's identity; the
  // padding is spelled out so that every byte hashed is defined.
  identity_.update(path.c_str(), path.size() + 1);
  struct {
    uint32_t mode, uid, gid, padding;
    int64_t size, mtime, mtime_ns;
  } meta = {mode, uint32_t(e.uid), uint32_t(e.gid), 0, size, e.mtime.sec, int64_t(e.mtime.nsec)};
  identity_.update(&meta, sizeof meta);
  if (e.hardlink || S_ISLNK(mode)) identity_.update(e.link.c_str(), e.link.size() + 1);

  ext4::Node* root = tree.root();
  ext4::Timestamp mtime = {e.mtime.sec, e.mtime.nsec};
  auto set_meta = [&](ext4::Node* n) {
    n->mode = (n->mode & S_IFMT) | (mode & 07777);
    n->uid = uint32_t(e.uid);
    n->gid = uint32_t(e.gid);
    n->mtime = mtime;
    n->atime = stamp(e.atime, mtime);
    n->ctime = stamp(e.ctime, mtime);
    n->crtime = stamp(e.birthtime, mtime);
    n->xattrs = e.xattrs;
  };

  if (path.empty()) {  // "./": the root directory's own metadata
    if (!S_ISDIR(mode) || e.hardlink) {
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

  // An entry for a path that exists replaces what is there, whichever layer
  // put it there (one layer giving a path twice included), as docker,
  // containerd and `tar -x --recursive-unlink` do: a directory over a
  // directory merges (its children stay, its metadata is the later entry's);
  // anything else drops the old entry first, a directory's whole subtree with
  // it. Hard links made to an old file keep the old file.
  ext4::DirEntry* existing = tree.entry(dir, leaf);

  if (e.hardlink) {
    std::string target_path;
    ext4::Node* target = nullptr;
    ext4::Node* tdir;
    std::string_view tleaf;
    if (ext4::clean_path(e.link, &target_path) && !target_path.empty() &&
        tree.resolve_parent(target_path, false, layer_, &tdir, &tleaf, &why))
      target = tree.lookup(tdir, tleaf);
    if (!target) {
      *err = "hard link to missing '" + e.link + "'";
      return false;
    }
    if (target->is_dir()) {
      *err = "hard link to a directory '" + e.link + "'";
      return false;
    }
    if (existing && existing->node == target) return true;  // a link to itself
    if (existing) tree.unlink(dir, leaf);
    tree.link(dir, leaf, target, layer_);
    return true;
  }

  if (S_ISDIR(mode)) {
    if (existing && existing->node->is_dir()) {  // merge: keep lower layers' children
      set_meta(existing->node);
      existing->layer = layer_;
      return true;
    }
    if (existing) tree.unlink(dir, leaf);
    ext4::Node* n = tree.make(S_IFDIR);
    set_meta(n);
    tree.link(dir, leaf, n, layer_);
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
    n->symlink = e.link;
    if (n->symlink.empty()) {
      *err = "symlink with an empty target";
      return false;
    }
  } else if (type == S_IFCHR || type == S_IFBLK) {
    n->rdev_major = e.rdev_major;
    n->rdev_minor = e.rdev_minor;
  }
  tree.link(dir, leaf, n, layer_);

  if (type == S_IFREG) {
    if (size < 0) {
      *err = "regular file without a size";
      return false;
    }
    n->size = uint64_t(size);
    // Plain tar: the kernel copies the data from the layer file to its blocks
    // (copy_file_range); the reader then skips it with lseek.
    uint64_t at;
    int fd = data.file(&at);
    if (fd >= 0 && size >= kCopyInKernelMin) return writer_.copy_file(n, fd, at, uint64_t(size), err);
    writer_.begin_file(n);
    auto write = [&](const void* buf, size_t len, uint64_t offset) {
      if (offset > uint64_t(size) || len > uint64_t(size) - offset) {
        *err = "data beyond the entry's size";
        return false;
      }
      return writer_.write(offset, buf, len, err);
    };
    if (!for_each_run(data, write, err)) return false;
    writer_.end_file();
  }
  return true;
}

}  // namespace ctk::oci
