#include "ext4/tree.h"

#include <algorithm>

namespace ctk::ext4 {

namespace {

constexpr int kMaxSymlinkDepth = 40;  // as the kernel's MAXSYMLINKS

// "'name' why". (Built by appending: GCC 12 warns falsely (-Wrestrict) about
// "'" + std::string(name) once inlined.)
std::string name_error(std::string_view name, std::string_view why) {
  std::string out = "'";
  out.append(name).append("' ").append(why);
  return out;
}

}  // namespace

Tree::Tree() {
  root_ = make(S_IFDIR | 0755);
  root_->parent = root_;
}

Node* Tree::make(uint32_t mode) {
  Node& n = nodes_.emplace_back();
  n.mode = mode;
  if (S_ISDIR(mode)) n.children = std::make_unique<std::map<std::string, DirEntry, std::less<>>>();
  return &n;
}

DirEntry* Tree::entry(Node* dir, std::string_view name) const {
  auto it = dir->children->find(name);
  return it == dir->children->end() ? nullptr : &it->second;
}

Node* Tree::lookup(Node* dir, std::string_view name) const {
  DirEntry* e = entry(dir, name);
  return e ? e->node : nullptr;
}

DirEntry* Tree::link(Node* dir, std::string_view name, Node* node, int layer) {
  auto [it, inserted] = dir->children->emplace(std::string(name), DirEntry{node, layer});
  if (node->is_dir()) node->parent = dir;
  else ++node->links;
  return &it->second;
}

void Tree::drop(Node* node) {
  if (node->is_dir()) {
    for (auto& [name, e] : *node->children) drop(e.node);
    node->children->clear();
  } else if (node->links > 0) {
    --node->links;
  }
}

void Tree::unlink(Node* dir, std::string_view name) {
  auto it = dir->children->find(name);
  if (it == dir->children->end()) return;
  drop(it->second.node);
  dir->children->erase(it);
}

bool Tree::walk_to_dir(Node* start, std::string_view path, bool create, int layer, int depth,
                       Node** out, std::string* err) {
  Node* dir = start;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {  // chroot semantics: the root's parent is the root
      dir = dir->parent;
      continue;
    }
    DirEntry* existing = entry(dir, part);
    Node* next = existing ? existing->node : nullptr;
    // A layer that puts entries below an existing directory holds that
    // directory too: an opaque marker in its parent must not hide it.
    if (create && next && next->is_dir()) existing->layer = std::max(existing->layer, layer);
    if (!next) {
      if (!create) {
        *err = name_error(part, "does not exist");
        return false;
      }
      next = make(S_IFDIR | 0755);
      link(dir, part, next, layer);
    } else if (S_ISLNK(next->mode)) {
      if (depth >= kMaxSymlinkDepth) {
        *err = "too many levels of symbolic links";
        return false;
      }
      const std::string& target = next->symlink;
      Node* base = !target.empty() && target[0] == '/' ? root_ : dir;
      if (!walk_to_dir(base, target, create, layer, depth + 1, &next, err)) return false;
    } else if (!next->is_dir()) {
      *err = name_error(part, "is not a directory");
      return false;
    }
    dir = next;
  }
  *out = dir;
  return true;
}

bool Tree::resolve_parent(std::string_view path, bool create, int layer, Node** dir,
                          std::string_view* leaf, std::string* err) {
  size_t slash = path.rfind('/');
  std::string_view parent = slash == std::string_view::npos ? "" : path.substr(0, slash);
  *leaf = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return walk_to_dir(root_, parent, create, layer, 0, dir, err);
}

bool clean_path(std::string_view name, std::string* out) {
  if (!name.empty() && name[0] == '/') return false;
  // Built in place (".." drops the last component again): a layer cleans
  // every member's name, so no allocation beyond out's own.
  out->clear();
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (out->empty()) return false;
      size_t cut = out->rfind('/');
      out->resize(cut == std::string::npos ? 0 : cut);
      continue;
    }
    if (!out->empty()) *out += '/';
    out->append(part);
  }
  return true;
}

}  // namespace ctk::ext4
