"""`ctk serve` as a server: its socket's mode, TCP with mutual TLS judged by
the docker CLI's --tlsverify (and refused without a client certificate), a
TCP address beyond loopback refused without TLS, systemd socket activation,
HTTP/1.1 keep-alive with pipelined and chunked requests, API versions. No VM
is needed."""
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

from apifixture import CTK, DOCKER, ApiTest, read_to_eof


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=ctk test CA", cwd=d)
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.cnf"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for who, ext in (("server", "san.cnf"), ("client", "client.cnf")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}-key.pem", "-out", f"{who}.csr",
                "-subj", f"/CN={who}", cwd=d)
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-out", f"{who}.pem", "-days", "2", "-extfile", ext, cwd=d)


class ServerTest(ApiTest):
    def serve(self, *args, env=None):
        log = open(os.path.join(self.tmp, "serve-extra.log"), "ab")
        p = subprocess.Popen([CTK, "serve", *args], env=env or self.env, stdout=log, stderr=log, pass_fds=())
        self.addCleanup(lambda: (p.terminate(), p.wait(), log.close()))
        return p

    def wait_port(self, port):
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.fail("the server did not listen")

    def test_socket_mode(self):
        mode = stat.S_IMODE(os.stat(self.socket).st_mode)
        self.assertEqual(mode, 0o660 if os.geteuid() == 0 else 0o600)

    def test_second_server_on_the_same_socket_is_refused(self):
        r = subprocess.run([CTK, "serve", "-H", "unix://" + self.socket], env=self.env, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"another server is listening", r.stderr)
        self.ok("version")

    def test_tcp_beyond_loopback_needs_tls(self):
        r = subprocess.run([CTK, "serve", "-H", f"tcp://0.0.0.0:{free_port()}"], env=self.env,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"needs --tls-cert, --tls-key and --tls-ca", r.stderr)
        r = subprocess.run([CTK, "serve", "--tls-cert", "x"], env=self.env, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(r.returncode, 2)

    def test_mutual_tls(self):
        pki = tempfile.mkdtemp(dir=self.tmp)
        make_pki(pki)
        port = free_port()
        self.serve("-H", f"tcp://127.0.0.1:{port}", "--tls-cert", f"{pki}/server.pem", "--tls-key",
                   f"{pki}/server-key.pem", "--tls-ca", f"{pki}/ca.pem")
        self.wait_port(port)
        env = dict(self.env, DOCKER_HOST=f"tcp://127.0.0.1:{port}")
        tls = ["--tlsverify", "--tlscacert", f"{pki}/ca.pem", "--tlscert", f"{pki}/client.pem", "--tlskey",
               f"{pki}/client-key.pem"]
        r = subprocess.run([DOCKER, *tls, "images", "--format", "{{.Repository}}"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"busybox", r.stdout)
        # Without a client certificate the handshake is refused.
        r = subprocess.run([DOCKER, "--tls", "--tlscacert", f"{pki}/ca.pem", "version"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn(b"Server: ctk", r.stdout)
        # Plain HTTP on the TLS port gets nothing.
        r = subprocess.run([DOCKER, "version"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertNotIn(b"Server: ctk", r.stdout)
        # The server is still fine.
        r = subprocess.run([DOCKER, *tls, "version"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_socket_activation(self):
        """systemd's protocol: the socket as fd 3, LISTEN_PID and LISTEN_FDS."""
        path = os.path.join(self.tmp, "activated.sock")
        launcher = (
            "import os, socket, sys\n"
            "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(16)\n"
            "os.dup2(s.fileno(), 3); os.set_inheritable(3, True)\n"
            "os.environ['LISTEN_PID'] = str(os.getpid()); os.environ['LISTEN_FDS'] = '1'\n"
            "os.execv(sys.argv[2], [sys.argv[2], 'serve', '-H', 'fd://'])\n")
        log = open(os.path.join(self.tmp, "activated.log"), "ab")
        p = subprocess.Popen([sys.executable, "-c", launcher, path, CTK], env=self.env, stdout=log, stderr=log,
                             close_fds=False)
        self.addCleanup(lambda: (p.terminate(), p.wait(), log.close()))
        env = dict(self.env, DOCKER_HOST="unix://" + path)
        deadline = time.time() + 10
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        r = subprocess.run([DOCKER, "version", "--format", "{{.Server.APIVersion}}"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, b"1.44"), r.stderr)

    def test_keep_alive_pipelining_and_chunked_bodies(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.socket)
        body = json.dumps({"Name": "chunky"}).encode()
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 5]), body[i:i + 5]) for i in range(0, len(body), 5))
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n"
                  b"POST /v1.44/volumes/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: application/json\r\n\r\n" + chunked + b"0\r\n\r\n"
                  b"GET /v1.30/volumes/chunky HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
        out = read_to_eof(s)
        s.close()
        self.assertEqual(out.count(b"HTTP/1.1 "), 3, out)
        self.assertIn(b"HTTP/1.1 201 Created", out)
        self.assertTrue(out.rstrip().endswith(b"}"), out)
        self.assertIn(b'"Name":"chunky"', out.split(b"HTTP/1.1 ")[-1])
        self.ok("volume", "rm", "chunky")

    def test_api_versions(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.socket)
        s.sendall(b"GET /v1.99/version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
        out = read_to_eof(s)
        s.close()
        self.assertIn(b"400 Bad Request", out)
        self.assertIn(b"Maximum supported API version is 1.44", out)
        # The docker CLI (API 1.50) negotiates down to 1.44.
        self.assertEqual(self.ok("version", "--format", "{{.Server.APIVersion}} {{.Client.APIVersion}}").strip(),
                         "1.44 1.44")
        r = self.docker("build", ".")
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
