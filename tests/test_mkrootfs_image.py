"""mkrootfs: image-level properties (journal, --size, automatic size,
sparseness, reproducibility, compressed layers) and the structures large
inputs need (files >= 4 GiB, extent index blocks, hashed directories)."""
import bz2
import gzip
import hashlib
import io
import lzma
import os
import re
import shutil
import subprocess
import tarfile
import unittest

from ext4check import (ImageTestCase, ctk, debugfs, dumpe2fs_header, expected_from_tar,
                       snapshot, tinfo)


def sample_entries():
    return [
        (tinfo("etc", tarfile.DIRTYPE, mode=0o755), None),
        (tinfo("etc/hostname"), b"ctk\n"),
        (tinfo("bin/tool", mode=0o755), bytes(range(256)) * 100),
        (tinfo("bin/link", tarfile.SYMTYPE, linkname="tool"), None),
        (tinfo("data", mode=0o600, uid=70000), os.urandom(50000)),
    ]


class ImageTest(ImageTestCase):

    def sample(self):
        return self.make_tar("layer.tar", sample_entries())

    def test_journal(self):
        img = self.mkrootfs([self.sample()], extra=["--journal"])
        header = dumpe2fs_header(img)
        self.assertIn("has_journal", header["Filesystem features"])
        self.assertEqual(header.get("Journal inode"), "8")
        self.assertEqual(header["Total journal blocks"], "1024")
        with self.mounted(img) as mnt:
            self.assert_tree(expected_from_tar(self.path("layer.tar")), snapshot(mnt))
        # Without the flag there is none.
        plain = self.mkrootfs([self.sample()], out=self.path("plain.ext4"))
        self.assertNotIn("has_journal", dumpe2fs_header(plain)["Filesystem features"])

    def test_posix_acls_reach_the_kernel(self):
        # user::rw- user:1000:r-- group::r-- mask::r-- other::--- in getxattr's form.
        import struct
        def entry(tag, perm, ident=0xFFFFFFFF):
            return struct.pack("<HHI", tag, perm, ident)
        acl = struct.pack("<I", 2) + entry(1, 6) + entry(2, 4, 1000) + entry(4, 4) + entry(0x10, 4) + entry(0x20, 0)
        info = tinfo("shared", mode=0o640)
        info.pax_headers = {"SCHILY.xattr.system.posix_acl_access": acl.decode("utf-8", "surrogateescape")}
        layer = self.make_tar("acl.tar", [(info, b"data")])
        img = self.mkrootfs([layer])
        with self.mounted(img) as mnt:
            self.assertEqual(os.getxattr(os.path.join(mnt, "shared"), "system.posix_acl_access"), acl)

    def test_journal_read_write_mount(self):
        # A journalled image must also replay/mount read-write cleanly.
        self.need_root()
        img = self.mkrootfs([self.sample()], extra=["--journal"])
        mnt = self.path("rw")
        os.mkdir(mnt)
        subprocess.run(["mount", "-o", "loop", img, mnt], check=True)
        try:
            with open(os.path.join(mnt, "new"), "wb") as f:
                f.write(b"written through the journal")
        finally:
            subprocess.run(["umount", mnt], check=True)
        self.assert_fsck_clean(img)
        self.assertIn("new", debugfs(img, "ls /"))

    def test_fixed_size(self):
        layer = self.sample()
        for size, nbytes in (("64M", 64 << 20), ("200M", 200 << 20), ("1G", 1 << 30),
                             ("131084K", (128 << 20) + (12 << 10)), ("1000001", 1000001)):
            img = self.mkrootfs([layer], out=self.path(f"img-{size}"), extra=["--size", size])
            self.assertEqual(os.path.getsize(img), nbytes)
            header = dumpe2fs_header(img)
            self.assertEqual(int(header["Block count"]), nbytes // 4096)
            with self.mounted(img) as mnt:
                self.assertEqual(os.readlink(os.path.join(mnt, "bin/link")), "tool")
            os.unlink(img)

    def test_automatic_size_fits_content_with_room(self):
        data = os.urandom(40 << 20)
        layer = self.make_tar("big.tar", [(tinfo("blob"), data)])
        img = self.mkrootfs([layer])
        size = os.path.getsize(img)
        self.assertGreater(size, 40 << 20)
        header = dumpe2fs_header(img)
        free = int(header["Free blocks"]) * 4096
        self.assertGreaterEqual(free, 10 << 20, "no room left to grow")
        with self.mounted(img) as mnt:
            with open(os.path.join(mnt, "blob"), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(data).digest())

    def test_output_is_sparse(self):
        img = self.mkrootfs([self.sample()])
        st = os.stat(img)
        self.assertGreaterEqual(st.st_size, 32 << 20)
        self.assertLess(st.st_blocks * 512, 4 << 20,
                        f"image allocates {st.st_blocks * 512} of {st.st_size} bytes")

    def test_reproducible(self):
        layer = self.sample()
        a = self.mkrootfs([layer], out=self.path("a.ext4"), extra=["--journal"])
        b = self.mkrootfs([layer], out=self.path("b.ext4"), extra=["--journal"])
        proc = subprocess.run(["cmp", a, b], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        # A different input gives a different filesystem UUID.
        other = self.make_tar("other.tar", sample_entries()[:3])
        c = self.mkrootfs([other], out=self.path("c.ext4"), extra=["--journal"])
        self.assertNotEqual(dumpe2fs_header(a)["Filesystem UUID"], dumpe2fs_header(c)["Filesystem UUID"])

    def test_compression_detected_from_content(self):
        layer = self.sample()
        with open(layer, "rb") as f:
            raw = f.read()
        expected = expected_from_tar(layer)
        variants = {
            "gzip": gzip.compress(raw),
            "bzip2": bz2.compress(raw),
            "xz": lzma.compress(raw),
        }
        for name, argv in (("zstd", ["zstd", "-q", "-c"]), ("lz4", ["lz4", "-q", "-c"])):
            if shutil.which(argv[0]) is None:
                self.fail(f"{argv[0]} is not installed")
            variants[name] = subprocess.run(argv, input=raw, stdout=subprocess.PIPE, check=True).stdout
        # Multi-member gzip (as pigz and concatenation produce).
        variants["gzip-multi"] = gzip.compress(raw[:10240]) + gzip.compress(raw[10240:])
        reference = None
        for name, blob in variants.items():
            with self.subTest(name):
                self.assertNotEqual(blob[:512], raw[:512])
                path = self.path(f"{name}-layer.tar")  # the name says nothing of the compression
                with open(path, "wb") as f:
                    f.write(blob)
                img = self.mkrootfs([path], out=self.path(f"{name}.ext4"))
                with self.mounted(img) as mnt:
                    self.assert_tree(expected, snapshot(mnt))
                # Compression does not change the image.
                with open(img, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                reference = reference or digest
                self.assertEqual(digest, reference)
                os.unlink(img)

    def test_large_contiguous_file(self):
        # More than one maximal extent (32768 blocks = 128 MiB).
        chunk = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
        data = chunk * (129 * 16) + b"tail"
        layer = self.make_tar("big.tar", [(tinfo("big"), data)])
        img = self.mkrootfs([layer])
        extents = debugfs(img, "dump_extents /big")
        self.assertGreaterEqual(len(re.findall(r"^\s*0/\s*0\s", extents, re.M)), 2, extents)
        with self.mounted(img) as mnt:
            with open(os.path.join(mnt, "big"), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(data).digest())


class SparseTest(ImageTestCase):
    """Sparse tar entries, made from real sparse files with GNU tar."""

    def make_sparse(self, name, size, regions):
        """regions: list of (offset, bytes). Returns the host path."""
        src = self.path("src")
        os.makedirs(src, exist_ok=True)
        p = os.path.join(src, name)
        with open(p, "wb") as f:
            f.truncate(size)
            for off, data in regions:
                f.seek(off)
                f.write(data)
        return p

    def gnu_tar(self, name, fmt, *files):
        out = self.path(name)
        subprocess.run(["tar", "--sparse", f"--format={fmt}", "-C", self.path("src"), "-cf", out,
                        *files], check=True)
        return out

    def check_regions(self, mnt, name, size, regions):
        p = os.path.join(mnt, name)
        self.assertEqual(os.path.getsize(p), size)
        with open(p, "rb") as f:
            for off, data in regions:
                f.seek(off)
                self.assertEqual(f.read(len(data)), data, f"{name} at {off}")
                # Holes read as zeros: just before and just after each region.
                if off >= 4096:
                    f.seek(off - 4096)
                    self.assertEqual(f.read(4096), bytes(4096))
                end = off + len(data)
                if end + 8192 <= size and not any(o <= end + 8192 and end < o + len(d) for o, d in regions):
                    f.seek(end)
                    self.assertEqual(f.read(8192), bytes(8192))

    def test_file_over_4gib(self):
        size = (5 << 30) + 12345
        regions = [(0, b"start" * 1000), (1 << 20, os.urandom(70000)),
                   ((4 << 30) - 2048, os.urandom(8192)),  # straddles 4 GiB
                   ((4 << 30) + (300 << 20), b"past 4 GiB" * 500), (size - 7, b"the end")]
        self.make_sparse("huge", size, regions)
        for fmt in ("gnu", "posix"):
            with self.subTest(fmt):
                layer = self.gnu_tar(f"huge-{fmt}.tar", fmt, "huge")
                self.assertLess(os.path.getsize(layer), 10 << 20)
                img = self.mkrootfs([layer], out=self.path(f"{fmt}.ext4"))
                self.assertLess(os.stat(img).st_blocks * 512, 64 << 20)
                st = debugfs(img, "stat /huge")
                self.assertIn(f"Size: {size}", st)
                with self.mounted(img) as mnt:
                    self.check_regions(mnt, "huge", size, regions)
                    # Holes are not allocated: few blocks for a 5 GiB file.
                    self.assertLess(os.stat(os.path.join(mnt, "huge")).st_blocks * 512, 1 << 20)
                os.unlink(img)

    def test_extent_index_blocks(self):
        # 4 extents fit in the inode; 400 need leaf blocks under an index
        # (depth 1), 2000 need more leaves than the inode can index (depth 2).
        for count, depth in ((3, 0), (5, 1), (400, 1), (2000, 2)):
            with self.subTest(count=count):
                regions = [(i * 16384, bytes([i % 251 + 1]) * (4096 if i % 3 else 5000))
                           for i in range(count)]
                size = count * 16384 + 4096
                name = f"frag{count}"
                self.make_sparse(name, size, regions)
                layer = self.gnu_tar(f"{name}.tar", "posix", name)
                img = self.mkrootfs([layer], out=self.path(f"{name}.ext4"))
                extents = debugfs(img, f"dump_extents /{name}")
                levels = {int(m) for m in re.findall(r"^\s*(\d+)/\s*\d+\s", extents, re.M)}
                self.assertEqual(max(levels), depth, extents[:2000])
                leaves = re.findall(r"^\s*%d/" % depth, extents, re.M)
                self.assertEqual(len(leaves), count, extents[:2000])
                with self.mounted(img) as mnt:
                    self.check_regions(mnt, name, size, regions)
                os.unlink(img)


class HugeDirectoryTest(ImageTestCase):

    def test_100k_entries(self):
        n = 100000
        pad = "-with-a-name-long-enough-for-two-index-levels"
        names = [f"{i:06d}{pad}" for i in range(n)]
        layer = self.path("dir.tar")
        # Raw ustar headers: tarfile's addfile is too slow for 100k entries.
        with open(layer, "wb") as f:
            def header(name, typeflag, mode):
                h = bytearray(512)
                h[0:len(name)] = name.encode()
                h[100:108] = b"%07o\0" % mode
                h[108:116] = b"0000000\0"
                h[116:124] = b"0000000\0"
                h[124:136] = b"00000000000\0"
                h[136:148] = b"14576346400\0"
                h[156] = ord(typeflag)
                h[257:265] = b"ustar\x0000"
                h[148:156] = b" " * 8
                h[148:156] = b"%06o\0 " % sum(h)
                return bytes(h)
            f.write(header("big/", "5", 0o755))
            f.write(b"".join(header("big/" + nm, "0", 0o644) for nm in names))
            f.write(bytes(1024))
        img = self.mkrootfs([layer])
        st = debugfs(img, "stat /big")
        flags = int(re.search(r"Flags: (0x[0-9a-f]+)", st).group(1), 16)
        self.assertTrue(flags & 0x1000, "big is not an indexed (htree) directory")
        dump = debugfs(img, "htree_dump /big")
        self.assertIn("Indirect levels: 1", dump)
        with self.mounted(img) as mnt:
            for i in (0, 1, 4242, 50000, 99998, 99999):
                self.assertTrue(os.path.isfile(os.path.join(mnt, "big", names[i])), names[i])
            self.assertFalse(os.path.exists(os.path.join(mnt, "big", "100000" + pad)))
            listed = os.listdir(os.path.join(mnt, "big"))
        self.assertEqual(len(listed), n)
        self.assertEqual(set(listed), set(names))


if __name__ == "__main__":
    unittest.main()
