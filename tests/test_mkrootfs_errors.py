"""mkrootfs: bad input fails with exit 1, one line on stderr naming the
problem entry, and leaves nothing at (or next to) the output path."""
import gzip
import io
import os
import subprocess
import tarfile
import unittest

from ext4check import ImageTestCase, ctk, tinfo


class BadInputTest(ImageTestCase):

    def tar(self, entries, name="layer.tar"):
        return self.make_tar(name, entries)

    def test_parent_escape(self):
        layer = self.tar([(tinfo("ok"), b"1"), (tinfo("../escape"), b"x")])
        line = self.assert_bad_input([layer], "'../escape'")
        self.assertIn("escapes", line)
        self.assertIn("layer.tar", line)

    def test_escape_after_dots(self):
        layer = self.tar([(tinfo("a/../../b"), b"x")])
        self.assert_bad_input([layer], "'a/../../b'")

    def test_absolute_name(self):
        layer = self.tar([(tinfo("/etc/x"), b"x")])
        with tarfile.open(layer) as tf:  # tarfile keeps the leading slash
            self.assertEqual(tf.getnames(), ["/etc/x"])
        line = self.assert_bad_input([layer], "'/etc/x'")
        self.assertIn("absolute", line)

    def test_hard_link_to_missing_target(self):
        layer = self.tar([(tinfo("a"), b"x"),
                          (tinfo("link", tarfile.LNKTYPE, linkname="missing"), None)])
        line = self.assert_bad_input([layer], "'link'")
        self.assertIn("missing", line)

    def test_hard_link_to_whited_out_target(self):
        one = self.tar([(tinfo("a"), b"x")], "one.tar")
        two = self.tar([(tinfo(".wh.a"), b""), (tinfo("b", tarfile.LNKTYPE, linkname="a"), None)],
                       "two.tar")
        self.assert_bad_input([one, two], "'b'")

    def test_truncated_archive(self):
        layer = self.tar([(tinfo("first"), b"a" * 100), (tinfo("big"), os.urandom(200000))])
        with open(layer, "r+b") as f:
            f.truncate(1024 + 512 + 100000)  # in the middle of big's data
        line = self.assert_bad_input([layer], "'big'")
        self.assertIn("layer.tar", line)

    def test_truncated_large_file(self):
        # Large files of plain tars are copied by the kernel, not read through libarchive.
        layer = self.tar([(tinfo("first"), b"a" * 100), (tinfo("huge"), os.urandom(3 << 20))])
        with open(layer, "r+b") as f:
            f.truncate(1024 + 512 + (2 << 20))  # in the middle of huge's data
        line = self.assert_bad_input([layer], "'huge'")
        self.assertIn("truncated", line)

    def test_truncated_header(self):
        layer = self.tar([(tinfo("first"), b"a" * 100), (tinfo("second"), b"b")])
        with open(layer, "r+b") as f:
            f.truncate(1024 + 200)  # in the middle of second's header
        self.assert_bad_input([layer], "layer.tar")

    def test_bad_header_checksum(self):
        layer = self.tar([(tinfo("first"), b"a" * 100), (tinfo("second"), b"b")])
        with open(layer, "r+b") as f:
            f.seek(1024 + 10)  # the name field of second's header
            f.write(b"X")
        line = self.assert_bad_input([layer], "after 'first'")
        self.assertIn("checksum", line)

    def test_malformed_pax_record(self):
        layer = self.tar([(tinfo("first"), b"a"), (tinfo("second", pax_headers={"comment": "x"}), b"b")])
        with open(layer, "rb") as f:
            raw = f.read()
        at = raw.index(b" comment=x\n") - 2  # "18 comment=x\n" becomes "99 comment=x\n"
        layer = self.path("bad-pax.tar")
        with open(layer, "wb") as f:
            f.write(raw[:at] + b"99" + raw[at + 2:])
        line = self.assert_bad_input([layer], "after 'first'")
        self.assertIn("pax", line)

    def test_absurd_size(self):
        # A header claiming 4 GiB in a small archive.
        layer = self.tar([(tinfo("first"), b"a"), (tinfo("huge"), b"b" * 10)])
        with open(layer, "rb") as f:
            raw = bytearray(f.read())
        at = raw.index(b"huge")
        header = raw[at:at + 512]
        header[124:136] = b"%011o\0" % (1 << 32)
        header[148:156] = b" " * 8
        header[148:155] = b"%06o\0" % sum(header)
        raw[at:at + 512] = header
        with open(layer, "wb") as f:
            f.write(raw)
        line = self.assert_bad_input([layer], "'huge'")
        self.assertIn("truncated", line)

    def test_corrupt_gzip(self):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tf:
            data = os.urandom(100000)
            ti = tinfo("payload", size=len(data))
            tf.addfile(ti, io.BytesIO(data))
        blob = bytearray(gzip.compress(raw.getvalue()))
        for i in range(len(blob) // 2, len(blob) // 2 + 64):
            blob[i] ^= 0x55
        layer = self.path("corrupt.tar.gz")
        with open(layer, "wb") as f:
            f.write(blob)
        self.assert_bad_input([layer], "corrupt.tar.gz")

    def test_truncated_gzip(self):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tf:
            data = os.urandom(100000)
            tf.addfile(tinfo("payload", size=len(data)), io.BytesIO(data))
        blob = gzip.compress(raw.getvalue())
        layer = self.path("cut.tar")
        with open(layer, "wb") as f:
            f.write(blob[:len(blob) - 6])  # only the trailer's length is missing
        self.assert_bad_input([layer], "cut.tar")

    def test_garbage_input(self):
        layer = self.path("garbage.tar")
        with open(layer, "wb") as f:
            f.write(b"this is not an archive\n" * 100)
        self.assert_bad_input([layer], "garbage.tar")

    def test_name_too_long(self):
        layer = self.tar([(tinfo("d/" + "n" * 256), b"x")])
        self.assert_bad_input([layer], "n" * 256)

    def test_symlink_loop_in_parent(self):
        layer = self.tar([(tinfo("loop", tarfile.SYMTYPE, linkname="loop"), None),
                          (tinfo("loop/x"), b"x")])
        self.assert_bad_input([layer], "'loop/x'")

    def test_parent_is_a_file(self):
        layer = self.tar([(tinfo("file"), b"x"), (tinfo("file/x"), b"x")])
        self.assert_bad_input([layer], "'file/x'")

    def test_size_too_small(self):
        layer = self.tar([(tinfo("big"), os.urandom(3 << 20))])
        line = self.assert_bad_input([layer], "too small", extra=["--size", "2M"])
        self.assertIn("--size", line)

    def test_size_too_small_for_metadata(self):
        # The data fits; the inode tables and directories do not.
        entries = [(tinfo(f"f{i}"), b"") for i in range(20000)]
        layer = self.tar(entries)
        self.assert_bad_input([layer], "too small", extra=["--size", "1M"])

    def test_nonexistent_input(self):
        missing = self.path("no-such-layer.tar")
        self.assert_bad_input([missing], "no-such-layer.tar")

    def test_second_layer_bad(self):
        good = self.tar([(tinfo("a"), b"x")], "good.tar")
        bad = self.tar([(tinfo("../x"), b"x")], "bad.tar")
        line = self.assert_bad_input([good, bad], "bad.tar")
        self.assertNotIn("good.tar", line)

    def test_existing_output_untouched_on_failure(self):
        out = self.path("keep.ext4")
        with open(out, "wb") as f:
            f.write(b"previous image")
        bad = self.tar([(tinfo("/abs"), b"x")])
        proc = ctk("mkrootfs", "-o", out, bad)
        self.assertEqual(proc.returncode, 1)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"previous image")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["keep.ext4", "layer.tar"])

    def test_unknown_flag(self):
        layer = self.tar([(tinfo("a"), b"x")])
        out = self.path("out.ext4")
        proc = ctk("mkrootfs", "--no-such-flag", "-o", out, layer)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertTrue(proc.stderr.strip())
        self.assertFalse(os.path.exists(out))

    def test_no_layers(self):
        proc = ctk("mkrootfs", "-o", self.path("out.ext4"))
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertFalse(os.path.exists(self.path("out.ext4")))

    def test_invalid_size(self):
        layer = self.tar([(tinfo("a"), b"x")])
        proc = ctk("mkrootfs", "--size", "lots", "-o", self.path("out.ext4"), layer)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertFalse(os.path.exists(self.path("out.ext4")))


if __name__ == "__main__":
    unittest.main()
