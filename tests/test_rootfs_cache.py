"""The store's one root filesystem cache: a build from store blobs holds the
store's lock, so a concurrent `ctk rmi` waits for it instead of collecting
the blobs it reads; an image another ctk build (or an older format) cached
is never reused, and collection drops it."""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import registryfixture as rf
from registryfixture import docker_save_files, tar_bytes

TOOLS = [t for t in ("e2fsck", "debugfs") if not shutil.which(t)]


@unittest.skipIf(TOOLS, f"missing tools: {', '.join(TOOLS)}")
class RootfsCacheTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ctk-rootfs-cache-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.store = os.path.join(self.tmp, "store")
        self.env = dict(os.environ, HOME=self.tmp)

    def ctk(self, *args, exe=rf.CTK):
        return rf.run(exe, *args, "--root", self.store, env=self.env)

    def load(self, tag, layers):
        archive = os.path.join(self.tmp, tag.replace(":", "-") + ".tar")
        with open(archive, "wb") as f:
            f.write(tar_bytes(docker_save_files((tag,), layers=layers)))
        r = self.ctk("load", "-i", archive)
        self.assertEqual(r.returncode, 0, r.stderr)

    def entries(self):
        return sorted(os.path.basename(p) for p in glob.glob(os.path.join(self.store, "rootfs", "*.ext4")))

    def mkrootfs(self, image, out, exe=rf.CTK):
        r = self.ctk("mkrootfs", "--timings", "-o", out, image, exe=exe)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rf.run("e2fsck", "-fn", out).returncode, 0)
        return "apply layers" in r.stderr  # built, not copied from the cache

    def test_rmi_waits_for_a_build(self):
        # Big enough that the build is caught in the act; zeros keep the layer small.
        self.load("big:v1", [(tar_bytes([("etc", None), ("etc/motd", b"big\n"), ("zeros", bytes(96 << 20))]), True)])
        out = os.path.join(self.tmp, "big.ext4")
        build = subprocess.Popen([rf.CTK, "mkrootfs", "--root", self.store, "-o", out, "big:v1"], env=self.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Its temporary entry in the cache: the build is under way (and holds the lock).
        deadline = time.time() + 30
        while not glob.glob(os.path.join(self.store, "rootfs", ".*")) and build.poll() is None:
            self.assertLess(time.time(), deadline, "no build seen")
            time.sleep(0.002)
        self.assertIsNone(build.poll(), "the build ended before it could be caught")
        build.send_signal(signal.SIGSTOP)
        try:
            rmi = subprocess.Popen([rf.CTK, "rmi", "--root", self.store, "big:v1"], env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1)
            # The name went at once; the collection waits for the build.
            self.assertNotIn("docker.io/library/big:v1", rf.store_refs(self.store))
            self.assertIsNone(rmi.poll(), "rmi collected while a build was reading the image")
        finally:
            build.send_signal(signal.SIGCONT)
        _, err = build.communicate(timeout=120)
        self.assertEqual(build.returncode, 0, err)
        rmi_out, rmi_err = rmi.communicate(timeout=60)
        self.assertEqual(rmi.returncode, 0, rmi_err)
        self.assertRegex(rmi_out, r"Deleted [1-9]\d* blobs")
        self.assertEqual(rf.run("e2fsck", "-fn", out).returncode, 0)
        self.assertEqual(rf.run("debugfs", "-R", "cat /etc/motd", out).stdout, "big\n")
        self.assertIn("Size: 100663296", rf.run("debugfs", "-R", "stat /zeros", out).stdout)
        # The image is gone, and its cache entry with it.
        self.assertEqual(os.listdir(os.path.join(self.store, "rootfs")), [])

    def test_an_entry_another_ctk_made_is_not_reused(self):
        self.load("small:v1", [(tar_bytes([("etc", None), ("etc/motd", b"small\n")]), False)])
        self.load("other:v1", [(tar_bytes([("other", b"o")]), False)])
        out = os.path.join(self.tmp, "out.ext4")
        self.assertTrue(self.mkrootfs("small:v1", out))
        self.assertFalse(self.mkrootfs("small:v1", out))
        [ours] = self.entries()
        # Another build of ctk (a binary of its own) never takes it.
        newer = os.path.join(self.tmp, "ctk-newer")
        shutil.copy2(rf.CTK, newer)
        self.assertTrue(self.mkrootfs("small:v1", out, exe=newer))
        self.assertFalse(self.mkrootfs("small:v1", out, exe=newer))
        self.assertEqual(len(self.entries()), 2)
        [theirs] = [e for e in self.entries() if e != ours]
        self.assertEqual(ours[:65], theirs[:65])  # the same image, another format
        # Its collection drops what it cannot use, the image still there.
        r = self.ctk("rmi", "other:v1", exe=newer)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.entries(), [theirs])

    def test_an_entry_of_an_older_format_is_not_reused(self):
        self.load("small:v1", [(tar_bytes([("etc", None), ("etc/motd", b"small\n")]), False)])
        out = os.path.join(self.tmp, "out.ext4")
        self.assertTrue(self.mkrootfs("small:v1", out))
        [entry] = self.entries()
        # What ctk wrote before its cache recorded a format.
        stats = os.path.join(self.store, "rootfs", entry + ".json")
        with open(stats, "w") as f:
            f.write('{"blocks": 1, "used_blocks": 1, "inodes": 11, "data_bytes": 0, "entries": 2}\n')
        self.assertTrue(self.mkrootfs("small:v1", out))
        self.assertEqual(rf.run("debugfs", "-R", "cat /etc/motd", out).stdout, "small\n")


if __name__ == "__main__":
    unittest.main()
