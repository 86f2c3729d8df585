"""What the tests of applets that need no VM share: a busybox layer made once
per class, a fresh data root per test, and ctk run on them."""
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmkernel  # noqa: E402  (beside this file, also under `python3 -m unittest tests.X`)

CTK = os.environ.get("CTK", "build/ctk")


class CliTest(unittest.TestCase):
    """cls.layer: a busybox layer to create containers from; self.root: this
    test's own data root (pass it with --root)."""
    prefix = "ctk-cli-test-"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=cls.prefix)
        rootfs = os.path.join(cls.tmp, "rootfs")
        vmkernel.busybox_rootfs(rootfs)
        cls.layer = os.path.join(cls.tmp, "busybox.tar")
        with tarfile.open(cls.layer, "w") as tf:
            tf.add(rootfs, arcname=".")
        cls.env = dict(os.environ, XDG_CACHE_HOME=os.path.join(cls.tmp, "cache"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.root = tempfile.mkdtemp(dir=self.tmp)

    def ctk(self, *args):
        return subprocess.run([CTK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=self.env, timeout=120)

    def ok(self, *args):
        r = self.ctk(*args)
        self.assertEqual(r.returncode, 0, f"ctk {' '.join(args)}: {r.stderr}")
        return r.stdout
