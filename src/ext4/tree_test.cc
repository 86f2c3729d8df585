#include "ext4/tree.h"

#include <doctest/doctest.h>

#include <string>

using namespace ctk::ext4;

namespace {

std::string clean(std::string_view name) {
  std::string out;
  return clean_path(name, &out) ? out : "<rejected>";
}

Node* add(Tree& t, Node* dir, std::string_view name, uint32_t mode, int layer = 1) {
  Node* n = t.make(mode);
  t.link(dir, name, n, layer);
  return n;
}

Node* symlink(Tree& t, Node* dir, std::string_view name, std::string target) {
  Node* n = add(t, dir, name, S_IFLNK | 0777);
  n->symlink = std::move(target);
  return n;
}

}  // namespace

TEST_CASE("clean_path") {
  CHECK(clean("a/b/c") == "a/b/c");
  CHECK(clean("./a//b/./c/") == "a/b/c");
  CHECK(clean("./") == "");
  CHECK(clean(".") == "");
  CHECK(clean("a/../b") == "b");
  CHECK(clean("a/b/../..") == "");
  CHECK(clean("a/bb/../c/../../d") == "d");
  CHECK(clean("a/b/c/../../..") == "");
  CHECK(clean("a/b/c/../../../..") == "<rejected>");
  CHECK(clean("...") == "...");
  CHECK(clean(".wh..wh..opq") == ".wh..wh..opq");
  CHECK(clean("../escape") == "<rejected>");
  CHECK(clean("a/../../b") == "<rejected>");
  CHECK(clean("/etc/x") == "<rejected>");
  CHECK(clean("/") == "<rejected>");
}

TEST_CASE("resolve_parent creates missing directories only when asked") {
  Tree t;
  Node* dir;
  std::string_view leaf;
  std::string err;
  CHECK_FALSE(t.resolve_parent("a/b/c", false, 1, &dir, &leaf, &err));
  CHECK(err.find("'a'") != std::string::npos);
  REQUIRE(t.resolve_parent("a/b/c", true, 1, &dir, &leaf, &err));
  CHECK(leaf == "c");
  Node* a = t.lookup(t.root(), "a");
  REQUIRE(a);
  CHECK(a->is_dir());
  CHECK(t.lookup(a, "b") == dir);
  CHECK(dir->parent == a);
  REQUIRE(t.resolve_parent("top", false, 1, &dir, &leaf, &err));
  CHECK(dir == t.root());
  CHECK(leaf == "top");
}

TEST_CASE("resolve_parent follows symlinks inside the tree") {
  Tree t;
  Node* usr = add(t, t.root(), "usr", S_IFDIR | 0755);
  Node* lib = add(t, usr, "lib", S_IFDIR | 0755);
  symlink(t, t.root(), "lib", "usr/lib");
  symlink(t, t.root(), "abs", "/usr/lib");
  symlink(t, t.root(), "evil", "../../../../usr");
  symlink(t, usr, "up", "..");
  symlink(t, t.root(), "loop", "loop");
  add(t, t.root(), "file", S_IFREG | 0644);
  symlink(t, t.root(), "tofile", "file");

  Node* dir;
  std::string_view leaf;
  std::string err;
  REQUIRE(t.resolve_parent("lib/foo", false, 2, &dir, &leaf, &err));
  CHECK(dir == lib);
  REQUIRE(t.resolve_parent("abs/foo", false, 2, &dir, &leaf, &err));
  CHECK(dir == lib);
  REQUIRE(t.resolve_parent("evil/lib/foo", false, 2, &dir, &leaf, &err));  // ".." stops at the root
  CHECK(dir == lib);
  REQUIRE(t.resolve_parent("usr/up/usr/up/lib/x", false, 2, &dir, &leaf, &err));
  CHECK(dir == lib);
  // A symlink to a missing directory creates it inside the tree.
  symlink(t, t.root(), "lib64", "/usr/lib64");
  REQUIRE(t.resolve_parent("lib64/bar", true, 2, &dir, &leaf, &err));
  CHECK(dir == t.lookup(usr, "lib64"));
  CHECK_FALSE(t.resolve_parent("loop/x", true, 2, &dir, &leaf, &err));
  CHECK(err.find("symbolic links") != std::string::npos);
  CHECK_FALSE(t.resolve_parent("file/x", true, 2, &dir, &leaf, &err));
  CHECK(err.find("not a directory") != std::string::npos);
  CHECK_FALSE(t.resolve_parent("tofile/x", true, 2, &dir, &leaf, &err));
}

TEST_CASE("a layer writing below a lower directory holds that directory") {
  // What lets an opaque marker keep p/sub when the layer has p/sub/new.
  Tree t;
  Node* p = add(t, t.root(), "p", S_IFDIR | 0755, 1);
  add(t, p, "sub", S_IFDIR | 0755, 1);
  Node* dir;
  std::string_view leaf;
  std::string err;
  REQUIRE(t.resolve_parent("p/sub/new", false, 2, &dir, &leaf, &err));
  CHECK(t.entry(p, "sub")->layer == 1);  // looking up changes nothing
  REQUIRE(t.resolve_parent("p/sub/new", true, 2, &dir, &leaf, &err));
  CHECK(t.entry(t.root(), "p")->layer == 2);
  CHECK(t.entry(p, "sub")->layer == 2);
}

TEST_CASE("unlink drops link counts through a subtree") {
  Tree t;
  Node* d = add(t, t.root(), "d", S_IFDIR | 0755);
  Node* f = add(t, d, "f", S_IFREG | 0644);
  t.link(t.root(), "hard", f, 1);
  CHECK(f->links == 2);
  t.unlink(t.root(), "d");
  CHECK(f->links == 1);
  CHECK(t.lookup(t.root(), "d") == nullptr);
  CHECK(t.lookup(t.root(), "hard") == f);
}
