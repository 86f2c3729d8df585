"""GET /events through the real docker CLI (docker events, docker stats with
no arguments, which follows containers through events): container events
derived from the data root, so containers the ctk CLI changes show too;
image, volume and network events from the server's own handlers; filters,
--since/--until; bad input; clients that go away."""
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apifixture import ApiTest, DOCKER, busybox_archive  # noqa: E402


class Events:
    """`docker events --format '{{json .}}' ARGS` in the background, its
    lines parsed as they come."""

    def __init__(self, test, *args):
        self.proc = subprocess.Popen([DOCKER, "events", "--format", "{{json .}}", *args], env=test.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events, self.lock = [], threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def seen(self):
        with self.lock:
            return list(self.events)

    def actions(self, name=None, type_=None):
        return [e["Action"] for e in self.seen()
                if (name is None or e["Actor"]["Attributes"].get("name") == name)
                and (type_ is None or e["Type"] == type_)]

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.reader.join()
        self.proc.stdout.close()
        self.proc.stderr.close()


class ApiEventsTest(ApiTest):
    def setUp(self):
        self.streams = []

    def tearDown(self):
        for s in self.streams:
            s.close()

    def events(self, *args):
        s = Events(self, *args)
        self.streams.append(s)
        # The CLI subscribes before it prints anything: wait for the server
        # to hold the stream (its first bytes are the response head).
        time.sleep(0.5)
        return s

    def wait_actions(self, stream, name, want, timeout=60, type_=None):
        """Waits until the actions seen for `name` include `want` in order."""
        def has():
            got = stream.actions(name, type_)
            i = 0
            for a in got:
                if i < len(want) and a == want[i]:
                    i += 1
            return i == len(want)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if has():
                return stream.actions(name, type_)
            time.sleep(0.1)
        self.fail(f"{name}: wanted {want} in order, saw {stream.actions(name, type_)} in {stream.seen()}")

    def request(self, path):
        """A raw GET: (status, body) for answers that are not streams."""
        conn = http.client.HTTPConnection("localhost", timeout=30)
        conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.sock.connect(self.socket)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def test_docker_lifecycle(self):
        s = self.events("--filter", "type=container")
        cid = self.ok("run", "-d", "--name", "ev-docker", "--label", "tier=web", "busybox", "sleep", "300").strip()
        self.ok("stop", "-t", "1", "ev-docker")
        self.ok("rm", "ev-docker")
        got = self.wait_actions(s, "ev-docker", ["create", "start", "kill", "die", "stop", "destroy"])
        self.assertEqual(got.count("start"), 1, got)
        by_action = {e["Action"]: e for e in s.seen() if e["Actor"]["Attributes"].get("name") == "ev-docker"}
        start = by_action["start"]
        self.assertEqual(start["Actor"]["ID"], cid)
        self.assertEqual(start["id"], cid)
        self.assertEqual(start["status"], "start")
        self.assertEqual(start["from"], "busybox")
        self.assertEqual(start["scope"], "local")
        self.assertEqual(start["Actor"]["Attributes"]["tier"], "web")
        self.assertEqual(start["Actor"]["Attributes"]["image"], "busybox")
        self.assertAlmostEqual(start["time"], time.time(), delta=120)
        self.assertEqual(start["timeNano"] // 10**9, start["time"])
        self.assertEqual(by_action["kill"]["Actor"]["Attributes"]["signal"], "15")
        self.assertIn(by_action["die"]["Actor"]["Attributes"]["exitCode"], ("137", "143"))
        # Only container events passed the filter.
        self.assertEqual({e["Type"] for e in s.seen()}, {"container"})

    def test_ctk_cli_changes_show(self):
        """Containers the ctk CLI makes, runs, renames and removes on the same
        data root: the server learns of them from the disk."""
        s = self.events()
        self.ctk_ok("create", "--name", "ev-cli", "busybox", "sh", "-c", "exit 3")
        self.ctk_ok("start", "ev-cli")
        self.wait_for("ev-cli to exit",
                      lambda: json.loads(self.ctk_ok("inspect", "ev-cli"))[0]["State"]["Status"] == "exited")
        self.wait_actions(s, "ev-cli", ["create", "start", "die"])
        die = [e for e in s.seen() if e["Action"] == "die" and e["Actor"]["Attributes"]["name"] == "ev-cli"]
        self.assertEqual(die[0]["Actor"]["Attributes"]["exitCode"], "3")
        self.ctk_ok("rename", "ev-cli", "ev-cli2")
        # Changes are seen as snapshots: a rename and a removal within one
        # scan would show as the removal of ev-cli only.
        self.wait_actions(s, "ev-cli2", ["rename"])
        # The supervisor may still be shutting the VM down: --force.
        self.ctk_ok("rm", "--force", "ev-cli2")
        self.wait_actions(s, "ev-cli2", ["rename", "destroy"])
        rename = [e for e in s.seen() if e["Action"] == "rename"][0]
        self.assertEqual(rename["Actor"]["Attributes"]["oldName"], "/ev-cli")

    def test_restart_policy_restarts_show(self):
        """A supervisor restarting a container (on-failure): die, start, die..."""
        s = self.events("--filter", "container=ev-restart")
        self.ok("run", "-d", "--name", "ev-restart", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1")
        self.wait_actions(s, "ev-restart", ["create", "start", "die", "start", "die", "start", "die"], timeout=120)
        self.ok("rm", "-f", "ev-restart")
        self.wait_actions(s, "ev-restart", ["destroy"])

    def test_filters(self):
        s = self.events("--filter", "event=create", "--filter", "label=pick=yes")
        v = self.events("--filter", "type=volume")
        n = self.events("--filter", "network=ev-net")
        self.ok("create", "--name", "ev-skip", "busybox", "true")
        pick = self.ok("create", "--name", "ev-pick", "--label", "pick=yes", "busybox", "true").strip()
        self.ok("volume", "create", "ev-vol")
        self.ok("volume", "rm", "ev-vol")
        self.ok("network", "create", "ev-net")
        self.ok("network", "connect", "ev-net", "ev-pick")
        self.ok("network", "disconnect", "ev-net", "ev-pick")
        self.ok("network", "rm", "ev-net")
        self.ok("rm", "ev-pick", "ev-skip")
        self.wait_actions(s, "ev-pick", ["create"])
        self.wait_actions(v, None, ["create", "destroy"], type_="volume")
        self.wait_actions(n, "ev-net", ["create", "connect", "disconnect", "destroy"], type_="network")
        time.sleep(1)
        self.assertEqual([(e["Action"], e["Actor"]["Attributes"]["name"]) for e in s.seen()], [("create", "ev-pick")])
        self.assertEqual([(e["Action"], e["Actor"]["ID"]) for e in v.seen()],
                         [("create", "ev-vol"), ("destroy", "ev-vol")])
        self.assertEqual({e["Type"] for e in n.seen()}, {"network"})
        connect = [e for e in n.seen() if e["Action"] == "connect"][0]
        self.assertEqual(connect["Actor"]["Attributes"]["container"], pick)

    def test_image_events(self):
        s = self.events("--filter", "type=image")
        self.ok("tag", "busybox", "ev-image:one")
        self.ok("rmi", "ev-image:one")
        self.wait_actions(s, "ev-image:one", ["tag", "untag"])
        tag = s.seen()[0]
        self.assertTrue(tag["Actor"]["ID"].startswith("sha256:"), tag)
        self.assertEqual(tag["status"], "tag")
        archive = os.path.join(self.tmp, "ev-load.tar")
        busybox_archive(archive, tags=("ev-load:1",), cmd=("true",))
        self.ok("load", "-i", archive)
        image_id = json.loads(self.ok("image", "inspect", "ev-load:1"))[0]["Id"]
        self.ok("rmi", "ev-load:1")
        self.wait_actions(s, "ev-load:1", ["load", "untag"])
        self.wait_actions(s, image_id, ["delete"])
        load = [e for e in s.seen() if e["Action"] == "load"][0]
        self.assertEqual(load["Actor"]["ID"], image_id)

    def test_since_until(self):
        """--since/--until replay what the server saw, and end the stream."""
        t0 = time.time()
        self.ok("volume", "create", "ev-past")
        self.ok("volume", "rm", "ev-past")
        time.sleep(1.1)
        t1 = time.time()
        self.ok("volume", "create", "ev-later")
        self.ok("volume", "rm", "ev-later")
        r = self.docker("events", "--format", "{{json .}}", "--filter", "type=volume",
                        "--since", f"{t0:.3f}", "--until", f"{t1:.3f}", timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        got = [(e["Action"], e["Actor"]["ID"]) for e in map(json.loads, r.stdout.decode().splitlines())]
        self.assertEqual(got, [("create", "ev-past"), ("destroy", "ev-past")])
        # since alone: the replay, then live events; until in the future
        # ends the stream at that time.
        start = time.time()
        r = self.docker("events", "--format", "{{json .}}", "--filter", "type=volume",
                        "--since", f"{t0:.3f}", "--until", f"{time.time() + 2:.3f}", timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertGreaterEqual(time.time() - start, 1.5)
        self.assertEqual(len(r.stdout.decode().splitlines()), 4)
        # until before since is refused.
        r = self.docker("events", "--since", f"{t1:.3f}", "--until", f"{t0:.3f}", timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot be after", r.stderr.decode())

    def test_bad_input(self):
        for path in ("/events?since=yesterday", "/events?until=1.2.3", "/events?filters=%7Bnope",
                     "/events?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D", "/events?filters=%5B1%5D",
                     "/events?since=99999999999999999999"):
            status, body = self.request(path)
            self.assertEqual(status, 400, (path, body))
        r = self.docker("events", "--filter", "colour=red", timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.request("/_ping")[0], 200)

    def test_clients_that_leave_end_their_threads(self):
        def threads():
            return len(os.listdir(f"/proc/{self.server.pid}/task"))
        socks = []
        for _ in range(5):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.socket)
            sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(sock)
        for sock in socks:
            self.assertIn(b"200 OK", sock.recv(4096))
        # Other threads come and go meanwhile (a request's, a wait's): the
        # streams' five are counted against the peak, not the start.
        peak = threads()
        self.assertGreaterEqual(peak, 5)
        for sock in socks:
            sock.close()
        self.wait_for("the event threads to end", lambda: threads() <= peak - 5, timeout=10)

    def test_server_stops_with_streams_open(self):
        """SIGTERM while a client follows events: a clean exit, and a new
        server serves events again."""
        s = self.events()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.socket)
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"200 OK", sock.recv(4096))
        self.server.terminate()
        try:
            self.assertEqual(self.server.wait(timeout=10), 0)
        finally:
            sock.close()
            s.close()
            self.server.kill()
            self.server.wait()
            self.server_log.close()
            self.start_server()
        s = self.events("--filter", "type=volume")
        self.ok("volume", "create", "ev-after-restart")
        self.ok("volume", "rm", "ev-after-restart")
        self.wait_actions(s, None, ["create", "destroy"], type_="volume")

    def test_docker_stats_follows_containers(self):
        """docker stats with no arguments lists the running containers and
        follows events for those that start later."""
        self.ok("run", "-d", "--name", "ev-stats1", "busybox", "sleep", "300")
        proc = subprocess.Popen([DOCKER, "stats", "--format", "{{.Name}} {{.MemUsage}}"], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines, lock = [], threading.Lock()

        def read():
            for line in proc.stdout:
                with lock:
                    lines.append(line)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()

        def saw(name):
            with lock:
                return any(name in line for line in lines)
        try:
            self.wait_for("ev-stats1 in docker stats", lambda: saw("ev-stats1"), timeout=60)
            self.ok("run", "-d", "--name", "ev-stats2", "busybox", "sleep", "300")
            self.wait_for("ev-stats2 in docker stats", lambda: saw("ev-stats2"), timeout=60)
        finally:
            proc.kill()
            proc.wait()
            reader.join()
            proc.stdout.close()
            proc.stderr.close()
            self.docker("rm", "-f", "ev-stats1", "ev-stats2")


if __name__ == "__main__":
    unittest.main()
