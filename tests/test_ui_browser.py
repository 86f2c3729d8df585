"""The web UI in a real browser: ui/e2e/run.mjs drives Debian's chromium
(playwright-core from ui/'s lockfile) against `ctk serve --ui` with one
running busybox container: the list; the run form with a profile, its logs
followed live, attach and stats of what it ran; the terminal (echo $((6*7))
reads 42 back from the screen, ^C of a sleep), the file browser, an upload,
the process list and the logs; a pull from a local docker-registry with its
progress bars; a phone-width window; keyboard only; stop and remove.
Screenshots of each view are kept under the test's directory (or
$CTK_UI_SCREENSHOTS)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import apifixture
import registryfixture as rf
import vmkernel
from test_ui import ui_url

CTK = os.environ.get("CTK", "build/ctk")
UI = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ui")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def why_not_runnable():
    if not os.access(CHROMIUM, os.X_OK):
        return f"no {CHROMIUM} (Debian's chromium package)"
    if not os.path.isdir(os.path.join(UI, "node_modules", "playwright-core")):
        return "ui/node_modules has no playwright-core (the build runs npm ci)"
    if not shutil.which("node"):
        return "no node"
    return None


def why_no_browser_test():
    return why_not_runnable() or (rf.missing_tools() and f"needs {', '.join(rf.missing_tools())}")


@unittest.skipIf(why_not_runnable(), why_not_runnable())
class PageUnitTest(unittest.TestCase):
    def test_npm_test(self):
        # The page's pure helpers (ui/test/*.test.ts under node:test: frame
        # and stream parsers split at every byte, tar against GNU tar).
        r = subprocess.run(["npm", "test", "--silent"], cwd=UI, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-4000:])
        passed = re.search(r"^# pass (\d+)", r.stdout, re.M)
        self.assertTrue(passed and int(passed.group(1)) >= 30, r.stdout[-2000:])
        self.assertRegex(r.stdout, r"(?m)^# fail 0$")


@unittest.skipIf(why_no_browser_test(), why_no_browser_test())
class BrowserTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ctk-ui-browser-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.env = dict(os.environ, CTK_KERNEL=vmkernel.kernel(), CTK_ROOT=os.path.join(self.tmp, "data"),
                        XDG_RUNTIME_DIR=os.path.join(self.tmp, "run"), XDG_CACHE_HOME=os.path.join(self.tmp, "cache"))
        archive = os.path.join(self.tmp, "busybox.tar")
        apifixture.busybox_archive(archive)
        for args in (["load", "-i", archive],
                     ["run", "-d", "--name", "box", "busybox", "sh", "-c",
                      "echo hello from box; echo to stderr >&2; exec sleep 100000"]):
            r = subprocess.run([CTK, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.addCleanup(subprocess.run, ["pkill", "-9", "-f", f"ctk supervise.*{self.tmp}"])
        self.addCleanup(subprocess.run, [CTK, "rm", "-f", "box", "formbox"], env=self.env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
        # The page's pull comes from a registry on loopback, the server's
        # mirror of Docker Hub.
        self.registry = rf.Registry(self.tmp, "registry")
        self.addCleanup(self.registry.stop)
        # An image of its own (not busybox's id), which the page removes again.
        pulled = os.path.join(self.tmp, "pulled.tar")
        apifixture.busybox_archive(pulled, tags=("pulled:1",), files={"etc/pulled": "from the registry\n"})
        rf.check("skopeo", "copy", "-q", "--dest-tls-verify=false", f"docker-archive:{pulled}",
                 f"docker://{self.registry.host}/library/pulled:1")
        log_path = os.path.join(self.tmp, "serve.log")
        self.log = open(log_path, "wb")
        self.server = subprocess.Popen([CTK, "serve", "-H", "unix://" + os.path.join(self.tmp, "docker.sock"), "--ui",
                                        "--registry-mirror", f"http://{self.registry.host}"],
                                       env=self.env, stdout=self.log, stderr=self.log)
        self.addCleanup(self.log.close)
        self.addCleanup(self.server.wait, 10)
        self.addCleanup(self.server.terminate)
        self.url = ui_url(self.server, log_path)

    def test_the_page_in_chromium(self):
        shots = os.environ.get("CTK_UI_SCREENSHOTS") or os.path.join(self.tmp, "screenshots")
        os.makedirs(shots, exist_ok=True)
        node = subprocess.Popen(["node", "e2e/run.mjs", self.url, shots], cwd=UI, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(self.env, CHROMIUM=CHROMIUM, PULL_IMAGE="pulled:1"))
        self.addCleanup(node.kill)
        # Before the page stops and removes the container: the file it
        # uploaded, as ctk exec finds it in the container.
        output = ""
        for line in node.stdout:
            output += line
            if line.startswith("checkpoint outside"):
                r = subprocess.run([CTK, "exec", "box", "cat", "/tmp/uploaded.txt"], env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
                self.uploaded = r.stdout + r.stderr
                node.stdin.write("go\n")
                node.stdin.flush()
        node.wait(timeout=600)
        node.stdin.close()
        node.stdout.close()
        steps = re.findall(r"^(ok|FAIL) (\S+)", output, re.M)
        self.assertEqual(node.returncode, 0, output[-4000:])
        self.assertEqual([name for _, name in steps],
                         ["list", "run-form", "logs-follow", "attach", "stats", "port-link", "lifecycle", "run-error",
                          "terminal", "terminal-interrupt", "terminal-resize", "terminal-vi", "files", "downloads",
                          "upload", "processes", "logs", "pull", "resources", "narrow", "keyboard", "stop-and-remove",
                          "no-foreign-requests"])
        self.assertEqual(self.uploaded, "from the browser\n")


if __name__ == "__main__":
    unittest.main()
