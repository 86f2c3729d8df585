"""What the Docker API tests share: a busybox image in a fresh data root
(loaded with `ctk load` from a docker-save archive, tagged busybox:latest),
`ctk serve` on a unix socket in the test's temp dir, and the real docker CLI
pointed at it (its own config dir, so the host's never matters)."""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmkernel  # noqa: E402

CTK = os.environ.get("CTK", "build/ctk")
DOCKER = shutil.which("docker")


def read_to_eof(sock):
    """Everything the server sends on sock until it closes the connection."""
    out = b""
    while data := sock.recv(65536):
        out += data
    return out


def busybox_archive(path, tags=("busybox:latest",), cmd=("sh",), arch="amd64", files=None):
    """A `docker save` archive of a busybox image with those tags; files maps
    paths in the image to their text (replacing busybox_rootfs's), or to None
    for a directory."""
    import hashlib
    tmp = tempfile.mkdtemp(prefix="ctk-api-image-")
    try:
        root = os.path.join(tmp, "rootfs")
        vmkernel.busybox_rootfs(root, arch)
        for name, text in (files or {}).items():
            target = os.path.join(root, name.lstrip("/"))
            if text is None:
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as f:
                f.write(text)
        layer_buf = io.BytesIO()
        with tarfile.open(fileobj=layer_buf, mode="w") as tf:
            tf.add(root, arcname=".")
        layer = layer_buf.getvalue()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": arch, "os": "linux", "created": "2024-05-01T12:00:00Z",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }).encode()
    cid = hashlib.sha256(config).hexdigest()
    manifest = [{"Config": f"{cid}.json", "RepoTags": list(tags), "Layers": ["layer/layer.tar"]}]
    with tarfile.open(path, "w") as out:
        for name, data in (("layer/layer.tar", layer), (f"{cid}.json", config),
                           ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1700000000
            out.addfile(info, io.BytesIO(data))


@unittest.skipUnless(DOCKER, "needs the docker CLI")
class ApiTest(unittest.TestCase):
    """cls.docker(...) runs the docker CLI against this class's `ctk serve`;
    cls.ctk(...) the ctk CLI on the same data root."""
    serve_args = ()  # more `ctk serve` flags

    @classmethod
    def setUpClass(cls):
        cls.kernel = vmkernel.kernel()
        cls.tmp = tempfile.mkdtemp(prefix="ctk-api-test-")
        cls.data = os.path.join(cls.tmp, "data")
        cls.socket = os.path.join(cls.tmp, "docker.sock")
        cls.env = dict(os.environ, CTK_KERNEL=cls.kernel, XDG_CACHE_HOME=os.path.join(cls.tmp, "cache"),
                       XDG_RUNTIME_DIR=os.path.join(cls.tmp, "run"), CTK_ROOT=cls.data,
                       DOCKER_HOST="unix://" + cls.socket, DOCKER_CONFIG=os.path.join(cls.tmp, "docker-config"))
        cls.env.pop("DOCKER_CONTEXT", None)
        # Many VMs boot at once in some tests (20 concurrent clients) on 2 emulated CPUs.
        cls.env.setdefault("CTK_AGENT_TIMEOUT", "300")
        archive = os.path.join(cls.tmp, "busybox.tar")
        busybox_archive(archive)
        r = subprocess.run([CTK, "load", "-i", archive], env=cls.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert r.returncode == 0, r.stderr.decode()
        cls.start_server()

    @classmethod
    def start_server(cls):
        cls.server_log = open(os.path.join(cls.tmp, "serve.log"), "ab")
        cls.server = subprocess.Popen([CTK, "serve", "-H", "unix://" + cls.socket, *cls.serve_args], env=cls.env,
                                      stdout=cls.server_log, stderr=cls.server_log)
        deadline = time.time() + 10
        while not os.path.exists(cls.socket):
            assert cls.server.poll() is None, "ctk serve exited"
            assert time.time() < deadline, "ctk serve did not listen"
            time.sleep(0.02)

    @classmethod
    def stop_server(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)
        cls.server_log.close()

    @classmethod
    def tearDownClass(cls):
        cls.stop_server()
        for role in ("supervise", "network-switch"):
            subprocess.run(["pkill", "-9", "-f", f"ctk {role}.*{cls.tmp}"])
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def docker(cls, *args, input=None, timeout=120):
        return subprocess.run([DOCKER, *args], input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=cls.env)

    @classmethod
    def ctk(cls, *args, input=None, timeout=120):
        return subprocess.run([CTK, *args], input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=cls.env)

    def ok(self, *args, **kw):
        """docker ARGS, which must succeed: its stdout."""
        r = self.docker(*args, **kw)
        self.assertEqual(r.returncode, 0, f"docker {' '.join(args)}: {r.stderr.decode()}")
        return r.stdout.decode()

    def fails(self, *args, **kw):
        """docker ARGS, which must fail: its stderr."""
        r = self.docker(*args, **kw)
        self.assertNotEqual(r.returncode, 0, f"docker {' '.join(args)} succeeded: {r.stdout.decode()}")
        return r.stderr.decode()

    def ctk_ok(self, *args):
        """ctk ARGS on the same data root, which must succeed: its stdout."""
        r = self.ctk(*args)
        self.assertEqual(r.returncode, 0, f"ctk {' '.join(args)}: {r.stderr.decode()}")
        return r.stdout.decode()

    def wait_for(self, what, fn, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.1)
        self.fail(f"timed out waiting for {what}")
