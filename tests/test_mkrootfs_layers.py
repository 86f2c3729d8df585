"""mkrootfs: OCI multi-layer semantics (whiteouts, opaque directories,
replacement, merging, hard links across layers) and parent symlinks, which
must resolve inside the image and never touch the host."""
import os
import tarfile
import unittest
import uuid

from ext4check import ImageTestCase, dumpe2fs_header, snapshot, tinfo

D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


def f(name, data=b"", **kw):
    return (tinfo(name, **kw), data)


def d(name, mode=0o755, **kw):
    return (tinfo(name, D, mode=mode, **kw), None)


def sym(name, target):
    return (tinfo(name, L, mode=0o777, linkname=target), None)


def hard(name, target):
    return (tinfo(name, H, linkname=target), None)


class LayersTest(ImageTestCase):

    def image(self, *layers, extra=()):
        paths = [self.make_tar(f"layer{i}.tar", entries) for i, entries in enumerate(layers)]
        return self.mkrootfs(paths, extra=extra)

    def tree(self, img):
        with self.mounted(img) as mnt:
            return snapshot(mnt)

    def names(self, tree, under=""):
        prefix = under + "/" if under else ""
        return sorted(p[len(prefix):] for p in tree if p != "." and p.startswith(prefix)
                      and "/" not in p[len(prefix):])

    def test_whiteout_deletes_lower_entries(self):
        t = self.tree(self.image(
            [d("a"), f("a/f1", b"1"), f("a/f2", b"2"), f("top", b"t"), d("gone"), f("gone/x", b"x")],
            [f("a/.wh.f1"), f(".wh.top"), f(".wh.gone"), f("a/new", b"n")],
        ))
        self.assertEqual(self.names(t), ["a"])
        self.assertEqual(self.names(t, "a"), ["f2", "new"])
        # No whiteout marker ever shows up in the image.
        self.assertFalse([p for p in t if ".wh." in p])

    def test_whiteout_of_missing_path_creates_nothing(self):
        t = self.tree(self.image(
            [f("a", b"a"), f("file", b"f")],
            [f("nodir/sub/.wh.x"), f(".wh.nothing"), f("file/.wh.y"), f("opq/.wh..wh..opq")],
        ))
        # The opaque marker's directory belongs to the layer; nothing else appears.
        self.assertEqual(self.names(t), ["a", "file", "opq"])
        self.assertEqual(t["file"]["type"], "f")

    def test_opaque_directory(self):
        t = self.tree(self.image(
            [d("o"), f("o/lower1", b"1"), d("o/sub"), f("o/sub/deep", b"2"), f("keep", b"k")],
            [d("o", mode=0o700), f("o/before", b"b"), f("o/.wh..wh..opq"), f("o/after", b"a")],
        ))
        self.assertEqual(self.names(t, "o"), ["after", "before"])
        self.assertEqual(t["o"]["mode"], 0o700)
        self.assertIn("keep", t)

    def test_opaque_hides_lower_content_of_redeclared_subdirectory(self):
        # The layer itself holds p/sub (re-declared or implied by p/sub/new);
        # p is opaque, so nothing of the lower p/sub may show through.
        t = self.tree(self.image(
            [d("p"), d("p/sub"), f("p/sub/old", b"o"), d("p/implied"), f("p/implied/old", b"o"),
             f("p/gone", b"g")],
            [d("p"), d("p/sub"), f("p/sub/new", b"n"), f("p/implied/new", b"n"),
             f("p/.wh..wh..opq")],
        ))
        self.assertEqual(self.names(t, "p"), ["implied", "sub"])
        self.assertEqual(self.names(t, "p/sub"), ["new"])
        self.assertEqual(self.names(t, "p/implied"), ["new"])

    def test_opaque_marker_first_in_new_directory(self):
        t = self.tree(self.image(
            [d("q"), f("q/old", b"o")],
            [f("q/.wh..wh..opq"), f("q/new", b"n")],
        ))
        self.assertEqual(self.names(t, "q"), ["new"])

    def test_replacement_both_ways(self):
        t = self.tree(self.image(
            [d("r"), d("r/d"), f("r/d/child", b"c"), d("r/d/sub"), f("r/f", b"file")],
            [f("r/d", b"now a file", mode=0o600), d("r/f", mode=0o750), f("r/f/x", b"x")],
        ))
        self.assertEqual(t["r/d"]["type"], "f")
        self.assertEqual(t["r/d"]["size"], len(b"now a file"))
        self.assertEqual(t["r/f"]["type"], "d")
        self.assertEqual(t["r/f"]["mode"], 0o750)
        self.assertEqual(self.names(t, "r"), ["d", "f"])
        self.assertEqual(self.names(t, "r/f"), ["x"])
        self.assertEqual(t["r"]["nlink"], 3)  # ., .. and r/f; r/d/sub went with r/d

    def test_directory_merge_keeps_lower_children(self):
        t = self.tree(self.image(
            [d("m", uid=1), f("m/a", b"a"), d("m/s"), f("m/s/deep", b"d")],
            [d("m", mode=0o711, uid=5, gid=6), f("m/b", b"b"), d("m/s", mode=0o700)],
        ))
        self.assertEqual(self.names(t, "m"), ["a", "b", "s"])
        self.assertEqual(self.names(t, "m/s"), ["deep"])
        self.assertEqual((t["m"]["mode"], t["m"]["uid"], t["m"]["gid"]), (0o711, 5, 6))
        self.assertEqual(t["m/s"]["mode"], 0o700)

    def test_hard_link_into_lower_layer(self):
        t = self.tree(self.image(
            [d("h"), f("h/orig", b"shared data", mode=0o750, uid=7)],
            [hard("h/link", "h/orig"), hard("other", "h/orig")],
        ))
        for name in ("h/orig", "h/link", "other"):
            self.assertEqual(t[name]["nlink"], 3, name)
            self.assertEqual(t[name]["sha256"], t["h/orig"]["sha256"])
            self.assertEqual((t[name]["mode"], t[name]["uid"]), (0o750, 7))

    def test_whiteout_one_name_of_hard_link(self):
        img = self.image(
            [d("w"), f("w/a", b"content"), hard("w/b", "w/a"), hard("w/c", "w/a")],
            [f("w/.wh.a")],
        )
        t = self.tree(img)
        self.assertEqual(self.names(t, "w"), ["b", "c"])
        self.assertEqual(t["w/b"]["nlink"], 2)
        with self.mounted(img) as mnt:
            self.assertEqual(os.stat(os.path.join(mnt, "w/b")).st_ino,
                             os.stat(os.path.join(mnt, "w/c")).st_ino)

    def test_replacing_a_hard_linked_name(self):
        t = self.tree(self.image(
            [f("x", b"old"), hard("y", "x")],
            [f("x", b"new")],
        ))
        self.assertEqual((t["x"]["nlink"], t["y"]["nlink"]), (1, 1))
        self.assertNotEqual(t["x"]["sha256"], t["y"]["sha256"])

    def test_deleted_file_leaves_no_blocks_in_use(self):
        big = bytes(range(256)) * (8 << 12)  # 8 MiB
        size = ["--size", "64M"]
        with_big = self.image(
            [f("small", b"s"), f("big", big), d("tree"), f("tree/big2", big)],
            [f(".wh.big"), f(".wh.tree")],
            extra=size)
        os.rename(with_big, self.path("with.ext4"))
        without = self.image(
            [f("small", b"s")],
            [f(".wh.big"), f(".wh.tree")],
            extra=size)
        a = dumpe2fs_header(self.path("with.ext4"))
        b = dumpe2fs_header(without)
        self.assertEqual(a["Block count"], b["Block count"])
        self.assertEqual(a["Free blocks"], b["Free blocks"])
        self.assertEqual(a["Free inodes"], b["Free inodes"])

    def test_parent_symlinks_resolve_inside_the_image(self):
        tag = "ctk-test-" + uuid.uuid4().hex
        host_tmp = os.path.join("/tmp", tag)
        self.assertFalse(os.path.exists(host_tmp))
        t = self.tree(self.image(
            [d("usr"), d("usr/lib"), sym("lib", "usr/lib"), sym("lib64", "/usr/lib64"),
             sym("evil", "../../../../tmp/" + tag), sym("abs", "/"), d("etc"),
             sym("etc/up", "../../../..")],
            [f("lib/foo", b"foo"), f("lib64/bar", b"bar"), f("evil/x", b"x"), f("abs/etc/y", b"y"),
             f("etc/up/usr/z", b"z"), d("lib/sub")],
        ))
        self.assertFalse(os.path.exists(host_tmp), "mkrootfs wrote to the host")
        self.assertEqual(t["lib"]["type"], "l")
        self.assertEqual(t["lib64"]["target"], "/usr/lib64")
        self.assertEqual(t["evil"]["type"], "l")
        self.assertEqual(t["usr/lib/foo"]["size"], 3)
        self.assertEqual(t["usr/lib64/bar"]["size"], 3)
        self.assertEqual(t["usr/lib/sub"]["type"], "d")
        self.assertEqual(t[f"tmp/{tag}/x"]["size"], 1)
        self.assertEqual(t["etc/y"]["size"], 1)
        self.assertEqual(t["usr/z"]["size"], 1)
        self.assertEqual(self.names(t), sorted(["abs", "etc", "evil", "lib", "lib64", "tmp", "usr"]))


if __name__ == "__main__":
    unittest.main()
