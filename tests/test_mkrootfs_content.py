"""mkrootfs: one layer with every kind of entry, read back through a
read-only loop mount and compared with the archive exactly."""
import hashlib
import os
import tarfile
import unittest

from ext4check import ImageTestCase, debugfs, expected_from_tar, snapshot, tinfo

NS = "1700000000.123456789"


def pax(mtime=NS, **xattrs):
    h = {"mtime": mtime}
    for k, v in xattrs.items():
        h["SCHILY.xattr." + k.replace("__", ".")] = v.decode("utf-8", "surrogateescape")
    return h


class ContentTest(ImageTestCase):

    def build(self):
        big = bytes(range(256)) * (3 * 4096 // 256 * 5 + 7)  # ~60 KiB, not block aligned
        entries = [
            (tinfo(".", tarfile.DIRTYPE, mode=0o755, mtime=1600000000), None),
            (tinfo("empty"), b""),
            (tinfo("small", pax_headers=pax()), b"hello\n"),
            (tinfo("block", mode=0o600), b"b" * 4096),
            (tinfo("multi", mode=0o640, uid=1000, gid=1000), big),
            (tinfo("etc", tarfile.DIRTYPE, mode=0o755), None),
            (tinfo("etc/passwd", pax_headers=pax("1234567890.000000001")), b"root:x:0:0::/root:/bin/sh\n"),
            # Times past 2038 and before 1970 need the inode's epoch bits.
            (tinfo("future", pax_headers=pax("4102444800.999999999")), b"2100"),
            # (Whole seconds: libarchive 3.6, which reads compressed layers, takes
            # "-86400.5" for -86399.5; test_mkrootfs_readers has the fraction.)
            (tinfo("past", pax_headers=pax("-86400")), b"1969"),
            # Modes.
            (tinfo("setuid", mode=0o4755), b"#!/bin/sh\n"),
            (tinfo("setgid", mode=0o2711), b"#!/bin/sh\n"),
            (tinfo("sticky", tarfile.DIRTYPE, mode=0o1777), None),
            (tinfo("all", mode=0o7777), b"x"),
            (tinfo("none", mode=0o000), b"x"),
            # Owners beyond 16 bits (and beyond the ustar octal field).
            (tinfo("owned", uid=70000, gid=70001), b"uid"),
            (tinfo("owned-big", uid=3000000000, gid=4000000000), b"uid"),
            (tinfo("owned-dir", tarfile.DIRTYPE, uid=70000, gid=70000), None),
            # Symlinks: fast (< 60 bytes, in the inode) and slow (a block).
            (tinfo("fast", tarfile.SYMTYPE, mode=0o777, linkname="etc/passwd"), None),
            (tinfo("fast59", tarfile.SYMTYPE, mode=0o777, linkname="a" * 59), None),
            (tinfo("slow60", tarfile.SYMTYPE, mode=0o777, linkname="b" * 60), None),
            (tinfo("slow", tarfile.SYMTYPE, mode=0o777, linkname="/" + "c/" * 150 + "end"), None),
            (tinfo("slow4095", tarfile.SYMTYPE, mode=0o777, linkname=("d" * 200 + "/") * 19 + "e" * 276), None),
            (tinfo("dangling", tarfile.SYMTYPE, mode=0o777, linkname="/no/such/file"), None),
            # Hard links: three names, one inode.
            (tinfo("hl/a", mode=0o755), b"linked content\n"),
            (tinfo("hl/b", tarfile.LNKTYPE, linkname="hl/a"), None),
            (tinfo("hl-c", tarfile.LNKTYPE, linkname="hl/a"), None),
            (tinfo("hl/sym", tarfile.SYMTYPE, linkname="a"), None),
            (tinfo("hl/sym2", tarfile.LNKTYPE, linkname="hl/sym"), None),  # hard link to a symlink
            # Devices and fifos.
            (tinfo("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3), None),
            (tinfo("dev/sda1", tarfile.BLKTYPE, mode=0o660, gid=6, devmajor=8, devminor=1), None),
            (tinfo("dev/big", tarfile.CHRTYPE, mode=0o600, devmajor=300, devminor=70000), None),
            (tinfo("dev/minor", tarfile.BLKTYPE, mode=0o600, devmajor=259, devminor=5), None),
            (tinfo("dev/fifo", tarfile.FIFOTYPE, mode=0o600), None),
            # Extended attributes: in the inode, spilling to a block, capabilities.
            (tinfo("x/inline", pax_headers=pax(user__a=b"1", user__mime_type=b"text/plain")), b"x"),
            (tinfo("x/empty-value", pax_headers=pax(user__empty=b"")), b"x"),
            (tinfo("x/spill", pax_headers=pax(**{f"user__big{i}": bytes([65 + i]) * 200 for i in range(8)})), b"x"),
            (tinfo("x/cap", mode=0o755, pax_headers=pax(
                security__capability=bytes.fromhex("0100000200200000000000000000000000000000")
            )), b"\x7fELF"),
            (tinfo("x/dir", tarfile.DIRTYPE, pax_headers=pax(user__dir=b"yes", trusted__t=b"\x00\x01\xff")), None),
            (tinfo("x/hl", tarfile.LNKTYPE, linkname="x/spill"), None),
            # Names: 255 bytes, non-ASCII, odd characters.
            (tinfo("n/" + "N" * 255), b"long name"),
            (tinfo("n/" + "\u00e9" * 127 + "z"), b"utf-8, 255 bytes"),
            (tinfo("n/sp ace\ttab\nnewline"), b"odd"),
            (tinfo("n/.hidden"), b"dot"),
            (tinfo("n/..."), b"dots"),
        ]
        # A path 100 directories deep.
        deep = "/".join(f"level{i:03d}-padding" for i in range(100))
        entries.append((tinfo(deep + "/bottom", pax_headers=pax()), b"deep\n"))
        entries.append((tinfo(deep.rsplit("/", 50)[0] + "/middle", tarfile.DIRTYPE, mode=0o700), None))
        return self.make_tar("layer.tar", entries), deep

    def test_everything_round_trips(self):
        layer, deep = self.build()
        expected = expected_from_tar(layer)
        img = self.mkrootfs([layer])
        with self.mounted(img) as mnt:
            actual = snapshot(mnt)
            self.assertEqual(os.readlink(os.path.join(mnt, "slow4095")), expected["slow4095"]["target"])
            with open(os.path.join(mnt, deep, "bottom"), "rb") as f:
                self.assertEqual(f.read(), b"deep\n")
        self.assert_tree(expected, actual)
        # The records really carry what the cases are about.
        self.assertEqual(actual["owned"]["uid"], 70000)
        self.assertEqual(actual["owned-big"]["gid"], 4000000000)
        self.assertEqual(actual["small"]["mtime_ns"], 1700000000123456789)
        self.assertEqual(actual["future"]["mtime_ns"], 4102444800999999999)
        self.assertEqual(actual["hl/a"]["nlink"], 3)
        self.assertEqual(actual["dev/big"]["rdev"], (300, 70000))
        self.assertEqual(actual["sticky"]["mode"], 0o1777)
        self.assertEqual(len(actual["x/spill"]["xattrs"]), 8)
        self.assertEqual(actual["x/cap"]["xattrs"]["security.capability"][:4], b"\x01\x00\x00\x02")

    def test_debugfs_view(self):
        layer, _ = self.build()
        img = self.mkrootfs([layer])
        # Fast symlinks keep the target in the inode (no extents), slow ones use a block.
        fast = debugfs(img, "stat /fast59")
        self.assertIn("Fast link dest:", fast)
        slow = debugfs(img, "stat /slow60")
        self.assertNotIn("Fast link dest:", slow)
        self.assertIn("EXTENTS:", slow)
        # Small xattrs stay in the inode; many large ones need an xattr block.
        self.assertIn("File ACL: 0", debugfs(img, "stat /x/inline"))
        spill = debugfs(img, "stat /x/spill")
        self.assertRegex(spill, r"File ACL: [1-9]\d*")
        for i in range(8):
            self.assertIn(f"user.big{i} (200)", spill)
        st = debugfs(img, "stat /owned")
        self.assertIn("User: 70000", st.replace("  ", " ").replace("  ", " "))
        self.assertIn("Device major/minor number: 300:70000", debugfs(img, "stat /dev/big"))
        self.assertIn("Device major/minor number: 01:03", debugfs(img, "stat /dev/null"))
        self.assertRegex(debugfs(img, "ls -l /dev"), r"20600 \(3\)\s+0\s+0\s+0 .* big\n")
        self.assertIn("Links: 3", debugfs(img, "stat /hl/a"))
        self.assertIn("Type: FIFO", debugfs(img, "stat /dev/fifo"))

    def test_socket_from_cpio(self):
        # tar has no socket entry type (GNU tar skips sockets), but cpio does,
        # and layers may be cpio archives.
        def newc(name, mode, data=b"", ino=1):
            name_b = name.encode() + b"\0"
            fields = [ino, mode, 0, 0, 1, 1700000000, len(data), 0, 0, 0, 0, len(name_b), 0]
            hdr = b"070701" + b"".join(b"%08X" % f for f in fields) + name_b
            hdr += b"\0" * (-len(hdr) % 4)
            return hdr + data + b"\0" * (-len(data) % 4)
        archive = (newc("run", 0o40755, ino=1) + newc("run/sock", 0o140777, ino=2)
                   + newc("run/file", 0o100600, b"data", ino=3) + newc("TRAILER!!!", 0, ino=0))
        layer = self.path("layer.cpio")
        with open(layer, "wb") as f:
            f.write(archive)
        img = self.mkrootfs([layer])
        with self.mounted(img) as mnt:
            actual = snapshot(mnt)
        self.assertEqual(actual["run/sock"]["type"], "s")
        self.assertEqual(actual["run/sock"]["mode"], 0o777)
        self.assertEqual(actual["run/file"]["sha256"], hashlib.sha256(b"data").hexdigest())
        self.assertIn("Type: socket", debugfs(img, "stat /run/sock"))


if __name__ == "__main__":
    unittest.main()
