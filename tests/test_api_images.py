"""The Docker API's image endpoints, driven by the real docker CLI against
`ctk serve`: images, inspect, history, tag, rmi (refused while a container
uses the image), save/load round trips, pull from a real registry with TLS
and htpasswd (docker login, X-Registry-Auth), and bad input."""
import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apifixture  # noqa: E402
import registryfixture as rf  # noqa: E402


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class ImagesTest(apifixture.ApiTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.busybox_id = json.loads(cls.docker("image", "inspect", "busybox").stdout)[0]["Id"]

    def api(self, method, path, body=None, headers=None):
        """A raw request: (status, parsed JSON or bytes)."""
        conn = UnixHTTPConnection(self.socket)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data

    def load_image(self, tag, cmd):
        """A second busybox image (its own config, so its own id) named tag."""
        path = os.path.join(self.tmp, tag.replace(":", "_") + ".tar")
        apifixture.busybox_archive(path, tags=(tag,), cmd=cmd)
        out = self.ok("load", "-i", path)
        self.assertIn(f"Loaded image: {tag}", out)

    def rows(self, *args):
        out = self.ok("images", "--format", "{{json .}}", *args)
        return [json.loads(line) for line in out.splitlines()]

    def test_images_lists_busybox(self):
        self.assertTrue(self.busybox_id.startswith("sha256:"))
        rows = {(r["Repository"], r["Tag"]): r for r in self.rows()}
        self.assertIn(("busybox", "latest"), rows)
        self.assertEqual(rows[("busybox", "latest")]["ID"], self.busybox_id[7:19])
        self.assertIn(self.busybox_id[7:19], self.ok("images", "-q").split())
        self.assertEqual([(r["Repository"], r["Tag"]) for r in self.rows("--filter", "reference=busy*")],
                         [("busybox", "latest")])
        self.assertEqual(self.rows("--filter", "reference=nothing*"), [])
        self.assertEqual(self.rows("--filter", "dangling=true"), [])
        r = self.docker("images", "--filter", "colour=red")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("invalid filter 'colour'", r.stderr.decode())

    def test_image_inspect_and_docker_inspect(self):
        info = json.loads(self.ok("image", "inspect", "busybox"))[0]
        self.assertEqual(info["Id"], self.busybox_id)
        self.assertEqual(info["RepoTags"], ["busybox:latest"])
        self.assertEqual((info["Os"], info["Architecture"]), ("linux", "amd64"))
        self.assertEqual(info["Config"]["Cmd"], ["sh"])
        self.assertEqual(info["Created"], "2024-05-01T12:00:00Z")
        self.assertEqual(info["RootFS"]["Type"], "layers")
        self.assertEqual(len(info["RootFS"]["Layers"]), 1)
        self.assertGreater(info["Size"], 100000)
        # By short id and by full id; `docker inspect` falls through to images.
        for name in (self.busybox_id[7:19], self.busybox_id, "docker.io/library/busybox:latest"):
            self.assertEqual(json.loads(self.ok("image", "inspect", name))[0]["Id"], self.busybox_id)
        self.assertEqual(json.loads(self.ok("inspect", "busybox"))[0]["Id"], self.busybox_id)
        self.assertEqual(self.ok("inspect", "--format", "{{.Os}}", "busybox").strip(), "linux")

    def test_history(self):
        rows = [json.loads(line) for line in
                self.ok("history", "--no-trunc", "--format", "{{json .}}", "busybox").splitlines()]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["ID"], self.busybox_id)

    def test_unknown_image(self):
        for args in (("image", "inspect", "nothere"), ("history", "nothere"), ("rmi", "nothere"),
                     ("tag", "nothere", "x:y")):
            r = self.docker(*args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn("No such image: nothere", r.stderr.decode(), args)
        self.assertEqual(self.api("GET", "/v1.44/images/nothere/json"), (404, {"message": "No such image: nothere"}))
        self.assertEqual(self.api("GET", "/images/127.0.0.1:5000/library/nothere/json")[0], 404)

    def test_bad_input(self):
        status, body = self.api("POST", "/v1.44/images/busybox/tag?repo=Bad%20Name&tag=v1")
        self.assertEqual(status, 400)
        self.assertIn("message", body)
        self.assertEqual(self.api("POST", "/v1.44/images/busybox/tag?repo=ok&tag=-bad")[0], 400)
        self.assertEqual(self.api("POST", "/v1.44/images/busybox/tag")[0], 400)
        self.assertEqual(self.api("GET", "/v1.44/images/json?filters=%7Bnot")[0], 400)
        self.assertEqual(self.api("POST", "/v1.44/images/create")[0], 400)
        self.assertEqual(self.api("POST", "/v1.44/images/create?fromImage=UPPER%2Fcase")[0], 400)
        status, body = self.api("POST", "/v1.44/images/create?fromImage=busybox",
                                headers={"X-Registry-Auth": "!!!"})
        self.assertEqual(status, 400)
        self.assertIn("X-Registry-Auth", body["message"])
        self.assertEqual(self.api("POST", "/v1.44/images/create?fromSrc=-")[0], 501)
        self.assertEqual(self.api("GET", "/v1.44/images/search?term=x")[0], 501)
        self.assertEqual(self.api("GET", "/v1.44/images/get")[0], 400)
        self.assertEqual(self.api("POST", "/v1.44/auth", body=b"[1,2")[0], 400)
        self.assertEqual(self.api("POST", "/v1.44/auth", body=b'{"username": 5}'),
                         (400, {"message": "username must be a string"}))
        status, body = self.api("POST", "/v1.44/images/load", body=b"this is no tar archive" * 100)
        self.assertEqual(status, 400)
        # The server is still there.
        self.assertEqual(self.api("GET", "/_ping")[0], 200)

    def test_tag_and_rmi(self):
        self.ok("tag", "busybox", "me/copy:v2")
        info = json.loads(self.ok("image", "inspect", "me/copy:v2"))[0]
        self.assertEqual(info["Id"], self.busybox_id)
        self.assertEqual(sorted(info["RepoTags"]), ["busybox:latest", "me/copy:v2"])
        # By id, with two names: refused without -f.
        r = self.docker("rmi", self.busybox_id[7:19])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("referenced in multiple repositories", r.stderr.decode())
        # One of two names: only it goes.
        out = self.ok("rmi", "me/copy:v2")
        self.assertEqual(out.strip(), "Untagged: me/copy:v2")
        self.assertEqual(json.loads(self.ok("image", "inspect", "busybox"))[0]["RepoTags"], ["busybox:latest"])
        # The last name goes with the image.
        self.load_image("gone:v1", ("true",))
        gone = json.loads(self.ok("image", "inspect", "gone:v1"))[0]["Id"]
        out = self.ok("rmi", "gone:v1")
        self.assertIn("Untagged: gone:v1", out)
        self.assertIn(f"Deleted: {gone}", out)
        self.assertEqual(self.docker("image", "inspect", gone).returncode, 1)

    def test_rmi_of_an_image_a_container_uses(self):
        self.load_image("inuse:v1", ("echo", "in use"))
        image_id = json.loads(self.ok("image", "inspect", "inuse:v1"))[0]["Id"]
        r = self.ctk("create", "--name", "user-of-inuse", "inuse:v1")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        cid = r.stdout.decode().strip()
        r = self.docker("rmi", "inuse:v1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"container {cid[:12]} is using its referenced image {image_id[7:19]}", r.stderr.decode())
        status, body = self.api("DELETE", "/v1.44/images/inuse:v1")
        self.assertEqual(status, 409)
        # ctk rmi obeys the same rule.
        r = self.ctk("rmi", "inuse:v1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("is using its referenced image", r.stderr.decode())
        self.assertEqual(json.loads(self.ok("image", "inspect", "inuse:v1"))[0]["Id"], image_id)
        r = self.ctk("rm", cid)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn(f"Deleted: {image_id}", self.ok("rmi", "inuse:v1"))

    def test_save_and_load_round_trip(self):
        self.ok("tag", "busybox", "roundtrip:v1")
        one = os.path.join(self.tmp, "one.tar")
        both = os.path.join(self.tmp, "both.tar")
        self.ok("save", "-o", one, "roundtrip:v1")
        self.ok("save", "-o", both, "busybox", "roundtrip:v1")
        with tarfile.open(one) as t:
            names = t.getnames()
            index = json.load(t.extractfile("index.json"))
        self.assertIn("oci-layout", names)
        self.assertEqual([m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]],
                         ["docker.io/library/roundtrip:v1"])
        with tarfile.open(both) as t:
            index = json.load(t.extractfile("index.json"))
        self.assertEqual(len(index["manifests"]), 2)
        self.ok("rmi", "roundtrip:v1")
        self.assertEqual(self.docker("image", "inspect", "roundtrip:v1").returncode, 1)
        out = self.ok("load", "-i", one)
        self.assertEqual(out.strip(), "Loaded image: roundtrip:v1")
        self.assertEqual(json.loads(self.ok("image", "inspect", "roundtrip:v1"))[0]["Id"], self.busybox_id)
        # From standard input too (a chunked body).
        with open(both, "rb") as f:
            out = self.ok("load", input=f.read())
        self.assertIn("Loaded image: busybox:latest", out)
        self.assertIn("Loaded image: roundtrip:v1", out)
        self.ok("rmi", "roundtrip:v1")

    def test_an_image_saved_by_id_loads_untagged(self):
        # docker saves an image given by id without its names, and loads it as <none>.
        nameless = os.path.join(self.tmp, "nameless.tar")
        apifixture.busybox_archive(nameless, tags=(), cmd=("echo", "nameless"))
        out = self.ok("load", "-i", nameless).strip()
        self.assertRegex(out, "^Loaded image ID: sha256:[0-9a-f]{64}$")
        image_id = out.removeprefix("Loaded image ID: ")
        self.addCleanup(self.docker, "rmi", "-f", image_id)
        listed = self.ok("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").splitlines()
        self.assertIn(f"<none>:<none> {image_id[7:19]}", listed)
        self.assertEqual(json.loads(self.ok("image", "inspect", image_id))[0]["RepoTags"], [])
        saved = os.path.join(self.tmp, "by-id.tar")
        self.ok("save", "-o", saved, image_id[7:19])
        with tarfile.open(saved) as t:
            self.assertNotIn("annotations", json.load(t.extractfile("index.json"))["manifests"][0])
        self.assertIn(f"Deleted: {image_id}", self.ok("rmi", image_id))
        self.assertEqual(self.ok("load", "-i", saved).strip(), f"Loaded image ID: {image_id}")
        self.assertEqual(self.ok("run", "--rm", image_id[7:19]), "nameless\n")

    def test_load_of_garbage_fails_cleanly(self):
        path = os.path.join(self.tmp, "garbage.tar")
        with open(path, "wb") as f:
            f.write(os.urandom(300000))
        r = self.docker("load", "-i", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Error response from daemon", r.stderr.decode())
        self.ok("version")

    def test_prune_keeps_named_images(self):
        out = self.ok("image", "prune", "-f")
        self.assertIn("Total reclaimed space", out)
        self.assertEqual(json.loads(self.ok("image", "inspect", "busybox"))[0]["Id"], self.busybox_id)


@unittest.skipIf(rf.missing_tools(), f"needs {', '.join(rf.missing_tools())}")
class MirrorTest(apifixture.ApiTest):
    """--registry-mirror: Docker Hub's names pulled from a docker-registry on
    loopback (plain HTTP), as dockerd's registry-mirrors do; Docker Hub itself
    is out of reach here, which the failure of a name the mirror lacks shows."""

    @classmethod
    def setUpClass(cls):
        cls.tmp_reg = tempfile.mkdtemp(prefix="ctk-api-mirror-")
        cls.layout = rf.build_layout(cls.tmp_reg, big=64 << 10)
        cls.reg = rf.Registry(cls.tmp_reg, "mirror")
        cls.reg.push(cls.layout, "v1", "library/alpine:3.10")
        cls.serve_args = ("--registry-mirror", f"http://{cls.reg.host}")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.reg.stop()
        shutil.rmtree(cls.tmp_reg, ignore_errors=True)

    def test_hub_names_come_from_the_mirror(self):
        r = self.docker("pull", "alpine:3.10")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("Downloaded newer image for alpine:3.10", r.stdout.decode())
        want = rf.manifest_digest(self.layout, "v1")
        self.assertEqual(json.loads(self.ok("image", "inspect", "docker.io/library/alpine:3.10"))[0]["RepoDigests"],
                         [f"alpine@{want}"])
        # The same image through its full Hub name: already here.
        r = self.docker("pull", "docker.io/library/alpine:3.10")
        self.assertIn("Image is up to date", r.stdout.decode())
        # Not in the mirror: the Hub is asked, and the error names both.
        r = self.docker("pull", "alpine:9.99")
        self.assertNotEqual(r.returncode, 0)
        err = r.stderr.decode()
        self.assertIn(f"the mirror http://{self.reg.host}", err)
        self.assertIn("not found", err)
        # Other registries are not mirrored.
        r = self.docker("pull", f"{self.reg.host}/library/alpine:3.10")
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_a_bad_mirror_is_refused_at_start(self):
        r = subprocess.run([apifixture.CTK, "serve", "-H", "unix://" + self.tmp + "/x.sock", "--registry-mirror",
                            "http://host/path"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                           timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"registry mirror 'http://host/path'", r.stderr)


@unittest.skipIf(rf.missing_tools(), f"needs {', '.join(rf.missing_tools())}")
class PullTest(apifixture.ApiTest):
    """docker login and pull from a docker-registry with TLS and htpasswd,
    its CA trusted by `ctk serve` through SSL_CERT_DIR."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = tempfile.mkdtemp(prefix="ctk-api-registry-", dir=cls.tmp)
        cls.layout = rf.build_layout(cls.work, big=256 << 10)
        cls.reg = rf.Registry(cls.work, "auth", tls=True, user="bob", password="hunter2")
        cls.reg.push(cls.layout, "v1", "test/busybox:v1", user="bob", password="hunter2")
        cls.ref = f"{cls.reg.host}/test/busybox:v1"
        cas = os.path.join(cls.work, "cas")
        os.makedirs(cas)
        crt = os.path.join(cls.reg.certs, "ca.crt")
        h = rf.run("openssl", "x509", "-hash", "-noout", "-in", crt).stdout.strip()
        os.symlink(crt, os.path.join(cas, h + ".0"))
        cls.stop_server()
        cls.env["SSL_CERT_DIR"] = cas
        cls.start_server()

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()
        super().tearDownClass()

    def login(self, password):
        return self.docker("login", "-u", "bob", "--password-stdin", self.reg.host, input=password.encode() + b"\n")

    def test_login_then_pull(self):
        r = self.login("wrong")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("401 Unauthorized", r.stderr.decode())
        # Without credentials (the server never uses its own): refused.
        r = self.docker("pull", self.ref)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("authentication required", r.stderr.decode())

        r = self.login("hunter2")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("Login Succeeded", r.stdout.decode())
        out = self.ok("pull", self.ref)
        self.assertIn("v1: Pulling from test/busybox", out)
        self.assertIn("Pull complete", out)
        digest = rf.manifest_digest(self.layout, "v1")
        self.assertIn(f"Digest: {digest}", out)
        self.assertIn(f"Status: Downloaded newer image for {self.ref}", out)
        self.assertEqual(out.strip().splitlines()[-1], self.ref)
        info = json.loads(self.ok("image", "inspect", self.ref))[0]
        self.assertEqual(info["RepoDigests"], [f"{self.reg.host}/test/busybox@{digest}"])
        self.assertEqual(len(info["RootFS"]["Layers"]), 4)
        rows = self.rows_of(self.ok("images", "--format", "{{json .}}", "--filter", f"reference={self.reg.host}/*/*"))
        self.assertEqual([(r["Repository"], r["Tag"]) for r in rows], [(f"{self.reg.host}/test/busybox", "v1")])
        # Again: nothing new.
        out = self.ok("pull", self.ref)
        self.assertIn("Already exists", out)
        self.assertIn(f"Status: Image is up to date for {self.ref}", out)
        # A tag the registry lacks.
        r = self.docker("pull", f"{self.reg.host}/test/busybox:v9")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not found", r.stderr.decode())
        self.ok("logout", self.reg.host)

    def test_raw_pull_streams_progress(self):
        api = ImagesTest.api
        api(self, "DELETE", f"/v1.44/images/{self.ref}")
        auth = base64.urlsafe_b64encode(json.dumps(
            {"username": "bob", "password": "hunter2", "serveraddress": self.reg.host}).encode()).decode()
        path = f"/v1.44/images/create?fromImage={self.reg.host}/test/busybox&tag=v1"
        # Refused credentials before the stream starts: a plain error status.
        bad = base64.urlsafe_b64encode(json.dumps({"username": "bob", "password": "nope"}).encode()).decode()
        status, body = api(self, "POST", path, headers={"X-Registry-Auth": bad})
        self.assertEqual(status, 403)
        self.assertIn("wrong username or password", body["message"])
        status, body = api(self, "POST", path, headers={"X-Registry-Auth": auth})
        self.assertEqual(status, 200)
        lines = [json.loads(line) for line in body.decode().splitlines()]
        self.assertEqual(lines[0], {"status": "Pulling from test/busybox", "id": "v1"})
        big = [line for line in lines if line.get("status") == "Downloading" and
               line["progressDetail"]["total"] > 200000]
        self.assertTrue(big, lines)
        self.assertEqual(big[-1]["progressDetail"]["current"], big[-1]["progressDetail"]["total"])
        self.assertEqual(sum(1 for line in lines if line.get("status") == "Pull complete"), 4)
        self.assertEqual(lines[-1], {"status": f"Status: Downloaded newer image for {self.ref}"})
        self.assertFalse([line for line in lines if "error" in line])

    @staticmethod
    def rows_of(out):
        return [json.loads(line) for line in out.splitlines()]


if __name__ == "__main__":
    unittest.main()
