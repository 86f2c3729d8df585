"""Containers that live: detached runs under their supervisors, exec, logs,
stop/start with the writable layer, restart policies, published ports, and
state that tells the truth after a supervisor or a VM is killed. Real VMs
(Debian's cloud kernel under QEMU), a busybox root filesystem, curl-like
clients on 127.0.0.1."""
import concurrent.futures
import hashlib
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import unittest
import urllib.request

import vmkernel

CTK = os.environ.get("CTK", "build/ctk")


class ContainerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kernel = vmkernel.kernel()
        cls.tmp = tempfile.mkdtemp(prefix="ctk-containers-test-")
        root = os.path.join(cls.tmp, "rootfs")
        vmkernel.busybox_rootfs(root)
        cls.layer = os.path.join(cls.tmp, "busybox.tar")
        with tarfile.open(cls.layer, "w") as tf:
            tf.add(root, arcname=".")
        cls.data = os.path.join(cls.tmp, "data")
        cls.env = dict(os.environ, CTK_KERNEL=cls.kernel, XDG_CACHE_HOME=os.path.join(cls.tmp, "cache"),
                       XDG_RUNTIME_DIR=os.path.join(cls.tmp, "run"), CTK_ROOT=cls.data)

    @classmethod
    def tearDownClass(cls):
        for role in ("supervise", "network-switch"):
            subprocess.run(["pkill", "-9", "-f", f"ctk {role}.*{cls.tmp}"])
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ctk(self, *args, input=None, timeout=120):
        return subprocess.run([CTK, *args], input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=self.env)

    def ok(self, *args, **kw):
        r = self.ctk(*args, **kw)
        self.assertEqual(r.returncode, 0, f"ctk {' '.join(args)}: {r.stderr.decode()}")
        return r.stdout.decode()

    def run_detached(self, name, *args, script):
        out = self.ok("run", "-d", "--name", name, *args, self.layer, "sh", "-c", script)
        self.addCleanup(self.ctk, "rm", "-f", name)
        return out.strip()

    def state(self, name):
        return json.loads(self.ok("inspect", name))[0]["State"]

    def wait_for(self, what, fn, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.1)
        self.fail(f"timed out waiting for {what}")

    def no_qemu_left(self):
        def gone():
            r = subprocess.run(["pgrep", "-f", f"qemu-system.*{self.tmp}"], stdout=subprocess.PIPE)
            return not r.stdout.strip()
        self.wait_for("QEMU to exit", gone)


