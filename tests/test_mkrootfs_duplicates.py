"""mkrootfs: a path given more than once, in one layer or across layers, is
what its last entry says, as docker, containerd and `tar -x` apply such layers.
Single layers are compared with GNU tar's own extraction through every reader
path (the native tar reader, libarchive on a compressed layer, and libarchive
taking over mid-archive after a sparse member). GNU tar refuses to replace a
non-empty directory by a non-directory unless --recursive-unlink; docker and
containerd replace it (os.RemoveAll), and so does ctk: those cases are
compared with `tar -x --recursive-unlink`."""
import gzip
import io
import os
import subprocess
import tarfile
import unittest

from ext4check import ImageTestCase, snapshot, tinfo

D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


def f(name, data, mtime=1700000000, **kw):
    return (tinfo(name, mtime=mtime, **kw), data)


def d(name, mode=0o755, mtime=1700000000):
    return (tinfo(name, D, mode=mode, mtime=mtime), None)


def sym(name, target):
    return (tinfo(name, L, mode=0o777, linkname=target), None)


def hard(name, target):
    return (tinfo(name, H, linkname=target), None)


# name: (entries, whether GNU tar needs --recursive-unlink to apply them).
SINGLE = {
    "file_file": ([f("a", b"first", mode=0o600), f("a", b"second", mode=0o640, uid=7)], False),
    "file_dir": ([f("a", b"file"), d("a", mode=0o700), f("a/x", b"x")], False),
    "empty_dir_file": ([d("a"), f("a", b"file")], False),
    "dir_file": ([d("a"), f("a/x", b"x"), d("a/sub"), f("a/sub/y", b"y"), f("a", b"file")], True),
    "dir_symlink": ([d("a"), f("a/x", b"x"), sym("a", "elsewhere")], True),
    "dir_dir": ([d("a", mode=0o755, mtime=1600000000), f("a/x", b"x"),
                 d("a", mode=0o700, mtime=1650000000), f("a/y", b"y")], False),
    "symlink_file": ([sym("a", "target"), f("a", b"file")], False),
    "symlink_dir": ([d("t"), sym("a", "t"), d("a", mode=0o700), f("a/y", b"y")], False),
    "file_symlink": ([f("a", b"file"), sym("a", "t")], False),
    "hardlink_keeps_replaced_file": ([f("a", b"one"), hard("b", "a"), f("a", b"two"), hard("c", "a")], False),
    "hardlink_replaced_by_hardlink": ([f("a", b"a"), f("z", b"z"), hard("b", "a"), hard("b", "z")], False),
    "file_replaced_by_hardlink": ([f("a", b"a"), f("b", b"b"), hard("b", "a")], False),
    "hardlink_to_itself": ([f("a", b"a"), hard("b", "a"), hard("b", "a")], False),
    # (Other entries between stay in p/q: GNU tar sets a directory's time when
    # it moves on to another, and a later entry inside would change it again.)
    "deep_twice": ([d("p"), d("p/q"), f("p/q/r", b"1"), f("p/q/other", b"o"), f("p/q/r", b"2")], False),
    "three_times": ([f("a", b"1"), d("a"), f("a/x", b"x"), f("a", b"3")], True),
}


