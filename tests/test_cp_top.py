"""ctk cp and ctk top: files between the host and a running container as tar
streams (copy_out / copy_in with "archive"), and the processes in a
container (the top op). Agent-level tests run `ctk vminitd --listen` as a
plain process (tests/test_vminitd.py's harness); the rest boot real VMs with a
busybox root filesystem (tests/test_containers.py's)."""
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import unittest

from agentproto import AgentError, Client
from test_containers import CTK, ContainerTest
from test_vminitd import BUSYBOX, AgentTestCase, config


def tar_bytes(*members):
    """A tar of (TarInfo, data) pairs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for info, data in members:
            info.size = len(data) if data is not None else 0
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name, kind=tarfile.REGTYPE, mode=0o644, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = linkname
    info.mtime = 1600000000
    return info


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_tree(root):
    """A tree with modes, a relative and a dangling symlink, an empty
    directory and a 20 MB file; returns {relative path: what it is}."""
    os.makedirs(os.path.join(root, "sub/deep"))
    os.makedirs(os.path.join(root, "empty"))
    with open(os.path.join(root, "small"), "w") as f:
        f.write("small file\n")
    os.chmod(os.path.join(root, "small"), 0o600)
    with open(os.path.join(root, "sub/deep/run.sh"), "w") as f:
        f.write("#!/bin/sh\necho hi\n")
    os.chmod(os.path.join(root, "sub/deep/run.sh"), 0o755)
    with open(os.path.join(root, "sub/big"), "wb") as f:
        f.write(os.urandom(20 << 20))
    os.symlink("../small", os.path.join(root, "sub/link"))
    os.symlink("/no/such/target", os.path.join(root, "dangling"))
    os.chmod(os.path.join(root, "sub"), 0o750)
    return describe(root)


def describe(root):
    """Each entry under root: its type, permission bits and content hash or link target."""
    out = {}
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(parent, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), sha256(path))
    return out


@unittest.skipUnless(os.geteuid() == 0 and os.path.exists(BUSYBOX) and shutil.which("unshare"),
                     "needs root, unshare and busybox-static")
class AgentArchiveTest(AgentTestCase):
    """copy_out / copy_in with "archive" and top, against an agent outside a VM."""

    @classmethod
    def setUpClass(cls):
        cls.start_agent("cp-agent")

    def setUp(self):
        self.assertIsNone(self.agent.poll(), "the agent died")
        self.c = Client(self.sock)
        self.c.hello()
        self.cid = self._testMethodName
        self.c.call("create", container=self.cid, config=config(self.root, ["sleep", "1000"]))
        self.c.call("start", container=self.cid)

    def tearDown(self):
        self.c.call("delete", container=self.cid, force=True)
        self.c.close()

    def archive_out(self, path, **args):
        ch = self.c.open_channel()
        rid = self.c.request("copy_out", container=self.cid, path=path, archive=True, channel=ch, **args)
        data = self.c.read_until_eof(ch)
        return data, self.c.result(rid)

    def archive_in(self, path, data):
        ch = self.c.open_channel()
        rid = self.c.request("copy_in", container=self.cid, path=path, archive=True, channel=ch)
        try:
            self.c.write(ch, data)
            self.c.send_eof(ch)
        except BrokenPipeError:
            pass  # the agent stopped taking it: the reply says why
        return self.c.result(rid)

    def test_archive_out_of_a_tree(self):
        tree = os.path.join(self.root, "tmp", "tree")
        expected = make_tree(tree)
        self.addCleanup(shutil.rmtree, tree)
        data, res = self.archive_out("/tmp/tree")
        self.assertEqual(res["size"], len(data))
        self.assertEqual((res["stat"]["name"], res["stat"]["type"]), ("tree", "directory"))
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            members = {m.name: m for m in tf.getmembers()}
            self.assertEqual(set(members), {"tree"} | {"tree/" + p for p in expected})
            self.assertEqual(members["tree/sub/link"].linkname, "../small")
            self.assertEqual(members["tree/small"].mode, 0o600)
            self.assertEqual(members["tree/sub"].mode, 0o750)
            big = tf.extractfile("tree/sub/big").read()
            self.assertEqual(hashlib.sha256(big).hexdigest(), expected["sub/big"][2])
        # A directory's contents alone, as ".", "./small" ...
        data, res = self.archive_out("/tmp/tree/.")
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            self.assertIn("./small", tf.getnames())
        self.assertEqual(res["stat"]["name"], ".")

    def test_list_a_directory(self):
        tree = os.path.join(self.root, "tmp", "listed")
        make_tree(tree)
        self.addCleanup(shutil.rmtree, tree)
        res = self.c.call("list", container=self.cid, path="/tmp/listed")
        self.assertFalse(res["truncated"])
        entries = {e["name"]: e for e in res["entries"]}
        self.assertEqual([e["name"] for e in res["entries"]], sorted(entries))
        self.assertEqual(sorted(entries), ["dangling", "empty", "small", "sub"])
        self.assertEqual((entries["small"]["type"], entries["small"]["mode"], entries["small"]["size"]),
                         ("file", 0o600, len("small file\n")))
        self.assertEqual((entries["sub"]["type"], entries["sub"]["mode"]), ("directory", 0o750))
        self.assertEqual((entries["dangling"]["type"], entries["dangling"]["target"]), ("symlink", "/no/such/target"))
        # Through a symlink to a directory; the path resolves in the container.
        os.symlink("/tmp/listed/sub", os.path.join(self.root, "tmp", "to-sub"))
        self.addCleanup(os.unlink, os.path.join(self.root, "tmp", "to-sub"))
        res = self.c.call("list", container=self.cid, path="/tmp/to-sub")
        self.assertEqual([e["name"] for e in res["entries"]], ["big", "deep", "link"])
        for path, code in (("/tmp/listed/small", "invalid_argument"), ("/tmp/nonexistent", "not_found"),
                           ("relative", "invalid_argument")):
            with self.assertRaises(AgentError) as cm:
                self.c.call("list", container=self.cid, path=path)
            self.assertEqual(cm.exception.code, code, path)

    def test_archive_paths_resolve_in_the_container(self):
        # An absolute symlink points into the container's root, not the agent's.
        outside = os.path.join(self.tmp, "outside")
        os.makedirs(outside, exist_ok=True)
        with open(os.path.join(outside, "secret"), "w") as f:
            f.write("the agent's\n")
        os.makedirs(os.path.join(self.root, outside.lstrip("/")), exist_ok=True)
        with open(os.path.join(self.root, outside.lstrip("/"), "secret"), "w") as f:
            f.write("the container's\n")
        link = os.path.join(self.root, "tmp/planted")
        os.symlink(outside, link)
        self.addCleanup(os.unlink, link)
        data, res = self.archive_out("/tmp/planted/secret")
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            self.assertEqual(tf.extractfile("secret").read(), b"the container's\n")
        # With follow, the link itself is followed and keeps its name.
        data, res = self.archive_out("/tmp/planted", follow=True)
        self.assertEqual((res["stat"]["name"], res["stat"]["type"]), ("planted", "directory"))
        # Extraction through the planted link lands in the container too.
        self.archive_in("/tmp/planted", tar_bytes((member("dropped"), b"x")))
        self.assertFalse(os.path.exists(os.path.join(outside, "dropped")))
        self.assertTrue(os.path.exists(os.path.join(self.root, outside.lstrip("/"), "dropped")))
        # A missing path fails at once; the channel never opens.
        with self.assertRaises(AgentError) as e:
            self.c.call("copy_out", container=self.cid, path="/tmp/none", archive=True,
                        channel=self.c.open_channel())
        self.assertEqual(e.exception.code, "not_found")

    def test_archive_in_with_escapes(self):
        dest = os.path.join(self.root, "tmp/dest")
        os.makedirs(dest)
        self.addCleanup(shutil.rmtree, dest)
        data = tar_bytes((member("d", tarfile.DIRTYPE, 0o700), None),
                         (member("d/f", mode=0o640), b"hello"),
                         (member("d/l", tarfile.SYMTYPE, linkname="f"), None),
                         (member("d/h", tarfile.LNKTYPE, linkname="d/f"), None))
        res = self.archive_in("/tmp/dest", data)
        self.assertEqual(res["size"], len(data))
        self.assertEqual(describe(dest), {"d": ("dir", 0o700), "d/f": ("file", 0o640, hashlib.sha256(b"hello").hexdigest()),
                                          "d/l": ("link", "f"), "d/h": ("file", 0o640, hashlib.sha256(b"hello").hexdigest())})
        self.assertEqual(os.stat(os.path.join(dest, "d/f")).st_mtime, 1600000000)
        # Climbing out is refused; a symlink to "/" leads to the destination itself.
        with self.assertRaises(AgentError) as e:
            self.archive_in("/tmp/dest", tar_bytes((member("../escape"), b"x")))
        self.assertEqual(e.exception.message, "'../escape' is outside of /tmp/dest")
        self.assertFalse(os.path.exists(os.path.join(self.root, "tmp/escape")))
        self.archive_in("/tmp/dest", tar_bytes((member("up", tarfile.SYMTYPE, linkname="/"), None),
                                               (member("up/via-link"), b"y")))
        self.assertTrue(os.path.exists(os.path.join(dest, "via-link")))
        self.assertFalse(os.path.exists(os.path.join(self.root, "via-link")))
        # A directory does not replace a file, nor the reverse.
        with self.assertRaises(AgentError) as e:
            self.archive_in("/tmp/dest", tar_bytes((member("d", tarfile.REGTYPE), b"file")))
        self.assertIn("cannot overwrite directory", e.exception.message)
        with self.assertRaises(AgentError) as e:
            self.archive_in("/tmp/none", tar_bytes((member("f"), b"x")))
        self.assertEqual(e.exception.code, "not_found")

    def test_top_lists_the_container_and_its_execs(self):
        eid = "sleeper"
        self.c.call("exec", container=self.cid, exec_id=eid,
                    process={"args": ["sleep", "777"], "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 1000, "gid": 1000}})
        procs = self.c.call("top", container=self.cid)["processes"]
        by_args = {tuple(p["args"]): p for p in procs}
        self.assertEqual(set(by_args), {("sleep", "1000"), ("sleep", "777")})
        init, execd = by_args[("sleep", "1000")], by_args[("sleep", "777")]
        self.assertEqual((init["pid"], init["ppid"], init["user"]), (1, 0, "root"))
        # An exec joins the container's pid namespace; its parent is the agent, outside.
        self.assertEqual((execd["ppid"], execd["user"], execd["uid"]), (0, "user", 1000))
        running = {p["pid"]: p for p in self.c.call("processes", container=self.cid)["processes"]}
        self.assertEqual({p["agent_pid"] for p in procs}, set(running))
        self.assertGreater(self.c.call("top", container=self.cid)["memory_total"], 0)


class CpTopTest(ContainerTest):
    """One running busybox container, shared by the tests of this class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = subprocess.run([CTK, "run", "-d", "--name", "box", cls.layer, "sh", "-c", "exec sleep 100000"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cls.env, timeout=120)
        assert r.returncode == 0, r.stderr.decode()

    def setUp(self):
        self.host = tempfile.mkdtemp(dir=self.tmp)

    def sh(self, script):
        return self.ok("exec", "box", "sh", "-c", script)

    def test_a_file_both_ways(self):
        src = os.path.join(self.host, "blob")
        with open(src, "wb") as f:
            f.write(os.urandom(3 << 20))
        self.ok("cp", src, "box:/tmp/blob")
        self.assertEqual(self.sh("sha256sum /tmp/blob").split()[0], sha256(src))
        # Into an existing directory: under its own name; the path may be relative to /.
        self.ok("cp", src, "box:tmp/")
        self.assertEqual(self.sh("sha256sum /tmp/blob").split()[0], sha256(src))
        back = os.path.join(self.host, "back")
        self.ok("cp", "box:/tmp/blob", back)
        self.assertEqual(sha256(back), sha256(src))
        os.makedirs(os.path.join(self.host, "into"))
        self.ok("cp", "box:/tmp/blob", os.path.join(self.host, "into"))
        self.assertEqual(sha256(os.path.join(self.host, "into/blob")), sha256(src))

    def test_a_tree_both_ways(self):
        tree = os.path.join(self.host, "tree")
        expected = make_tree(tree)
        self.ok("cp", tree, "box:/tmp/")
        listing = self.sh("cd /tmp/tree && stat -c '%n %a' small sub sub/deep/run.sh && readlink sub/link "
                          "&& sha256sum sub/big && stat -c %u small")
        self.assertEqual(listing.split("\n"), ["small 600", "sub 750", "sub/deep/run.sh 755", "../small",
                                               f"{expected['sub/big'][2]}  sub/big", "0", ""])
        # Back out, to a path that does not exist: it becomes the copy.
        out = os.path.join(self.host, "out")
        self.ok("cp", "box:/tmp/tree", out)
        self.assertEqual(describe(out), expected)
        # A directory's contents into an existing directory.
        contents = os.path.join(self.host, "contents")
        os.makedirs(contents)
        self.ok("cp", "box:/tmp/tree/.", contents)
        self.assertEqual(describe(contents), expected)
        # -a keeps owners; without it the container's copy belongs to root.
        os.chown(os.path.join(tree, "small"), 1000, 1000)
        self.ok("cp", "-a", os.path.join(tree, "small"), "box:/tmp/owned")
        self.assertEqual(self.sh("stat -c %u:%g /tmp/owned").strip(), "1000:1000")
        self.ok("cp", os.path.join(tree, "small"), "box:/tmp/rooted")
        self.assertEqual(self.sh("stat -c %u:%g /tmp/rooted").strip(), "0:0")
        # A directory does not replace a file.
        r = self.ctk("cp", tree, "box:/tmp/rooted")
        self.assertEqual(r.returncode, 1)

    def test_tar_streams(self):
        self.sh("mkdir -p /tmp/s/d && echo one > /tmp/s/d/one && ln -s one /tmp/s/d/link")
        r = self.ctk("cp", "box:/tmp/s", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tf:
            self.assertEqual(sorted(tf.getnames()), ["s", "s/d", "s/d/link", "s/d/one"])
            self.assertEqual(tf.extractfile("s/d/one").read(), b"one\n")
        data = tar_bytes((member("new", tarfile.DIRTYPE, 0o755), None), (member("new/f", mode=0o604), b"from stdin"))
        self.ok("cp", "-", "box:/tmp/s", input=data)
        self.assertEqual(self.sh("cat /tmp/s/new/f; stat -c %a /tmp/s/new/f"), "from stdin604\n")
        r = self.ctk("cp", "-", "box:/tmp/s/d/one", input=data)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'destination "box:/tmp/s/d/one" must be a directory', r.stderr)

    def test_errors(self):
        r = self.ctk("cp", "box:/nonexistent", self.host)
        self.assertEqual((r.returncode, r.stderr.decode()), (1, "ctk cp: No such container:path: box:/nonexistent\n"))
        src = os.path.join(self.host, "f")
        open(src, "w").close()
        r = self.ctk("cp", src, "box:/nonexistent/f")
        self.assertEqual((r.returncode, r.stderr.decode()),
                         (1, "ctk cp: Could not find the file /nonexistent in container box\n"))
        r = self.ctk("cp", "-", "box:/tmp", input=tar_bytes((member("../escape"), b"x")))
        self.assertEqual((r.returncode, r.stderr.decode()), (1, "ctk cp: '../escape' is outside of /tmp\n"))
        self.assertEqual(self.sh("ls /escape 2>&1 || echo none").strip().splitlines()[-1], "none")
        r = self.ctk("cp", src, os.path.join(self.host, "g"))
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"must specify at least one container source", r.stderr)

    def test_a_container_that_is_not_running(self):
        # Created, never started: files go into its writable layer and its
        # volume, booted for the copy alone; the state stays "created".
        self.ok("create", "--name", "idle", "-v", "/vol", "--tmpfs", "/scratch", self.layer,
                "sh", "-c", "cat /in /vol/g; echo later > /vol/h")
        self.addCleanup(self.ctk, "rm", "-f", "-v", "idle")
        src = os.path.join(self.host, "f")
        with open(src, "w") as f:
            f.write("into the layer\n")
        self.ok("cp", src, "idle:/in")  # /in does not exist: the copy takes its name
        self.ok("cp", "-", "idle:/vol", input=tar_bytes((member("g"), b"into the volume\n")))
        self.ok("cp", "-", "idle:/scratch", input=tar_bytes((member("lost"), b"tmpfs\n")))
        self.assertEqual(self.state("idle")["Status"], "created")
        idle = json.loads(self.ok("inspect", "idle"))[0]["Id"]

        def copy_vm_gone():
            return not subprocess.run(["pgrep", "-f", f"ctk supervise.*{idle}"], stdout=subprocess.PIPE).stdout
        self.wait_for("the copy's VM to power off", copy_vm_gone)
        r = self.ctk("exec", "idle", "true")
        self.assertEqual((r.returncode, r.stderr.decode()), (1, "ctk exec: container idle is not running\n"))
        self.assertEqual(self.ok("start", "-a", "idle"), "into the layer\ninto the volume\n")
        # Exited: out of the layer and the volume; a tmpfs is empty again.
        self.assertEqual(self.state("idle")["Status"], "exited")
        back = os.path.join(self.host, "back")
        self.ok("cp", "idle:/vol/h", back)
        with open(back) as f:
            self.assertEqual(f.read(), "later\n")
        r = self.ctk("cp", "idle:/in", "-")
        with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tf:
            self.assertEqual(tf.extractfile("in").read(), b"into the layer\n")
        r = self.ctk("cp", "idle:/scratch/lost", self.host)
        self.assertEqual((r.returncode, r.stderr.decode()), (1, "ctk cp: No such container:path: idle:/scratch/lost\n"))
        state = self.state("idle")
        self.assertEqual((state["Status"], state["ExitCode"]), ("exited", 0))
        self.wait_for("the copy's VM to power off", copy_vm_gone)

    def test_top_lists_a_sleep_started_by_exec(self):
        pid = int(self.sh("sleep 777 >/dev/null 2>&1 & echo $!"))
        procs = [json.loads(line) for line in self.ok("top", "--format", "json", "box").splitlines()]
        sleeps = {p["pid"]: p for p in procs if p["args"] == ["sleep", "777"]}
        self.assertIn(pid, sleeps)
        self.assertEqual((sleeps[pid]["ppid"], sleeps[pid]["user"], sleeps[pid]["state"]), (1, "root", "S"))
        self.assertEqual(self.sh(f"cat /proc/{pid}/cmdline | tr '\\0' ' '"), "sleep 777 ")
        table = self.ok("top", "box").splitlines()
        self.assertEqual(table[0].split(), ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"])
        rows = [line.split() for line in table[1:]]
        self.assertIn(["root", "1", "0"], [row[:3] for row in rows if row[-2:] == ["sleep", "100000"]])
        self.assertIn(["root", str(pid), "1"], [row[:3] for row in rows if row[-2:] == ["sleep", "777"]])
        self.assertEqual(self.ok("top", "box", "-o", "pid,comm").splitlines()[0].split(), ["PID", "COMMAND"])
        r = self.ctk("top", "box", "-o", "nope")
        self.assertEqual(r.returncode, 2)
        self.sh(f"kill {pid}")


if __name__ == "__main__":
    unittest.main()
