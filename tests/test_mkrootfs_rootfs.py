"""mkrootfs on real root filesystems: a busybox-static system packed with
GNU tar, and (on request, or when cached) a debootstrap minbase Debian."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from ext4check import ImageTestCase, expected_from_tar, snapshot

CACHE = "/var/tmp/ctk-test-cache"
DEBOOTSTRAP_TAR = os.path.join(CACHE, "debootstrap-bookworm-minbase.tar")


def gnu_tar(src, out):
    subprocess.run(["tar", "--format=posix", "--numeric-owner", "--xattrs", "--xattrs-include=*",
                    "--sparse", "-C", src, "-cf", out, "."], check=True)


def debian_mirror():
    """The first Debian archive URI in the apt sources (not the security one)."""
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*"))
    for path in files:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        uris = re.findall(r"^\s*URIs:\s*(\S+)", text, re.M)
        uris += re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M)
        for uri in uris:
            if re.search(r"/debian/?$", uri) and "security" not in uri:
                return uri
    return "http://deb.debian.org/debian"


class BusyboxRootfsTest(ImageTestCase):

    def build_tree(self):
        busybox = shutil.which("busybox")
        if not busybox:
            self.fail("busybox is not installed (package busybox-static)")
        root = self.path("root")
        os.makedirs(root)
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "tmp", "proc", "sys", "dev",
                  "var/log"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        os.chmod(os.path.join(root, "root"), 0o700)
        shutil.copy2(busybox, os.path.join(root, "bin/busybox"))
        applets = subprocess.run([busybox, "--list-full"], stdout=subprocess.PIPE, text=True,
                                 check=True).stdout.split()
        self.assertGreater(len(applets), 100)
        for path in applets:
            dst = os.path.join(root, path)
            if os.path.lexists(dst):
                continue
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            rel = os.path.relpath(os.path.join(root, "bin/busybox"), os.path.dirname(dst))
            os.symlink(rel, dst)
        files = {
            "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
                          "big:x:70000:70000::/:/bin/false\n",
            "etc/group": "root:x:0:\nnogroup:x:65534:\nbig:x:70000:\n",
            "etc/hostname": "busybox\n",
            "etc/shadow": "root:*:19000:0:99999:7:::\n",
        }
        for name, text in files.items():
            with open(os.path.join(root, name), "w") as f:
                f.write(text)
        os.chmod(os.path.join(root, "etc/shadow"), 0o640)
        os.chown(os.path.join(root, "etc/shadow"), 0, 42)
        os.link(os.path.join(root, "etc/passwd"), os.path.join(root, "etc/passwd-"))
        os.mknod(os.path.join(root, "dev/null"), 0o20666, os.makedev(1, 3))
        os.mkfifo(os.path.join(root, "var/log/fifo"))
        os.setxattr(os.path.join(root, "etc/hostname"), "user.origin", b"ctk-test")
        os.chown(os.path.join(root, "var/log"), 70000, 70000)
        return root

    def test_busybox_rootfs(self):
        self.need_root()
        root = self.build_tree()
        layer = self.path("busybox.tar")
        gnu_tar(root, layer)
        img = self.mkrootfs([layer])
        expected = snapshot(root)
        expected["."]["nlink"] += 1  # lost+found
        with self.mounted(img) as mnt:
            actual = snapshot(mnt)
            self.assert_tree(expected, actual)
            # It is a usable system: run its shell in it.
            proc = subprocess.run(["chroot", mnt, "/bin/sh", "-c", "echo hi from $(cat /etc/hostname)"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(proc.stdout, "hi from busybox\n")
        # Also as seen by tarfile, without the host tree.
        self.assert_tree(expected_from_tar(layer), actual)


class DebootstrapRootfsTest(ImageTestCase):

    def debootstrap_tar(self):
        if os.path.exists(DEBOOTSTRAP_TAR):
            return DEBOOTSTRAP_TAR
        if os.environ.get("CTK_TEST_DEBOOTSTRAP") != "1":
            self.skipTest("needs network and ~90 s: set CTK_TEST_DEBOOTSTRAP=1 "
                          f"(or provide {DEBOOTSTRAP_TAR})")
        if not shutil.which("debootstrap"):
            self.fail("debootstrap is not installed")
        self.need_root()
        os.makedirs(CACHE, exist_ok=True)
        work = tempfile.mkdtemp(prefix="debootstrap-", dir=CACHE)
        try:
            target = os.path.join(work, "root")
            proc = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", target,
                                   debian_mirror()], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
            partial = DEBOOTSTRAP_TAR + ".partial"
            gnu_tar(target, partial)
            os.rename(partial, DEBOOTSTRAP_TAR)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return DEBOOTSTRAP_TAR

    def test_debootstrap_minbase(self):
        self.need_root()
        layer = self.debootstrap_tar()
        expected = expected_from_tar(layer)
        img = self.mkrootfs([layer], extra=["--journal"])
        with self.mounted(img) as mnt:
            actual = snapshot(mnt)
            proc = subprocess.run(["chroot", mnt, "/usr/bin/dpkg-query", "-W", "-f", "${Package}\n",
                                   "coreutils"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
        self.assert_tree(expected, actual)
        self.assertGreater(len(actual), 5000)
        self.assertEqual(proc.stdout, "coreutils\n")


if __name__ == "__main__":
    unittest.main()
