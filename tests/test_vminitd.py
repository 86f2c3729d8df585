"""ctk vminitd outside a VM: the agent on a unix socket, driven through the
protocol by tests/agentproto.py, running containers from a busybox-static
root filesystem. Needs root, unshare and /bin/busybox (busybox-static)."""
import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import vmkernel
from agentproto import AgentError, Client, CLOSE, DATA, HEADER

CTK = os.environ.get("CTK", "build/ctk")
BUSYBOX = "/bin/busybox"


def make_rootfs(root):
    vmkernel.busybox_rootfs(root)
    with open(os.path.join(root, "etc/data.txt"), "w") as f:
        f.write("not executable\n")


def own_cgroup(name):
    """Creates NAME below this process's cgroup in the host's cgroup2 hierarchy."""
    with open("/proc/self/mountinfo") as f:
        mount = next(line.split()[4] for line in f if " - cgroup2 " in line)
    with open("/proc/self/cgroup") as f:
        path = next(line.strip()[3:] for line in f if line.startswith("0::"))
    cgroup = os.path.join(mount + path, name)
    os.makedirs(cgroup, exist_ok=True)
    return cgroup


def spawn_agent(sock, cgroup, log, *flags, unshare=(), prefix=()):
    """Starts `ctk vminitd --listen unix:SOCK FLAGS`. The host's cgroups are a
    v1+v2 hybrid: the agent gets a private mount namespace with a pure cgroup2
    hierarchy on /sys/fs/cgroup, rooted (cgroup namespace) at CGROUP, so that
    agents running side by side do not share /sys/fs/cgroup/ctk. `unshare`
    adds namespaces; `prefix` wraps the agent's command (setpriv). Returns
    once the agent listens (or has exited: see wait_for_socket)."""
    def enter_cgroup():
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write("0")
    agent = subprocess.Popen(
        ["unshare", "-m", "-C", *unshare, "sh", "-c", 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"', "sh",
         *prefix, CTK, "vminitd", "--listen", f"unix:{sock}", *flags],
        stdout=log, stderr=subprocess.STDOUT, preexec_fn=enter_cgroup)
    wait_for_socket(agent, sock)
    return agent


def wait_for_socket(agent, sock):
    """True once the agent listens on sock, False if it exited first."""
    while agent.poll() is None:
        if os.path.exists(sock):
            return True
        time.sleep(0.02)
    return False


def remove_cgroup(cgroup):
    for parent, dirs, _ in os.walk(cgroup, topdown=False):
        for d in dirs:
            os.rmdir(os.path.join(parent, d))
    os.rmdir(cgroup)


def config(root, args, terminal=False, env=None, cwd="/", uid=0, gid=0, readonly=False,
           hostname="box", rows=0, cols=0):
    process = {"args": args, "env": env or ["PATH=/bin"], "cwd": cwd,
               "user": {"uid": uid, "gid": gid}, "terminal": terminal}
    if rows:
        process["consoleSize"] = {"height": rows, "width": cols}
    return {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": root, "readonly": readonly},
        "hostname": hostname,
        "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")]},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
    }


class AgentTestCase(unittest.TestCase):
    """A class's agent (cls.agent) with its temp dir, log and cgroups, ended
    and removed after the class's tests."""

    @classmethod
    def start_agent(cls, name):
        """A temp dir with a busybox root (cls.root) and the agent listening
        on cls.sock in a cgroup of its own (cls.cgroup)."""
        cls.tmp = tempfile.mkdtemp(prefix=f"ctk-{name}-")
        cls.root = os.path.join(cls.tmp, "rootfs")
        make_rootfs(cls.root)
        cls.sock = os.path.join(cls.tmp, "agent.sock")
        cls.cgroup = own_cgroup(f"ctk-{name}-{os.getpid()}")
        cls.cgroups = [cls.cgroup]
        cls.log = open(os.path.join(cls.tmp, "agent.log"), "w")
        cls.agent = spawn_agent(cls.sock, cls.cgroup, cls.log)

    @classmethod
    def tearDownClass(cls):
        cls.agent.send_signal(signal.SIGTERM)
        cls.agent.wait(10)
        cls.log.close()
        shutil.rmtree(cls.tmp)
        for cgroup in cls.cgroups:
            remove_cgroup(cgroup)


@unittest.skipUnless(os.geteuid() == 0 and os.path.exists(BUSYBOX) and shutil.which("unshare"),
                     "needs root, unshare and busybox-static")
