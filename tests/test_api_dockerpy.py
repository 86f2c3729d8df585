"""docker-py's own integration tests (upstream tag 5.0.3, tests/integration)
run against `ctk serve`: containers, exec, images, volumes, networks, the
low-level client and its errors. The checkout is not part of ctk: name it in
$DOCKER_PY_TESTS (a clone of github.com/docker/docker-py at 5.0.3); it runs
under /usr/bin/python3 with pytest, paramiko and docker 5.0.3 (Debian's
python3-pytest, python3-paramiko, python3-docker). Tests that need what ctk
does not have (swarm, build, commit, links, IPv6...) are deselected from
tests/docker-py-skips.txt, each with its reason; everything else must pass.
The images the tests pull from Docker Hub (alpine, hello-world, busybox) are
busybox-made stand-ins served by a docker-registry on loopback, which ctk
serve mirrors Docker Hub from (--registry-mirror). Real VMs: the whole run
takes a while (see the skip list's header for the time measured)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import apifixture
import registryfixture as rf
from apifixture import ApiTest

HERE = os.path.dirname(os.path.abspath(__file__))
SKIPS = os.path.join(HERE, "docker-py-skips.txt")
DOCKER_PY = os.environ.get("DOCKER_PY_TESTS", "")
PYTHON = "/usr/bin/python3"
API_VERSION = "1.41"

# What alpine:3.10, docker-py's test image, has that the tests rely on
# beyond busybox: its users (exec as postgres) and /var/opt (exec -w).
ALPINE_PASSWD = """root:x:0:0:root:/root:/bin/ash
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
postgres:x:70:70::/var/lib/postgresql:/bin/sh
"""
ALPINE_GROUP = """root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
postgres:x:70:
nogroup:x:65533:
nobody:x:65534:
"""


def read_skips(path=SKIPS):
    """The skip list: [(test id, reason)], '#' lines and blank lines aside."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = re.split(r"\s{2,}", line, maxsplit=1)
            if len(parts) != 2 or "::" not in parts[0]:
                raise ValueError(f"{path}:{n}: want 'path::Class::test  reason': {line}")
            out.append((parts[0], parts[1]))
    return out


