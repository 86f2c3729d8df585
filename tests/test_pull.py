"""ctk pull and the image store against real registries (Debian's
docker-registry): plain HTTP, TLS with a self-signed CA, TLS + Basic auth,
and a fault-injecting proxy (corruption, truncation, 429, garbage manifests,
a Bearer token server with expiring tokens, slow transfers for kill -9 and
for concurrent processes). Progress is checked on a real pseudo-terminal;
credential helpers are a real helper program on PATH."""
import base64
import fcntl
import glob
import hashlib
import json
import os
import pty
import re
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import termios
import time
import unittest

import registryfixture as rf

MISSING = rf.missing_tools()
SKIP = f"missing tools: {', '.join(MISSING)}" if MISSING else ""


def assert_store_consistent(test, store):
    """Every blob's name is its content's digest; nothing else in blobs/."""
    for path in glob.glob(os.path.join(store, "blobs", "sha256", "*")):
        with open(path, "rb") as f:
            test.assertEqual(hashlib.sha256(f.read()).hexdigest(), os.path.basename(path), path)
    test.assertEqual(glob.glob(os.path.join(store, "blobs", "sha256", ".*")), [])


def assert_index_valid(test, store, refs):
    """index.json is an OCI index naming exactly refs (name -> digest), each
    an image skopeo reads."""
    index = rf.read_json(os.path.join(store, "index.json"))
    test.assertEqual(index["schemaVersion"], 2)
    test.assertEqual(index["mediaType"], "application/vnd.oci.image.index.v1+json")
    test.assertEqual(rf.store_refs(store), refs)
    for name, digest in refs.items():
        r = rf.run("skopeo", "inspect", f"oci:{store}:{name}")
        test.assertEqual(r.returncode, 0, r.stderr)
        test.assertEqual(json.loads(r.stdout)["Digest"], digest)


def ingest_sizes(store):
    """Sizes of the blobs a pull is downloading. A finished blob is renamed
    out of ingest/ at any moment, so one listed may be gone by its stat."""
    sizes = []
    for f in glob.glob(os.path.join(store, "ingest", "*")):
        try:
            sizes.append(os.path.getsize(f))
        except FileNotFoundError:
            pass
    return sizes


def image_blobs(layout, manifest_digest):
    """The digests of an image's manifest, config and layers in an OCI layout."""
    path = lambda d: os.path.join(layout, "blobs", "sha256", d[7:])
    manifest = rf.read_json(path(manifest_digest))
    return [manifest_digest, manifest["config"]["digest"]] + [l["digest"] for l in manifest["layers"]]