class VminitdTest(AgentTestCase):
    @classmethod
    def setUpClass(cls):
        cls.start_agent("vminitd")

    def setUp(self):
        self.assertIsNone(self.agent.poll(), "the agent died")
        self.c = Client(self.sock)
        self.c.hello()
        self.n = 0

    def tearDown(self):
        self.c.close()

    def new_id(self):
        self.n += 1
        return f"{self._testMethodName}-{self.n}"

    def run_container(self, args, stdin=None, edit=None, **kw):
        """Creates, starts and waits; returns (exit_code, stdout, stderr, wait result).
        edit(config), when given, changes the config first."""
        cid = self.new_id()
        out, err = self.c.open_channel(), self.c.open_channel()
        chans = {"stdout": out, "stderr": err}
        if stdin is not None:
            chans["stdin"] = self.c.open_channel()
        cfg = config(self.root, args, **kw)
        if edit:
            edit(cfg)
        self.c.call("create", container=cid, config=cfg, **chans)
        try:
            self.c.call("start", container=cid)
        except AgentError:
            pass  # wait reports it
        if stdin is not None:
            self.c.write(chans["stdin"], stdin)
            self.c.send_eof(chans["stdin"])
        rid = self.c.request("wait", container=cid)
        stdout = self.c.read_until_eof(out)
        stderr = self.c.read_until_eof(err)
        res = self.c.result(rid)
        self.c.call("delete", container=cid)
        return res["exit_code"], stdout, stderr, res

    def start_sleeper(self, edit=None, **kw):
        cid = self.new_id()
        cfg = config(self.root, ["sleep", "1000"], **kw)
        if edit:
            edit(cfg)
        self.c.call("create", container=cid, config=cfg)
        self.c.call("start", container=cid)
        return cid

    def exec(self, cid, args, terminal=False, **chans):
        eid = self.new_id()
        process = {"args": args, "env": ["PATH=/bin"], "cwd": "/", "terminal": terminal}
        self.c.call("exec", container=cid, exec_id=eid, process=process, **chans)
        return eid

    def test_echo_stdout_and_stderr(self):
        code, out, err, _ = self.run_container(["sh", "-c", "echo out; echo err >&2"])
        self.assertEqual((code, out, err), (0, b"out\n", b"err\n"))

    def test_exit_codes(self):
        self.assertEqual(self.run_container(["true"])[0], 0)
        self.assertEqual(self.run_container(["sh", "-c", "exit 3"])[0], 3)
        code, _, _, res = self.run_container(["nosuch"])
        self.assertEqual(code, 127)
        self.assertEqual(res["message"], 'exec: "nosuch": executable file not found in $PATH')
        code, _, _, res = self.run_container(["/bin/nosuch"])
        self.assertEqual(code, 127)
        self.assertIn("no such file or directory", res["message"])
        code, _, _, res = self.run_container(["/etc/data.txt"])
        self.assertEqual(code, 126)
        self.assertEqual(res["message"], 'exec: "/etc/data.txt": permission denied')

    def test_exit_codes_of_setup_failures_and_signals(self):
        code, _, _, res = self.run_container(["/bin"])
        self.assertEqual((code, res["message"]), (126, 'exec: "/bin": is a directory'))
        code, _, _, res = self.run_container(["true"], cwd="/no/such/dir")
        self.assertEqual((code, res["message"]),
                         (125, 'chdir to cwd ("/no/such/dir") set in config.json failed: '
                               'no such file or directory'))
        # 128+N for a process that a signal ends, sent from outside or by itself.
        cid = self.start_sleeper()
        eid = self.exec(cid, ["sleep", "1000"])
        self.c.call("kill", container=cid, exec_id=eid, signal="TERM")
        self.assertEqual(self.c.call("wait", container=cid, exec_id=eid)["exit_code"], 128 + 15)
        eid = self.exec(cid, ["sh", "-c", "kill -SEGV $$"])
        self.assertEqual(self.c.call("wait", container=cid, exec_id=eid)["exit_code"], 128 + 11)
        self.c.call("delete", container=cid, force=True)

    def test_start_reports_exec_failure(self):
        cid = self.new_id()
        self.c.call("create", container=cid, config=config(self.root, ["nosuch"]))
        with self.assertRaises(AgentError) as e:
            self.c.call("start", container=cid)
        self.assertEqual(e.exception.code, "not_found")
        self.assertEqual(self.c.call("wait", container=cid)["exit_code"], 127)
        self.c.call("delete", container=cid)

    def test_kill_and_wait(self):
        cid = self.start_sleeper()
        rid = self.c.request("wait", container=cid)
        self.c.call("kill", container=cid, signal="SIGKILL")
        self.assertEqual(self.c.result(rid)["exit_code"], 137)
        with self.assertRaises(AgentError) as e:
            self.c.call("kill", container=cid, signal=9)
        self.assertEqual(e.exception.code, "not_found")
        self.c.call("delete", container=cid)

    def test_env_cwd_user_hostname(self):
        code, out, _, _ = self.run_container(
            ["sh", "-c", "echo $FOO; pwd; id -u; id -g; hostname; echo $HOME"],
            env=["PATH=/bin", "FOO=bar"], cwd="/tmp", uid=1000, gid=1000, hostname="ctkbox")
        self.assertEqual(code, 0)
        self.assertEqual(out.decode().split(), ["bar", "/tmp", "1000", "1000", "ctkbox", "/"])

    def container_cgroup(self, cid):
        return os.path.join(self.cgroup, "ctk", cid)

    def available_controllers(self):
        with open(os.path.join(self.cgroup, "ctk", "cgroup.subtree_control")) as f:
            return set(f.read().split())

    def test_cgroup_per_container(self):
        def cgroupns(cfg):
            cfg["linux"]["namespaces"].append({"type": "cgroup"})
        cid = self.start_sleeper(edit=cgroupns)
        with open(os.path.join(self.cgroup, "ctk", "agent", "cgroup.procs")) as f:
            self.assertEqual(f.read().split(), [str(self.agent.pid)], "the agent lives in ctk/agent")
        out = self.c.open_channel()
        eid = self.exec(cid, ["sh", "-c", "grep ^0:: /proc/self/cgroup /proc/1/cgroup"], stdout=out)
        self.assertEqual(self.c.call("wait", container=cid, exec_id=eid)["exit_code"], 0)
        # Both are at the root of the container's cgroup namespace: its own cgroup.
        self.assertEqual(self.c.read_until_eof(out), b"/proc/self/cgroup:0::/\n/proc/1/cgroup:0::/\n")
        with open(os.path.join(self.container_cgroup(cid), "cgroup.procs")) as f:
            self.assertEqual(len(f.read().split()), 1, "the init is in the container's cgroup")
        stats = self.c.call("stats", container=cid)
        self.assertIsInstance(stats["cpu"]["usage_usec"], int)
        self.assertGreater(stats["cpu"]["usage_usec"], 0)
        if "pids" in self.available_controllers():
            self.assertEqual(stats["pids"]["current"], 1)
        self.c.call("kill", container=cid, signal="KILL")
        self.c.call("wait", container=cid)
        self.c.call("delete", container=cid)
        self.assertFalse(os.path.exists(self.container_cgroup(cid)), "delete removes the cgroup")
        with self.assertRaises(AgentError) as e:
            self.c.call("stats", container=cid)
        self.assertEqual(e.exception.code, "not_found")

    def test_agent_cgroup_and_memory_budget(self):
        # The agent lives in its own cgroup, ctk/agent, beside the containers'.
        with open(f"/proc/{self.agent.pid}/cgroup") as f:
            line = next(l for l in f if l.startswith("0::"))
        self.assertTrue(line.strip().endswith(f"/{os.path.basename(self.cgroup)}/ctk/agent"), line)
        own = self.c.call("stats")  # no container: the agent's own cgroup
        self.assertEqual(own["cgroup"], "/ctk/agent")
        if "memory" not in self.available_controllers():
            self.assertIsNone(own["memory"])
        bad = subprocess.run([CTK, "vminitd", "--listen", "unix:/nonexistent/x", "--memory-max", "lots"],
                             capture_output=True, text=True)
        self.assertEqual((bad.returncode, bad.stderr),
                         (2, "ctk vminitd: --memory-max: 'lots' is not a size like 64M\n"))
        # A second agent asked for a memory budget.
        cgroup = own_cgroup(f"ctk-vminitd-{os.getpid()}-budget")
        sock = os.path.join(self.tmp, "budget.sock")
        agent = spawn_agent(sock, cgroup, subprocess.PIPE, "--memory-max", "48M")
        try:
            with open(os.path.join(cgroup, "cgroup.controllers")) as f:
                has_memory = "memory" in f.read().split()
            if not has_memory:
                # This host keeps the memory controller in cgroup v1: a limit
                # that cannot hold is refused, not ignored.
                out, _ = agent.communicate(timeout=10)
                self.assertEqual(agent.returncode, 1)
                self.assertEqual(out.decode(), "ctk vminitd: --memory-max: the memory controller is not "
                                 "available for /sys/fs/cgroup/ctk/agent/memory.max\n")
                return
            self.assertTrue(wait_for_socket(agent, sock), agent.stdout.read())
            with open(f"/proc/{agent.pid}/cgroup") as f:
                self.assertIn(f"0::/{os.path.basename(cgroup)}/ctk/agent\n", f.read())
            with open(os.path.join(cgroup, "ctk", "agent", "memory.max")) as f:
                self.assertEqual(f.read(), f"{48 << 20}\n")
            c = Client(sock)
            c.hello()
            self.assertEqual(c.call("stats")["memory"]["max"], 48 << 20)
            c.close()
        finally:
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
                agent.communicate(timeout=10)
            remove_cgroup(cgroup)

    def test_resource_limits(self):
        # The host's hybrid hierarchy keeps most controllers in v1; where one
        # is missing the limit must be refused, not silently ignored.
        available = self.available_controllers()
        cases = [("pids", {"pids": {"limit": 7}}, "pids.max", "7\n"),
                 ("cpu", {"cpu": {"quota": 50000, "period": 100000, "shares": 1024}}, "cpu.max",
                  "50000 100000\n"),
                 ("memory", {"memory": {"limit": 64 << 20}}, "memory.max", f"{64 << 20}\n")]
        for controller, resources, file, want in cases:
            with self.subTest(controller=controller):
                def limit(cfg):
                    cfg["linux"]["resources"] = resources
                cid = self.new_id()
                cfg = config(self.root, ["sleep", "1000"])
                limit(cfg)
                if controller not in available:
                    with self.assertRaises(AgentError) as e:
                        self.c.call("create", container=cid, config=cfg)
                    self.assertEqual(e.exception.code, "internal")
                    self.assertIn(f"the {controller} controller is not available", e.exception.message)
                    self.assertFalse(os.path.exists(self.container_cgroup(cid)))
                    continue
                self.c.call("create", container=cid, config=cfg)
                with open(os.path.join(self.container_cgroup(cid), file)) as f:
                    self.assertEqual(f.read(), want)
                self.c.call("delete", container=cid)

    def test_memory_limit_oom_kill(self):
        if "memory" not in self.available_controllers():
            self.skipTest("no memory controller in this host's cgroup2 hierarchy (v1+v2 hybrid); "
                          "tests/test_run.py covers it in a VM")
        def limit(cfg):
            cfg["linux"]["resources"] = {"memory": {"limit": 32 << 20}}
        code, _, _, res = self.run_container(["sh", "-c", "tail /dev/zero"], edit=limit)
        self.assertEqual(code, 137)
        self.assertTrue(res.get("oom_killed"))

    def test_user_by_name(self):
        cases = [("user", "1000 1000 1000 /home/user"), ("user:root", "1000 0 0 /home/user"),
                 ("0:1000", "0 1000 1000 /root"), ("4242", "4242 0 0 /")]
        for user, want in cases:
            with self.subTest(user=user):
                def as_user(cfg):
                    cfg["process"]["user"] = user
                code, out, err, _ = self.run_container(
                    ["sh", "-c", "echo $(id -u) $(id -g) $(id -G) $HOME"], edit=as_user)
                self.assertEqual((code, err), (0, b""))
                self.assertEqual(out.decode().strip(), want)
        cfg = config(self.root, ["true"])
        cfg["process"]["user"] = "ghost"
        with self.assertRaises(AgentError) as e:
            self.c.call("create", container=self.new_id(), config=cfg)
        self.assertIn("unable to find user ghost", e.exception.message)

    def test_capabilities_no_new_privileges_rlimits(self):
        def secure(cfg):
            caps = ["CAP_CHOWN", "CAP_KILL"]
            cfg["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
            cfg["process"]["noNewPrivileges"] = True
            # Lower than the agent's own: raising the hard limit needs CAP_SYS_RESOURCE.
            cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]
        code, out, err, _ = self.run_container(
            ["sh", "-c", "grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status;"
             "grep 'open files' /proc/self/limits"], edit=secure)
        self.assertEqual((code, err), (0, b""))
        lines = [line.split() for line in out.decode().splitlines()]
        self.assertEqual(lines[:5], [["CapPrm:", "0000000000000021"], ["CapEff:", "0000000000000021"],
                                     ["CapBnd:", "0000000000000021"], ["CapAmb:", "0000000000000000"],
                                     ["NoNewPrivs:", "1"]])
        self.assertEqual(lines[5][3:5], ["100", "200"])
        # Without them the process has root's full set and may gain privileges.
        code, out, _, _ = self.run_container(["grep", "NoNewPrivs", "/proc/self/status"])
        self.assertEqual(out.split(), [b"NoNewPrivs:", b"0"])
        cfg = config(self.root, ["true"])
        cfg["process"]["capabilities"] = {"bounding": ["CAP_FLY"]}
        with self.assertRaises(AgentError) as e:
            self.c.call("create", container=self.new_id(), config=cfg)
        self.assertIn("CAP_FLY", e.exception.message)

    def test_masked_and_readonly_paths(self):
        def protect(cfg):
            cfg["linux"]["maskedPaths"] = ["/etc/data.txt", "/home", "/no/such/path"]
            cfg["linux"]["readonlyPaths"] = ["/tmp", "/no/such/dir"]
        code, out, err, _ = self.run_container(
            ["sh", "-c", "cat /etc/data.txt; ls -A /home; echo listed; touch /home/x /tmp/x;"
             "touch /root/x && echo root-writable"], edit=protect)
        self.assertEqual(code, 0)
        self.assertEqual(out, b"listed\nroot-writable\n")
        self.assertEqual(err.decode().count("Read-only file system"), 2, err)

    def test_readonly_root_and_dev_nodes(self):
        code, out, err, _ = self.run_container(
            ["sh", "-c", "echo x > /dev/null && ls /dev && touch /new"], readonly=True)
        self.assertNotEqual(code, 0)
        for node in ("null", "zero", "urandom", "tty", "pts", "ptmx"):
            self.assertIn(node, out.decode().split())
        self.assertIn("Read-only file system", err.decode())

    def test_join_namespaces_by_path(self):
        a = self.new_id()
        self.c.call("create", container=a, config=config(self.root, ["sleep", "1000"], hostname="alpha"))
        pid = self.c.call("start", container=a)["pid"]
        ns = {t: os.readlink(f"/proc/{pid}/ns/{t}") for t in ("uts", "net", "pid")}

        def join(cfg):
            cfg.pop("hostname")
            cfg["linux"]["namespaces"] = [{"type": "mount"}, {"type": "ipc"}] + [
                {"type": kind, "path": f"/proc/{pid}/ns/{name}"}
                for kind, name in (("uts", "uts"), ("network", "net"), ("pid", "pid"))]
        code, out, err, _ = self.run_container(
            ["sh", "-c", "hostname; for t in uts net pid; do readlink /proc/self/ns/$t; done;"
             "cat /proc/1/comm"], edit=join)
        self.assertEqual((code, err), (0, b""))
        # A's hostname and namespaces; its pid namespace, whose PID 1 is A's sleep.
        self.assertEqual(out.decode().split(), ["alpha", ns["uts"], ns["net"], ns["pid"], "sleep"])
        # A namespace that is not there, or not of its kind, fails the start.
        bad = ((f"/proc/{pid}/ns/nosuch", "uts", f"namespace /proc/{pid}/ns/nosuch: "),
               (f"/proc/{pid}/ns/net", "uts", f"setns /proc/{pid}/ns/net: Invalid argument"))
        for path, kind, message in bad:
            with self.subTest(path=path):
                cid = self.new_id()
                cfg = config(self.root, ["true"])
                cfg.pop("hostname")
                cfg["linux"]["namespaces"] = [{"type": "mount"}, {"type": kind, "path": path}]
                self.c.call("create", container=cid, config=cfg)
                with self.assertRaises(AgentError) as e:
                    self.c.call("start", container=cid)
                self.assertEqual(e.exception.code, "internal")
                self.assertTrue(e.exception.message.startswith(message), e.exception.message)
                self.c.call("delete", container=cid, force=True)
        self.c.call("delete", container=a, force=True)

    def test_mqueue_and_cgroup2_mounts(self):
        # docker's configs say "cgroup"; the agent knows cgroup2 alone and mounts that.
        for cgroup_type in ("cgroup2", "cgroup"):
            with self.subTest(type=cgroup_type):
                def mounts(cfg):
                    cfg["linux"]["namespaces"].append({"type": "cgroup"})
                    cfg["mounts"] += [
                        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                         "options": ["nosuid", "noexec", "nodev"]},
                        {"destination": "/sys/fs/cgroup", "type": cgroup_type, "source": "cgroup",
                         "options": ["ro", "nosuid", "noexec", "nodev"]}]
                code, out, err, _ = self.run_container(
                    ["sh", "-c", "cat /proc/self/mountinfo; echo ==; grep ^0:: /proc/self/cgroup;"
                     "cat /sys/fs/cgroup/cgroup.procs; echo ==; ls /sys/fs/cgroup"], edit=mounts)
                self.assertEqual((code, err), (0, b""))
                mountinfo, procs, listing = out.decode().split("==\n")
                seen = {}
                for line in mountinfo.splitlines():
                    fields = line.split()
                    sep = fields.index("-")
                    seen[fields[4]] = (fields[3], fields[sep + 1], set(fields[5].split(",")))
                root, fstype, options = seen["/dev/mqueue"]
                self.assertEqual(fstype, "mqueue")
                self.assertLessEqual({"nosuid", "noexec", "nodev"}, options)
                root, fstype, options = seen["/sys/fs/cgroup"]
                self.assertEqual((root, fstype), ("/", "cgroup2"))
                self.assertIn("ro", options)
                # Rooted at the container's own cgroup: its init (PID 1 here)
                # is in it, and none of the agent's cgroups show.
                self.assertEqual(procs.splitlines()[0], "0::/")
                self.assertIn("1", procs.split()[1:])
                self.assertIn("cgroup.procs", listing.split())
                self.assertNotIn("agent", listing.split())

    def test_exec_into_running_container(self):
        cid = self.start_sleeper(hostname="execbox")
        out = self.c.open_channel()
        eid = self.exec(cid, ["sh", "-c", "hostname; cat /proc/1/comm; echo $$"], stdout=out)
        res = self.c.call("wait", container=cid, exec_id=eid)
        lines = self.c.read_until_eof(out).decode().split("\n")
        self.assertEqual(res["exit_code"], 0)
        self.assertEqual(lines[0], "execbox")
        self.assertEqual(lines[1], "sleep")  # the same pid namespace
        self.assertNotEqual(lines[2], "1")
        with self.assertRaises(AgentError) as e:
            self.c.call("exec", container=cid, exec_id=eid, process={"args": ["true"]})
        self.assertEqual(e.exception.code, "already_exists")
        # Not PID 1, so a signal it sends itself is not ignored: 128+N.
        eid = self.exec(cid, ["sh", "-c", "kill -USR1 $$"])
        self.assertEqual(self.c.call("wait", container=cid, exec_id=eid)["exit_code"], 128 + 10)
        # A terminal in an exec comes from the container's own /dev/pts.
        tty = self.c.open_channel()
        eid = self.exec(cid, ["tty"], terminal=True, stdin=tty, stdout=tty)
        self.assertEqual(self.c.call("wait", container=cid, exec_id=eid)["exit_code"], 0)
        self.assertRegex(self.c.read_until_eof(tty), rb"^/dev/pts/\d+\r\n$")
        self.c.call("kill", container=cid, signal=9)
        self.assertEqual(self.c.call("wait", container=cid)["exit_code"], 137)
        self.c.call("delete", container=cid)

    def test_stdin_100mb_while_other_output_flows(self):
        cid = self.start_sleeper()
        # A process whose output nobody reads: its channel stalls at the window.
        stalled = self.c.open_channel(auto_credit=False)
        noisy = self.exec(cid, ["yes"], stdout=stalled)
        # 100 MB through cat, checksummed as it goes.
        size, step = 100 << 20, 10 << 20
        cin, cout = self.c.open_channel(), self.c.open_channel()
        cat = self.exec(cid, ["cat"], stdin=cin, stdout=cout)
        # And a second container printing a counter, one number per line it is sent.
        counter = self.new_id()
        tin, tout = self.c.open_channel(), self.c.open_channel()
        self.c.call("create", container=counter, stdin=tin, stdout=tout, config=config(
            self.root, ["sh", "-c", "i=0; while read x; do i=$((i+1)); echo tick$i; done"]))
        self.c.call("start", container=counter)
        sent, got = hashlib.sha256(), hashlib.sha256()
        received = 0
        at_tick = []  # cat's output received when each tick arrived

        def take():
            nonlocal received
            data = self.c.read(cout)
            got.update(data)
            received += len(data)

        for k in range(size // step):
            data = os.urandom(step)
            sent.update(data)
            self.c.write(cin, data)
            take()
            # Mid-transfer, the counter answers.
            self.c.write(tin, b"\n")
            tick = f"tick{k + 1}\n".encode()
            self.c.wait_for(lambda: tick in self.c.channels[tout].buf)
            self.assertEqual(self.c.read(tout), tick)
            take()
            at_tick.append(received)
        self.c.send_eof(cin)  # every tick came before this, with cat's transfer in flight
        got.update(self.c.read_until_eof(cout, timeout=120))
        self.assertEqual(got.hexdigest(), sent.hexdigest())
        self.assertEqual(self.c.call("wait", container=cid, exec_id=cat)["exit_code"], 0)
        # The transfer moved on between ticks: cat's input was sent only as
        # fast as its output came back (the windows bound what is in flight,
        # well under 2 MiB), so each tick found most of the data sent before it echoed.
        for k, n in enumerate(at_tick):
            self.assertLessEqual((k + 1) * step - (2 << 20), n)
            self.assertLessEqual(n, (k + 1) * step)
        self.c.send_eof(tin)
        self.assertEqual(self.c.call("wait", container=counter)["exit_code"], 0)
        self.c.call("delete", container=counter)
        # The unread channel held no more than its window.
        self.assertLessEqual(len(self.c.channels[stalled].buf), 256 * 1024)
        self.c.call("kill", container=cid, exec_id=noisy, signal=9)
        self.c.read(stalled)
        rid = self.c.request("wait", container=cid, exec_id=noisy)
        self.c.channels[stalled].auto_credit = True
        while rid not in self.c.replies:
            self.c.pump(1)
            self.c.read(stalled)
        self.assertEqual(self.c.result(rid)["exit_code"], 137)
        self.c.call("delete", container=cid, force=True)

    def test_pty_session_with_resize(self):
        cid = self.new_id()
        tty = self.c.open_channel()
        self.c.call("create", container=cid, stdin=tty, stdout=tty,
                    config=config(self.root, ["sh"], terminal=True, rows=24, cols=80))
        self.c.call("start", container=cid)

        def expect(text):
            self.c.wait_for(lambda: re.search(text.encode(), self.c.channels[tty].buf, re.DOTALL))
            self.c.read(tty)

        self.c.write(tty, b"stty size; echo $TERM\n")
        expect("24 80\r\nxterm")
        self.c.call("resize", container=cid, rows=30, cols=100)
        self.c.write(tty, b"stty size\n")
        expect("30 100")
        self.c.write(tty, b"tty\n")
        expect("/dev/pts/0")  # the container's own devpts
        # ^C reaches the foreground job as SIGINT; the shell lives on and its
        # exit status says how the job ended. The job prints 42-ready (not in
        # the echoed command line) once it is in the foreground.
        self.c.write(tty, b"sh -c 'echo $((6*7))-ready; exec sleep 100'\n")
        expect("42-ready")
        self.c.write(tty, b"\x03")
        # The prompt, once the shell took the interrupt: what is typed ahead of it may be dropped.
        expect(r"\^C.*/ # ")
        self.c.write(tty, b"echo status=$?\n")
        expect(f"status={128 + signal.SIGINT}")
        self.c.write(tty, b"sh -c 'echo $((7*8))-again; exec cat'\n")
        expect("56-again")
        self.c.write(tty, b"\x03")
        expect(r"\^C.*/ # ")
        self.c.write(tty, b"exit $?\n")
        rid = self.c.request("wait", container=cid)
        self.c.read_until_eof(tty)
        self.assertEqual(self.c.result(rid)["exit_code"], 128 + signal.SIGINT)
        self.c.call("delete", container=cid)

    def test_concurrent_processes(self):
        cids, outs, waits = [], [], []
        for i in range(20):
            cid = self.new_id()
            out = self.c.open_channel()
            self.c.call("create", container=cid, stdout=out,
                        config=config(self.root, ["sh", "-c", f"sleep 0.2; seq 1 {1000 + i}"]))
            cids.append(cid)
            outs.append(out)
        for cid in cids:
            self.c.call("start", container=cid)
        waits = [self.c.request("wait", container=cid) for cid in cids]
        for i, (out, rid) in enumerate(zip(outs, waits)):
            got = self.c.read_until_eof(out).split()
            self.assertEqual(len(got), 1000 + i)
            self.assertEqual(self.c.result(rid)["exit_code"], 0)
        for cid in cids:
            self.c.call("delete", container=cid)

    def test_copy_in_and_out(self):
        cid = self.start_sleeper()
        data = os.urandom(3 * 1024 * 1024 + 17)
        ch = self.c.open_channel()
        rid = self.c.request("copy_in", container=cid, path="/tmp/blob", mode=0o600, channel=ch)
        self.c.write(ch, data)
        self.c.send_eof(ch)
        res = self.c.result(rid)
        self.assertEqual(self.c.unsolicited, [])
        self.assertEqual(res["size"], len(data))
        out = self.c.open_channel()
        eid = self.exec(cid, ["sh", "-c", "sha256sum /tmp/blob; stat -c %a /tmp/blob"], stdout=out)
        self.c.call("wait", container=cid, exec_id=eid)
        lines = self.c.read_until_eof(out).decode().split("\n")
        self.assertEqual(lines[0].split()[0], hashlib.sha256(data).hexdigest())
        self.assertEqual(lines[1], "600")
        back = self.c.open_channel()
        res = self.c.call("copy_out", container=cid, path="/tmp/blob", channel=back)
        self.assertEqual(res["size"], len(data))
        self.assertEqual(self.c.read_until_eof(back), data)
        with self.assertRaises(AgentError) as e:
            self.c.call("copy_out", container=cid, path="/tmp/none", channel=self.c.open_channel())
        self.assertEqual(e.exception.code, "not_found")
        self.c.call("delete", container=cid, force=True)

    def test_copy_in_is_written_from_another_cgroup(self):
        # A tmpfs file's memory is charged to whoever writes it: a writer in
        # the container's cgroup (or ctk-files, for the agent's own
        # filesystem) keeps it off the agent's memory budget.
        def small_tmpfs(cfg):
            cfg["mounts"].append({"destination": "/small", "type": "tmpfs", "source": "tmpfs",
                                  "options": ["size=1m"]})
        cid = self.start_sleeper(edit=small_tmpfs)
        own_file = os.path.join(self.tmp, "copied")
        cases = (("container", self.container_cgroup(cid), {"container": cid, "path": "/tmp/part"}),
                 ("agent", os.path.join(self.cgroup, "ctk-files"), {"path": own_file}))
        for where, cgroup, args in cases:
            with self.subTest(where=where):
                procs = os.path.join(cgroup, "cgroup.procs")
                with open(procs) as f:
                    before = f.read().split()
                ch = self.c.open_channel()
                rid = self.c.request("copy_in", channel=ch, **args)
                self.c.write(ch, b"first half ")
                # Ordering, not time: a hello answered means the copy_in was
                # handled, and the writer is born in its cgroup.
                self.c.hello()
                with open(procs) as f:
                    self.assertEqual(len(set(f.read().split()) - set(before)), 1, "the writer is there")
                self.c.write(ch, b"second half")
                self.c.send_eof(ch)
                self.assertEqual(self.c.result(rid)["size"], 22)
                with open(procs) as f:
                    self.assertEqual(f.read().split(), before, "the writer is gone when copy_in replies")
                out = self.c.open_channel()
                self.c.call("copy_out", channel=out, **args)
                self.assertEqual(self.c.read_until_eof(out), b"first half second half")
        # What the writer fails at comes back as the reply's error.
        ch = self.c.open_channel()
        rid = self.c.request("copy_in", container=cid, path="/small/big", channel=ch)
        try:
            self.c.write(ch, os.urandom(2 << 20))
            self.c.send_eof(ch)
        except BrokenPipeError:
            pass  # the agent stopped taking data once the writer failed
        with self.assertRaises(AgentError) as e:
            self.c.result(rid)
        self.assertEqual((e.exception.code, e.exception.message),
                         ("internal", "write /small/big: No space left on device"))
        self.c.call("delete", container=cid, force=True)

    def free_port(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def connect_when_listening(self, **args):
        """connect, retried while the listener in a container (or its lo) is not up yet."""
        for _ in range(200):
            ch = self.c.open_channel()
            try:
                self.c.call("connect", channel=ch, **args)
                return ch
            except AgentError as e:
                if e.code != "not_found" and "unreachable" not in e.message:
                    raise
            time.sleep(0.05)
        self.fail(f"nothing listens for {args}")

    def test_connect_to_a_container_listener(self):
        # Like ctk run: the container shares the agent's (the VM's) network.
        port = self.free_port()
        cid = self.new_id()
        cfg = config(self.root, ["nc", "-l", "-p", str(port), "-e", "cat"])
        cfg["linux"]["namespaces"] = [{"type": t} for t in ("pid", "mount", "uts", "ipc")]
        self.c.call("create", container=cid, config=cfg)
        self.c.call("start", container=cid)
        ch = self.connect_when_listening(port=port)
        # Echoed through cat both ways, checksummed; EOF both ways ends it.
        data = os.urandom(3 * 1024 * 1024 + 5)
        self.c.write(ch, data)
        self.c.send_eof(ch)
        got = self.c.read_until_eof(ch, timeout=60)
        self.assertEqual(len(got), len(data))
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())
        self.assertEqual(self.c.call("wait", container=cid)["exit_code"], 0)
        self.assertEqual(self.c.unsolicited, [])
        self.c.call("delete", container=cid)

    def test_connect_into_a_container_network_namespace(self):
        cid = self.new_id()
        self.c.call("create", container=cid, config=config(
            self.root, ["sh", "-c", "ip link set lo up && exec nc -l -p 7000 -e sha256sum"]))
        self.c.call("start", container=cid)
        ch = self.connect_when_listening(port=7000, container=cid)
        data = os.urandom(1024 * 1024)
        self.c.write(ch, data)
        self.c.send_eof(ch)  # sha256sum answers only after its input ended
        got = self.c.read_until_eof(ch).decode().split()
        self.assertEqual(got[0], hashlib.sha256(data).hexdigest())
        self.assertEqual(self.c.call("wait", container=cid)["exit_code"], 0)
        self.c.call("delete", container=cid)

    def test_connect_in_progress_does_not_block_the_agent(self):
        # The agent runs on this host's network here: a listener on loopback
        # whose accept queue is full drops SYNs, so the connect stays in progress.
        with socket.socket() as lsock:
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(0)
            port = lsock.getsockname()[1]
            first = socket.create_connection(("127.0.0.1", port))
            ch = self.c.open_channel()
            rid = self.c.request("connect", port=port, channel=ch)
            self.c.hello()  # answered while the connect waits
            self.assertNotIn(rid, self.c.replies)
            lsock.accept()[0].close()
            first.close()
            self.assertEqual(self.c.result(rid), {})
            peer, _ = lsock.accept()
            with peer:
                peer.settimeout(30)
                self.c.write(ch, b"ping")
                self.assertEqual(peer.recv(4), b"ping")
                peer.sendall(b"pong")
                peer.shutdown(socket.SHUT_WR)
                self.assertEqual(self.c.read_until_eof(ch), b"pong")
                self.c.send_eof(ch)
                self.assertEqual(peer.recv(1), b"")  # the host's EOF arrived as a FIN

    def test_connect_errors(self):
        port = self.free_port()
        ch = self.c.open_channel()
        rid = self.c.request("connect", port=port, channel=ch)
        self.c.send_frame(DATA, ch, b"dropped with the channel")
        with self.assertRaises(AgentError) as e:
            self.c.result(rid)
        self.assertEqual((e.exception.code, e.exception.message),
                         ("not_found", f"connect 127.0.0.1:{port}: Connection refused"))
        for args in ({"port": 0}, {"port": 80, "host": "localhost"}, {"port": 70000},
                     {"port": 80, "protocol": "sctp"}):
            with self.assertRaises(AgentError) as e:
                self.c.call("connect", channel=self.c.open_channel(), **args)
            self.assertEqual(e.exception.code, "invalid_argument")
        with self.assertRaises(AgentError) as e:
            self.c.call("connect", port=80, channel=ch, container="nope")
        self.assertEqual(e.exception.code, "not_found")
        self.c.hello()
        self.assertEqual(self.c.unsolicited, [])

    def read_datagrams(self, ch, count, timeout=30):
        """The next `count` datagrams on ch (each a 2-byte big-endian length and its bytes)."""
        out, buf = [], b""
        deadline = time.monotonic() + timeout
        while len(out) < count:
            buf += self.c.read(ch)
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                n = struct.unpack(">H", buf[:2])[0]
                out.append(buf[2:2 + n])
                buf = buf[2 + n:]
            if len(out) < count:
                self.assertLess(time.monotonic(), deadline, f"{len(out)} of {count} datagrams came")
                self.c.pump(0.1)
        self.assertEqual(buf, b"")
        return out

    @contextlib.contextmanager
    def udp_echo(self, port=0, prefix=()):
        """A UDP echo server on 127.0.0.1 (in a network namespace with `prefix`,
        nsenter's command): yields its port and the list of what it received."""
        script = ("import socket, sys\n"
                  "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                  "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
                  "print(s.getsockname()[1], flush=True)\n"
                  "while True:\n"
                  "    data, peer = s.recvfrom(65535)\n"
                  "    print(len(data), flush=True)\n"
                  "    s.sendto(data, peer)\n")
        server = subprocess.Popen([*prefix, sys.executable, "-c", script, str(port)], stdout=subprocess.PIPE, text=True)
        try:
            got = []
            port = int(server.stdout.readline())
            reader = threading.Thread(target=lambda: got.extend(int(l) for l in server.stdout), daemon=True)
            reader.start()
            yield port, got
        finally:
            server.kill()
            server.wait()
            server.stdout.close()

    def datagrams(self, *payloads):
        return b"".join(struct.pack(">H", len(p)) + p for p in payloads)

    def test_connect_udp(self):
        with self.udp_echo() as (port, got):
            ch = self.c.open_channel()
            self.assertEqual(self.c.call("connect", port=port, protocol="udp", channel=ch), {})
            # Sent in one go, so frames split datagrams anywhere; each comes back whole.
            payloads = [b"", b"hello", os.urandom(60000), b"x" * 65507, b"last"]
            self.c.write(ch, self.datagrams(*payloads))
            self.assertEqual(self.read_datagrams(ch, len(payloads)), payloads)
            self.c.wait_for(lambda: len(got) == len(payloads))
            self.assertEqual(got, [len(p) for p in payloads])
            # A datagram cut short by the host's EOF is dropped; the socket still
            # receives until the host closes the channel.
            self.c.write(ch, self.datagrams(b"ping") + struct.pack(">H", 10) + b"abc")
            self.c.send_eof(ch)
            self.assertEqual(self.read_datagrams(ch, 1), [b"ping"])
            self.c.send_frame(CLOSE, ch)
            self.c.hello()
            time.sleep(0.2)  # what the agent sent has arrived by then
            self.assertEqual(got, [len(p) for p in payloads] + [4])
            self.assertFalse(self.c.channels[ch].eof)  # UDP has no end of its own
        self.assertEqual(self.c.unsolicited, [])

    def test_connect_udp_survives_a_refused_datagram(self):
        port = self.free_port()
        ch = self.c.open_channel()
        self.c.call("connect", port=port, protocol="udp", channel=ch)
        self.c.write(ch, self.datagrams(b"nobody"))  # answered by ICMP port unreachable
        self.c.hello()
        time.sleep(0.2)
        with self.udp_echo(port) as (_, got):
            self.c.write(ch, self.datagrams(b"now"))
            self.assertEqual(self.read_datagrams(ch, 1), [b"now"])
            self.c.wait_for(lambda: got)
        self.assertEqual(got, [3])
        self.c.send_eof(ch)
        self.c.send_frame(CLOSE, ch)
        self.assertEqual(self.c.unsolicited, [])

    @unittest.skipUnless(shutil.which("nsenter"), "needs nsenter")
    def test_connect_udp_into_a_container_network_namespace(self):
        cid = self.new_id()
        out = self.c.open_channel()
        self.c.call("create", container=cid, stdout=out, config=config(
            self.root, ["sh", "-c", "ip link set lo up && echo up && exec sleep 1000"]))
        pid = self.c.call("start", container=cid)["pid"]
        self.c.wait_for(lambda: b"up" in self.c.channels[out].buf)
        with self.udp_echo(7000, prefix=("nsenter", f"--net=/proc/{pid}/ns/net")) as (_, got):
            ch = self.c.open_channel()
            self.c.call("connect", port=7000, protocol="udp", container=cid, channel=ch)
            self.c.write(ch, self.datagrams(b"inside"))
            self.assertEqual(self.read_datagrams(ch, 1), [b"inside"])
            self.c.wait_for(lambda: got)
            self.assertEqual(got, [6])
        self.c.send_eof(ch)
        self.c.send_frame(CLOSE, ch)
        self.c.call("delete", container=cid, force=True)

    def test_listen_vsock(self):
        # No VM here to connect from: what can be checked is that the agent
        # holds the vsock port (a second bind fails) and refuses bad ports.
        bad = subprocess.run([CTK, "vminitd", "--listen", "vsock:12x"], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("bad vsock port in 'vsock:12x'", bad.stderr)
        try:
            socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close()
        except OSError:
            self.skipTest("no AF_VSOCK in this kernel")
        port = 47000 + os.getpid() % 1000

        def bind():
            with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as s:
                s.bind((socket.VMADDR_CID_ANY, port))

        bind()
        agent = subprocess.Popen([CTK, "vminitd", "--listen", f"vsock:{port}"],
                                 stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    bind()
                except OSError as e:
                    self.assertEqual(e.errno, errno.EADDRINUSE)
                    break
                time.sleep(0.02)
            else:
                self.fail(f"the agent does not hold vsock port {port}")
        finally:
            agent.send_signal(signal.SIGTERM)
            self.assertEqual(agent.wait(10), 0)
        bind()

    def test_stat(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        f = os.path.join(d, "file")
        with open(f, "wb") as out:
            out.write(b"x" * 1234)
        os.chown(f, 1234, 5678)  # before chmod, which would lose the setuid bit to it
        os.chmod(f, 0o4751)
        os.utime(f, ns=(1_600_000_000_123_456_789, 1_700_000_000_987_654_321))
        os.link(f, os.path.join(d, "hard"))
        os.symlink("file", os.path.join(d, "link"))
        os.mkfifo(os.path.join(d, "fifo"))
        st = self.c.call("stat", path=f)
        self.assertEqual(st, {"type": "file", "mode": 0o4751, "uid": 1234, "gid": 5678, "size": 1234,
                              "nlink": 2, "mtime_ns": 1_700_000_000_987_654_321})
        link = self.c.call("stat", path=os.path.join(d, "link"))
        self.assertEqual((link["type"], link["target"], link["size"]), ("symlink", "file", 4))
        self.assertEqual(self.c.call("stat", path=os.path.join(d, "link"), follow=True), st)
        types = {p: self.c.call("stat", path=p)["type"] for p in (d, os.path.join(d, "fifo"), "/dev/null")}
        self.assertEqual(list(types.values()), ["directory", "fifo", "char"])
        for missing in ("nosuch", "file/below"):
            with self.assertRaises(AgentError) as e:
                self.c.call("stat", path=os.path.join(d, missing))
            self.assertEqual(e.exception.code, "not_found")
        # Inside a running container: its own tmpfs on /dev, the image's files.
        cid = self.start_sleeper()
        dev = self.c.call("stat", container=cid, path="/dev")
        self.assertEqual((dev["type"], dev["mode"]), ("directory", 0o755))
        data = self.c.call("stat", container=cid, path="/etc/data.txt")
        self.assertEqual(data["size"], os.stat(os.path.join(self.root, "etc/data.txt")).st_size)
        with self.assertRaises(AgentError) as e:
            self.c.call("stat", container="nope", path="/")
        self.assertEqual(e.exception.code, "not_found")
        self.c.call("delete", container=cid, force=True)

    def test_processes(self):
        sleeper = self.start_sleeper()
        eid = self.exec(sleeper, ["sleep", "1000"])
        done = self.new_id()
        self.c.call("create", container=done, config=config(self.root, ["sh", "-c", "exit 3"]))
        self.c.call("start", container=done)
        self.assertEqual(self.c.call("wait", container=done)["exit_code"], 3)
        created = self.new_id()
        self.c.call("create", container=created, config=config(self.root, ["true"]))
        mine = (sleeper, done, created)
        procs = {(p["container"], p["exec_id"]): p for p in self.c.call("processes")["processes"]
                 if p["container"] in mine}
        self.assertEqual(set(procs), {(sleeper, ""), (sleeper, eid), (done, ""), (created, "")})
        for key in ((sleeper, ""), (sleeper, eid)):
            p = procs[key]
            self.assertEqual((p["state"], p["command"]), ("running", ["sleep", "1000"]))
            self.assertNotIn("exit_code", p)
            with open(f"/proc/{p['pid']}/cmdline", "rb") as f:  # the agent's pid is the host's here
                self.assertEqual(f.read(), b"sleep\0" + b"1000\0")
        self.assertEqual((procs[(done, "")]["state"], procs[(done, "")]["exit_code"]), ("exited", 3))
        self.assertEqual((procs[(created, "")]["state"], procs[(created, "")]["pid"]), ("created", None))
        only = self.c.call("processes", container=sleeper)["processes"]
        self.assertEqual([p["exec_id"] for p in only], ["", eid])
        with self.assertRaises(AgentError) as e:
            self.c.call("processes", container="nope")
        self.assertEqual(e.exception.code, "not_found")
        for cid in mine:
            self.c.call("delete", container=cid, force=True)
        left = [p for p in self.c.call("processes")["processes"] if p["container"] in mine]
        self.assertEqual(left, [])

    def test_dns_writes_resolv_conf_and_hosts(self):
        root = tempfile.mkdtemp(dir=self.tmp)  # no etc/ yet: it is made
        self.c.call("dns", root=root, nameservers=["10.0.2.3", "fd00::3"], search=["example.com"],
                    options=["ndots:2"], hostname="box",
                    hosts=[{"address": "10.0.2.2", "names": ["host.ctk.internal", "gw"]}])
        resolv, hosts = os.path.join(root, "etc/resolv.conf"), os.path.join(root, "etc/hosts")
        with open(resolv) as f:
            self.assertEqual(f.read(), "nameserver 10.0.2.3\nnameserver fd00::3\nsearch example.com\n"
                                       "options ndots:2\n")
        want_hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox\n"
                      "10.0.2.2\thost.ctk.internal gw\n")
        with open(hosts) as f:
            self.assertEqual(f.read(), want_hosts)
        self.assertEqual([os.stat(p).st_mode & 0o7777 for p in (resolv, hosts)], [0o644, 0o644])
        # Only the file whose parts are given is written.
        self.c.call("dns", root=root + "/", nameservers=["1.1.1.1"])
        with open(resolv) as f:
            self.assertEqual(f.read(), "nameserver 1.1.1.1\n")
        with open(hosts) as f:
            self.assertEqual(f.read(), want_hosts)
        self.assertEqual(sorted(os.listdir(os.path.join(root, "etc"))), ["hosts", "resolv.conf"])

    def test_errors_have_codes(self):
        with self.assertRaises(AgentError) as e:
            self.c.call("start", container="nope")
        self.assertEqual(e.exception.code, "not_found")
        with self.assertRaises(AgentError) as e:
            self.c.call("frobnicate")
        self.assertEqual(e.exception.code, "invalid_argument")
        bad = config(self.root, [])
        with self.assertRaises(AgentError) as e:
            self.c.call("create", container="bad", config=bad)
        self.assertEqual((e.exception.code, e.exception.message),
                         ("invalid_argument", "process.args is empty"))
        cid = self.start_sleeper()
        with self.assertRaises(AgentError) as e:
            self.c.call("create", container=cid, config=config(self.root, ["true"]))
        self.assertEqual(e.exception.code, "already_exists")
        with self.assertRaises(AgentError) as e:
            self.c.call("delete", container=cid)
        self.c.call("delete", container=cid, force=True)

    def test_hello_first(self):
        c = Client(self.sock)
        with self.assertRaises(AgentError) as e:
            c.call("create", container="x", config={})
        self.assertIn("hello", e.exception.message)
        res = c.hello()
        self.assertEqual(res["version"], 1)
        self.assertEqual(res["window"], 256 * 1024)
        c.close()

    def test_bad_messages_do_not_kill_the_agent(self):
        c = self.c
        c.send_frame(DATA, 0, b"this is not json\n")
        c.send_frame(DATA, 0, b"[1, 2]\n")
        c.send_frame(DATA, 0, b'{"op": "hello"}\n')  # no id
        c.send_raw(HEADER.pack(9, 0, 0, 0, 3) + b"abc")  # unknown frame type
        c.send_raw(HEADER.pack(0, 0, 0, 77, 2) + b"zz")  # a channel never opened
        big = b'{"id": 5, "op": "hello", "pad": "' + b"x" * (1100 * 1024) + b'"}\n'
        for off in range(0, len(big), 65536):
            c.send_frame(DATA, 0, big[off:off + 65536])
        c.send_frame(DATA, 0, b'{"id": 6, "op": "hello", "version": "one"}\n')
        c.wait_for(lambda: len(c.unsolicited) >= 5)
        self.assertTrue(all(m["error"]["code"] == "invalid_argument" for m in c.unsolicited))
        with self.assertRaises(AgentError):
            c.result(6)
        # Malformed arguments of the guest ops (those that could change the
        # host are in GuestSystemTest): checked before anything is done.
        junk = os.path.join(self.tmp, "junk")
        for op, args in [
                ("stat", {"path": 5}), ("stat", {"path": "relative"}), ("stat", {"path": "/", "follow": "yes"}),
                ("sysctl", {}), ("sysctl", {"keys": ["net..ipv4"]}), ("sysctl", {"keys": "kernel.hostname"}),
                ("sysctl", {"settings": ["x"]}), ("sysctl", {"settings": {"ctk.nonexistent": 5}}),
                ("set_time", {}), ("set_time", {"sec": "now"}), ("set_time", {"sec": -5}),
                ("set_time", {"sec": 1, "nsec": 10**9}), ("set_time", {"sec": 1.5}),
                ("processes", {"container": 5}),
                ("shutdown", {"grace_ms": "soon"}), ("shutdown", {"grace_ms": -1}),
                ("network", {}), ("network", {"interface": "ctk-none0", "address": "10.0.0.1/33"}),
                ("network", {"interface": "ctk-none0", "addresses": "10.0.0.1/8"}),
                ("network", {"interface": "ctk-none0", "gateway": "10.0.0.1/8"}),
                ("network", {"interface": "x" * 20}),
                ("dns", {"root": junk}), ("dns", {"root": junk, "nameservers": ["nope"]}),
                ("dns", {"root": junk, "nameservers": "1.1.1.1"}), ("dns", {"root": junk, "search": ["a b"]}),
                ("dns", {"root": junk, "hosts": [{"address": "1.2.3.4"}]}),
                ("dns", {"root": "relative", "nameservers": ["1.1.1.1"]}),
                ("set_hostname", {}), ("write_file", {"path": junk, "data": "", "mode": -1})]:
            with self.subTest(op=op, args=args):
                with self.assertRaises(AgentError) as e:
                    c.call(op, **args)
                self.assertEqual(e.exception.code, "invalid_argument", e.exception.message)
        self.assertFalse(os.path.exists(junk))
        self.assertEqual(self.run_container(["echo", "alive"])[1], b"alive\n")
        # A frame length over the maximum ends that connection, not the agent.
        c.send_raw(HEADER.pack(0, 0, 0, 1, 1 << 30))
        with self.assertRaises((ConnectionError, OSError)):
            for _ in range(50):
                c.pump(0.1)
        c2 = Client(self.sock)
        c2.hello()
        c2.close()
        self.assertIsNone(self.agent.poll())


CAP_SYS_TIME = 25


@unittest.skipUnless(os.geteuid() == 0 and os.path.exists(BUSYBOX) and
                     all(shutil.which(t) for t in ("unshare", "setpriv", "nsenter", "ip")),
                     "needs root, busybox-static, unshare, setpriv, nsenter and ip")
class GuestSystemTest(AgentTestCase):
    """The ops that change the guest itself (network, hostname, sysctls, the
    clock, shutdown), against agents in private uts and network namespaces
    and without CAP_SYS_TIME, so that nothing here can change the host."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ctk-guest-")
        cls.root = os.path.join(cls.tmp, "rootfs")
        make_rootfs(cls.root)
        cls.log = open(os.path.join(cls.tmp, "agent.log"), "w")
        cls.cgroups = []
        cls.sock = os.path.join(cls.tmp, "agent.sock")
        cls.agent = cls.spawn(cls.sock)

    @classmethod
    def spawn(cls, sock):
        cgroup = own_cgroup(f"ctk-guest-{os.getpid()}-{len(cls.cgroups)}")
        cls.cgroups.append(cgroup)
        return spawn_agent(sock, cgroup, cls.log, unshare=("-u", "-n"),
                           prefix=("setpriv", "--bounding-set", "-sys_time"))

    def setUp(self):
        self.assertIsNone(self.agent.poll(), "the agent died")
        self.c = Client(self.sock)
        self.c.hello()

    def tearDown(self):
        self.c.close()

    def ns(self, kind, *cmd):
        """Runs cmd in the agent's namespace of this kind (-n, -u)."""
        return subprocess.run(["nsenter", "-t", str(self.agent.pid), kind, *cmd], capture_output=True,
                              text=True, check=True).stdout

    def assert_code(self, code, op, **args):
        with self.assertRaises(AgentError) as e:
            self.c.call(op, **args)
        self.assertEqual(e.exception.code, code, e.exception.message)
        return e.exception.message

    def test_network_over_netlink(self):
        # A new network namespace has lo, down: no module is needed for it.
        self.assertNotIn("UP", self.ns("-n", "ip", "-o", "link", "show", "lo").split(">")[0])
        request = {"interface": "lo", "address": "127.0.0.2/8", "addresses": ["10.9.8.7/24", "fd00::7/64"],
                   "gateway": "10.9.8.1"}
        self.c.call("network", **request)
        self.c.call("network", **request)  # again: nothing changes, no error
        self.assertIn(",UP", self.ns("-n", "ip", "-o", "link", "show", "lo"))
        addrs = self.ns("-n", "ip", "-o", "addr", "show", "dev", "lo")
        for want in ("inet 127.0.0.1/8", "inet 127.0.0.2/8 brd 127.255.255.255 scope host",
                     "inet 10.9.8.7/24 brd 10.9.8.255 scope global", "inet6 fd00::7/64 scope global"):
            self.assertIn(want, addrs)
        self.assertEqual(addrs.count("10.9.8.7"), 1)
        self.assertEqual(self.ns("-n", "ip", "route", "show", "default").split(), ["default", "via", "10.9.8.1",
                                                                                  "dev", "lo"])
        self.assertEqual(self.assert_code("not_found", "network", interface="eth0", address="10.0.0.1/24"),
                         "no interface 'eth0'")
        # The kernel's refusal, with its reason (the extended ack).
        message = self.assert_code("internal", "network", interface="lo", gateway="192.0.2.1")
        self.assertTrue(message.startswith("default route via 192.0.2.1 on lo: "), message)
        self.assertIn("gateway", message)
        for bad in ({"address": "10.0.0.1/33"}, {"address": "10.0.0/8"}, {"gateway": "x"},
                    {"addresses": [5]}):
            self.assert_code("invalid_argument", "network", interface="lo", **bad)

    def test_set_hostname_in_the_agents_uts_namespace(self):
        host = socket.gethostname()
        self.c.call("set_hostname", hostname="ctk-guest")
        self.assertEqual(self.ns("-u", "hostname").strip(), "ctk-guest")
        self.assertEqual(self.c.call("sysctl", keys=["kernel.hostname"])["values"],
                         {"kernel.hostname": "ctk-guest"})
        for bad in ("", "x" * 65, "bad name", "-x", "a/b", 5):
            self.assert_code("invalid_argument", "set_hostname", hostname=bad)
        self.assertEqual(self.ns("-u", "hostname").strip(), "ctk-guest")
        self.assertEqual(socket.gethostname(), host)

    def test_sysctl_reads_and_writes(self):
        key = "net.ipv4.ip_forward"  # per network namespace
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            host = f.read().strip()
        before = self.c.call("sysctl", keys=[key])["values"][key]
        want = "0" if before == "1" else "1"
        res = self.c.call("sysctl", settings={key: want}, keys=[key, "net/ipv4/conf/all/forwarding"])
        self.assertEqual(res, {"values": {key: want, "net/ipv4/conf/all/forwarding": want}})
        self.assertEqual(self.ns("-n", "cat", "/proc/sys/net/ipv4/ip_forward").strip(), want)
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            self.assertEqual(f.read().strip(), host)
        self.assertEqual(self.assert_code("not_found", "sysctl", keys=["net.ipv4.nosuch"]),
                         "sysctl net.ipv4.nosuch: No such file or directory")
        self.assert_code("invalid_argument", "sysctl", settings={key: "banana"})  # the kernel's EINVAL
        for bad in ("", "net..ipv4.ip_forward", ".net.ipv4.ip_forward", "net.ipv4.", "/net/ipv4/ip_forward",
                    "net/ipv4/../../../etc/passwd", "net/./ipv4/ip_forward"):
            self.assertEqual(self.assert_code("invalid_argument", "sysctl", settings={bad: want}),
                             f"bad sysctl key '{bad}'")
        # Nothing was written when one key of several is bad.
        self.assert_code("invalid_argument", "sysctl", settings={key: before, "net..x": "1"})
        self.assertEqual(self.ns("-n", "cat", "/proc/sys/net/ipv4/ip_forward").strip(), want)

    def test_set_time_arguments(self):
        # The agent lacks CAP_SYS_TIME (its bounding set): a request that gets
        # past the checks fails in clock_settime, the host clock stays as it is.
        with open(f"/proc/{self.agent.pid}/status") as f:
            eff = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
        self.assertFalse(eff & (1 << CAP_SYS_TIME))
        for bad in ({}, {"sec": "now"}, {"sec": -1}, {"sec": 1.5}, {"sec": 1, "nsec": 10**9},
                    {"sec": 1, "nsec": -1}, {"sec": 1, "nsec": "0"}):
            self.assert_code("invalid_argument", "set_time", **bad)
        message = self.assert_code("internal", "set_time", sec=int(time.time()), nsec=0)
        self.assertEqual(message, "set the clock: Operation not permitted")

    @contextlib.contextmanager
    def own_agent(self, name):
        """An agent of this test's own (shutdown ends it) and a client on it;
        killed afterwards if it is still up."""
        sock = os.path.join(self.tmp, name + ".sock")
        agent = self.spawn(sock)
        c = Client(sock)
        try:
            c.hello()
            yield agent, c
        finally:
            c.close()
            if agent.poll() is None:
                agent.kill()
                agent.wait()

    def test_shutdown_terms_then_kills_then_exits(self):
        with self.own_agent("shutdown") as (agent, c):
            out = c.open_channel()
            # sh with a trap ends on SIGTERM; sleep, its namespace's init,
            # ignores SIGTERM and needs SIGKILL.
            c.call("create", container="trap", stdout=out, config=config(
                self.root, ["sh", "-c", "trap 'exit 7' TERM; echo ready; while true; do sleep 0.1; done"]))
            c.call("start", container="trap")
            c.call("create", container="stubborn", config=config(self.root, ["sleep", "1000"]))
            c.call("start", container="stubborn")
            c.wait_for(lambda: b"ready" in c.channels[out].buf)
            waits = [c.request("wait", container=cid) for cid in ("trap", "stubborn")]
            first = c.request("shutdown", grace_ms=600000)
            self.assertEqual(c.result(waits[0])["exit_code"], 7)
            with self.assertRaises(AgentError) as e:
                c.call("create", container="late", config=config(self.root, ["true"]))
            self.assertEqual(e.exception.message, "the agent is shutting down")
            states = {p["container"]: p["state"] for p in c.call("processes")["processes"]}
            self.assertEqual(states, {"trap": "exited", "stubborn": "running"})
            # A second request with a shorter grace period brings SIGKILL forward.
            second = c.request("shutdown", grace_ms=200)
            self.assertEqual(c.result(second), {})
            self.assertIn(waits[1], c.replies)  # answered before the shutdown
            self.assertEqual(c.result(waits[1])["exit_code"], 137)
            self.assertEqual(c.result(first), {})
            self.assertEqual(agent.wait(30), 0)

    def test_shutdown_with_nothing_running(self):
        with self.own_agent("idle") as (agent, c):
            # A container created but never started: its wait is answered, not left hanging.
            c.call("create", container="idle", config=config(self.root, ["true"]))
            wait = c.request("wait", container="idle")
            self.assertEqual(c.call("shutdown", grace_ms=0), {})
            with self.assertRaises(AgentError) as e:
                c.result(wait)
            self.assertEqual((e.exception.code, e.exception.message),
                             ("not_found", "never started; the agent shut down"))
            self.assertEqual(agent.wait(30), 0)


if __name__ == "__main__":
    unittest.main()
