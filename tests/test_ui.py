"""ctk serve --ui: the web UI's listener. The page's files come out of the
binary; the token in the printed URL becomes a session cookie; a request
without that cookie, with another Host (DNS rebinding) or from another
Origin is refused, and with the cookie the Docker API answers there too.
The page itself in a browser is tests/ui/ (Playwright), not this."""
import gzip
import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

CTK = os.environ.get("CTK", "build/ctk")


class UiServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ctk-ui-test-")
        cls.log_path = os.path.join(cls.tmp, "serve.log")
        cls.log = open(cls.log_path, "wb")
        cls.server = subprocess.Popen([CTK, "serve", "--root", os.path.join(cls.tmp, "data"),
                                       "-H", "unix://" + os.path.join(cls.tmp, "docker.sock"), "--ui"],
                                      stdout=cls.log, stderr=cls.log)
        deadline = time.time() + 10
        while True:
            with open(cls.log_path) as f:
                m = re.search(r"web UI at (http://\S+)", f.read())
            if m:
                break
            assert cls.server.poll() is None, open(cls.log_path).read()
            assert time.time() < deadline, "ctk serve printed no UI address"
            time.sleep(0.02)
        cls.url = urllib.parse.urlsplit(m.group(1))
        cls.token = urllib.parse.parse_qs(cls.url.query)["token"][0]
        cls.host = cls.url.netloc

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

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


if __name__ == "__main__":
    unittest.main()
