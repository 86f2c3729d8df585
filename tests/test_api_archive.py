"""docker cp through ctk serve (HEAD, GET and PUT /containers/{id}/archive),
driven by the real docker CLI against one running busybox container, with
raw requests for the stat header and for what the CLI never sends."""
import base64
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apifixture import ApiTest  # noqa: E402

# Go's os.FileMode bits, as docker's path stat carries them.
MODE_DIR, MODE_SYMLINK, MODE_SETGID, MODE_STICKY = 1 << 31, 1 << 27, 1 << 22, 1 << 20


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


class ApiArchiveTest(ApiTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.docker("run", "-d", "--name", "box", "busybox", "sleep", "1000", timeout=300)
        assert r.returncode == 0, r.stderr.decode()

    def setUp(self):
        self.host = tempfile.mkdtemp(prefix="cp-host-", dir=self.tmp)
        self.addCleanup(shutil.rmtree, self.host, True)

    def sh(self, script):
        """A shell script in the container: its stdout."""
        return self.ok("exec", "box", "sh", "-c", script)

    def request(self, method, path, body=None, headers=None):
        """A raw request: (status, headers, body bytes)."""
        conn = UnixConnection(self.socket)
        try:
            conn.request(method, urllib.parse.quote(path, safe="/?=&"), body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.headers, r.read()
        finally:
            conn.close()

    def path_stat(self, path, container="box"):
        status, headers, body = self.request("HEAD", f"/v1.43/containers/{container}/archive?path={path}")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, b"")
        return json.loads(base64.b64decode(headers["X-Docker-Container-Path-Stat"]))

    # container -> host

    def test_a_file_out(self):
        self.sh("printf 'hello\\n' > /tmp/out1 && chmod 640 /tmp/out1")
        dst = os.path.join(self.host, "copy")
        self.ok("cp", "box:/tmp/out1", dst)
        with open(dst) as f:
            self.assertEqual(f.read(), "hello\n")
        self.assertEqual(os.stat(dst).st_mode & 0o777, 0o640)
        # Into an existing directory: the file keeps its name.
        self.ok("cp", "box:/tmp/out1", self.host)
        self.assertTrue(os.path.isfile(os.path.join(self.host, "out1")))

    def test_a_directory_and_its_contents_out(self):
        self.sh("mkdir -p /tmp/tree/sub && echo a > /tmp/tree/a && echo b > /tmp/tree/sub/b")
        self.ok("cp", "box:/tmp/tree", os.path.join(self.host, "new"))
        self.assertEqual(sorted(os.listdir(os.path.join(self.host, "new"))), ["a", "sub"])
        existing = os.path.join(self.host, "existing")
        os.mkdir(existing)
        self.ok("cp", "box:/tmp/tree", existing)
        with open(os.path.join(existing, "tree", "sub", "b")) as f:
            self.assertEqual(f.read(), "b\n")
        contents = os.path.join(self.host, "contents")
        os.mkdir(contents)
        self.ok("cp", "box:/tmp/tree/.", contents)
        self.assertEqual(sorted(os.listdir(contents)), ["a", "sub"])

    def test_a_symlink_out(self):
        self.sh("mkdir -p /tmp/ln && echo target > /tmp/ln/f && ln -sf f /tmp/ln/link")
        self.ok("cp", "box:/tmp/ln/link", os.path.join(self.host, "link"))
        self.assertEqual(os.readlink(os.path.join(self.host, "link")), "f")
        # -L: the CLI asks for the link's target (linkTarget) and copies that.
        self.ok("cp", "-L", "box:/tmp/ln/link", os.path.join(self.host, "followed"))
        self.assertFalse(os.path.islink(os.path.join(self.host, "followed")))
        with open(os.path.join(self.host, "followed")) as f:
            self.assertEqual(f.read(), "target\n")

    def test_a_tar_on_stdout(self):
        self.sh("mkdir -p /tmp/st/d && echo one > /tmp/st/d/one && ln -sf one /tmp/st/d/link"
                " && chown 4321:8765 /tmp/st/d/one")
        r = self.docker("cp", "box:/tmp/st", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tf:
            self.assertEqual(sorted(tf.getnames()), ["st", "st/d", "st/d/link", "st/d/one"])
            self.assertEqual(tf.extractfile("st/d/one").read(), b"one\n")
            one = tf.getmember("st/d/one")
            # The archive carries the container's owners.
            self.assertEqual((one.uid, one.gid), (4321, 8765))
            self.assertEqual(tf.getmember("st/d/link").linkname, "one")

    # host -> container

    def test_a_file_in(self):
        src = os.path.join(self.host, "in1")
        with open(src, "w") as f:
            f.write("from the host\n")
        os.chmod(src, 0o604)
        self.ok("cp", src, "box:/tmp/in1-copy")
        self.assertEqual(self.sh("cat /tmp/in1-copy; stat -c %a /tmp/in1-copy"), "from the host\n604\n")
        self.sh("mkdir -p /tmp/indir")
        self.ok("cp", src, "box:/tmp/indir")
        self.assertEqual(self.sh("cat /tmp/indir/in1"), "from the host\n")

    def test_a_directory_in(self):
        tree = os.path.join(self.host, "tree")
        os.makedirs(os.path.join(tree, "sub"))
        with open(os.path.join(tree, "sub", "x"), "w") as f:
            f.write("x\n")
        os.symlink("sub/x", os.path.join(tree, "lx"))
        self.ok("cp", tree, "box:/tmp/treecopy")
        self.assertEqual(self.sh("cat /tmp/treecopy/sub/x; readlink /tmp/treecopy/lx"), "x\nsub/x\n")
        # Into an existing directory: the tree goes in it under its name.
        self.sh("mkdir -p /tmp/holder")
        self.ok("cp", tree, "box:/tmp/holder")
        self.assertEqual(self.sh("cat /tmp/holder/tree/sub/x"), "x\n")
        # DIR/. : the contents into the existing directory.
        self.ok("cp", tree + "/.", "box:/tmp/holder")
        self.assertEqual(self.sh("cat /tmp/holder/sub/x"), "x\n")

    def test_a_tar_from_stdin(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            d = tarfile.TarInfo("fromstdin")
            d.type, d.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(d)
            data = b"piped in\n"
            f = tarfile.TarInfo("fromstdin/f")
            f.size, f.mode = len(data), 0o600
            tf.addfile(f, io.BytesIO(data))
        self.sh("mkdir -p /tmp/stdin")
        self.ok("cp", "-", "box:/tmp/stdin", input=buf.getvalue())
        self.assertEqual(self.sh("cat /tmp/stdin/fromstdin/f; stat -c %a /tmp/stdin/fromstdin/f"), "piped in\n600\n")
        # stdin's archive needs a directory to land in.
        self.assertIn("must be a directory", self.fails("cp", "-", "box:/tmp/stdin/fromstdin/f", input=buf.getvalue()))

    def test_owners_with_archive_mode(self):
        src = os.path.join(self.host, "owned")
        with open(src, "w") as f:
            f.write("owned\n")
        os.chown(src, 1234, 5678)
        self.ok("cp", "-a", src, "box:/tmp/owned")
        self.assertEqual(self.sh("stat -c %u:%g /tmp/owned"), "1234:5678\n")
        # Without -a too: the CLI's archive carries the host's owners and
        # docker's daemon keeps them for a container without a configured user.
        self.ok("cp", src, "box:/tmp/owned-too")
        self.assertEqual(self.sh("stat -c %u:%g /tmp/owned-too"), "1234:5678\n")
        # And out: the archive has the container's owners (the CLI's
        # extraction on the host then makes them its user's).
        self.sh("chown 2345:6789 /tmp/owned")
        r = self.docker("cp", "-a", "box:/tmp/owned", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tf:
            owned = tf.getmember("owned")
            self.assertEqual((owned.uid, owned.gid), (2345, 6789))

    def test_relative_paths_are_from_the_root(self):
        # docker's documented "box:tmp/f" is "box:/tmp/f"; the CLI sends it as is.
        self.sh("echo rel > /tmp/rel")
        self.ok("cp", "box:tmp/rel", os.path.join(self.host, "rel"))
        with open(os.path.join(self.host, "rel")) as f:
            self.assertEqual(f.read(), "rel\n")
        self.ok("cp", os.path.join(self.host, "rel"), "box:tmp/rel-in")
        self.assertEqual(self.sh("cat /tmp/rel-in"), "rel\n")
        status, headers, _ = self.request("HEAD", "/containers/box/archive?path=tmp/rel")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(base64.b64decode(headers["X-Docker-Container-Path-Stat"]))["size"], 4)

    # errors

    def test_errors(self):
        err = self.fails("cp", "box:/nonexistent", self.host)
        self.assertIn("/nonexistent", err)
        status, _, body = self.request("GET", "/containers/box/archive?path=/nonexistent")
        self.assertEqual((status, json.loads(body)["message"]),
                         (404, "Could not find the file /nonexistent in container box"))
        status, _, body = self.request("GET", "/containers/box/archive")
        self.assertEqual((status, json.loads(body)["message"]), (400, "path is required"))
        status, _, _ = self.request("HEAD", "/containers/box/archive?path=/nonexistent")
        self.assertEqual(status, 404)
        status, _, body = self.request("GET", "/containers/nobox/archive?path=/etc")
        self.assertEqual(status, 404, body)
        # A directory onto a file, both ways.
        self.sh("echo f > /tmp/afile")
        tree = os.path.join(self.host, "d")
        os.mkdir(tree)
        self.assertIn("cannot copy directory", self.fails("cp", tree, "box:/tmp/afile"))
        hostfile = os.path.join(self.host, "hf")
        open(hostfile, "w").close()
        self.sh("mkdir -p /tmp/adir")
        self.assertIn("cannot copy directory", self.fails("cp", "box:/tmp/adir", hostfile))
        # A directory onto a file that exists in the destination directory:
        # noOverwriteDirNonDir, which the agent always keeps.
        self.sh("mkdir -p /tmp/holds-d && echo > /tmp/holds-d/d")
        self.assertIn("cannot overwrite non-directory /tmp/holds-d/d with directory",
                      self.fails("cp", tree, "box:/tmp/holds-d"))
        # Into a file or a missing directory: the server's answers.
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as tf:
            tf.addfile(tarfile.TarInfo("empty"))
        status, _, body = self.request("PUT", "/containers/box/archive?path=/tmp/afile", tar.getvalue())
        self.assertEqual(status, 400, body)
        status, _, body = self.request("PUT", "/containers/box/archive?path=/nonexistent", tar.getvalue())
        self.assertEqual((status, json.loads(body)["message"]),
                         (404, "Could not find the file /nonexistent in container box"))
        # The CLI's stat of a missing destination is a 404 it lets pass; the
        # upload into its missing directory is the 404 it reports.
        err = self.fails("cp", hostfile, "box:/nonexistent/f")
        self.assertIn("Could not find the file /nonexistent in container box", err)

    def test_a_container_that_is_not_running(self):
        # docker copies into and out of a container in any state; ctk boots
        # the VM for the copy alone.
        self.ok("create", "--name", "idle", "-v", "/vol", "busybox", "sh", "-c", "cat /vol/f; echo out > /vol/g")
        self.addCleanup(self.docker, "rm", "-f", "-v", "idle")
        src = os.path.join(self.host, "f")
        with open(src, "w") as f:
            f.write("copied while created\n")
        self.ok("cp", src, "idle:/vol/f")
        self.assertEqual(self.ok("inspect", "-f", "{{.State.Status}}", "idle").strip(), "created")
        self.assertEqual(self.ok("start", "-a", "idle"), "copied while created\n")
        self.ok("cp", "idle:/vol/g", self.host)
        with open(os.path.join(self.host, "g")) as f:
            self.assertEqual(f.read(), "out\n")
        self.assertEqual(self.path_stat("/vol/g", container="idle")["size"], 4)
        self.assertEqual(self.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "idle").strip(), "exited 0")

    def test_bad_input_never_crashes(self):
        self.sh("mkdir -p /tmp/bad")
        status, _, _ = self.request("PUT", "/containers/box/archive?path=/tmp/bad", b"\x00garbage" * 1000)
        self.assertGreaterEqual(status, 400)
        # A member that climbs out of the directory.
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as tf:
            info = tarfile.TarInfo("../escaped")
            info.size = 1
            tf.addfile(info, io.BytesIO(b"x"))
        status, _, body = self.request("PUT", "/containers/box/archive?path=/tmp/bad", tar.getvalue())
        self.assertGreaterEqual(status, 400, body)
        self.assertEqual(self.sh("ls /tmp/escaped 2>/dev/null || echo none"), "none\n")
        # A body cut short: the client goes away mid-upload.
        conn = UnixConnection(self.socket)
        conn.putrequest("PUT", "/containers/box/archive?path=/tmp/bad")
        conn.putheader("Content-Length", "100000")
        conn.endheaders()
        conn.send(b"x" * 1000)
        conn.close()
        # A download the client gives up on.
        self.sh("dd if=/dev/zero of=/tmp/bad/zeros bs=1M count=20 2>/dev/null")
        conn = UnixConnection(self.socket)
        conn.request("GET", "/containers/box/archive?path=/tmp/bad/zeros")
        r = conn.getresponse()
        self.assertEqual(len(r.read(1000)), 1000)
        conn.close()
        status, _, _ = self.request("GET", "/_ping")
        self.assertEqual(status, 200)
        # The container copies on as before.
        self.ok("cp", "box:/tmp/bad/zeros", self.host)
        self.assertEqual(os.path.getsize(os.path.join(self.host, "zeros")), 20 << 20)

    # the stat header

    def test_head_gives_the_path_stat(self):
        self.sh("mkdir -p /tmp/hd/sub && chmod 2750 /tmp/hd/sub && echo abc > /tmp/hd/f"
                " && ln -sf f /tmp/hd/l1 && ln -sf /tmp/hd/l1 /tmp/hd/l2 && ln -sf nowhere /tmp/hd/dangling"
                " && touch -d '2023-01-05 13:20:48' /tmp/hd/f")
        st = self.path_stat("/tmp/hd/sub")
        self.assertEqual(st["name"], "sub")
        self.assertEqual(st["mode"], MODE_DIR | MODE_SETGID | 0o750)
        self.assertEqual(st["linkTarget"], "")
        st = self.path_stat("/tmp/hd/f")
        self.assertEqual((st["name"], st["size"], st["mode"]), ("f", 4, 0o644))
        self.assertTrue(st["mtime"].startswith("2023-01-05T13:20:48"), st["mtime"])
        st = self.path_stat("/tmp/hd/l1")
        self.assertEqual(st["mode"], MODE_SYMLINK | 0o777)
        self.assertEqual(st["linkTarget"], "/tmp/hd/f")
        # A chain of links is followed to its end; a dangling one to where it points.
        self.assertEqual(self.path_stat("/tmp/hd/l2")["linkTarget"], "/tmp/hd/f")
        self.assertEqual(self.path_stat("/tmp/hd/dangling")["linkTarget"], "/tmp/hd/nowhere")
        self.assertEqual(self.path_stat("/tmp")["mode"] & (MODE_DIR | MODE_STICKY), MODE_DIR | MODE_STICKY)
        # GET carries the same header before its tar.
        status, headers, body = self.request("GET", "/containers/box/archive?path=/tmp/hd/f")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/x-tar")
        self.assertEqual(json.loads(base64.b64decode(headers["X-Docker-Container-Path-Stat"]))["size"], 4)
        with tarfile.open(fileobj=io.BytesIO(body)) as tf:
            self.assertEqual(tf.extractfile("f").read(), b"abc\n")

    # a big file

    def test_a_big_file_round_trip(self):
        src = os.path.join(self.host, "big")
        with open(src, "wb") as f:
            for _ in range(50):
                f.write(os.urandom(1 << 20))
        self.ok("cp", src, "box:/tmp/big", timeout=600)
        self.assertEqual(self.sh("md5sum /tmp/big").split()[0], md5(src))
        back = os.path.join(self.host, "back")
        self.ok("cp", "box:/tmp/big", back, timeout=600)
        self.assertEqual(md5(back), md5(src))
        self.sh("rm /tmp/big")
        # Streamed both ways: the server never held the 50 MB (it peaks
        # at ~9 MB here, however big the file).
        self.assertLess(peak_rss_kb(self.server.pid), 32 << 10)


if __name__ == "__main__":
    unittest.main()
