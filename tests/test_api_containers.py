"""Containers through the Docker Engine API, judged by the real docker CLI:
run (foreground, -d, -i, --rm, exit codes), exec (-i, -d, exit codes), logs,
top, stats, port publishing, stop/start/restart/kill/wait/rename/rm, create
and start -a, the create flags docker users reach for, state shared with the
ctk CLI both ways, a server killed and restarted losing nothing, restart
policies honoured after a simulated host reboot, and bad requests answered
without harm. Real VMs (QEMU), busybox."""
import concurrent.futures
import json
import os
import socket
import subprocess
import time
import urllib.request

import apifixture
from apifixture import ApiTest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawClient:
    """One HTTP/1.1 request on the server's unix socket: status and body."""

    def __init__(self, path):
        self.path = path

    def request(self, method, target, body=None, headers=None):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(self.path)
        data = body if isinstance(body, bytes) else (body or "").encode()
        head = f"{method} {target} HTTP/1.1\r\nHost: docker\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        try:
            s.sendall(head.encode() + b"\r\n" + data)
        except BrokenPipeError:
            pass  # refused before the body was read: the answer is there
        out = apifixture.read_to_eof(s)
        s.close()
        status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.1 ") else 0
        return status, out.split(b"\r\n\r\n", 1)[-1]


class ContainerApiTest(ApiTest):
    def run_d(self, name, *args):
        out = self.ok("run", "-d", "--name", name, *args)
        self.addCleanup(self.docker, "rm", "-f", name)
        return out.strip()

    def inspect(self, name):
        return json.loads(self.ok("inspect", name))[0]

    def test_run_foreground_output_and_exit_codes(self):
        r = self.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 5")
        self.assertEqual(r.returncode, 5, r.stderr)
        self.assertEqual(r.stdout, b"out\n")
        self.assertIn(b"err\n", r.stderr)
        # --rm: gone from both listings.
        self.assertEqual(self.ok("ps", "-aq"), "")
        r = self.docker("run", "--rm", "busybox", "no-such-command")
        self.assertEqual(r.returncode, 127, r.stderr)
        r = self.docker("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input=b"shout\n")
        self.assertEqual((r.returncode, r.stdout), (0, b"SHOUT\n"), r.stderr)
        r = self.docker("run", "--rm", "-e", "A=1", "-w", "/tmp", "-u", "1000", "--entrypoint", "sh", "busybox",
                        "-c", "echo $A $(pwd) $(id -u)")
        self.assertEqual(r.stdout, b"1 /tmp 1000\n", r.stderr)

    def test_detached_exec_logs_top_stats(self):
        cid = self.run_d("svc", "busybox", "sh", "-c", "echo started; exec sleep 1000")
        self.assertEqual(len(cid), 64)
        self.assertIn("svc", self.ok("ps", "--format", "{{.Names}}"))
        # The same container, seen by the ctk CLI.
        self.assertIn("svc", self.ctk("ps").stdout.decode())
        r = self.docker("exec", "svc", "sh", "-c", "echo in exec; echo e >&2; exit 3")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (3, b"in exec\n", b"e\n"))
        r = self.docker("exec", "-i", "svc", "wc", "-c", input=b"12345")
        self.assertEqual(r.stdout.strip(), b"5")
        self.assertEqual(self.docker("exec", "svc", "nonexistent").returncode, 127)
        self.ok("exec", "-d", "svc", "sh", "-c", "echo detached > /tmp/d")
        self.wait_for("the detached exec", lambda: self.docker("exec", "svc", "cat", "/tmp/d").stdout == b"detached\n")
        # Removed right after its exit, while its VM may still be powering off.
        self.run_d("quick", "busybox", "true")
        self.assertEqual(self.ok("wait", "quick"), "0\n")
        self.ok("rm", "quick")
        # The start's Tty decides the framing, not the exec's pty: docker-py
        # starts a pty exec without it and reads frames.
        raw = RawClient(self.socket)
        json_type = {"Content-Type": "application/json"}
        status, body = raw.request("POST", f"/v1.41/containers/{cid}/exec", json.dumps(
            {"Cmd": ["printf", "yay"], "Tty": True, "AttachStdout": True}), json_type)
        self.assertEqual(status, 201, body)
        status, body = raw.request("POST", f"/v1.41/exec/{json.loads(body)['Id']}/start", '{"Tty": false}', json_type)
        self.assertEqual((status, body), (200, b"\x01\x00\x00\x00\x00\x00\x00\x03yay"))
        # The exit is known when the stream ends: the docker CLI inspects the
        # exec right then for its exit code.
        for code in range(1, 6):
            status, body = raw.request("POST", f"/v1.41/containers/{cid}/exec", json.dumps(
                {"Cmd": ["sh", "-c", f"exit {code}"], "AttachStdout": True}), json_type)
            exec_id = json.loads(body)["Id"]
            raw.request("POST", f"/v1.41/exec/{exec_id}/start", "{}", json_type)
            info = json.loads(raw.request("GET", f"/v1.41/exec/{exec_id}/json")[1])
            self.assertEqual((info["Running"], info["ExitCode"]), (False, code))
        self.wait_for("logs", lambda: self.ok("logs", "svc") == "started\n")
        top = self.ok("top", "svc")
        self.assertIn("sleep 1000", top)
        stats = self.ok("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "svc")
        self.assertTrue(stats.startswith("svc "), stats)
        state = self.inspect("svc")["State"]
        self.assertTrue(state["Running"])
        self.assertEqual(self.ok("inspect", "-f", "{{.Name}} {{.Config.Image}}", "svc").strip(), "/svc busybox")

    def test_logs_follow_ends_with_the_container(self):
        self.run_d("talker", "busybox", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done")
        r = self.docker("logs", "-f", "talker", timeout=60)
        self.assertEqual(r.stdout, b"line1\nline2\nline3\n")
        self.assertEqual(self.ok("wait", "talker").strip(), "0")
        self.assertEqual(self.ok("logs", "--tail", "1", "talker"), "line3\n")

    def test_published_port(self):
        port = free_port()
        self.run_d("web", "-p", f"127.0.0.1:{port}:8080", "busybox", "sh", "-c",
                   "mkdir /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www")
        self.assertEqual(self.ok("port", "web").strip(), f"8080/tcp -> 127.0.0.1:{port}")

        def fetch():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
            except OSError:
                return None
        self.assertEqual(self.wait_for("httpd", fetch), b"hello\n")

    def test_stop_start_restart_kill_wait_rename_rm(self):
        self.run_d("life", "busybox", "sh", "-c", "trap 'exit 42' TERM; echo up >> /tmp/runs; while true; do sleep 0.1; done")
        # The trap is set once the first line is written.
        self.wait_for("the first run", lambda: self.docker("exec", "life", "cat", "/tmp/runs").stdout == b"up\n")
        self.ok("stop", "-t", "5", "life")
        state = self.inspect("life")["State"]
        self.assertEqual((state["Status"], state["ExitCode"]), ("exited", 42))
        self.assertEqual(self.ok("wait", "life").strip(), "42")
        self.ok("start", "life")
        # The writable layer survived the stop.
        self.wait_for("the second run", lambda: self.docker("exec", "life", "cat", "/tmp/runs").stdout == b"up\nup\n")
        self.ok("restart", "-t", "5", "life")
        self.assertTrue(self.inspect("life")["State"]["Running"])
        self.ok("rename", "life", "life2")
        self.addCleanup(self.docker, "rm", "-f", "life2")
        self.ok("kill", "life2")
        self.assertEqual(self.ok("wait", "life2").strip(), "137")
        r = self.docker("kill", "life2")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"is not running", r.stderr)
        self.ok("rm", "life2")
        r = self.docker("inspect", "life2")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"No such object", r.stderr)

    def hijack(self, target, body=b""):
        """A hijacked POST (attach, exec start): the socket after the 101."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(self.socket)
        self.addCleanup(s.close)
        s.sendall(f"POST {target} HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        return s

    def read_until(self, sock, text):
        out = b""
        while text not in out:
            data = sock.recv(4096)
            self.assertTrue(data, f"EOF before {text!r}: {out!r}")
            out += data
        return out

    def test_detach_keys_end_a_hijacked_tty_stream(self):
        cid = self.run_d("ttyd", "-it", "busybox", "sh")
        s = self.hijack(f"/v1.44/containers/{cid}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-a,x")
        s.sendall(b"echo $((6*7))\r")
        self.read_until(s, b"42")
        # The server ends the stream; the shell runs on.
        s.sendall(b"\x01x")
        apifixture.read_to_eof(s)
        self.assertTrue(self.inspect("ttyd")["State"]["Running"])
        raw = RawClient(self.socket)
        status, body = raw.request("POST", f"/v1.44/containers/{cid}/attach?stream=1&stdin=1&detachKeys=ctrl-1")
        self.assertEqual(status, 400, body)
        self.assertIn(b"invalid detach keys (ctrl-1)", body)
        # An exec's detach keys come with its create; its command runs on.
        json_type = {"Content-Type": "application/json"}
        status, body = raw.request("POST", f"/v1.44/containers/{cid}/exec", json.dumps(
            {"Cmd": ["sh"], "Tty": True, "AttachStdin": True, "AttachStdout": True, "DetachKeys": "nope"}), json_type)
        self.assertEqual(status, 400, body)
        status, body = raw.request("POST", f"/v1.44/containers/{cid}/exec", json.dumps(
            {"Cmd": ["sh", "-c", "echo ready; read line; echo $line > /tmp/after"], "Tty": True,
             "AttachStdin": True, "AttachStdout": True}), json_type)
        self.assertEqual(status, 201, body)
        exec_id = json.loads(body)["Id"]
        s = self.hijack(f"/v1.44/exec/{exec_id}/start", b'{"Tty": true}')
        self.read_until(s, b"ready")
        # docker's default keys when the create named none.
        s.sendall(b"typed\r\x10\x11")
        apifixture.read_to_eof(s)
        self.wait_for("the exec to go on", lambda: self.docker("exec", "ttyd", "cat", "/tmp/after").stdout == b"typed\n")
        # Its exit is still collected, for inspect.
        def exited():
            info = json.loads(raw.request("GET", f"/v1.44/exec/{exec_id}/json")[1])
            return None if info["Running"] else info
        self.assertEqual(self.wait_for("the exec's exit", exited)["ExitCode"], 0)

    def test_rm_running_needs_force(self):
        self.run_d("busy", "busybox", "sleep", "1000")
        r = self.docker("rm", "busy")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"Stop the container before attempting removal", r.stderr)
        self.ok("rm", "-f", "busy")
        self.assertNotIn("busy", self.ok("ps", "-a", "--format", "{{.Names}}"))

    def test_create_then_start_attached(self):
        self.ok("create", "--name", "later", "busybox", "sh", "-c", "echo from start; exit 4")
        self.addCleanup(self.docker, "rm", "-f", "later")
        self.assertEqual(self.inspect("later")["State"]["Status"], "created")
        r = self.docker("start", "-a", "later")
        self.assertEqual((r.returncode, r.stdout), (4, b"from start\n"), r.stderr)

    def test_create_flags(self):
        self.ok("volume", "create", "apivol")
        self.addCleanup(self.docker, "volume", "rm", "-f", "apivol")
        bind = os.path.join(self.tmp, "bind")
        os.makedirs(bind, exist_ok=True)
        with open(os.path.join(bind, "f"), "w") as f:
            f.write("from host\n")
        self.run_d("flags", "--read-only", "--tmpfs", "/scratch", "-v", "apivol:/vol", "-v", f"{bind}:/bind:ro",
                   "--memory", "256m", "--cpus", "1.5", "--restart", "on-failure:3", "-l", "k=v",
                   "busybox", "sleep", "1000")
        r = self.docker("exec", "flags", "sh", "-c",
                        "touch /x 2>/dev/null && echo rw-root; echo t > /scratch/t && echo tmpfs-ok; "
                        "echo v > /vol/v && echo vol-ok; cat /bind/f; touch /bind/g 2>/dev/null || echo bind-ro")
        self.assertEqual(r.stdout, b"tmpfs-ok\nvol-ok\nfrom host\nbind-ro\n", r.stderr)
        hc = self.inspect("flags")["HostConfig"]
        self.assertEqual(hc["Memory"], 256 << 20)
        self.assertEqual(hc["NanoCpus"], 1500000000)
        self.assertEqual(hc["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 3})
        self.assertTrue(hc["ReadonlyRootfs"])
        self.assertEqual(self.inspect("flags")["Config"]["Labels"]["k"], "v")
        # The memory limit is the container's cgroup's.
        r = self.docker("exec", "flags", "cat", "/sys/fs/cgroup/memory.max")
        self.assertEqual(r.stdout.strip(), str(256 << 20).encode())

    def test_ctk_containers_seen_by_docker(self):
        r = self.ctk("run", "-d", "--name", "fromctk", "busybox", "sleep", "1000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(self.docker, "rm", "-f", "fromctk")
        self.assertIn("fromctk", self.ok("ps", "--format", "{{.Names}}"))
        self.assertEqual(self.docker("exec", "fromctk", "echo", "hi").stdout, b"hi\n")

    def test_server_restart_loses_nothing(self):
        self.run_d("survivor", "busybox", "sleep", "1000")
        self.stop_server()
        # Killing the server leaves the container running under its supervisor.
        self.assertIn("survivor", self.ctk("ps").stdout.decode())
        self.start_server()
        self.assertIn("survivor", self.ok("ps", "--format", "{{.Names}}"))
        self.assertEqual(self.docker("exec", "survivor", "echo", "still").stdout, b"still\n")

    def test_restart_policies_after_host_reboot(self):
        self.run_d("always", "--restart", "always", "busybox", "sleep", "1000")
        self.run_d("never", "busybox", "sleep", "1000")
        self.run_d("onfail", "--restart", "on-failure", "busybox", "sleep", "1000")
        self.run_d("unless", "--restart", "unless-stopped", "busybox", "sleep", "1000")
        self.run_d("stopped", "--restart", "unless-stopped", "busybox", "sleep", "1000")
        self.ok("stop", "-t", "1", "stopped")
        # The host goes down: every ctk process and QEMU dies at once.
        self.stop_server()
        for pattern in (f"ctk supervise.*{self.tmp}", f"qemu-system.*{self.tmp}"):
            subprocess.run(["pkill", "-9", "-f", pattern])
        time.sleep(0.5)
        self.start_server()

        def running(name):
            return self.inspect(name)["State"]["Running"]
        for name in ("always", "onfail", "unless"):
            self.wait_for(f"{name} to run again", lambda: running(name), timeout=60)
        self.assertFalse(running("never"))
        self.assertFalse(running("stopped"))

    def test_bad_requests(self):
        raw = RawClient(self.socket)
        for method, target, body, want in [
            ("POST", "/containers/create", "{not json", 400),
            ("POST", "/containers/create", '{"Image": 5}', 400),
            ("POST", "/containers/create", '{"Image": "busybox", "HostConfig": {"Memory": "lots"}}', 400),
            ("POST", "/containers/create", '{"Image": "busybox", "HostConfig": {"NetworkMode": "host"}}', 400),
            ("POST", "/containers/create", '{"Image": "no-such-image:1"}', 404),
            ("POST", "/containers/create", "[1,2]", 400),
            ("GET", "/containers/nope/json", None, 404),
            ("POST", "/containers/nope/start", None, 404),
            ("POST", "/containers/nope/stop", None, 404),
            ("POST", "/containers/nope/kill", None, 404),
            ("POST", "/containers/nope/wait", None, 404),
            ("DELETE", "/containers/nope", None, 404),
            ("GET", "/containers/nope/logs?stdout=1", None, 404),
            ("POST", "/containers/nope/exec", '{"Cmd": ["true"]}', 404),
            ("POST", "/exec/nope/start", "{}", 404),
            ("GET", "/exec/nope/json", None, 404),
            ("GET", "/containers/json?filters=%7Bbad", None, 400),
            ("GET", "/containers/json?limit=x", None, 400),
            ("GET", "/v9.99/version", None, 400),
        ]:
            status, out = raw.request(method, target, body, {"Content-Type": "application/json"})
            self.assertEqual(status, want, f"{method} {target}: {out[:200]}")
            self.assertIn("message", json.loads(out), out)
        # A body beyond the limit is refused without reading it all.
        status, _ = raw.request("POST", "/containers/create", b"{" + b" " * (17 << 20) + b"}")
        self.assertEqual(status, 413)
        # A client that sends half a request and vanishes.
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.socket)
        s.sendall(b"POST /containers/create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"Ima")
        s.close()
        self.ok("version")

    def test_concurrent_clients(self):
        """20 clients at once, each running a container and an exec."""
        def one(i):
            name = f"par{i}"
            r = self.docker("run", "-d", "--name", name, "busybox", "sleep", "1000", timeout=300)
            if r.returncode != 0:
                return f"{name}: run: {r.stderr.decode()}"
            r = self.docker("exec", name, "echo", str(i), timeout=300)
            return None if r.stdout == f"{i}\n".encode() else f"{name}: exec: {r.stdout!r} {r.stderr!r}"
        try:
            with concurrent.futures.ThreadPoolExecutor(20) as pool:
                errors = [e for e in pool.map(one, range(20)) if e]
            self.assertEqual(errors, [])
            self.assertEqual(len(self.ok("ps", "-q").split()), 20)
        finally:
            names = [f"par{i}" for i in range(20)]
            self.docker("rm", "-f", *names, timeout=300)
        self.assertEqual(self.ok("ps", "-aq", "--filter", "name=par"), "")