class ServiceTest(ContainerTest):
    """One detached busybox httpd, shared by the tests of this class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = subprocess.run([CTK, "run", "-d", "--name", "web", "-p", "127.0.0.1:0:8080", cls.layer, "sh", "-c",
                            "mkdir -p /www && yes ctk-published-port | head -c 52428800 > /www/big && "
                            "echo hello > /www/index.html && echo serving && echo to-stderr >&2 && "
                            "exec httpd -f -p 8080 -h /www"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cls.env, timeout=120)
        assert r.returncode == 0, r.stderr.decode()
        cls.id = r.stdout.decode().strip()
        port = subprocess.run([CTK, "port", "web", "8080"], stdout=subprocess.PIPE, env=cls.env).stdout.decode()
        cls.url = "http://" + port.strip()
        # httpd listens once the file is made; the published port refuses until then.
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(cls.url + "/index.html", timeout=5).read()
                break
            except OSError:
                time.sleep(0.2)

    def test_listed_as_running_with_its_port(self):
        self.assertEqual(len(self.id), 64)
        ps = [json.loads(line) for line in self.ok("ps", "--format", "json").splitlines()]
        web = [c for c in ps if c["Names"] == "web"]
        self.assertEqual(len(web), 1)
        self.assertEqual(web[0]["State"], "running")
        self.assertRegex(web[0]["Ports"], r"^127\.0\.0\.1:\d+->8080/tcp$")
        info = json.loads(self.ok("inspect", self.id[:12]))[0]
        self.assertEqual(info["Id"], self.id)
        self.assertTrue(info["State"]["Running"])
        binding = info["NetworkSettings"]["Ports"]["8080/tcp"][0]
        self.assertEqual(self.url, f"http://{binding['HostIp']}:{binding['HostPort']}")
        self.assertEqual(self.ok("ps", "-q", "--filter", "name=web").strip(), self.id[:12])

    def test_a_50_mb_file_through_the_published_port(self):
        body = urllib.request.urlopen(self.url + "/big", timeout=120).read()
        # The container made it with `yes | head -c`: the same bytes, made here.
        line = b"ctk-published-port\n"
        expected = (line * ((50 << 20) // len(line) + 1))[:50 << 20]
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(expected).hexdigest())

    def test_50_parallel_requests(self):
        def get(_):
            return urllib.request.urlopen(self.url + "/index.html", timeout=60).read()
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            bodies = list(pool.map(get, range(50)))
        self.assertEqual(bodies, [b"hello\n"] * 50)

    def test_half_close_and_a_port_nobody_listens_on(self):
        # The request goes out, the client half-closes, the reply still comes.
        host, port = self.url[7:].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=30) as s:
            s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        self.assertTrue(reply.endswith(b"\r\n\r\nhello\n"), reply)

    def test_exec_exit_codes_stdin_and_errors(self):
        r = self.ctk("exec", "web", "sh", "-c", "echo out; echo err >&2; exit 3")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (3, b"out\n", b"err\n"))
        r = self.ctk("exec", "web", "no-such-command")
        self.assertEqual(r.returncode, 127)
        self.assertIn(b"executable file not found", r.stderr)
        r = self.ctk("exec", "web", "/etc/passwd")
        self.assertEqual(r.returncode, 126)
        data = os.urandom(3 << 20)
        r = self.ctk("exec", "-i", "web", "sha256sum", input=data)
        self.assertEqual(r.stdout.split()[0].decode(), hashlib.sha256(data).hexdigest())
        r = self.ctk("exec", "-e", "X=42", "-w", "/www", "web", "sh", "-c", "echo $X $(pwd)")
        self.assertEqual(r.stdout, b"42 /www\n")
        r = self.ctk("exec", "no-such-container", "true")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"no such container: no-such-container", r.stderr)

    def test_exec_with_a_tty(self):
        import pty
        pid, fd = pty.fork()
        if pid == 0:
            os.execvpe(CTK, [CTK, "exec", "-t", "web", "sh", "-c", "tty; stty size"], self.env)
        out = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)
        self.assertIn(b"/dev/pts/", out)

    def test_20_concurrent_execs(self):
        def ex(i):
            return self.ctk("exec", "web", "sh", "-c", f"echo {i}; exit {i % 7}")
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            results = list(pool.map(ex, range(20)))
        for i, r in enumerate(results):
            self.assertEqual((r.returncode, r.stdout), (i % 7, f"{i}\n".encode()), r.stderr)

    def test_logs_while_running(self):
        self.assertEqual(self.ctk("logs", "web").stdout, b"serving\n")
        r = self.ctk("logs", "web")
        self.assertEqual(r.stderr, b"to-stderr\n")
        r = self.ctk("logs", "-t", "web")
        self.assertRegex(r.stdout.decode(), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z serving\n$")
        self.assertEqual(self.ctk("logs", "--since", "2000-01-01T00:00:00Z", "web").stdout, b"serving\n")
        self.assertEqual(self.ctk("logs", "--until", "2000-01-01", "web").stdout, b"")

    def test_port_already_in_use_fails_before_any_vm_boots(self):
        host, port = self.url[7:].rsplit(":", 1)
        r = self.ctk("run", "-d", "--name", "clash", "-p", f"{host}:{port}:80", self.layer, "true")
        self.addCleanup(self.ctk, "rm", "-f", "clash")
        self.assertEqual(r.returncode, 125)
        self.assertIn(f"{host}:{port}: Address already in use".encode(), r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        self.assertEqual(self.state("clash")["Status"], "created")
        self.assertEqual(self.ok("rm", "clash").strip(), "clash")

    def test_stats(self):
        r = self.ctk("stats", "--no-stream", "--format", "json", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = json.loads(r.stdout)
        self.assertTrue(st["Running"])
        self.assertGreater(st["MemUsage"], 0)
        self.assertGreaterEqual(st["PIDs"], 1)
        # What the VM holds on the host: QEMU and the supervisor.
        self.assertGreater(st["VMRss"], 16 << 20)
        self.assertIn("CPU %", self.ok("stats", "--no-stream"))

    def test_rm_refuses_a_running_container(self):
        r = self.ctk("rm", "web")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"is running", r.stderr)

    def test_names_are_unique(self):
        r = self.ctk("create", "--name", "web", self.layer, "true")
        self.assertEqual(r.returncode, 125)
        self.assertIn(b"the container name 'web' is already in use", r.stderr)


UDP_ECHO = r"""
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char** argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  if (bind(s, (struct sockaddr*)&a, sizeof a)) return 1;
  static char buf[65536];
  for (;;) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
    if (n >= 0) sendto(s, buf, n, 0, (struct sockaddr*)&from, len);
  }
}
"""


class Terminal:
    """`ctk ARGS...` on a new pty, as a user at a terminal runs it: keys
    typed, the screen read until a text shows, the exit code at the end."""

    def __init__(self, env, *args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(CTK, [CTK, *args], env)
        self.screen = b""

    def _read(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            return os.read(self.fd, 4096)
        except OSError:  # EIO: the other side is closed
            return b""

    def type(self, keys):
        os.write(self.fd, keys)

    def expect(self, text, timeout=60):
        deadline = time.time() + timeout
        while text not in self.screen:
            chunk = self._read(max(0, deadline - time.time()))
            if not chunk:
                raise AssertionError(f"{text!r} not on the screen: {self.screen!r}")
            self.screen += chunk

    def exit_code(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            chunk = self._read(max(0, deadline - time.time()))
            if not chunk:
                break
            self.screen += chunk
        # The screen ends before the process: it may still be exiting.
        pid = 0
        while not pid and time.time() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            time.sleep(0 if pid else 0.05)
        if not pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            raise AssertionError(f"still running: {self.screen!r}")
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


class LifecycleTest(ContainerTest):
    def test_detach_keys_leave_the_process_running(self):
        self.addCleanup(self.ctk, "rm", "-f", "detacher")
        t = Terminal(self.env, "run", "-it", "--name", "detacher", self.layer, "sh")
        t.type(b"echo $((6*7))\r")
        t.expect(b"42")
        # docker's default keys; run -it detaches with 0, the shell runs on.
        t.type(b"\x10\x11")
        self.assertEqual(t.exit_code(), 0, t.screen)
        self.assertEqual(self.state("detacher")["Status"], "running")
        # Keys of one's own; a sequence begun and broken reaches the shell whole.
        t = Terminal(self.env, "attach", "--detach-keys", "q,w", "detacher")
        t.type(b"echo qq$((6*7))\r")
        t.expect(b"qq42")
        t.type(b"qw")
        self.assertEqual(t.exit_code(), 1, t.screen)
        self.assertIn(b"ctk attach: read escape sequence", t.screen)
        # exec -it: the command runs on after the detach.
        t = Terminal(self.env, "exec", "-it", "detacher", "sh", "-c", "echo ready; read line; echo $line > /tmp/after")
        t.expect(b"ready")
        t.type(b"typed\r\x10\x11")
        self.assertEqual(t.exit_code(), 1, t.screen)
        self.wait_for("the exec to go on", lambda: self.ctk("exec", "detacher", "cat", "/tmp/after").stdout == b"typed\n")
        r = self.ctk("attach", "--detach-keys", "ctrl-1", "detacher")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"invalid detach keys (ctrl-1)", r.stderr)
        # A bad list is refused before anything starts.
        self.ok("create", "-it", "--name", "detach-created", self.layer, "sh")
        self.addCleanup(self.ctk, "rm", "-f", "detach-created")
        r = self.ctk("start", "-ai", "--detach-keys", "ctrl-1", "detach-created")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"invalid detach keys (ctrl-1)", r.stderr)
        self.assertEqual(self.state("detach-created")["Status"], "created")
        # The shell still reads its terminal: the next attach ends it.
        t = Terminal(self.env, "attach", "detacher")
        t.type(b"exit 3\r")
        self.assertEqual(t.exit_code(), 3, t.screen)
        self.assertEqual(self.state("detacher")["ExitCode"], 3)

    def test_udp_published_port(self):
        # busybox has no UDP server: a small static one, built here.
        src = os.path.join(self.tmp, "udpecho.c")
        with open(src, "w") as f:
            f.write(UDP_ECHO)
        exe_dir = os.path.join(self.tmp, "udp-layer", "usr", "bin")
        os.makedirs(exe_dir, exist_ok=True)
        subprocess.run(["cc", "-static", "-O2", "-o", os.path.join(exe_dir, "udpecho"), src], check=True)
        layer = os.path.join(self.tmp, "udp.tar")
        with tarfile.open(layer, "w") as tf:
            tf.add(os.path.join(self.tmp, "udp-layer"), arcname=".")
        self.ok("run", "-d", "--name", "udp", "-p", "127.0.0.1:0:9999/udp", self.layer, layer, "udpecho", "9999")
        self.addCleanup(self.ctk, "rm", "-f", "udp")
        host, port = self.ok("port", "udp", "9999/udp").strip().rsplit(":", 1)
        peers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
        for s in peers:
            self.addCleanup(s.close)
            s.settimeout(2)
        # The echo server may not be bound yet: datagrams are retried, as UDP clients do.
        def echoed(s, payload):
            for _ in range(30):
                s.sendto(payload, (host, int(port)))
                try:
                    data, _ = s.recvfrom(65536)
                    return data
                except socket.timeout:
                    continue
            return None
        self.assertEqual(echoed(peers[0], b"ping"), b"ping")
        big = os.urandom(60000)
        self.assertEqual(echoed(peers[0], big), big)
        # Each host peer is its own flow, and gets its own replies.
        self.assertEqual(echoed(peers[1], b"second peer"), b"second peer")
        self.assertEqual(echoed(peers[0], b""), b"")


    def test_a_named_volume_is_shared_while_in_use_and_outlives_its_containers(self):
        self.addCleanup(self.ctk, "volume", "rm", "-f", "vol-data")
        self.run_detached("vol-writer", "-v", "vol-data:/data", script="echo one > /data/f; sleep 600")
        # Another VM sees the running one's write, through the same host directory.
        read = ["run", "--rm", "-v", "vol-data:/data:ro", self.layer, "cat", "/data/f"]
        self.wait_for("the write", lambda: self.ctk(*read).stdout == b"one\n", timeout=60)
        r = self.ctk("volume", "rm", "vol-data")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), "ctk volume rm: volume vol-data is in use by container vol-writer\n")
        self.ok("rm", "-f", "vol-writer")
        self.assertEqual(self.ok(*read), "one\n")
        self.assertEqual(self.ok("volume", "rm", "vol-data"), "vol-data\n")

    def test_foreground_run_leaves_an_exited_container_and_rm_removes_it(self):
        r = self.ctk("run", "--name", "fg", self.layer, "sh", "-c", "echo hi; exit 7")
        self.addCleanup(self.ctk, "rm", "-f", "fg")
        self.assertEqual((r.returncode, r.stdout), (7, b"hi\n"))
        st = self.state("fg")
        self.assertEqual((st["Status"], st["ExitCode"]), ("exited", 7))
        self.assertEqual(self.ctk("logs", "fg").stdout, b"hi\n")
        self.assertEqual(self.ok("wait", "fg").strip(), "7")
        r = self.ctk("run", "--rm", "--name", "gone", self.layer, "sh", "-c", "echo x > /etc/x && cat /etc/x")
        self.assertEqual((r.returncode, r.stdout), (0, b"x\n"))  # its writable layer is memory
        r = self.ctk("run", "--rm", "--restart", "always", self.layer, "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--restart and --rm conflict", r.stderr)
        self.assertEqual(self.ctk("inspect", "--type", "container", "gone").returncode, 1)
        self.ok("rm", "fg")
        self.assertEqual(self.ctk("inspect", "--type", "container", "fg").returncode, 1)
        self.no_qemu_left()

    def test_stop_start_keeps_the_writable_layer(self):
        self.run_detached("keep", script="echo started; exec sleep 1000")
        self.ok("exec", "keep", "sh", "-c", "echo kept > /etc/kept; rm /bin/vi")
        self.ok("stop", "-t", "1", "keep")
        st = self.state("keep")
        self.assertEqual((st["Status"], st["ExitCode"]), ("exited", 137))
        self.no_qemu_left()
        r = self.ctk("exec", "keep", "true")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"container keep is not running", r.stderr)
        self.ok("start", "keep")
        self.assertEqual(self.ok("exec", "keep", "sh", "-c", "cat /etc/kept; ls /bin/vi 2>&1; true"),
                         "kept\nls: /bin/vi: No such file or directory\n")
        # The log keeps both runs' output.
        self.assertEqual(self.ctk("logs", "keep").stdout, b"started\nstarted\n")
        # The writable layer is a clean ext4 after a stop.
        self.ok("stop", "-t", "0", "keep")
        rw = os.path.join(self.data, "containers", json.loads(self.ok("inspect", "keep"))[0]["Id"], "rw.ext4")
        fsck = subprocess.run(["e2fsck", "-fn", rw], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(fsck.returncode, 0, fsck.stdout.decode())

    def test_logs_follow_ends_with_the_container(self):
        self.run_detached("talk", script="for i in 1 2 3; do echo line$i; sleep 0.3; done")
        r = self.ctk("logs", "-f", "talk", timeout=60)
        self.assertEqual(r.stdout, b"line1\nline2\nline3\n")
        self.assertEqual(self.ctk("logs", "--tail", "1", "talk").stdout, b"line3\n")
        self.assertEqual(self.state("talk")["Status"], "exited")

    def test_restart_on_failure_stops_after_the_maximum(self):
        self.run_detached("flaky", "--restart", "on-failure:2", script="echo attempt; exit 3")
        self.wait_for("the restarts to end", lambda: self.state("flaky")["Status"] == "exited" and
                      not subprocess.run(["pgrep", "-f", "ctk supervise.*" + self.data], stdout=subprocess.PIPE).stdout)
        info = json.loads(self.ok("inspect", "flaky"))[0]
        self.assertEqual((info["RestartCount"], info["State"]["ExitCode"]), (2, 3))
        self.assertEqual(self.ctk("logs", "flaky").stdout, b"attempt\n" * 3)

    def test_kill_with_a_signal_and_kill_9_of_the_supervisor(self):
        self.run_detached("victim", script="trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.1; done")
        # Until the trap is set, PID 1 of the container ignores SIGTERM.
        self.wait_for("the trap", lambda: b"ready" in self.ctk("logs", "victim").stdout)
        self.ok("kill", "-s", "TERM", "victim")
        self.assertEqual(self.ok("wait", "victim").strip(), "9")
        self.assertIn(b"got TERM", self.ctk("logs", "victim").stdout)
        self.ok("start", "victim")
        subprocess.run(["pkill", "-9", "-f", f"ctk supervise.*{self.data}"])
        self.no_qemu_left()
        st = self.state("victim")
        self.assertEqual(st["Status"], "exited")
        self.assertFalse(st["Running"])
        self.ok("rm", "victim")

    def test_a_vm_that_dies_is_booted_again_under_its_restart_policy(self):
        cid = self.run_detached("phoenix", "--restart", "always", script="echo up; exec sleep 1000")
        self.ok("exec", "phoenix", "sh", "-c", "echo kept > /kept; sync")
        supervisor = self.state("phoenix")["Pid"]
        subprocess.run(["pkill", "-9", "-f", f"qemu-system.*{cid}"])
        # The supervisor (the same process, exec'd afresh) boots a new VM.
        self.wait_for("the restart", lambda: json.loads(self.ok("inspect", "phoenix"))[0]["RestartCount"] == 1 and
                      self.state("phoenix")["Status"] == "running", timeout=60)
        self.assertEqual(self.state("phoenix")["Pid"], supervisor)
        self.assertEqual(self.ok("exec", "phoenix", "cat", "/kept"), "kept\n")
        self.wait_for("the second start's output", lambda: self.ctk("logs", "phoenix").stdout == b"up\nup\n")
        self.ok("stop", "-t", "0", "phoenix")
        self.assertEqual(self.state("phoenix")["Status"], "exited")
        self.no_qemu_left()

    def test_qemu_killed_mid_write_comes_back_clean(self):
        self.run_detached("writer", script="exec sleep 1000")
        self.ok("exec", "writer", "sh", "-c", "echo durable > /durable; sync")
        # Writing when the VM dies: the journal replays on the next start.
        busy = subprocess.Popen([CTK, "exec", "writer", "sh", "-c", "while :; do echo x >> /busy; done"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        time.sleep(1)
        subprocess.run(["pkill", "-9", "-f", f"qemu-system.*{self.data}"])
        busy.wait(timeout=60)
        self.wait_for("the supervisor to notice", lambda: self.state("writer")["Status"] == "exited")
        self.assertEqual(self.state("writer")["ExitCode"], 125)
        self.ok("start", "writer")
        self.assertEqual(self.ok("exec", "writer", "cat", "/durable"), "durable\n")
        self.ok("stop", "-t", "0", "writer")
        rw = os.path.join(self.data, "containers", json.loads(self.ok("inspect", "writer"))[0]["Id"], "rw.ext4")
        fsck = subprocess.run(["e2fsck", "-fn", rw], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(fsck.returncode, 0, fsck.stdout.decode())


if __name__ == "__main__":
    unittest.main()
