"""Sandbox profiles and the flags they stand for: `--profile untrusted` in real
VMs (no network, its pids and memory limits, no-new-privileges and its
capabilities), --timeout, --cap-drop/--cap-add, a malformed profile's error
(file:line:key, exit 125, nothing created), and `ctk profile ls/show`. What
the profile's read-only root, tmpfs and bind mounts do is the volume tests' part."""
import json
import os
import re
import socket
import subprocess
import threading
import time
import unittest

from test_containers import ContainerTest

# docker's default capabilities (the runtime's numbers), less what untrusted drops.
DEFAULT_CAPS = {"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7,
                "SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_RAW": 13, "SYS_CHROOT": 18, "MKNOD": 27,
                "AUDIT_WRITE": 29, "SETFCAP": 31}
UNTRUSTED_DROPS = {"NET_RAW", "NET_BIND_SERVICE", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SETPCAP", "SYS_CHROOT"}


class ProfileTest(ContainerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = os.path.join(cls.tmp, "config")
        cls.env["XDG_CONFIG_HOME"] = cls.config

    def run_rm(self, *args, script, timeout=180):
        return self.ctk("run", "--rm", *args, self.layer, "sh", "-c", script, timeout=timeout)

    def no_containers(self):
        self.assertEqual(self.ok("ps", "-a", "-q").strip(), "")

    def listener(self):
        """A TCP listener on the host's 127.0.0.1 (the NAT's gateway, 10.0.2.2, in the
        guest) that answers "pong" to each connection; returns its port and the count."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        accepted = []

        def serve():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                accepted.append(1)
                with c:
                    c.recv(64)
                    c.sendall(b"pong\n")

        threading.Thread(target=serve, daemon=True).start()
        self.addCleanup(srv.close)
        return srv.getsockname()[1], accepted

    def test_untrusted_has_no_network_and_nat_overrides_it(self):
        port, accepted = self.listener()
        script = f"echo ping | nc -w 5 10.0.2.2 {port}"
        r = self.run_rm("--profile", "untrusted", script=script)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertNotIn(b"pong", r.stdout)
        self.assertEqual(accepted, [])
        r = self.run_rm("--profile", "untrusted", "--network", "nat", script=script)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, b"pong\n")
        self.assertEqual(accepted, [1])

    def test_untrusted_hits_its_pids_limit(self):
        # Each `sleep &` is one more process; fork fails once 256 exist (sh included).
        r = self.run_rm("--profile", "untrusted",
                        script="n=0; while [ $n -lt 400 ]; do sleep 100 & n=$((n+1)); echo $n; done")
        counts = [int(x) for x in r.stdout.split()]
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"fork", r.stderr)
        self.assertLess(max(counts), 256)
        self.assertGreater(max(counts), 200, "stopped well before the limit: something else failed")

    def test_untrusted_hits_its_memory_limit(self):
        # Each dd holds its 100M buffer, filled from /dev/zero, while blocked on a pipe
        # nobody reads. (One 600M buffer would only fail malloc: the VM has 640M.)
        # --timeout ends a run whose condition never comes.
        hold = "for i in $(seq N); do (dd if=/dev/zero bs=100M count=1 | sleep 1000) 2>/dev/null & done; "
        events = "/sys/fs/cgroup/memory.events"
        r = self.run_rm("--profile", "untrusted", "--timeout", "100", script=hold.replace("N", "3") +
                        "until [ $(cat /sys/fs/cgroup/memory.current) -gt 314572800 ]; do sleep 0.2; done; "
                        f"cat /sys/fs/cgroup/memory.max; grep oom_kill {events}")
        self.assertEqual((r.returncode, r.stdout), (0, b"536870912\noom_kill 0\n"), r.stderr.decode())
        r = self.run_rm("--profile", "untrusted", "--timeout", "100", script=hold.replace("N", "6") +
                        f"until grep -q 'oom_kill [1-9]' {events}; do sleep 0.2; done; echo killed")
        self.assertEqual((r.returncode, r.stdout), (0, b"killed\n"), r.stderr.decode())

    def test_untrusted_process_cannot_gain_privileges_and_lacks_dropped_capabilities(self):
        script = "grep -E '^(NoNewPrivs|CapEff|CapBnd):' /proc/self/status"
        r = self.run_rm("--profile", "untrusted", script=script)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        status = dict(re.findall(r"(\w+):\s+(\S+)", r.stdout.decode()))
        self.assertEqual(status["NoNewPrivs"], "1")
        want = sum(1 << n for name, n in DEFAULT_CAPS.items() if name not in UNTRUSTED_DROPS)
        self.assertEqual(int(status["CapEff"], 16), want)
        self.assertEqual(int(status["CapBnd"], 16), want)
        # A plain run has docker's defaults and may gain privileges.
        r = self.run_rm(script=script)
        status = dict(re.findall(r"(\w+):\s+(\S+)", r.stdout.decode()))
        self.assertEqual(status["NoNewPrivs"], "0")
        self.assertEqual(int(status["CapEff"], 16), sum(1 << n for n in DEFAULT_CAPS.values()))
        # The command line's word beats the profile's.
        r = self.run_rm("--profile", "untrusted", "--security-opt", "no-new-privileges=false", script=script)
        self.assertIn("NoNewPrivs:\t0", r.stdout.decode())

    def test_timeout_kills_at_the_deadline_with_124(self):
        start = time.monotonic()
        r = self.ctk("run", "--rm", "--timeout", "3", self.layer, "sleep", "100", timeout=120)
        self.assertEqual(r.returncode, 124, r.stderr.decode())
        self.assertLess(time.monotonic() - start, 60)
        self.assertIn(b"--timeout", r.stderr)

    def test_timed_out_container_is_not_restarted(self):
        self.ok("run", "-d", "--name", "late", "--timeout", "2s", "--restart", "always", self.layer, "sleep", "100")
        self.addCleanup(self.ctk, "rm", "-f", "late")
        self.assertEqual(self.ok("wait", "late").strip(), "124")
        # Its supervisor ends instead of restarting it.
        self.wait_for("the supervisor to end", lambda: not subprocess.run(
            ["pgrep", "-f", "ctk supervise.*" + self.data], stdout=subprocess.PIPE).stdout)
        info = json.loads(self.ok("inspect", "late"))[0]
        self.assertEqual((info["State"]["Status"], info["State"]["ExitCode"], info["RestartCount"]), ("exited", 124, 0))

    def test_cap_drop_all_makes_chown_fail(self):
        script = "touch /f && chown 1:1 /f"
        r = self.run_rm("--cap-drop", "ALL", script=script)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"Operation not permitted", r.stderr)
        r = self.run_rm("--cap-drop", "all", "--cap-add", "chown", script=script)
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_malformed_profile_names_file_line_and_key_and_creates_nothing(self):
        path = os.path.join(self.tmp, "bad.toml")
        with open(path, "w") as f:
            f.write('network = "none"\ncpus = 1\nmemory = "lots"\n')
        for applet in ("run", "create"):
            r = self.ctk(applet, "--profile", path, self.layer, "true")
            self.assertEqual(r.returncode, 125)
            self.assertEqual(r.stderr.decode(), f"ctk {applet}: {path}:3: key 'memory': invalid size 'lots' (at least 64M)\n")
        with open(path, "w") as f:
            f.write('cpus = 1\n\nnetwrok = "nat"\n')
        r = self.ctk("run", "--profile", path, self.layer, "true")
        self.assertEqual(r.returncode, 125)
        self.assertIn(f"{path}:3: unknown key 'netwrok' (did you mean 'network'?)", r.stderr.decode())
        with open(path, "w") as f:
            f.write('cpus = 1\nmemory = "512M\n')
        r = self.ctk("run", "--profile", path, self.layer, "true")
        self.assertEqual(r.returncode, 125)
        self.assertTrue(r.stderr.decode().startswith(f"ctk run: {path}:2: "), r.stderr)
        r = self.ctk("run", "--profile", "nosuch", self.layer, "true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("unknown profile 'nosuch'", r.stderr.decode())
        self.no_containers()

    def test_bad_flags_are_usage_errors(self):
        for args, message in ((["--cap-drop", "NET_RWA"], "--cap-drop: unknown capability 'NET_RWA'"),
                              (["--security-opt", "seccomp=unconfined"], "unsupported --security-opt"),
                              (["--timeout", "5x"], "invalid --timeout '5x'")):
            r = self.ctk("run", *args, self.layer, "true")
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(message, r.stderr.decode())
        self.no_containers()

    def test_profile_ls_and_show(self):
        env = dict(self.env, XDG_CONFIG_HOME=os.path.join(self.tmp, "config-ls"))
        profiles = os.path.join(env["XDG_CONFIG_HOME"], "ctk", "profiles")
        os.makedirs(profiles)
        with open(os.path.join(profiles, "ci.toml"), "w") as f:
            f.write('cpus = 2\ntimeout = "30m"\n')
        with open(os.path.join(profiles, "untrusted.toml"), "w") as f:
            f.write('network = "nat"\n')
        self.env, saved = env, self.env
        try:
            lines = [line.split(None, 1) for line in self.ok("profile", "ls").splitlines()]
            self.assertEqual(lines, [["NAME", "SOURCE"], ["ci", os.path.join(profiles, "ci.toml")],
                                     ["default", "built-in"], ["untrusted", os.path.join(profiles, "untrusted.toml")]])
            shown = self.ok("profile", "show", "untrusted")
            self.assertRegex(shown, r"(?m)^network = [\"']nat[\"']$")
        finally:
            self.env = saved
        shown = self.ok("profile", "show", "untrusted")
        self.assertTrue(shown.startswith("# untrusted: built-in\n"), shown)
        for line in (r"memory = [\"']512M[\"']", "pids_limit = 256", "no_new_privileges = true", "read_only = true"):
            self.assertRegex(shown, "(?m)^" + line + "$")
        self.assertIn("# no settings", self.ok("profile", "show", "default"))
        r = self.ctk("profile", "show", "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.ctk("profile").returncode, 2)


if __name__ == "__main__":
    unittest.main()