def on_terminal(argv, env, rows=40):
    """Runs argv with stdin, stdout and stderr on a pseudo-terminal (120
    columns, `rows` lines); returns its exit status and everything it wrote there."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, 120, 0, 0))
    p = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(), out.decode()


class Base(unittest.TestCase):
    """One layout and one plain registry for the whole file."""

    @classmethod
    def setUpClass(cls):
        if MISSING:
            raise unittest.SkipTest(SKIP)
        cls.work = tempfile.mkdtemp(prefix="ctk-pull-")
        cls.layout = rf.build_layout(cls.work)
        cls.v1 = rf.manifest_digest(cls.layout, "v1")
        cls.arm = rf.manifest_digest(cls.layout, "arm")
        cls.registries = []

    @classmethod
    def tearDownClass(cls):
        for r in cls.registries:
            r.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="t-", dir=self.work)
        self.store = os.path.join(self.tmp, "store")
        # Never the user's ~/.docker: every test has its own.
        self.env = dict(os.environ, HOME=self.tmp, DOCKER_CONFIG=os.path.join(self.tmp, "docker"),
                        CTK_ROOT=self.store)

    def ctk(self, *args, **kw):
        return rf.ctk(*args, env=self.env, **kw)

    def pull(self, ref, *flags):
        return self.ctk("pull", *flags, ref)

    def assertOk(self, r):
        self.assertEqual(r.returncode, 0, r.stderr)

    def assertFails(self, r, *needles):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        last = r.stderr.strip().splitlines()[-1]
        for n in needles:
            self.assertIn(n, last)

    def skopeo_digest(self, ref):
        r = rf.run("skopeo", "inspect", f"oci:{self.store}:{ref}")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["Digest"]


class PlainRegistryTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg = rf.Registry(cls.work, "plain")
        cls.registries.append(cls.reg)
        cls.reg.push(cls.layout, "v1", "test/busybox:v1")
        cls.reg.push(cls.layout, "multi", "test/multi:v1", all_images=True)
        cls.ref = f"{cls.reg.host}/test/busybox:v1"

    def test_pull_by_tag_is_readable_by_skopeo_and_umoci(self):
        r = self.pull(self.ref)
        self.assertOk(r)
        self.assertEqual(rf.store_refs(self.store), {self.ref: self.v1})
        self.assertEqual(self.skopeo_digest(self.ref), self.v1)
        u = rf.run("umoci", "stat", "--image", f"{self.store}:{self.ref}")
        self.assertEqual(u.returncode, 0, u.stderr)
        self.assertEqual(u.stdout.count("umoci raw add-layer"), 4)
        assert_store_consistent(self, self.store)
        self.assertEqual(os.listdir(os.path.join(self.store, "ingest")), [])

    def test_pull_by_digest_and_by_tag_and_digest(self):
        by_digest = f"{self.reg.host}/test/busybox@{self.v1}"
        self.assertOk(self.pull(by_digest))
        self.assertEqual(rf.store_refs(self.store), {by_digest: self.v1})
        self.assertEqual(self.skopeo_digest(by_digest), self.v1)
        self.assertOk(self.pull(f"{self.reg.host}/test/busybox:v1@{self.v1}"))
        self.assertIn(self.ref, rf.store_refs(self.store))

    def test_docker_schema2_image(self):
        r = rf.run("skopeo", "copy", "-q", "--format", "v2s2", "--dest-tls-verify=false",
                   f"oci:{self.layout}:v1", f"docker://{self.reg.host}/test/docker:v1")
        self.assertEqual(r.returncode, 0, r.stderr)
        ref = f"{self.reg.host}/test/docker:v1"
        self.assertOk(self.pull(ref))
        remote = json.loads(rf.check("skopeo", "inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"]
        # Stored as the OCI equivalent (what skopeo and umoci read), with the
        # registry's digest kept.
        entry = rf.read_json(os.path.join(self.store, "index.json"))["manifests"][0]
        self.assertEqual(entry["mediaType"], "application/vnd.oci.image.manifest.v1+json")
        self.assertEqual(entry["annotations"]["io.ctk.source.digest"], remote)
        self.assertNotEqual(entry["digest"], remote)
        self.assertEqual(self.skopeo_digest(ref), entry["digest"])
        info = json.loads(self.ctk("inspect", ref).stdout)[0]
        self.assertEqual(len(info["Manifest"]["layers"]), 4)
        self.assertEqual({l["mediaType"] for l in info["Manifest"]["layers"]},
                         {"application/vnd.oci.image.layer.v1.tar+gzip"})
        self.assertEqual(json.loads(self.ctk("inspect", f"{self.reg.host}/test/docker@{remote}").stdout)[0]["Name"],
                         ref)

    def test_digest_the_registry_does_not_have(self):
        r = self.pull(f"{self.reg.host}/test/busybox@sha256:" + "0" * 64)
        self.assertFails(r, "not found")
        self.assertEqual(rf.store_refs(self.store), {})

    def test_unknown_tag(self):
        r = self.pull(f"{self.reg.host}/test/busybox:nosuch")
        self.assertFails(r, "test/busybox:nosuch", "not found", "MANIFEST_UNKNOWN")
        self.assertEqual(r.stderr.count("\n"), 1)
        self.assertEqual(rf.store_refs(self.store), {})

    def test_malformed_reference_is_a_usage_error(self):
        r = self.pull("Bad/Name")
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid image reference 'Bad/Name'", r.stderr)

    def test_platform_from_an_index(self):
        multi = f"{self.reg.host}/test/multi:v1"
        self.assertOk(self.pull(multi, "-q"))
        self.assertEqual(rf.store_refs(self.store)[multi], self.v1)  # this host: linux/amd64
        self.assertOk(self.pull(multi, "--platform", "linux/arm64"))
        self.assertEqual(rf.store_refs(self.store)[multi], self.arm)
        r = self.pull(multi, "--platform", "linux/s390x")
        self.assertFails(r, "no image for linux/s390x", "linux/amd64, linux/arm64")
        self.assertEqual(self.pull(multi, "--platform", "linux").returncode, 2)

    def test_quiet_prints_the_digest_only(self):
        r = self.pull(self.ref, "-q")
        self.assertOk(r)
        self.assertEqual(r.stdout, self.v1 + "\n")
        self.assertEqual(r.stderr, "")

    def test_second_pull_fetches_nothing(self):
        self.assertOk(self.pull(self.ref))
        blobs = sorted(os.listdir(os.path.join(self.store, "blobs", "sha256")))
        r = self.pull(self.ref, "--jobs", "1")
        self.assertOk(r)
        self.assertIn("0 blobs fetched", r.stderr)
        self.assertEqual(len(re.findall(r": already present$", r.stderr, re.M)), 5)
        self.assertEqual(sorted(os.listdir(os.path.join(self.store, "blobs", "sha256"))), blobs)

    def test_images_inspect_tag_rmi(self):
        self.assertOk(self.pull(self.ref))
        self.assertOk(self.pull(f"{self.reg.host}/test/multi:v1", "--platform", "linux/arm64"))
        table = self.ctk("images")
        self.assertOk(table)
        self.assertRegex(table.stdout, r"REFERENCE\s+DIGEST\s+SIZE\s+CREATED")
        self.assertIn(self.ref, table.stdout)
        self.assertIn(self.v1[7:19], table.stdout)
        listed = json.loads(self.ctk("images", "--format", "json").stdout)
        self.assertEqual({e["name"]: e["digest"] for e in listed}, rf.store_refs(self.store))
        sizes = {e["name"]: e["size"] for e in listed}
        self.assertGreater(sizes[self.ref], 3 << 20)

        info = json.loads(self.ctk("inspect", self.ref).stdout)
        self.assertEqual(info[0]["Digest"], self.v1)
        self.assertEqual(len(info[0]["Manifest"]["layers"]), 4)
        self.assertEqual(info[0]["Config"]["architecture"], "amd64")
        self.assertEqual(json.loads(self.ctk("inspect", self.v1[7:19]).stdout)[0]["Name"], self.ref)
        self.assertFails(self.ctk("inspect", "nothere:v9"), "no image 'nothere:v9'")

        self.assertOk(self.ctk("tag", self.ref, "local/copy:v2"))
        self.assertEqual(rf.store_refs(self.store)["docker.io/local/copy:v2"], self.v1)
        self.assertEqual(self.skopeo_digest("docker.io/local/copy:v2"), self.v1)

        blobs = lambda: set(os.listdir(os.path.join(self.store, "blobs", "sha256")))
        before = blobs()
        r = self.ctk("rmi", self.ref)
        self.assertOk(r)
        self.assertIn("Deleted 0 blobs", r.stdout)  # still tagged local/copy:v2
        self.assertEqual(blobs(), before)
        r = self.ctk("rmi", "local/copy:v2")
        self.assertOk(r)
        after = blobs()
        self.assertNotIn(self.v1[7:], after)
        self.assertEqual(len(before - after), 6)  # manifest, config, 4 layers
        self.assertIn(self.arm[7:], after)
        self.assertEqual(list(rf.store_refs(self.store)), [f"{self.reg.host}/test/multi:v1"])
        assert_store_consistent(self, self.store)

    def test_mkrootfs_from_a_store_image_is_cached(self):
        if not shutil.which("debugfs"):
            self.skipTest("debugfs (e2fsprogs) missing")
        self.assertOk(self.pull(self.ref))
        out1, out2 = os.path.join(self.tmp, "a.ext4"), os.path.join(self.tmp, "b.ext4")
        r = self.ctk("mkrootfs", "--timings", self.ref, "-o", out1)
        self.assertOk(r)
        self.assertIn("apply layers", r.stderr)
        self.assertEqual(rf.run("e2fsck", "-fn", out1).returncode, 0)
        debugfs = lambda cmd: rf.run("debugfs", "-R", cmd, out1).stdout
        self.assertEqual(debugfs("cat /etc/motd"), "hello from ctk\n")
        self.assertEqual(debugfs("cat /opt/data/new.txt"), "new\n")
        listing = debugfs("ls -l /opt/data") + debugfs("ls -l /etc")
        self.assertNotIn("old.txt", listing)  # opaque directory
        self.assertNotIn("removeme", listing)  # whiteout
        self.assertIn("Links: 2", debugfs("stat /bin/ls"))
        self.assertIn("Fast link dest: \"busybox\"", debugfs("stat /bin/sh"))
        cache = glob.glob(os.path.join(self.store, "rootfs", self.v1[7:] + "-*.ext4"))
        self.assertEqual(len(cache), 1)
        r = self.ctk("mkrootfs", "--timings", self.v1[7:19], "-o", out2)
        self.assertOk(r)
        self.assertIn("cache lookup", r.stderr)
        self.assertNotIn("apply layers", r.stderr)
        with open(out1, "rb") as a, open(out2, "rb") as b:
            self.assertTrue(a.read() == b.read(), "cached image differs")
        self.assertFails(self.ctk("mkrootfs", "nothere:v1", "-o", out2), "'nothere:v1'", "no image")
        self.assertOk(self.ctk("rmi", self.ref))
        self.assertEqual(glob.glob(os.path.join(self.store, "rootfs", self.v1[7:] + "-*")), [])

    def slow_proxy(self):
        proxy = rf.Proxy(self.reg.port, lambda method, path, n: "slow" if "/blobs/" in path else None)
        self.addCleanup(proxy.stop)
        return proxy, f"{proxy.host}/test/busybox:v1"

    def test_progress_on_a_terminal(self):
        proxy, ref = self.slow_proxy()
        status, out = on_terminal([rf.CTK, "pull", "--plain-http", ref], dict(self.env, TERM="xterm"))
        self.assertEqual(status, 0, out)
        blobs = image_blobs(self.layout, self.v1)[1:]  # config and layers
        shorts = [d[7:19] for d in blobs]
        rows = len(blobs) + 1  # and the total
        self.assertRegex(out.splitlines()[0], rf"^Pulling {re.escape(ref)} \(linux/\w+\)\r?$")
        # Every frame after the first moves the cursor up over the last one,
        # then rewrites each row (carriage return, erase line).
        frames = out.split(f"\x1b[{rows}A")
        self.assertGreater(len(frames), 1, out)
        final = [line.replace("\r\x1b[K", "").replace("\x1b[J", "") for line in frames[-1].split("\r\n")]
        for short, line in zip(shorts, final):
            self.assertRegex(line, rf"^{short}: done [\d.]+ (B|KiB|MiB)$")
        self.assertRegex(final[len(blobs)], r"^total: ([\d.]+ MiB) / \1  [\d.]+ \w*B/s$")
        self.assertEqual(final[rows], "Digest: " + self.v1)
        self.assertRegex(final[rows + 1], rf"^Pulled {re.escape(ref)}: 5 blobs fetched \([\d.]+ MiB in [\d.]+ s, "
                                          r"[\d.]+ MB/s\), 0 already present, [\d.]+ MiB in all$")
        # The slow proxy keeps the big layer downloading across redraws.
        sizes = rf.read_json(os.path.join(self.layout, "blobs", "sha256", self.v1[7:]))["layers"]
        big = max(sizes, key=lambda l: l["size"])["digest"][7:19]
        self.assertRegex(out, rf"\r\x1b\[K{big}: downloading \d+%  [\d.]+ \w*B / [\d.]+ MiB  [\d.]+ \w*B/s  ETA ")

    def test_progress_on_a_short_terminal(self):
        # 5 blobs and the total do not fit in 5 lines: the rows that fit, then a count of the rest.
        proxy, ref = self.slow_proxy()
        status, out = on_terminal([rf.CTK, "pull", "--plain-http", ref], dict(self.env, TERM="xterm"), rows=5)
        self.assertEqual(status, 0, out)
        ups = [int(n) for n in re.findall(r"\x1b\[(\d+)A", out)]
        self.assertTrue(ups, out)
        self.assertLessEqual(max(ups), 4)  # never more rows than the terminal has, less the cursor's
        final = [line.replace("\r\x1b[K", "").replace("\x1b[J", "")
                 for line in out.split(f"\x1b[{ups[-1]}A")[-1].split("\r\n")]
        self.assertRegex(final[ups[-1] - 2], r"^\.\.\. 3 more blobs, 3 of them finished$")
        self.assertRegex(final[ups[-1] - 1], r"^total: ")

    def test_progress_without_a_terminal_is_plain_lines(self):
        r = self.pull(self.ref)
        self.assertOk(r)
        self.assertEqual(r.stdout, "")
        self.assertNotIn("\x1b", r.stderr)
        lines = r.stderr.splitlines()
        self.assertRegex(lines[0], rf"^Pulling {re.escape(self.ref)} \(linux/\w+\)$")
        blobs = image_blobs(self.layout, self.v1)[1:]
        self.assertEqual(sorted(line.split(":")[0] for line in lines[1:-2]), sorted(d[7:19] for d in blobs))
        for line in lines[1:-2]:
            self.assertRegex(line, r"^[0-9a-f]{12}: done [\d.]+ (B|KiB|MiB)$")
        self.assertEqual(lines[-2], "Digest: " + self.v1)
        self.assertRegex(lines[-1], r"^Pulled .*: 5 blobs fetched \(.* MB/s\), 0 already present, [\d.]+ MiB in all$")

    def test_quiet_and_dumb_terminals_get_no_escapes(self):
        status, out = on_terminal([rf.CTK, "pull", "-q", self.ref], dict(self.env, TERM="xterm"))
        self.assertEqual((status, out), (0, self.v1 + "\r\n"))
        status, out = on_terminal([rf.CTK, "pull", self.ref], dict(self.env, TERM="dumb"))
        self.assertEqual(status, 0, out)
        self.assertNotIn("\x1b", out)
        self.assertEqual(len(re.findall(r": already present\r$", out, re.M)), 5)
        self.assertIn("0 blobs fetched", out)

    def test_two_processes_pull_one_image_into_one_store(self):
        proxy, ref = self.slow_proxy()
        procs = [subprocess.Popen([rf.CTK, "pull", "--plain-http", ref], env=self.env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        outs = [p.communicate()[1] for p in procs]
        for p, err in zip(procs, outs):
            self.assertEqual(p.returncode, 0, err)
        assert_index_valid(self, self.store, {ref: self.v1})
        assert_store_consistent(self, self.store)
        self.assertEqual(os.listdir(os.path.join(self.store, "ingest")), [])
        # A blob is locked while it downloads: the other process waits and
        # finds it in place, so each blob crossed the wire once.
        self.assertEqual(len([p for _, p, _ in proxy.requests if "/blobs/" in p]), 5, proxy.requests)
        self.assertEqual(sum(len(re.findall(r": done ", e)) for e in outs), 5, outs)
        self.assertEqual(sum(len(re.findall(r": already present$", e, re.M)) for e in outs), 5, outs)

    def test_rmi_while_another_process_pulls(self):
        arm_ref = f"{self.reg.host}/test/multi:v1"
        self.assertOk(self.pull(arm_ref, "--platform", "linux/arm64"))
        proxy, ref = self.slow_proxy()
        p = subprocess.Popen([rf.CTK, "pull", "--plain-http", ref], env=self.env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Once blobs stream in, the pull holds the store's write lock.
        deadline = time.time() + 30
        while time.time() < deadline and not any(n > 0 for n in ingest_sizes(self.store)):
            time.sleep(0.02)
        r = self.ctk("rmi", arm_ref)
        _, err = p.communicate()
        self.assertEqual(p.returncode, 0, err)
        self.assertOk(r)
        arm_blobs = image_blobs(self.layout, self.arm)
        self.assertIn(f"Deleted {len(arm_blobs)} blobs", r.stdout)
        assert_index_valid(self, self.store, {ref: self.v1})
        assert_store_consistent(self, self.store)
        names = set(os.listdir(os.path.join(self.store, "blobs", "sha256")))
        self.assertEqual(names, {d[7:] for d in image_blobs(self.layout, self.v1)})

    def test_kill_mid_pull_then_pull_again(self):
        proxy = rf.Proxy(self.reg.port, lambda method, path, n: "slow" if "/blobs/" in path else None)
        try:
            ref = f"{proxy.host}/test/busybox:v1"
            p = subprocess.Popen([rf.CTK, "pull", "--plain-http", ref], env=self.env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 30
            while time.time() < deadline and not any(n > 256 << 10 for n in ingest_sizes(self.store)):
                time.sleep(0.02)
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.assertEqual(rf.store_refs(self.store), {})
            assert_store_consistent(self, self.store)
            proxy.mode = lambda method, path, n: None
            self.assertOk(self.pull(ref, "--plain-http"))
            ranges = [rg for _, _, rg in proxy.requests if rg]
            self.assertTrue(any(not rg.startswith("bytes=0-") for rg in ranges), proxy.requests)
            self.assertEqual(rf.store_refs(self.store), {ref: self.v1})
            assert_store_consistent(self, self.store)
        finally:
            proxy.stop()


class ProxyTest(Base):
    """Faults between ctk and a plain registry."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg = rf.Registry(cls.work, "upstream")
        cls.registries.append(cls.reg)
        cls.reg.push(cls.layout, "v1", "test/busybox:v1")

    def through(self, mode, **kw):
        proxy = rf.Proxy(self.reg.port, mode, **kw)
        self.addCleanup(proxy.stop)
        return proxy, f"{proxy.host}/test/busybox:v1"

    def test_corrupted_blob_is_rejected_and_not_stored(self):
        proxy, ref = self.through(lambda method, path, n: "corrupt" if "/blobs/" in path else None)
        r = self.pull(ref, "--plain-http")
        self.assertFails(r, "does not match its digest", "discarded")
        self.assertEqual(rf.store_refs(self.store), {})
        assert_store_consistent(self, self.store)
        big = [p for p in glob.glob(os.path.join(self.store, "blobs", "sha256", "*")) if os.path.getsize(p) > 1000]
        self.assertEqual(big, [])
        self.assertEqual([f for f in os.listdir(os.path.join(self.store, "ingest"))
                          if os.path.getsize(os.path.join(self.store, "ingest", f)) > 1000], [])

    def test_truncated_transfer_resumes_with_range(self):
        proxy, ref = self.through(lambda method, path, n: "truncate" if "/blobs/" in path and n == 0 else None)
        r = self.pull(ref, "--plain-http")
        self.assertOk(r)
        self.assertEqual(rf.store_refs(self.store), {ref: self.v1})
        resumed = [(p, rg) for _, p, rg in proxy.requests if rg and not rg.startswith("bytes=0-")]
        self.assertTrue(resumed, proxy.requests)
        assert_store_consistent(self, self.store)

    def test_429_then_success(self):
        proxy, ref = self.through(lambda method, path, n: "429" if n == 0 else None)
        r = self.pull(ref, "--plain-http")
        self.assertOk(r)
        counts = {}
        for _, p, _ in proxy.requests:
            counts[p] = counts.get(p, 0) + 1
        self.assertTrue(all(c >= 2 for c in counts.values()), counts)
        self.assertEqual(rf.store_refs(self.store), {ref: self.v1})

    def test_persistent_429_gives_up_with_a_clear_error(self):
        proxy, ref = self.through(lambda method, path, n: "429")
        r = self.pull(ref, "--plain-http")
        self.assertFails(r, "HTTP 429")
        self.assertEqual(rf.store_refs(self.store), {})

    def test_malformed_manifest(self):
        proxy, ref = self.through(lambda method, path, n: "garbage-manifest")
        r = self.pull(ref, "--plain-http")
        self.assertFails(r, "malformed manifest", ref)
        self.assertEqual(rf.store_refs(self.store), {})

    def test_bearer_token_flow_with_reuse(self):
        creds = base64.b64encode(b"alice:secret").decode()
        proxy, ref = self.through(lambda method, path, n: None, token="tok-123", token_basic=creds)
        r = self.pull(ref, "--plain-http")
        self.assertFails(r, "authentication required", proxy.host)
        os.makedirs(self.env["DOCKER_CONFIG"])
        with open(os.path.join(self.env["DOCKER_CONFIG"], "config.json"), "w") as f:
            json.dump({"auths": {proxy.host: {"auth": base64.b64encode(b"alice:wrong").decode()}}}, f)
        r = self.pull(ref, "--plain-http")
        self.assertFails(r, "wrong username or password", proxy.host)
        with open(os.path.join(self.env["DOCKER_CONFIG"], "config.json"), "w") as f:
            json.dump({"auths": {"http://" + proxy.host + "/v1/": {"auth": creds}}}, f)
        proxy.token_requests.clear()
        r = self.pull(ref, "--plain-http")
        self.assertOk(r)
        self.assertEqual(rf.store_refs(self.store), {ref: self.v1})
        # One token, fetched for the manifest, serves all five blobs (4 workers).
        self.assertEqual(len(proxy.token_requests), 1)
        path, auth = proxy.token_requests[0]
        self.assertIn("service=ctk-test", path)
        self.assertIn("scope=repository%3Atest%2Fbusybox%3Apull", path)
        self.assertEqual(auth, "Basic " + creds)

    def slow_blobs(self, method, path, n):
        return "slow" if "/blobs/" in path else None

    def test_token_expiring_mid_pull_is_renewed(self):
        # Tokens live 1 s and say so. One blob at a time through the slow
        # proxy takes seconds: later requests need new tokens.
        proxy, ref = self.through(self.slow_blobs, token="tok", expires_in=1, token_lifetime=1)
        r = self.pull(ref, "--plain-http", "-j", "1")
        self.assertOk(r)
        self.assertEqual(rf.store_refs(self.store), {ref: self.v1})
        assert_store_consistent(self, self.store)
        # Each token the registry refused cost one renewal; at least one more
        # renewal came before the registry could refuse anything.
        self.assertGreater(len(proxy.token_requests), 1 + len(proxy.expired))

    def test_token_refused_before_its_time_is_replaced(self):
        # Tokens claim 300 s but are refused after 1 s (revoked): the
        # registry's 401 is what tells ctk to get a new one.
        proxy, ref = self.through(self.slow_blobs, token="tok", expires_in=300, token_lifetime=1)
        r = self.pull(ref, "--plain-http", "-j", "1")
        self.assertOk(r)
        self.assertEqual(rf.store_refs(self.store), {ref: self.v1})
        assert_store_consistent(self, self.store)
        self.assertTrue(proxy.expired)
        self.assertGreater(len(proxy.token_requests), 1)

    def test_identity_token_from_a_credential_helper(self):
        helper = rf.CredentialHelper(self.tmp)
        self.env["PATH"] = helper.dir + os.pathsep + os.environ["PATH"]
        proxy, ref = self.through(lambda method, path, n: None, token="tok", refresh_token="refresh-1")
        os.makedirs(self.env["DOCKER_CONFIG"])
        with open(os.path.join(self.env["DOCKER_CONFIG"], "config.json"), "w") as f:
            json.dump({"credsStore": "ctktest"}, f)
        helper.put(proxy.host, "<token>", "refresh-wrong")
        self.assertFails(self.pull(ref, "--plain-http"), "identity token rejected", proxy.host)
        helper.put(proxy.host, "<token>", "refresh-1")
        proxy.token_posts.clear()
        self.assertOk(self.pull(ref, "--plain-http"))
        self.assertEqual(rf.store_refs(self.store), {ref: self.v1})
        # Traded by OAuth2 POST, never sent as a password.
        self.assertEqual(proxy.token_requests, [])
        self.assertEqual(len(proxy.token_posts), 1)
        form = proxy.token_posts[0]
        self.assertEqual((form["grant_type"], form["refresh_token"], form["service"], form["scope"]),
                         ("refresh_token", "refresh-1", "ctk-test", "repository:test/busybox:pull"))
        self.assertIn(["get", proxy.host], helper.calls())

    def test_redirect_to_another_host_drops_credentials(self):
        storage, _ = self.through(lambda method, path, n: None)
        creds = base64.b64encode(b"alice:secret").decode()
        proxy, ref = self.through(lambda method, path, n: f"redirect:{storage.host}" if "/blobs/" in path else None,
                                  token="tok-9", token_basic=creds)
        os.makedirs(self.env["DOCKER_CONFIG"])
        with open(os.path.join(self.env["DOCKER_CONFIG"], "config.json"), "w") as f:
            json.dump({"auths": {proxy.host: {"auth": creds}}}, f)
        self.assertOk(self.pull(ref, "--plain-http"))
        self.assertEqual(rf.store_refs(self.store), {ref: self.v1})
        self.assertEqual(len([p for _, p, _ in storage.requests if "/blobs/" in p]), 5)
        self.assertEqual(set(storage.authorization), {None})
        self.assertIn("Bearer tok-9", proxy.authorization)


class TlsRegistryTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg = rf.Registry(cls.work, "tls", tls=True)
        cls.registries.append(cls.reg)
        cls.reg.push(cls.layout, "v1", "test/busybox:v1")
        cls.ref = f"{cls.reg.host}/test/busybox:v1"

    def test_untrusted_certificate_is_refused(self):
        r = self.pull(self.ref)
        self.assertFails(r, "not trusted", self.reg.host)
        self.assertEqual(rf.store_refs(self.store), {})

    def test_cert_dir(self):
        self.assertOk(self.pull(self.ref, "--cert-dir", self.reg.certs))
        self.assertEqual(self.skopeo_digest(self.ref), self.v1)

    def test_system_ca_directory(self):
        # A c_rehash'ed directory, as Debian keeps /etc/ssl/certs, is trusted
        # (here through SSL_CERT_DIR, as OpenSSL programs do).
        cas = tempfile.mkdtemp(dir=self.work)
        crt = os.path.join(self.reg.certs, "ca.crt")
        h = rf.run("openssl", "x509", "-hash", "-noout", "-in", crt).stdout.strip()
        os.symlink(crt, os.path.join(cas, h + ".0"))
        self.assertOk(rf.ctk("pull", self.ref, env=dict(self.env, SSL_CERT_DIR=cas)))
        self.assertEqual(rf.store_refs(self.store), {self.ref: self.v1})

    def test_tls_verify_false(self):
        self.assertOk(self.pull(self.ref, "--tls-verify=false"))
        self.assertEqual(rf.store_refs(self.store), {self.ref: self.v1})


class AuthRegistryTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg = rf.Registry(cls.work, "auth", tls=True, user="bob", password="hunter2")
        cls.registries.append(cls.reg)
        cls.reg.push(cls.layout, "v1", "test/busybox:v1", user="bob", password="hunter2")
        cls.ref = f"{cls.reg.host}/test/busybox:v1"

    def login(self, password):
        return self.ctk("login", "--cert-dir", self.reg.certs, "-u", "bob", "--password-stdin", self.reg.host,
                        input=password + "\n")

    def test_anonymous_pull_needs_login(self):
        r = self.pull(self.ref, "--cert-dir", self.reg.certs)
        self.assertFails(r, "authentication required")

    def test_wrong_password(self):
        r = self.login("wrong")
        self.assertFails(r, "wrong username or password", self.reg.host)
        self.assertFalse(os.path.exists(os.path.join(self.env["DOCKER_CONFIG"], "config.json")))

    def test_login_pull_logout(self):
        r = self.login("hunter2")
        self.assertOk(r)
        config = os.path.join(self.env["DOCKER_CONFIG"], "config.json")
        self.assertEqual(stat.S_IMODE(os.stat(config).st_mode), 0o600)
        auths = rf.read_json(config)["auths"]
        self.assertEqual(base64.b64decode(auths[self.reg.host]["auth"]), b"bob:hunter2")
        # skopeo reads what ctk login wrote.
        s = rf.run("skopeo", "inspect", "--authfile", config, "--cert-dir", self.reg.certs,
                   f"docker://{self.ref}")
        self.assertEqual(s.returncode, 0, s.stderr)
        self.assertOk(self.pull(self.ref, "--cert-dir", self.reg.certs))
        self.assertEqual(rf.store_refs(self.store), {self.ref: self.v1})
        self.assertOk(self.ctk("logout", self.reg.host))
        self.assertEqual(rf.read_json(config)["auths"], {})
        self.assertFails(self.ctk("logout", self.reg.host), "not logged in")

    def with_helper(self, config):
        helper = rf.CredentialHelper(self.tmp)
        self.env["PATH"] = helper.dir + os.pathsep + os.environ["PATH"]
        path = os.path.join(self.env["DOCKER_CONFIG"], "config.json")
        os.makedirs(self.env["DOCKER_CONFIG"])
        with open(path, "w") as f:
            json.dump(config, f)
        return helper, path

    def test_login_pull_logout_through_creds_store(self):
        helper, config = self.with_helper({"credsStore": "ctktest"})
        self.assertFails(self.pull(self.ref, "--cert-dir", self.reg.certs), "authentication required")
        self.assertOk(self.login("hunter2"))
        # The secret is in the helper; config.json keeps an empty entry, as docker's does.
        self.assertEqual(helper.store(), {self.reg.host: ["bob", "hunter2"]})
        self.assertEqual(rf.read_json(config), {"credsStore": "ctktest", "auths": {self.reg.host: {}}})
        stores = [json.loads(request) for action, request in helper.calls() if action == "store"]
        self.assertEqual(stores, [{"ServerURL": self.reg.host, "Username": "bob", "Secret": "hunter2"}])
        self.assertOk(self.pull(self.ref, "--cert-dir", self.reg.certs))
        self.assertEqual(rf.store_refs(self.store), {self.ref: self.v1})
        self.assertIn(["get", self.reg.host], helper.calls())
        self.assertOk(self.ctk("logout", self.reg.host))
        self.assertEqual(helper.store(), {})
        self.assertEqual(rf.read_json(config), {"credsStore": "ctktest", "auths": {}})
        self.assertFails(self.ctk("logout", self.reg.host), "not logged in")

    def test_cred_helpers_entry_wins_over_creds_store(self):
        # credsStore names a helper that does not exist: only credHelpers' is run.
        helper, config = self.with_helper({"credsStore": "ctk-missing", "credHelpers": {self.reg.host: "ctktest"}})
        helper.put(self.reg.host, "bob", "hunter2")
        self.assertOk(self.pull(self.ref, "--cert-dir", self.reg.certs))
        self.assertEqual(rf.store_refs(self.store), {self.ref: self.v1})
        # skopeo, which runs credHelpers (not credsStore), gets the same answer.
        s = rf.run("skopeo", "inspect", "--authfile", config, "--cert-dir", self.reg.certs, f"docker://{self.ref}",
                   env=self.env)
        self.assertEqual(s.returncode, 0, s.stderr)
        self.assertEqual(json.loads(s.stdout)["Digest"], self.v1)
        helper.put(self.reg.host, "bob", "wrong")
        self.assertFails(self.pull(f"{self.reg.host}/test/busybox@{self.v1}", "--cert-dir", self.reg.certs),
                         "wrong username or password")
        r = self.pull("docker.io/library/busybox:latest")
        self.assertFails(r, "docker-credential-ctk-missing: not found on PATH", config)


if __name__ == "__main__":
    unittest.main()
