"""docker-compose 1.29.2 (Debian's, over docker-py) against ctk serve: the
project in tests/compose/basic (two services on the project network, a named
volume, a published port, restart policies) brought up, inspected, used and
taken down, with the ctk CLI checking that nothing is left."""
import json
import os
import shutil
import socket
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apifixture import ApiTest  # noqa: E402

COMPOSE = shutil.which("docker-compose")
PROJECT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compose", "basic")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(COMPOSE, "needs docker-compose 1.x (Debian: apt-get install docker-compose)")
class ApiComposeTest(ApiTest):
    project = "ctkbasic"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = free_port()

    @classmethod
    def tearDownClass(cls):
        cls.compose("down", "-v", "-t", "1")
        super().tearDownClass()

    @classmethod
    def compose(cls, *args, timeout=600):
        env = dict(cls.env, WEB_PORT=str(cls.port), COMPOSE_HTTP_TIMEOUT="300")
        return subprocess.run([COMPOSE, "-p", cls.project, "-f", os.path.join(PROJECT_DIR, "docker-compose.yml"),
                               "--no-ansi", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=env, cwd=PROJECT_DIR)

    def compose_ok(self, *args, **kw):
        r = self.compose(*args, **kw)
        self.assertEqual(r.returncode, 0, f"docker-compose {' '.join(args)}: {r.stderr.decode()}")
        return r.stdout.decode()

    def fetch(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/index.html", timeout=5) as r:
                return r.read().decode()
        except OSError:
            return None

    def test_up_ps_logs_exec_down(self):
        self.compose_ok("up", "-d")
        web, client = f"{self.project}_web_1", f"{self.project}_client_1"

        ps = self.compose_ok("ps")
        for name in (web, client):
            line = [ln for ln in ps.splitlines() if ln.startswith(name)]
            self.assertEqual(len(line), 1, ps)
            self.assertIn("Up", line[0])
        self.assertIn(f"127.0.0.1:{self.port}->8080/tcp", ps)

        # The published port, from the host.
        self.assertEqual(self.wait_for("web's published port", self.fetch, timeout=60), "hello from web\n")
        # client reaches web by its service name on the project network.
        self.wait_for("client's fetches in its logs",
                      lambda: "hello from web" in self.compose_ok("logs", "--no-color", "client"), timeout=60)
        self.assertIn("client_1  | hello from web", self.compose_ok("logs", "--no-color", "client"))
        out = self.compose_ok("exec", "-T", "client", "wget", "-q", "-O", "-", "http://web:8080/index.html")
        self.assertEqual(out, "hello from web\n")
        # The page lives on the named volume.
        self.assertEqual(self.compose_ok("exec", "-T", "web", "cat", "/srv/www/index.html"), "hello from web\n")
        r = self.compose("exec", "-T", "web", "sh", "-c", "exit 7")
        self.assertEqual(r.returncode, 7, r.stderr.decode())

        # What compose made, as docker and ctk see it.
        inspected = json.loads(self.ok("inspect", web))[0]
        self.assertEqual(inspected["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped")
        self.assertEqual(inspected["Config"]["Labels"]["com.docker.compose.service"], "web")
        self.assertIn(f"{self.project}_default", inspected["NetworkSettings"]["Networks"])
        self.assertIn("web", inspected["NetworkSettings"]["Networks"][f"{self.project}_default"]["Aliases"])
        policy = json.loads(self.ok("inspect", client))[0]["HostConfig"]["RestartPolicy"]
        self.assertEqual((policy["Name"], policy["MaximumRetryCount"]), ("on-failure", 3))
        self.assertIn(f"{self.project}_www", self.ctk_ok("volume", "ls"))
        self.assertIn(f"{self.project}_default", self.ctk_ok("network", "ls"))
        self.assertIn(web, self.ctk_ok("ps"))

        # The client exits 1 on request: its restart policy brings it back.
        self.compose_ok("exec", "-T", "client", "touch", "/tmp/crash")

        def restarted():
            state = json.loads(self.ok("inspect", client))[0]
            return state["RestartCount"] == 1 and state["State"]["Running"]
        self.wait_for("client's restart", restarted, timeout=120)

        # A second up changes nothing: the same containers keep running.
        before = json.loads(self.ok("inspect", web))[0]["Id"]
        self.compose_ok("up", "-d")
        self.assertEqual(json.loads(self.ok("inspect", web))[0]["Id"], before)

        self.compose_ok("down", "-v")
        self.assertNotIn(self.project, self.ctk_ok("ps", "-a"))
        self.assertNotIn(self.project, self.ctk_ok("network", "ls"))
        self.assertNotIn(self.project, self.ctk_ok("volume", "ls"))
        self.assertIsNone(self.fetch())


if __name__ == "__main__":
    unittest.main()
