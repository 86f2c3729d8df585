"""What the VM benchmarks share: a private ctk environment, the busybox
layer they run, detached containers that are removed whatever happens, the
host RSS of a process tree and percentiles."""
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
import vmkernel  # noqa: E402

DEFAULT_CTK = os.path.join(os.path.dirname(HERE), "build", "ctk")
MIB = 1 << 20


class Bench:
    """A temporary work dir holding a copy of the ctk binary (`ctk`: a
    rebuild during the run does not change what is measured), ctk's store
    ($CTK_ROOT), caches and runtime dir, so nothing touches the user's, and
    a busybox-static layer (`layer`); `env` is what every ctk command runs
    with. Use as a context manager: on exit the containers started with
    `detached` are removed and the work dir is deleted."""

    def __init__(self, ctk, kernel, prefix):
        self.kernel = kernel or vmkernel.kernel()
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.ctk = os.path.join(self.work, "ctk")
        shutil.copy2(ctk, self.ctk)
        self.env = dict(os.environ, CTK_KERNEL=self.kernel, CTK_ROOT=os.path.join(self.work, "data"),
                        XDG_CACHE_HOME=os.path.join(self.work, "cache"),
                        XDG_RUNTIME_DIR=os.path.join(self.work, "run"))
        self.rootfs = os.path.join(self.work, "rootfs")
        vmkernel.busybox_rootfs(self.rootfs)
        self.layer = os.path.join(self.work, "busybox.tar")
        with tarfile.open(self.layer, "w") as tf:
            tf.add(self.rootfs, arcname=".")
        self._names = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._names:
            self.run("rm", "-f", *self._names)
        shutil.rmtree(self.work, ignore_errors=True)

    def run(self, *args, env=None, check=False):
        """`ctk ARGS...` to completion; the CompletedProcess, text output.
        With check, a failure ends the benchmark with ctk's error."""
        r = subprocess.run([self.ctk, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env or self.env)
        if check and r.returncode:
            sys.exit(f"ctk {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
        return r

    def detached(self, name, *args, env=None):
        """`ctk run -d --name NAME ARGS...` (args end with the image and the
        command); the container is removed on exit from the Bench, or
        earlier by `remove`. Returns the container's id."""
        self._names.append(name)
        return self.run("run", "-d", "--name", name, *args, env=env, check=True).stdout.strip()

    def remove(self, name):
        """`ctk rm -f NAME` of a container started with `detached`."""
        self.run("rm", "-f", name, check=True)
        self._names.remove(name)

    def supervisor_pid(self, name):
        """The pid of the container's supervisor (`ctk inspect`'s State.Pid);
        its QEMU is its child."""
        return json.loads(self.run("inspect", name, check=True).stdout)[0]["State"]["Pid"]


def accelerator(env):
    """"KVM" or "TCG": what ctk's VMs ran under, from the verdict its KVM
    probe (src/vz/kvm_probe.h) leaves in the runtime dir after the first VM:
    a /dev/kvm that opens may still not run guests."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "TCG"
    runtime = env.get("XDG_RUNTIME_DIR")
    root = os.path.join(runtime, "ctk") if runtime else f"/tmp/ctk-{os.getuid()}"
    try:
        with open(os.path.join(root, "kvm-verdict")) as f:
            verdict = f.read().split("\n")
    except OSError:
        sys.exit("accelerator(): no VM has run yet to tell whether KVM works")
    return "KVM" if verdict[1:2] == ["ok"] else "TCG"


def process_tree(pid):
    """pid and all its descendants, from /proc/*/stat's parent field."""
    parent = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parent[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    tree, grew = {pid}, True
    while grew:
        more = {p for p, pp in parent.items() if pp in tree} - tree
        grew = bool(more)
        tree |= more
    return tree


def tree_rss(pid):
    """(VmRSS, RssAnon) in bytes summed over pid and its descendants; a
    process gone meanwhile counts zero. The rest of VmRSS is file-backed:
    QEMU's binary and libraries, the kernel and initramfs it maps from ctk's
    cache, page cache shared by every VM."""
    total = anon = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                    elif line.startswith("RssAnon:"):
                        anon += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total, anon


def percentile(xs, p):
    """The nearest-rank p-th percentile of xs (p in 0..100]."""
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]
