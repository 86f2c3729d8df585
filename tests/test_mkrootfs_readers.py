"""mkrootfs reads plain tar itself (src/oci/tar_reader) and everything else
through libarchive, which also takes over mid-archive for members the native
reader leaves alone (sparse files). The same layer, plain or compressed, GNU,
pax or ustar, gives the same image byte for byte, with the archive's content."""
import gzip
import lzma
import os
import subprocess
import tarfile
import threading
import unittest

from ext4check import ImageTestCase, debugfs, expected_from_tar, snapshot, tinfo

LONG_DIR = "usr/share/" + "d" * 120
LONG_NAME = LONG_DIR + "/" + "f" * 200
LONG_TARGET = "/" + "/".join(["t" * 50] * 6)


def entries(pax):
    """Members of every kind, with names and numbers past ustar's fields."""
    big = bytes(range(256)) * (5 * 4096 + 3)  # over 1 MiB: copied by the kernel from plain layers
    out = [
        (tinfo("etc", tarfile.DIRTYPE, mode=0o755), None),
        (tinfo("etc/hostname"), b"box\n"),
        (tinfo("empty"), b""),
        (tinfo(LONG_DIR, tarfile.DIRTYPE, mode=0o750), None),
        (tinfo(LONG_NAME, mode=0o640, uid=3000000, gid=70000), b"long name\n"),
        (tinfo("long-link", tarfile.SYMTYPE, mode=0o777, linkname=LONG_TARGET), None),
        (tinfo("hard-long", tarfile.LNKTYPE, linkname=LONG_NAME), None),
        (tinfo("big", mode=0o755), big),
        (tinfo("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3), None),
        (tinfo("dev/big", tarfile.BLKTYPE, mode=0o600, devmajor=300, devminor=70000), None),
        (tinfo("fifo", tarfile.FIFOTYPE, mode=0o600), None),
        (tinfo("after-big"), b"after\n"),
    ]
    if pax:
        out.append((tinfo("x/attrs", pax_headers={
            "mtime": "1700000000.123456789",
            "SCHILY.xattr.user.mime_type": "text/plain",
            "SCHILY.xattr.security.capability":
                bytes.fromhex("0100000200200000000000000000000000000000").decode("utf-8", "surrogateescape"),
        }), b"\x7fELF"))
    return out


class ReadersTest(ImageTestCase):

    def images_agree(self, raw, name):
        """mkrootfs of raw plain, gzipped and xz-compressed: one image."""
        images = []
        for kind, blob in (("plain", raw), ("gzip", gzip.compress(raw)), ("xz", lzma.compress(raw))):
            path = self.path(f"{name}-{kind}.layer")
            with open(path, "wb") as f:
                f.write(blob)
            images.append(self.mkrootfs([path], out=self.path(f"{name}-{kind}.ext4")))
        for other in images[1:]:
            proc = subprocess.run(["cmp", images[0], other], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
            self.assertEqual(proc.returncode, 0, proc.stdout)
        return images[0]

    def check_format(self, fmt, pax):
        """The layer's image, plain or compressed, and the layer's bytes."""
        layer = self.make_tar("layer.tar", entries(pax), fmt=fmt)
        with open(layer, "rb") as f:
            raw = f.read()
        img = self.images_agree(raw, "layer")
        with self.mounted(img) as mnt:
            self.assert_tree(expected_from_tar(layer), snapshot(mnt))
        st = " ".join(debugfs(img, "stat /" + LONG_NAME).split())
        self.assertIn("User: 3000000 Group: 70000", st)
        self.assertIn("Links: 2", st)
        self.assertIn("Device major/minor number: 300:70000", debugfs(img, "stat /dev/big"))
        self.assertEqual(debugfs(img, "cat /" + LONG_NAME), "long name\n")
        return img, raw

    def test_gnu(self):
        _, raw = self.check_format(tarfile.GNU_FORMAT, False)
        # What GNU format is about: "L" and "K" headers for long names and
        # targets, base-256 for a uid over 2097151.
        self.assertIn(b"././@LongLink", raw)
        self.assertIn(b"\x80\0\0\0\0\x2d\xc6\xc0", raw)  # uid 3000000

    def test_pax(self):
        img, raw = self.check_format(tarfile.PAX_FORMAT, True)
        self.assertIn(b" SCHILY.xattr.user.mime_type=text/plain\n", raw)
        attrs = debugfs(img, "ea_list /x/attrs")
        self.assertIn("user.mime_type (10) = \"text/plain\"", attrs)
        self.assertIn("security.capability (20)", attrs)

    def test_ustar_prefix(self):
        # ustar splits names over 100 bytes into prefix and name.
        name = "p" * 90 + "/" + "q" * 90 + "/file"
        layer = self.make_tar("layer.tar", [(tinfo(name), b"prefixed\n")], fmt=tarfile.USTAR_FORMAT)
        with open(layer, "rb") as f:
            raw = f.read()
        img = self.images_agree(raw, "ustar")
        self.assertEqual(debugfs(img, "cat /" + name), "prefixed\n")

    def test_sparse_members_go_to_libarchive_mid_archive(self):
        # GNU tar writes sparse files as 'S' members (gnu) or pax sparse
        # records (posix); the members around them, a large one after
        # included, must come out right too.
        src = self.path("src")
        os.makedirs(src)
        with open(os.path.join(src, "a-first"), "wb") as f:
            f.write(b"first\n")
        with open(os.path.join(src, "m-sparse"), "wb") as f:
            f.truncate(8 << 20)
            f.seek(4 << 20)
            f.write(b"in the middle")
        big = os.urandom(3 << 20)
        with open(os.path.join(src, "z-big"), "wb") as f:
            f.write(big)
        with open(os.path.join(src, "z-last"), "wb") as f:
            f.write(b"last\n")
        for fmt in ("gnu", "posix"):
            with self.subTest(fmt):
                layer = self.path(f"{fmt}.tar")
                subprocess.run(["tar", "-C", src, "--sparse", f"--format={fmt}", "--owner=0", "--group=0",
                                "-cf", layer, "a-first", "m-sparse", "z-big", "z-last"], check=True)
                with open(layer, "rb") as f:
                    raw = f.read()
                self.assertLess(len(raw), 5 << 20)  # really stored sparse
                img = self.images_agree(raw, fmt)
                self.assertEqual(debugfs(img, "cat /a-first"), "first\n")
                self.assertEqual(debugfs(img, "cat /z-last"), "last\n")
                self.assertIn("Size: 8388608", debugfs(img, "stat /m-sparse"))
                with self.mounted(img) as mnt:
                    with open(os.path.join(mnt, "m-sparse"), "rb") as f:
                        f.seek(4 << 20)
                        self.assertEqual(f.read(13), b"in the middle")
                    with open(os.path.join(mnt, "z-big"), "rb") as f:
                        self.assertEqual(f.read(), big)

    def test_piped_layer(self):
        # A pipe cannot be a copy_file_range source: large files are read through.
        layer = self.make_tar("layer.tar", entries(True))
        fifo = self.path("layer.fifo")
        os.mkfifo(fifo)

        def feed():
            with open(layer, "rb") as src, open(fifo, "wb") as dst:
                dst.write(src.read())
        writer = threading.Thread(target=feed)
        writer.start()
        try:
            piped = self.mkrootfs([fifo], out=self.path("piped.ext4"))
        finally:
            writer.join()
        from_file = self.mkrootfs([layer], out=self.path("file.ext4"))
        proc = subprocess.run(["cmp", piped, from_file], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout)

    def test_negative_fractional_time(self):
        # Read as POSIX means it: 0.5 s before -86400 (libarchive 3.6, which
        # reads compressed layers, is 1 s off).
        layer = self.make_tar("layer.tar", [(tinfo("past", pax_headers={"mtime": "-86400.5"}), b"1969")])
        img = self.mkrootfs([layer])
        with self.mounted(img) as mnt:
            self.assertEqual(os.lstat(os.path.join(mnt, "past")).st_mtime_ns, -86400500000000)


if __name__ == "__main__":
    unittest.main()
