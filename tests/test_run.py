"""`ctk boot` and `ctk run` in real VMs: Debian's cloud kernel under QEMU
(TCG here), ctk's own initramfs, a busybox-static root filesystem."""
import concurrent.futures
import glob
import json
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import tarfile
import tempfile
import time
import unittest

import hostserver
import vmkernel

CTK = os.environ.get("CTK", "build/ctk")
MIB = 1 << 20


def host_rss(pid):
    """VmRSS in bytes of pid and its descendants (ctk and its QEMU)."""
    parent, rss = {}, {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/status") as f:
                rss[int(entry)] = next((int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:")), 0)
        except OSError:
            continue
        parent[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    tree = {pid}
    while more := {p for p, pp in parent.items() if pp in tree} - tree:
        tree |= more
    return sum(rss.get(p, 0) for p in tree)


class VmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kernel = vmkernel.kernel()
        cls.tmp = tempfile.mkdtemp(prefix="ctk-run-test-")
        root = os.path.join(cls.tmp, "rootfs")
        vmkernel.busybox_rootfs(root)
        cls.layer = os.path.join(cls.tmp, "busybox.tar")
        with tarfile.open(cls.layer, "w") as tf:
            tf.add(root, arcname=".")
        # A private cache and runtime dir, so the tests see only their own files.
        cls.env = dict(os.environ, CTK_KERNEL=cls.kernel, XDG_CACHE_HOME=os.path.join(cls.tmp, "cache"),
                       XDG_RUNTIME_DIR=os.path.join(cls.tmp, "run"), CTK_ROOT=os.path.join(cls.tmp, "data"))

    @classmethod
    def tearDownClass(cls):
        # A supervisor still powering its VM off would write into the tree being removed.
        subprocess.run(["pkill", "-9", "-f", f"ctk supervise.*{cls.tmp}"])
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_ctk(self, *args, input=None, timeout=120, env=None):
        return subprocess.run([CTK, *args], input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=env or self.env)

    def ctk_run(self, *args, **kw):
        return self.run_ctk("run", *args[:-1], self.layer, *args[-1], **kw)

    def assert_clean(self):
        """No QEMU left and no runtime files, once supervisors have powered
        their VMs off (`ctk run` returns at the exit, before that)."""
        for _ in range(150):
            left = glob.glob(os.path.join(self.tmp, "run", "ctk", "vm-*"))
            ps = subprocess.run(["pgrep", "-f", f"qemu-system.*{self.tmp}"], stdout=subprocess.PIPE, text=True)
            if not left and not ps.stdout.strip():
                break
            time.sleep(0.1)
        self.assertEqual(left, [], "runtime directories left behind")
        self.assertEqual(ps.stdout.strip(), "", "QEMU outlived its container")

    def test_boot_reports_phases(self):
        r = self.run_ctk("boot")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn(b"agent ready: ctk", r.stdout)
        # As PID 1 the agent lives in its own cgroup, under its memory budget (64 MiB).
        self.assertRegex(r.stdout, rb"agent cgroup /ctk/agent: memory.current \d+, memory.max 67108864\n")
        for phase in (b"kernel and initramfs", b"vm start", b"kernel to agent ready", b"total"):
            self.assertIn(phase, r.stderr)
        self.assert_clean()

    def test_x86_kernel_boots_from_its_cached_vmlinux(self):
        # A copy of the kernel: a file of its own, so a cache entry of its own.
        work = tempfile.mkdtemp(dir=self.tmp)
        kernel = os.path.join(work, "boot", os.path.basename(self.kernel))
        os.makedirs(os.path.dirname(kernel))
        shutil.copy(self.kernel, kernel)
        os.symlink(os.path.join(os.path.dirname(os.path.dirname(self.kernel)), "lib"), os.path.join(work, "lib"))
        env = dict(self.env, CTK_KERNEL=kernel, XDG_CACHE_HOME=os.path.join(work, "cache"))
        r = self.run_ctk("boot", env=env)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        cached = glob.glob(os.path.join(work, "cache", "ctk", "kernel", "*.vmlinux"))
        self.assertEqual(len(cached), 1)
        with open(cached[0], "rb") as f:
            self.assertEqual(f.read(4), b"\x7fELF")
        self.assertGreater(os.path.getsize(cached[0]), os.path.getsize(kernel))
        # It is what boots: with its contents broken the VM does not start.
        with open(cached[0], "r+b") as f:
            f.write(b"\x7fELF" + b"\0" * 60)
        r = self.run_ctk("boot", env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"the VM exited during boot", r.stderr)
        # An edited kernel is a new one: unpacked again, the old entry unused.
        os.utime(kernel, (1e9, 1e9))
        r = self.run_ctk("boot", env=env)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(len(glob.glob(os.path.join(work, "cache", "ctk", "kernel", "*.vmlinux"))), 2)
        self.assert_clean()

    def test_stdout_stderr_and_exit_code(self):
        r = self.ctk_run("--timings", ["sh", "-c", "echo out; echo err >&2; exit 3"])
        self.assertEqual(r.returncode, 3, r.stderr.decode())
        self.assertEqual(r.stdout, b"out\n")
        self.assertIn(b"err\n", r.stderr)
        # Every phase, in order, each with its time.
        phases = [line.rsplit(None, 2)[0].strip() for line in r.stderr.decode().splitlines()
                  if line.startswith("  ") and line.endswith(" s")]
        self.assertEqual(phases, ["image and rootfs", "image config", "writable layer", "bind ports",
                                  "networks", "kernel and initramfs", "vm start", "kernel to agent ready",
                                  "container start", "process", "total"])
        self.assert_clean()

    def test_command_not_found_is_127(self):
        r = self.ctk_run(["nosuchcommand"])
        self.assertEqual(r.returncode, 127)
        self.assertIn(b'exec: "nosuchcommand": executable file not found in $PATH', r.stderr)
        r = self.ctk_run(["/etc/passwd"])
        self.assertEqual(r.returncode, 126)
        self.assert_clean()

    def test_exit_code_of_a_killed_process(self):
        # The container's first process is PID 1 of its namespace, which its
        # own signals cannot kill (as in docker); a child can be.
        r = self.ctk_run(["sh", "-c", 'sh -c "kill -9 \\$\\$"; exit $?'])
        self.assertEqual(r.returncode, 137, r.stderr.decode())

    def test_stdin_piped_and_checksummed(self):
        data = os.urandom(8 << 20)
        r = self.ctk_run("-i", ["sha256sum"], input=data)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.split()[0].decode(), hashlib.sha256(data).hexdigest())

    def test_env_user_workdir_hostname(self):
        r = self.ctk_run("-e", "FOO=bar", "-u", "1000:1000", "-w", "/home/user", "--hostname", "box",
                         ["sh", "-c", 'echo "$FOO $(id -u):$(id -g) $(pwd) $(hostname)"'])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, b"bar 1000:1000 /home/user box\n")

    def test_guest_clock_and_hosts_file(self):
        # The host sends its time right after hello: the guest's clock reads
        # between the host's before and after the run (whole seconds, so one
        # second of slack each side for the truncation).
        before = time.time()
        r = self.ctk_run("--hostname", "box", ["sh", "-c", "date +%s; cat /etc/hosts"])
        after = time.time()
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        lines = r.stdout.decode().splitlines()
        self.assertTrue(before - 1 <= int(lines[0]) <= after + 1, (before, lines[0], after))
        self.assertEqual(lines[1:], ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                                     "127.0.1.1\tbox"])
        self.assert_clean()

    def test_container_writes_go_to_a_throwaway_layer(self):
        r = self.ctk_run(["sh", "-c", "echo new > /etc/new && rm /bin/vi && cat /etc/new && ls /bin/vi"])
        self.assertEqual(r.stdout, b"new\n")
        self.assertNotEqual(r.returncode, 0)  # ls: /bin/vi is gone
        r = self.ctk_run(["sh", "-c", "ls /etc/new; ls /bin/vi; cat /sys/block/vda/queue/read_ahead_kb"])
        self.assertIn(b"/bin/vi", r.stdout)  # the next container starts from the image again
        # The image's disk is read in large requests (PID 1 raises its read-ahead).
        self.assertTrue(r.stdout.endswith(b"\n4096\n"), r.stdout)

    def test_memory_and_cpus_visible(self):
        r = self.ctk_run("--memory", "512M", "--cpus", "1.5", "--pids-limit", "50",
                         ["sh", "-c", "nproc; grep MemTotal /proc/meminfo; cat /sys/fs/cgroup/memory.max "
                          "/sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        lines = r.stdout.decode().splitlines()
        self.assertEqual(lines[0], "2")
        # The VM has the limit plus room for the guest kernel and the agent.
        total_kib = int(lines[1].split()[1])
        self.assertGreater(total_kib, 512 * 1024)
        self.assertLess(total_kib, 640 * 1024)
        self.assertEqual(lines[2:], [str(512 << 20), "150000 100000", "50"])

    def test_memory_limit_oom_kill_is_137(self):
        r = self.ctk_run("--memory", "64M", ["sh", "-c", "tail /dev/zero"])
        self.assertEqual(r.returncode, 137, r.stderr.decode())

    def test_freed_memory_goes_back_to_the_host(self):
        # dd fills a 256 MiB buffer and holds it while it blocks writing into a
        # pipe whose reader waits for a line from the test; that line ends both.
        script = ("exec 3<&0; echo idle; read x; echo alloc; "
                  "dd if=/dev/zero bs=256M count=1 2>/dev/null | { read y <&3; }; echo freed; read z")
        p = subprocess.Popen([CTK, "run", "-i", self.layer, "sh", "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)

        def next_phase(expect):
            self.assertEqual(p.stdout.readline(), expect)

        def go_on():
            p.stdin.write(b"\n")
            p.stdin.flush()

        def rss_when(done, timeout):
            deadline = time.monotonic() + timeout
            while not done(rss := host_rss(p.pid)) and time.monotonic() < deadline:
                time.sleep(0.1)
            return rss

        try:
            next_phase(b"idle\n")
            time.sleep(2)  # what boot freed is reported by then
            samples = []
            for _ in range(10):
                samples.append(host_rss(p.pid))
                time.sleep(0.1)
            idle = statistics.median(samples)
            go_on()
            next_phase(b"alloc\n")
            held = rss_when(lambda rss: rss > idle + 200 * MIB, 60)
            self.assertGreater(held, idle + 200 * MIB, "the allocation never showed on the host")
            go_on()
            next_phase(b"freed\n")
            back = rss_when(lambda rss: rss < idle + 64 * MIB, 30)
            self.assertLess(back, idle + 64 * MIB,
                            f"host RSS {back / MIB:.0f} MiB 30 s after the free (idle {idle / MIB:.0f} MiB)")
            go_on()
            self.assertEqual(p.wait(60), 0, p.stderr.read().decode())
        finally:
            p.kill()
            p.wait()
            for f in (p.stdin, p.stdout, p.stderr):
                f.close()
        self.assert_clean()

    def test_pids_limit_stops_forks(self):
        r = self.ctk_run("--pids-limit", "5",
                         ["sh", "-c", "sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done' 2>/dev/null; "
                          "cat /sys/fs/cgroup/pids.current; cat /sys/fs/cgroup/pids.events"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        lines = r.stdout.decode().splitlines()
        # This sh, the three sleeps the inner sh could start, and cat: the limit.
        self.assertEqual(lines[0], "5")
        self.assertTrue(lines[1].startswith("max ") and lines[1] != "max 0", lines)  # forks were refused

    def test_user_by_name_and_default_privileges(self):
        r = self.ctk_run("-u", "user", ["sh", "-c", 'echo "$(id -u):$(id -g) $HOME"'])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, b"1000:1000 /home/user\n")
        r = self.ctk_run("-u", "nosuchuser", ["true"])
        self.assertEqual(r.returncode, 125)
        self.assertIn(b"unable to find user nosuchuser", r.stderr)
        # --group-add: a name from the image's /etc/group and a bare gid.
        r = self.ctk_run("-u", "user", "--group-add", "root", "--group-add", "4242", ["id", "-G"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, b"1000 0 4242\n")
        r = self.ctk_run("--group-add", "ghosts", ["true"])
        self.assertEqual(r.returncode, 125)
        self.assertIn(b"unable to find group ghosts", r.stderr)
        # docker's default capability set for root, no_new_privs off, /proc/kcore masked.
        r = self.ctk_run(["sh", "-c", "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; "
                          "wc -c < /proc/kcore; (echo x > /proc/sys/kernel/hostname) 2>&1 | grep -c Read-only"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().split(), ["CapEff:", "00000000a80425fb", "CapBnd:", "00000000a80425fb",
                                                      "NoNewPrivs:", "0", "0", "1"])

    def test_network_none_has_no_interface(self):
        r = self.ctk_run(["ls", "/sys/class/net"])
        self.assertEqual(r.stdout.split(), [b"lo"])

    def test_network_nat_reaches_the_host(self):
        server = hostserver.serve(b"hello from the host\n")
        try:
            port = server.server_address[1]
            r = self.ctk_run("--network", "nat",
                             ["sh", "-c", f"wget -qO- http://10.0.2.2:{port}/; cat /etc/resolv.conf"])
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            self.assertEqual(r.stdout, b"hello from the host\nnameserver 10.0.2.3\n")
        finally:
            server.shutdown()
            server.server_close()

    def test_tty(self):
        if not shutil.which("script"):
            self.skipTest("script (util-linux) is not installed")
        cmd = f"{CTK} run -it {self.layer} sh -c 'tty; stty size; exit 4'"
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, timeout=120)
        out = r.stdout.decode(errors="replace")
        self.assertIn("/dev/pts/", out)
        self.assertEqual(r.returncode, 4, out)

    def test_interrupt_reaches_the_process(self):
        p = subprocess.Popen([CTK, "run", self.layer, "sh", "-c",
                              "trap 'echo got INT; exit 42' INT; echo ready; while true; do sleep 1; done"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 42)
        self.assertIn(b"got INT", out)
        self.assert_clean()

    def test_kill_9_of_ctk_leaves_the_container_to_its_supervisor(self):
        p = subprocess.Popen([CTK, "run", "--name", "k9", self.layer, "sh", "-c", "echo ready; sleep 600"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        p.kill()
        p.wait()
        p.stdout.close()
        # As with docker, the container runs on; its supervisor owns the VM.
        r = self.run_ctk("ps", "--filter", "name=k9", "--format", "json")
        self.assertEqual(json.loads(r.stdout)["State"], "running")
        # kill -9 of the supervisor takes QEMU down (PDEATHSIG), and ps tells the truth.
        subprocess.run(["pkill", "-9", "-f", f"ctk supervise.*{self.tmp}"])
        for _ in range(100):
            ps = subprocess.run(["pgrep", "-f", f"qemu-system.*{self.tmp}"], stdout=subprocess.PIPE)
            if not ps.stdout.strip():
                break
            time.sleep(0.1)
        self.assertEqual(ps.stdout.strip(), b"", "QEMU outlived a killed supervisor")
        r = self.run_ctk("ps", "-a", "--filter", "name=k9", "--format", "json")
        self.assertEqual(json.loads(r.stdout)["State"], "exited")
        # rm clears what the killed supervisor could not (its VM's runtime files too).
        self.assertEqual(self.run_ctk("rm", "k9").returncode, 0)
        r = self.ctk_run(["true"])
        self.assertEqual(r.returncode, 0)
        self.assert_clean()

    def test_vm_killed_from_outside(self):
        p = subprocess.Popen([CTK, "run", self.layer, "sh", "-c", "echo ready; sleep 600"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        subprocess.run(["pkill", "-9", "-f", f"qemu-system.*{self.tmp}"])
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 125)
        self.assertEqual(err.decode().strip().count("\n"), 1, err)  # the TCG notice and one error line
        self.assert_clean()

    def test_three_vms_at_once(self):
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            runs = [pool.submit(self.ctk_run, ["sh", "-c", f"echo vm{i}"]) for i in range(3)]
            outs = sorted(r.result().stdout for r in runs)
        self.assertEqual(outs, [b"vm0\n", b"vm1\n", b"vm2\n"])
        self.assert_clean()

    def test_missing_kernel(self):
        r = self.run_ctk("run", "--kernel", "/nonexistent/vmlinuz", self.layer, "true")
        self.assertEqual(r.returncode, 125)
        self.assertIn(b"/nonexistent/vmlinuz", r.stderr)
        env = dict(self.env, CTK_KERNEL="")
        r = self.run_ctk("boot", env=env) if not glob.glob("/boot/vmlinuz-*") else None
        if r is not None:
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"apt-get install linux-image-cloud-amd64", r.stderr)

    def test_corrupt_initramfs(self):
        bad = os.path.join(self.tmp, "bad.img")
        with open(bad, "wb") as f:
            f.write(os.urandom(4096))
        r = self.run_ctk("run", "--initfs", bad, self.layer, "true", timeout=120)
        self.assertEqual(r.returncode, 125)
        self.assertIn(b"the VM exited during boot", r.stderr)
        self.assert_clean()

    def test_agent_that_never_answers(self):
        # An initramfs whose init talks on the console but never serves the agent.
        root = os.path.join(self.tmp, "silent")
        os.makedirs(os.path.join(root, "bin"), exist_ok=True)
        shutil.copy("/bin/busybox", os.path.join(root, "bin/busybox"))
        with open(os.path.join(root, "init"), "w") as f:
            f.write("#!/bin/busybox sh\necho silent init is up\n/bin/busybox sleep 1000\n")
        os.chmod(os.path.join(root, "init"), 0o755)
        img = os.path.join(self.tmp, "silent.img")
        subprocess.run(f"cd {root} && find . | cpio -o -H newc 2>/dev/null | gzip > {img}", shell=True, check=True)
        env = dict(self.env, CTK_AGENT_TIMEOUT="8")
        r = self.run_ctk("run", "--initfs", img, self.layer, "true", env=env)
        self.assertEqual(r.returncode, 125)
        err = r.stderr.decode()
        self.assertIn("did not answer within 8 s", err)
        self.assertIn("silent init is up", err)  # the console's last lines are quoted
        self.assert_clean()

    def test_not_an_image(self):
        r = self.run_ctk("run", "/etc/hostname", "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"neither an ext4 image nor a layer archive", r.stderr)


class ImageRunTest(unittest.TestCase):
    """`ctk run IMAGE`: pulled from a real registry on first use, the image's
    config applied (Entrypoint, Cmd, Env, WorkingDir), its layers' whiteouts honoured."""

    @classmethod
    def setUpClass(cls):
        import registryfixture as rf
        missing = rf.missing_tools()
        if missing:
            raise unittest.SkipTest(missing)
        cls.kernel = vmkernel.kernel()
        cls.tmp = tempfile.mkdtemp(prefix="ctk-run-image-")
        layout = rf.build_layout(cls.tmp, big=1 << 16)
        subprocess.run(["umoci", "config", "--image", f"{layout}:v1", "--config.entrypoint", "/bin/sh",
                        "--config.entrypoint", "-c", "--config.cmd", 'echo "$FOO $(pwd)"; busybox cat /etc/motd',
                        "--config.env", "FOO=from-image", "--config.workingdir", "/opt/data"], check=True)
        cls.reg = rf.Registry(cls.tmp, "registry")
        cls.reg.push(layout, "v1", "test/app:v1")
        cls.ref = f"{cls.reg.host}/test/app:v1"
        cls.env = dict(os.environ, CTK_KERNEL=cls.kernel, CTK_ROOT=os.path.join(cls.tmp, "store"),
                       XDG_CACHE_HOME=os.path.join(cls.tmp, "cache"), XDG_RUNTIME_DIR=os.path.join(cls.tmp, "run"))

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()
        subprocess.run(["pkill", "-9", "-f", f"ctk supervise.*{cls.tmp}"])
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_ctk(self, *args):
        return subprocess.run([CTK, "run", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.env, timeout=180)

    def test_image_config_and_layers(self):
        r = self.run_ctk(self.ref)  # not in the store yet: pulled
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, b"from-image /opt/data\nhello from ctk\n")
        # Arguments replace Cmd, -e overrides Env, the whiteouts hold.
        r = self.run_ctk("-e", "FOO=mine", "-w", "/", self.ref,
                         'echo "$FOO $(pwd)"; ls /etc/removeme /opt/data/old.txt; ls /opt/data')
        self.assertEqual(r.stdout, b"mine /\nnew.txt\n", r.stderr.decode())
        self.assertEqual(r.returncode, 0)
        # --entrypoint drops the image's Cmd too.
        r = self.run_ctk("--entrypoint", "/bin/ls", self.ref, "/opt/data")
        self.assertEqual((r.returncode, r.stdout), (0, b"new.txt\n"), r.stderr.decode())

    def test_unknown_image(self):
        r = self.run_ctk(f"{self.reg.host}/test/nothing:here", "true")
        self.assertEqual(r.returncode, 125)
        self.assertEqual(r.stderr.decode().strip().count("\n"), 0, r.stderr)


class Arm64Test(unittest.TestCase):
    """arm64 guests on this x86_64 host (`--platform linux/arm64`): Debian's
    arm64 cloud kernel under qemu-system-aarch64 (TCG), ctk-linux-arm64 (the
    cross build meson makes beside ctk) as the guest's init."""

    @classmethod
    def setUpClass(cls):
        guest = os.path.join(os.path.dirname(CTK), "ctk-linux-arm64")
        if not os.path.exists(guest):
            raise unittest.SkipTest(f"no {guest}: install g++-aarch64-linux-gnu and the :arm64 -dev "
                                    "packages (.ci/install-deps), then rebuild")
        cls.kernel = vmkernel.kernel("arm64")
        cls.tmp = tempfile.mkdtemp(prefix="ctk-run-arm64-")
        root = os.path.join(cls.tmp, "rootfs")
        vmkernel.busybox_rootfs(root, "arm64")
        cls.layer = os.path.join(cls.tmp, "busybox-arm64.tar")
        with tarfile.open(cls.layer, "w") as tf:
            tf.add(root, arcname=".")
        cls.env = dict(os.environ, CTK_KERNEL_AARCH64=cls.kernel, CTK_ROOT=os.path.join(cls.tmp, "store"),
                       XDG_CACHE_HOME=os.path.join(cls.tmp, "cache"), XDG_RUNTIME_DIR=os.path.join(cls.tmp, "run"))

    @classmethod
    def tearDownClass(cls):
        # A supervisor still powering its VM off would write into the tree being removed.
        subprocess.run(["pkill", "-9", "-f", f"ctk supervise.*{cls.tmp}"])
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_ctk(self, *args, env=None):
        return subprocess.run([CTK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env or self.env, timeout=180)

    def test_layers_run_on_an_arm64_guest(self):
        r = self.run_ctk("run", "--platform", "linux/arm64", self.layer, "sh", "-c",
                         "uname -m; busybox head -c 4 /bin/busybox | busybox od -c | busybox head -1; exit 5")
        self.assertEqual(r.returncode, 5, r.stderr.decode())
        self.assertEqual(r.stdout.decode().split("\n")[0], "aarch64")
        self.assertIn("E   L   F", r.stdout.decode())

    def test_kernel_of_the_wrong_architecture(self):
        x86 = vmkernel.kernel()
        r = self.run_ctk("run", "--platform", "linux/arm64", "--kernel", x86, self.layer, "true")
        self.assertEqual(r.returncode, 125)
        self.assertIn(f"kernel {x86} is built for x86_64, the guest is aarch64", r.stderr.decode())
        r = self.run_ctk("run", "--platform", "linux/s390x", self.layer, "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unsupported --platform 'linux/s390x'", r.stderr.decode())

    def test_platform_picks_the_image_from_an_index(self):
        import registryfixture as rf
        missing = rf.missing_tools()
        if missing:
            self.skipTest(missing)
        layout = rf.build_layout(self.tmp, big=1 << 12, arm_busybox=vmkernel.busybox_static("arm64"))
        reg = rf.Registry(self.tmp, "registry")
        try:
            reg.push(layout, "multi", "test/multi:1", all_images=True)
            r = self.run_ctk("run", "--platform", "linux/arm64", f"{reg.host}/test/multi:1",
                             "sh", "-c", "echo $(uname -m) $(cat /etc/arch)")
            self.assertEqual((r.returncode, r.stdout), (0, b"aarch64 arm64\n"), r.stderr.decode())
        finally:
            reg.stop()


if __name__ == "__main__":
    unittest.main()
