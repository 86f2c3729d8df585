"""Shared helpers for the mkrootfs integration tests: run ctk, check images
with the real e2fsprogs, mount them read-only through a loop device, and
describe file trees (from a mount, a host directory or tar archives) as
comparable records."""
import contextlib
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import unittest

CTK = os.environ.get("CTK", "")


def ctk(*args, check=False):
    proc = subprocess.run([CTK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"ctk {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def is_root():
    return os.geteuid() == 0


def tool(*args, check=True, input=None):
    proc = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}")
    return proc.stdout


def debugfs(img, request):
    # debugfs prints its banner on stderr and the answer on stdout.
    proc = subprocess.run(["debugfs", "-R", request, img], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    return proc.stdout


def dumpe2fs_header(img):
    out = tool("dumpe2fs", "-h", img)
    fields = {}
    for line in out.splitlines():
        m = re.match(r"^([A-Za-z][A-Za-z0-9 _/#-]*):\s+(.*)$", line)
        if m:
            fields[m.group(1).strip()] = m.group(2).strip()
    return fields


# ---------------------------------------------------------------------------
# Tree records: path -> {"type", "mode", "uid", "gid", "size", "sha256",
# "target", "nlink", "xattrs", "rdev", "mtime_ns"}. Expectations may leave
# keys out; comparisons check the keys the expectation has.

def _type_of(mode):
    for test, name in ((stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"),
                       (stat.S_ISCHR, "c"), (stat.S_ISBLK, "b"), (stat.S_ISFIFO, "p"),
                       (stat.S_ISSOCK, "s")):
        if test(mode):
            return name
    return "?"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def _xattrs(path):
    out = {}
    for name in os.listxattr(path, follow_symlinks=False):
        out[name] = os.getxattr(path, name, follow_symlinks=False)
    return out


def snapshot(root, skip_lost_found=True, with_root=True, skip=()):
    """Records for every entry under root (a mount or a host directory)."""
    records = {}

    def record(path, rel):
        st = os.lstat(path)
        t = _type_of(st.st_mode)
        r = {"type": t, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
             "mtime_ns": st.st_mtime_ns, "xattrs": _xattrs(path), "nlink": st.st_nlink}
        if t == "f":
            r["size"] = st.st_size
            r["sha256"] = sha256_file(path)
        elif t == "l":
            r["target"] = os.readlink(path)
            r["size"] = st.st_size
        elif t in "cb":
            r["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
        records[rel] = r
        return t

    if with_root:
        record(root, ".")
    stack = [("", root)]
    while stack:
        rel_dir, abs_dir = stack.pop()
        for name in sorted(os.listdir(abs_dir)):
            rel = rel_dir + name
            if skip_lost_found and rel == "lost+found":
                continue
            if rel in skip:
                continue
            p = os.path.join(abs_dir, name)
            if record(p, rel) == "d":
                stack.append((rel + "/", p))
    return records


def _pax_mtime_ns(ti):
    raw = ti.pax_headers.get("mtime")
    if raw is None:
        return int(ti.mtime) * 10**9
    neg = raw.startswith("-")
    if neg:
        raw = raw[1:]
    sec, _, frac = raw.partition(".")
    ns = int(sec) * 10**9 + int((frac + "000000000")[:9])
    return -ns if neg else ns


def _tar_xattrs(ti):
    out = {}
    for k, v in ti.pax_headers.items():
        if k.startswith("SCHILY.xattr."):
            out[k[len("SCHILY.xattr."):]] = v.encode("utf-8", "surrogateescape")
    return out


def _clean(name):
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts) or "."


def expected_from_tar(path):
    """Records for a single layer without whiteouts, read with tarfile."""
    records = {}
    links = {}  # path -> the path whose inode it shares
    with tarfile.open(path) as tf:
        for ti in tf:
            name = _clean(ti.name)
            if ti.islnk():
                target = _clean(ti.linkname)
                while target in links:
                    target = links[target]
                links[name] = target
                records[name] = records[target]  # the same dict: one inode
                continue
            r = {"mode": ti.mode & 0o7777, "uid": ti.uid, "gid": ti.gid,
                 "mtime_ns": _pax_mtime_ns(ti), "xattrs": _tar_xattrs(ti)}
            if ti.isreg():
                r["type"] = "f"
                r["size"] = ti.size
                h = hashlib.sha256()
                f = tf.extractfile(ti)
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                r["sha256"] = h.hexdigest()
            elif ti.isdir():
                r["type"] = "d"
            elif ti.issym():
                r["type"] = "l"
                r["target"] = ti.linkname
                r["size"] = len(ti.linkname.encode("utf-8", "surrogateescape"))
            elif ti.ischr() or ti.isblk():
                r["type"] = "c" if ti.ischr() else "b"
                r["rdev"] = (ti.devmajor, ti.devminor)
            elif ti.isfifo():
                r["type"] = "p"
            records[name] = r
            # Parents the archive implies without naming them.
            parts = name.split("/")
            for i in range(1, len(parts)):
                parent = "/".join(parts[:i])
                records.setdefault(parent, {"type": "d", "mode": 0o755, "uid": 0, "gid": 0})
    records.setdefault(".", {"type": "d"})
    # Link counts: names per inode; directories: 2 + subdirectories.
    counts = {}
    for name, r in records.items():
        counts[id(r)] = counts.get(id(r), 0) + 1
    expected = {}
    for name, r in records.items():
        e = dict(r)
        if e["type"] == "d":
            subdirs = sum(1 for n, x in records.items() if n != "." and x["type"] == "d"
                          and (n.rpartition("/")[0] or ".") == name)
            e["nlink"] = 2 + subdirs + (1 if name == "." else 0)  # lost+found
        else:
            e["nlink"] = counts[id(r)]
        expected[name] = e
    return expected


def diff_records(expected, actual):
    """Human-readable differences, empty when the trees match."""
    out = []
    for p in sorted(set(expected) - set(actual)):
        out.append(f"missing: {p}")
    for p in sorted(set(actual) - set(expected)):
        out.append(f"unexpected: {p} {actual[p]}")
    for p in sorted(set(expected) & set(actual)):
        for k, v in expected[p].items():
            if actual[p].get(k) != v:
                a = actual[p].get(k)
                if k == "mode":
                    v, a = oct(v), oct(a) if a is not None else a
                out.append(f"{p}: {k}: expected {v!r}, got {a!r}")
    return out


# ---------------------------------------------------------------------------

class ImageTestCase(unittest.TestCase):
    """A temp dir per test; helpers that assert on images."""

    def setUp(self):
        if not CTK or not os.path.exists(CTK):
            self.skipTest("CTK not set to a built ctk binary")
        self.tmp = tempfile.mkdtemp(prefix="ctk-mkrootfs-", dir=os.environ.get("CTK_TEST_TMP"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def need_root(self):
        if not is_root():
            self.skipTest("needs root for loop mounts")

    # Building archives -----------------------------------------------------

    def make_tar(self, name, entries, fmt=tarfile.PAX_FORMAT):
        """entries: list of (TarInfo, bytes-or-None). Returns the path."""
        p = self.path(name)
        with tarfile.open(p, "w", format=fmt) as tf:
            for ti, data in entries:
                if data is not None:
                    ti.size = len(data)
                    tf.addfile(ti, io.BytesIO(data))
                else:
                    tf.addfile(ti)
        return p

    # Running and checking -------------------------------------------------

    def mkrootfs(self, layers, out=None, extra=()):
        out = out or self.path("rootfs.ext4")
        proc = ctk("mkrootfs", "-o", out, *extra, *layers)
        self.assertEqual(proc.returncode, 0, f"mkrootfs failed:\n{proc.stderr}")
        self.assertTrue(os.path.isfile(out))
        self.assert_fsck_clean(out)
        return out

    def assert_fsck_clean(self, img):
        proc = subprocess.run(["e2fsck", "-fn", img], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        self.assertEqual(proc.returncode, 0, f"e2fsck -fn {img}:\n{proc.stdout}")

    @contextlib.contextmanager
    def mounted(self, img):
        self.need_root()
        mnt = tempfile.mkdtemp(prefix="mnt-", dir=self.tmp)
        proc = subprocess.run(["mount", "-o", "loop,ro", "-t", "ext4", img, mnt],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            os.rmdir(mnt)
            self.fail(f"mount {img}: {proc.stdout}")
        try:
            yield mnt
        finally:
            subprocess.run(["umount", mnt], check=False)
            os.rmdir(mnt)

    def assert_tree(self, expected, actual):
        problems = diff_records(expected, actual)
        if problems:
            self.fail(f"{len(problems)} differences:\n" + "\n".join(problems[:60]))

    def assert_bad_input(self, layers, needle, extra=()):
        """Exit 1, one stderr line naming `needle`, no output, no temp file."""
        out = self.path("out", "bad.ext4")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        proc = ctk("mkrootfs", "-o", out, *extra, *layers)
        self.assertEqual(proc.returncode, 1, f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"stderr: {proc.stderr!r}")
        self.assertIn(needle, lines[0])
        self.assertEqual(os.listdir(os.path.dirname(out)), [], "output or temp file left behind")
        return lines[0]


def tinfo(name, type=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, mtime=1700000000, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = type
    ti.mode = mode
    ti.uid = uid
    ti.gid = gid
    ti.mtime = mtime
    ti.uname = ti.gname = ""
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti
