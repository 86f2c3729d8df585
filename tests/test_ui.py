"""ctk serve --ui: the web UI's listener. The page's files come out of the
binary; the token in the printed URL becomes a session cookie; a request
without that cookie, with another Host (DNS rebinding) or from another
Origin is refused, and with the cookie the Docker API answers there too.
The terminal's WebSocket is driven into a real container as the page does.
The page itself in a browser is for Playwright (not yet written)."""
import base64
import gzip
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import apifixture
import vmkernel

CTK = os.environ.get("CTK", "build/ctk")


def ui_url(server, log_path):
    """The URL a starting `ctk serve --ui` prints."""
    deadline = time.time() + 10
    while True:
        with open(log_path) as f:
            log = f.read()
        m = re.search(r"web UI at (http://\S+)", log)
        if m:
            return m.group(1)
        assert server.poll() is None and time.time() < deadline, log
        time.sleep(0.02)


class WebSocket:
    """A minimal RFC 6455 client, as a browser speaks it: masked frames out."""

    def __init__(self, host, port, path, headers):
        self.sock = socket.create_connection((host, port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Version: 13", f"Sec-WebSocket-Key: {key}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.status = int(head.split()[1])
        self.head = head.decode()
        if self.status == 101:
            import hashlib
            accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
            assert f"Sec-WebSocket-Accept: {accept.decode()}" in self.head, self.head

    def send(self, data, opcode=2):
        mask = os.urandom(4)
        n = len(data)
        header = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else
                                           bytes([0x80 | 126]) + struct.pack(">H", n))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """(opcode, payload) of the next frame (servers do not mask)."""
        b0, b1 = self._read(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        assert not b1 & 0x80, "a server frame must not be masked"
        return b0 & 0x0f, self._read(n)

    def read_until(self, needle, timeout=60):
        """The output up to and including needle; fails on a close or the time."""
        out = b""
        deadline = time.time() + timeout
        while needle not in out:
            assert time.time() < deadline, f"no {needle!r} in {out!r}"
            opcode, data = self.recv()
            assert opcode == 2, (opcode, data, out)
            out += data
        return out

    def close(self):
        self.sock.close()


class UiServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ctk-ui-test-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.log_path = os.path.join(cls.tmp, "serve.log")
        cls.log = open(cls.log_path, "wb")
        cls.server = subprocess.Popen([CTK, "serve", "--root", os.path.join(cls.tmp, "data"),
                                       "-H", "unix://" + os.path.join(cls.tmp, "docker.sock"), "--ui"],
                                      stdout=cls.log, stderr=cls.log)
        cls.addClassCleanup(cls.server.kill)
        cls.url = urllib.parse.urlsplit(ui_url(cls.server, cls.log_path))
        cls.token = urllib.parse.parse_qs(cls.url.query)["token"][0]
        cls.host = cls.url.netloc

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)
        cls.log.close()

    def request(self, method, path, headers=None, host=None, body=None):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)
        try:
            h = {"Host": host or self.host, "Accept-Encoding": "gzip"}
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, r.headers, r.read()
        finally:
            conn.close()

    def session(self):
        status, headers, _ = self.request("GET", "/?token=" + self.token)
        self.assertEqual((status, headers["Location"]), (303, "/"))
        cookie = headers["Set-Cookie"]
        for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attribute, cookie)
        return cookie.split(";")[0]

    def test_the_token_becomes_a_session_and_the_page_is_served(self):
        cookie = {"Cookie": self.session()}
        status, headers, body = self.request("GET", "/", cookie)
        self.assertEqual((status, headers["Content-Encoding"], headers["Content-Type"]),
                         (200, "gzip", "text/html; charset=utf-8"))
        page = gzip.decompress(body).decode()
        self.assertIn("<script", page)
        scripts = re.findall(r'(?:src|href)="/?([^"]+\.(?:js|css))"', page)
        self.assertTrue(scripts, page)
        for name in scripts:
            status, headers, body = self.request("GET", "/" + name, cookie)
            self.assertEqual(status, 200, name)
            self.assertGreater(len(gzip.decompress(body)), 1000)
            self.assertIn("frame-ancestors 'none'", headers["Content-Security-Policy"])
            # Unchanged: 304 on its ETag.
            status, _, body = self.request("GET", "/" + name, dict(cookie, **{"If-None-Match": headers["ETag"]}))
            self.assertEqual((status, body), (304, b""))
        # A client without gzip is told so rather than sent what it cannot read.
        status, _, _ = self.request("GET", "/", dict(cookie, **{"Accept-Encoding": "identity"}))
        self.assertEqual(status, 406)
        # The Docker API, on the same listener, with the session.
        status, _, body = self.request("GET", "/v1.44/containers/json?all=1", cookie)
        self.assertEqual((status, body), (200, b"[]\n"))
        # Same-origin requests from the page carry its Origin.
        status, _, _ = self.request("POST", "/v1.44/containers/prune",
                                    dict(cookie, Origin=f"http://{self.host}"))
        self.assertEqual(status, 200)

    def test_no_session_no_entry(self):
        for path in ("/", "/app.js", "/v1.44/version", "/v1.44/containers/json", "/nonexistent"):
            status, _, body = self.request("GET", path)
            self.assertEqual(status, 401, path)
            self.assertIn(b"ctk serve --ui printed", body)
        status, headers, _ = self.request("GET", "/?token=" + "0" * 64)
        self.assertEqual(status, 401)
        self.assertNotIn("Set-Cookie", headers)
        status, _, _ = self.request("GET", "/", {"Cookie": "ctk_ui=" + self.token})  # the token is no session
        self.assertEqual(status, 401)

    def test_a_foreign_host_or_origin_is_refused_even_with_the_session(self):
        cookie = self.session()
        port = self.url.port
        for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}"):
            status, _, body = self.request("GET", "/v1.44/version", {"Cookie": cookie}, host=host)
            self.assertEqual(status, 403, host)
            self.assertIn(b"own host name", body)
        # A rebinding attacker cannot exchange the token either.
        status, headers, _ = self.request("GET", "/?token=" + self.token, host=f"evil.example:{port}")
        self.assertEqual(status, 403)
        self.assertNotIn("Set-Cookie", headers)
        # localhost names the same loopback UI.
        status, _, _ = self.request("GET", "/v1.44/version", {"Cookie": cookie}, host=f"localhost:{port}")
        self.assertEqual(status, 200)
        for origin in ("http://evil.example", f"https://{self.host}", "null", f"http://{self.host}.evil.example"):
            status, _, body = self.request("POST", "/v1.44/containers/prune", {"Cookie": cookie, "Origin": origin})
            self.assertEqual(status, 403, origin)
            self.assertIn(b"cross-origin", body)
        # No CORS: nothing tells a browser another site may read the answers.
        status, headers, _ = self.request("OPTIONS", "/v1.44/version",
                                          {"Cookie": cookie, "Origin": "http://evil.example",
                                           "Access-Control-Request-Method": "GET"})
        self.assertEqual(status, 403)
        self.assertNotIn("Access-Control-Allow-Origin", headers)

    def test_an_address_beyond_loopback_needs_tls(self):
        other = subprocess.run([CTK, "serve", "--root", os.path.join(self.tmp, "data2"), "-H",
                                "unix://" + os.path.join(self.tmp, "other.sock"), "--ui-address", "tcp://0.0.0.0:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=10)
        self.assertEqual(other.returncode, 1)
        self.assertIn("0.0.0.0", other.stderr)  # beyond loopback only with TLS


class UiTerminalTest(unittest.TestCase):
    """The terminal's WebSocket (/ui/ws/exec/ID) into a running busybox
    container, as the page opens it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ctk-ui-term-")
        # Also when a step below fails (tearDownClass runs only after a setUpClass that passed).
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.addClassCleanup(subprocess.run, ["pkill", "-9", "-f", f"ctk supervise.*{cls.tmp}"])
        cls.env = dict(os.environ, CTK_KERNEL=vmkernel.kernel(), CTK_ROOT=os.path.join(cls.tmp, "data"),
                       XDG_RUNTIME_DIR=os.path.join(cls.tmp, "run"), XDG_CACHE_HOME=os.path.join(cls.tmp, "cache"),
                       XDG_CONFIG_HOME=os.path.join(cls.tmp, "config"))
        archive = os.path.join(cls.tmp, "busybox.tar")
        apifixture.busybox_archive(archive)
        for args in (["load", "-i", archive], ["run", "-d", "--name", "term", "busybox", "sleep", "100000"]):
            r = subprocess.run([CTK, *args], env=cls.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
            assert r.returncode == 0, r.stderr.decode()
        cls.log_path = os.path.join(cls.tmp, "serve.log")
        cls.log = open(cls.log_path, "wb")
        cls.server = subprocess.Popen([CTK, "serve", "-H", "unix://" + os.path.join(cls.tmp, "docker.sock"), "--ui"],
                                      env=cls.env, stdout=cls.log, stderr=cls.log)
        cls.addClassCleanup(cls.server.kill)
        url = urllib.parse.urlsplit(ui_url(cls.server, cls.log_path))
        cls.host, cls.port = url.hostname, url.port
        conn = http.client.HTTPConnection(cls.host, cls.port, timeout=30)
        conn.request("GET", "/?" + url.query, headers={"Host": url.netloc})
        cls.cookie = conn.getresponse().headers["Set-Cookie"].split(";")[0]
        conn.close()
        cls.headers = {"Host": url.netloc, "Cookie": cls.cookie, "Origin": f"http://{url.netloc}"}

    @classmethod
    def tearDownClass(cls):
        subprocess.run([CTK, "rm", "-f", "term"], env=cls.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.server.terminate()
        cls.server.wait(timeout=10)
        cls.log.close()

    def api(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers=dict(self.headers, **{"Content-Type": "application/json"}))
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def shell(self):
        status, body = self.api("POST", "/v1.44/containers/term/exec",
                                {"Cmd": ["sh"], "AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
                                 "Tty": True, "Env": ["TERM=xterm-256color"]})
        self.assertEqual(status, 201, body)
        return json.loads(body)["Id"]

    def test_a_shell_over_the_websocket(self):
        exec_id = self.shell()
        ws = WebSocket(self.host, self.port, f"/ui/ws/exec/{exec_id}?h=24&w=80", self.headers)
        self.assertEqual(ws.status, 101, ws.head)
        try:
            ws.send(b"stty size\n")
            ws.read_until(b"24 80")
            ws.send(b"echo $((6*7))\n")
            self.assertIn(b"\r\n42\r\n", ws.read_until(b"\r\n42\r\n"))
            # ^C ends a foreground sleep; the shell goes on.
            ws.send(b"sleep 1000\n")
            time.sleep(1)
            ws.send(b"\x03")
            ws.send(b"echo after-$((1+1))\n")
            ws.read_until(b"after-2")
            # The page's resize call reaches the pty.
            status, _ = self.api("POST", f"/v1.44/exec/{exec_id}/resize?h=30&w=100")
            self.assertEqual(status, 200)
            ws.send(b"stty size\n")
            ws.read_until(b"30 100")
            ws.send(b"ping", opcode=9)  # answered with a pong between output frames
            ws.send(b"exit 3\n")
            while True:
                opcode, data = ws.recv()
                if opcode == 8:
                    break
                self.assertIn(opcode, (2, 10))
            self.assertEqual((struct.unpack(">H", data[:2])[0], data[2:]), (1000, b"exit 3"))
        finally:
            ws.close()
        status, body = self.api("GET", f"/v1.44/exec/{exec_id}/json")
        self.assertEqual(json.loads(body)["ExitCode"], 3)

    def test_closing_the_tab_hangs_the_shell_up(self):
        exec_id = self.shell()
        ws = WebSocket(self.host, self.port, f"/ui/ws/exec/{exec_id}", self.headers)
        self.assertEqual(ws.status, 101)
        ws.send(b"echo ready\n")
        ws.read_until(b"ready")
        ws.send(b"\x03\xe8", opcode=8)  # close 1000
        deadline = time.time() + 60
        while json.loads(self.api("GET", f"/v1.44/exec/{exec_id}/json")[1])["Running"]:
            self.assertLess(time.time(), deadline, "the shell still runs after its tab closed")
            time.sleep(0.2)
        ws.close()

    def test_the_file_browser_lists_a_directory(self):
        status, body = self.api("GET", "/ui/api/containers/term/ls?path=/bin")
        self.assertEqual(status, 200, body)
        listing = json.loads(body)
        self.assertEqual((listing["path"], listing["truncated"]), ("/bin", False))
        entries = {e["name"]: e for e in listing["entries"]}
        self.assertEqual((entries["busybox"]["type"], entries["busybox"]["mode"] & 0o111), ("file", 0o111))
        self.assertGreater(entries["busybox"]["size"], 100000)
        self.assertGreater(entries["busybox"]["mtime"], 0)
        status, body = self.api("GET", "/ui/api/containers/term/ls?path=/")
        kinds = {e["name"]: e["type"] for e in json.loads(body)["entries"]}
        self.assertEqual((kinds["bin"], kinds["proc"]), ("dir", "dir"))
        status, body = self.api("GET", "/ui/api/containers/term/ls?path=/nonexistent")
        self.assertEqual((status, json.loads(body)["message"]), (404, "Could not find the file /nonexistent in container term"))
        status, body = self.api("GET", "/ui/api/containers/term/ls?path=/bin/busybox")
        self.assertEqual((status, json.loads(body)["message"]), (400, "/bin/busybox is not a directory"))
        status, _ = self.api("GET", "/ui/api/containers/nonexistent/ls?path=/")
        self.assertEqual(status, 404)

    def test_attach_to_the_main_process(self):
        r = subprocess.run([CTK, "run", "-d", "-it", "--name", "att", "busybox", "sh"], env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.addCleanup(subprocess.run, [CTK, "rm", "-f", "att"], env=self.env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
        ws = WebSocket(self.host, self.port, "/ui/ws/attach/att", self.headers)
        self.assertEqual(ws.status, 101, ws.head)
        try:
            ws.send(b"echo hi-$((2+3))\n")
            ws.read_until(b"hi-5")
            ws.send(b"exit 4\n")
            while True:
                opcode, data = ws.recv()
                if opcode == 8:
                    break
            self.assertEqual(data[2:], b"exit 4")
        finally:
            ws.close()
        state = json.loads(self.api("GET", "/v1.44/containers/att/json")[1])["State"]
        self.assertEqual((state["Status"], state["ExitCode"]), ("exited", 4))

    def test_the_run_form_with_a_profile(self):
        mine = os.path.join(self.env["XDG_CONFIG_HOME"], "ctk", "profiles", "mine.toml")
        os.makedirs(os.path.dirname(mine), exist_ok=True)
        with open(mine, "w") as f:
            f.write('env = ["FROM=mine"]\n')
        status, body = self.api("GET", "/ui/api/profiles")
        self.assertEqual(status, 200, body)
        profiles = {p["name"]: p for p in json.loads(body)}
        self.assertEqual(profiles["untrusted"]["source"], "built-in")
        self.assertIn("network = 'none'", profiles["untrusted"]["toml"])
        self.assertEqual(profiles["mine"]["source"], mine)
        self.assertIn("'FROM=mine'", profiles["mine"]["toml"])
        for ref, why in (("nosuch", "unknown profile 'nosuch'"), ("/etc/passwd", "not a file")):
            status, body = self.api("POST", "/v1.44/containers/create?profile=" + urllib.parse.quote(ref, safe=""),
                                    {"Image": "busybox"})
            self.assertEqual(status, 400, body)
            self.assertIn(why, json.loads(body)["message"])
        # The untrusted profile under the request's own settings, in a real VM.
        script = "touch /x 2>/dev/null && echo writable || echo read-only; ls /sys/class/net; echo A=$A"
        status, body = self.api("POST", "/v1.44/containers/create?name=sandboxed&profile=untrusted",
                                {"Image": "busybox", "Cmd": ["sh", "-c", script], "Env": ["A=request"],
                                 "HostConfig": {"Memory": 256 << 20}})
        self.assertEqual(status, 201, body)
        self.addCleanup(self.api, "DELETE", "/v1.44/containers/sandboxed?force=1")
        hc = json.loads(self.api("GET", "/v1.44/containers/sandboxed/json")[1])["HostConfig"]
        self.assertEqual((hc["ReadonlyRootfs"], hc["NetworkMode"], hc["Memory"], hc["PidsLimit"]),
                         (True, "none", 256 << 20, 256))
        self.assertEqual(self.api("POST", "/v1.44/containers/sandboxed/start")[0], 204)
        status, body = self.api("POST", "/v1.44/containers/sandboxed/wait")
        self.assertEqual((status, json.loads(body)["StatusCode"]), (200, 0))
        status, body = self.api("GET", "/v1.44/containers/sandboxed/logs?stdout=1&stderr=1")
        out = b""
        while body:  # docker's 8-byte frame headers
            n = struct.unpack(">I", body[4:8])[0]
            out, body = out + body[8:8 + n], body[8 + n:]
        self.assertEqual(out.decode().split(), ["read-only", "lo", "A=request"])

    def test_refusals(self):
        exec_id = self.shell()
        ws = WebSocket(self.host, self.port, f"/ui/ws/exec/{exec_id}", dict(self.headers, Origin="http://evil.example"))
        self.assertEqual(ws.status, 403)
        ws.close()
        ws = WebSocket(self.host, self.port, f"/ui/ws/exec/{exec_id}", {"Host": self.headers["Host"]})
        self.assertEqual(ws.status, 401)
        ws.close()
        ws = WebSocket(self.host, self.port, "/ui/ws/exec/nonexistent", self.headers)
        self.assertEqual(ws.status, 404)
        ws.close()
        # A plain GET is no WebSocket.
        status, body = self.api("GET", f"/ui/ws/exec/{exec_id}")
        self.assertEqual(status, 400, body)


if __name__ == "__main__":
    unittest.main()