def why_not_runnable():
    """None when docker-py's tests can run here, else why not."""
    if not DOCKER_PY:
        return "set DOCKER_PY_TESTS to a docker-py 5.0.3 checkout to run its integration tests"
    if not os.path.isdir(os.path.join(DOCKER_PY, "tests", "integration")):
        return f"$DOCKER_PY_TESTS ({DOCKER_PY}) has no tests/integration"
    if not os.access(PYTHON, os.X_OK):
        return f"needs {PYTHON}"
    # From the checkout, as pytest runs: its docker package (or the
    # installed one) must be 5.0.3.
    r = subprocess.run([PYTHON, "-c", "import pytest, paramiko, docker; print(docker.__version__)"], cwd=DOCKER_PY,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return f"{PYTHON} lacks pytest, paramiko or docker: {r.stderr.strip().splitlines()[-1:]}"
    if r.stdout.strip() != "5.0.3":
        return f"docker-py is {r.stdout.strip()}, the tests and skip list are 5.0.3's"
    return None


class DockerPyTest(ApiTest):
    @classmethod
    def setUpClass(cls):
        why = why_not_runnable() or (rf.missing_tools() and f"needs {', '.join(rf.missing_tools())}")
        if why:
            raise unittest.SkipTest(why)
        # Docker Hub's images the tests pull (alpine, hello-world, busybox)
        # come from a registry on loopback, ctk serve's --registry-mirror.
        cls.images = tempfile.mkdtemp(prefix="ctk-dockerpy-images-")
        alpine = os.path.join(cls.images, "alpine.tar")
        apifixture.busybox_archive(alpine, tags=("alpine:3.10",), cmd=("/bin/sh",),
                                   files={"etc/passwd": ALPINE_PASSWD, "etc/group": ALPINE_GROUP,
                                          "var/opt": None, "var/lib/postgresql": None})
        hello = os.path.join(cls.images, "hello.tar")
        apifixture.busybox_archive(hello, tags=("hello-world:latest",), cmd=("echo", "Hello from ctk!"))
        cls.registry = rf.Registry(cls.images, "registry")
        for archive, ref in ((alpine, "alpine:3.10"), (alpine, "alpine:latest"), (alpine, "busybox:latest"),
                             (hello, "hello-world:latest")):
            rf.check("skopeo", "copy", "-q", "--dest-tls-verify=false", f"docker-archive:{archive}",
                     f"docker://{cls.registry.host}/library/{ref}")
        cls.serve_args = ("--registry-mirror", f"http://{cls.registry.host}")
        super().setUpClass()
        r = cls.ctk("load", "-i", alpine)
        assert r.returncode == 0, r.stderr.decode()
        # docker-py 5.0.3 compares versions with distutils' StrictVersion;
        # setuptools' copy of distutils warns on it, and docker-py's
        # conftest makes every warning an error. The standard library's
        # copy does not warn there.
        # docker-py's tests leave temp dirs behind (bind sources, copy
        # fixtures): they go under the class's own, removed at the end.
        pytest_tmp = os.path.join(cls.tmp, "pytest-tmp")
        os.makedirs(pytest_tmp)
        cls.pytest_env = dict(cls.env, DOCKER_TEST_API_VERSION=API_VERSION, SETUPTOOLS_USE_DISTUTILS="stdlib",
                              TMPDIR=pytest_tmp)
        for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG"):
            cls.pytest_env.pop(k, None)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.registry.stop()
        shutil.rmtree(cls.images, ignore_errors=True)

    def pytest(self, *files, timeout=3600):
        paths = [f"tests/integration/{f}" for f in files]
        # docker-py 5.0.3 pins pytest 4.3.1. Debian's pytest 7 adds the
        # unraisable-exception plugin (6.2), under which docker-py's
        # conftest (every warning an error) fails whichever test is running
        # when Python collects a client the tests never closed (an unclosed
        # socket's ResourceWarning, raised in __del__): pytest 4 only printed
        # those. The plugin is off, as in the pytest the tests were written for.
        args = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:unraisableexception", "-q", "-rfE", *paths]
        for test_id, _ in read_skips():
            if test_id.split("::", 1)[0] in paths:
                args += ["--deselect", test_id]
        r = subprocess.run(args, cwd=DOCKER_PY, env=self.pytest_env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        self.assertEqual(r.returncode, 0, f"pytest {' '.join(files)}:\n{r.stdout[-8000:]}")
        # pytest's own count ("N passed, M deselected in S s"), for the log.
        summary = [line for line in r.stdout.splitlines() if " passed" in line]
        print(f"\n  docker-py {' '.join(files)}: {summary[-1] if summary else '?'}", file=sys.stderr)

    def test_skip_list_names_tests_that_exist(self):
        r = subprocess.run([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                            "tests/integration"], cwd=DOCKER_PY, env=self.pytest_env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
        collected = set(line.strip() for line in r.stdout.splitlines())
        skips = read_skips()
        self.assertTrue(skips)
        for test_id, reason in skips:
            self.assertIn(test_id, collected, f"the skip list names a test docker-py does not have: {test_id}")
            self.assertTrue(reason.strip(), test_id)

    def test_client_and_errors(self):
        self.pytest("api_client_test.py", "errors_test.py")

    def test_volumes(self):
        self.pytest("api_volume_test.py", "models_volumes_test.py")

    def test_networks(self):
        self.pytest("api_network_test.py", "models_networks_test.py")

    def test_images(self):
        self.pytest("api_image_test.py", "models_images_test.py")

    def test_exec(self):
        self.pytest("api_exec_test.py")

    def test_containers(self):
        self.pytest("api_container_test.py", "models_containers_test.py")


if __name__ == "__main__":
    unittest.main()