class DuplicatesTest(ImageTestCase):

    def write(self, name, raw):
        path = self.path(name)
        with open(path, "wb") as out:
            out.write(raw)
        return path

    def layer_variants(self, name, entries):
        """The layer as each reader path sees it: plain (native reader), gzip
        (libarchive), and plain after a sparse member (libarchive from there on)."""
        plain = self.make_tar(f"{name}.tar", entries)
        with open(plain, "rb") as src:
            raw = src.read()
        sparse_src = self.path(f"{name}-sparse-src")
        os.makedirs(sparse_src)
        with open(os.path.join(sparse_src, "0-sparse"), "wb") as out:
            out.truncate(1 << 20)
            out.seek(1 << 19)
            out.write(b"hole around")
        mid = self.path(f"{name}-mid.tar")
        subprocess.run(["tar", "-C", sparse_src, "--sparse", "--format=gnu", "--owner=0", "--group=0",
                        "--mtime=@1700000000", "-cf", mid, "0-sparse"], check=True)
        with tarfile.open(mid, "a", format=tarfile.PAX_FORMAT) as tf:
            for ti, data in entries:
                if data is None:
                    tf.addfile(ti)
                else:
                    ti.size = len(data)
                    tf.addfile(ti, io.BytesIO(data))
        return {"plain": plain, "gzip": self.write(f"{name}.tar.gz", gzip.compress(raw)), "mid": mid}

    def tar_x(self, layer, into, recursive_unlink):
        os.makedirs(into)
        args = ["tar", "-x", "-f", layer, "-C", into]
        if recursive_unlink:
            plain = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertNotEqual(plain.returncode, 0, "GNU tar now replaces a non-empty directory by itself")
            subprocess.run(["rm", "-rf", into], check=True)
            os.makedirs(into)
            args.append("--recursive-unlink")
        subprocess.run(args, check=True)
        return snapshot(into, with_root=False)

    def image_tree(self, layers, name):
        img = self.mkrootfs(layers, out=self.path(f"{name}.ext4"))  # e2fsck -fn clean
        with self.mounted(img) as mnt:
            return snapshot(mnt, with_root=False)

    def test_single_layer_matches_tar_x(self):
        self.need_root()
        for name, (entries, recursive_unlink) in SINGLE.items():
            for reader, layer in self.layer_variants(name, entries).items():
                with self.subTest(case=name, reader=reader):
                    want = self.tar_x(layer, self.path(f"{name}-{reader}-x"), recursive_unlink)
                    self.assert_tree(want, self.image_tree([layer], f"{name}-{reader}"))

    def check_layers(self, name, layers, final):
        """The layers, each plain and gzipped in turn, give what `tar -x` of
        `final` (the expected result as one layer) gives."""
        self.need_root()
        want = self.tar_x(self.make_tar(f"{name}-final.tar", final), self.path(f"{name}-x"), False)
        for compressed in (0, 1):
            paths = []
            for i, entries in enumerate(layers):
                path = self.make_tar(f"{name}-{i}.tar", entries)
                if (i + compressed) % 2:
                    with open(path, "rb") as src:
                        path = self.write(f"{name}-{i}.tar.gz", gzip.compress(src.read()))
                paths.append(path)
            with self.subTest(compressed_first=bool(compressed)):
                self.assert_tree(want, self.image_tree(paths, f"{name}-{compressed}"))

    def test_across_layers_hard_link_keeps_the_lower_file(self):
        self.check_layers("links", [
            [f("a", b"one"), hard("b", "a")],
            [f("a", b"two"), f("a", b"three"), hard("c", "a")],
        ], [f("a", b"three"), hard("c", "a"), f("b", b"one")])

    def test_whiteout_then_twice(self):
        self.check_layers("wh-first", [
            [f("a", b"one"), d("d"), f("d/x", b"x1"), f("d/keep", b"k")],
            [f(".wh.a", b""), f("a", b"two"), f("a", b"three"), f("d/.wh.x", b""), f("d/x", b"x2"),
             f("d/x", b"x3")],
        ], [f("a", b"three"), d("d"), f("d/keep", b"k"), f("d/x", b"x3")])

    def test_whiteout_after_twice_removes_it(self):
        # As docker and containerd apply a layer, in order: the whiteout
        # removes what is at its path when it comes, this layer's entry too.
        self.check_layers("wh-last", [
            [f("a", b"one"), f("b", b"b")],
            [f("a", b"two"), f("a", b"three"), f(".wh.a", b"")],
        ], [f("b", b"b")])

    def test_opaque_between_twice(self):
        self.check_layers("opaque", [
            [d("o"), f("o/low", b"low"), f("o/x", b"x0")],
            [f("o/x", b"x1"), f("o/.wh..wh..opq", b""), f("o/x", b"x2")],
        ], [d("o"), f("o/x", b"x2")])

    def test_directory_twice_keeps_lower_children(self):
        self.check_layers("merge", [
            [d("m"), f("m/low", b"low")],
            [d("m", mode=0o700, mtime=1600000000), d("m", mode=0o750, mtime=1650000000), f("m/new", b"n")],
        ], [d("m", mode=0o750, mtime=1650000000), f("m/low", b"low"), f("m/new", b"n")])

    def test_directory_file_directory(self):
        # The file drops the directory with its lower children; the
        # directory after it is new and empty but for what follows.
        self.check_layers("dfd", [
            [d("r"), f("r/low", b"low"), d("r/sub"), f("r/sub/deep", b"deep")],
            [d("r", mode=0o700), f("r", b"file"), d("r", mode=0o711), f("r/new", b"n")],
        ], [d("r", mode=0o711), f("r/new", b"n")])


if __name__ == "__main__":
    unittest.main()
