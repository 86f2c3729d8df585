"""ctk volume: create, ls, inspect, rm and prune against a temporary data
root, and how volumes follow the containers that use them (created, never
started: no VM is needed)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import CliTest  # noqa: E402


class VolumeCliTest(CliTest):
    prefix = "ctk-volume-test-"

    def volume(self, *args):
        return self.ok("volume", *args[:1], "--root", self.root, *args[1:])

    def names(self, *flags):
        return self.volume("ls", "-q", *flags).split()

    def test_create_ls_inspect(self):
        self.assertEqual(self.volume("create", "--label", "env=prod", "data"), "data\n")
        # An existing name is no error: docker prints it again.
        self.assertEqual(self.volume("create", "data"), "data\n")
        generated = self.volume("create").strip()
        self.assertRegex(generated, r"^[0-9a-f]{64}$")
        self.assertEqual(self.names(), sorted(["data", generated]))
        table = self.volume("ls").splitlines()
        self.assertEqual(table[0], "DRIVER    VOLUME NAME")
        self.assertIn("local     data", table)
        self.assertEqual(self.names("--filter", "label=env=prod"), ["data"])
        self.assertEqual(self.names("-f", "name=dat", "-f", "dangling=true"), ["data"])
        self.assertEqual(self.names("--filter", "dangling=false"), [])
        lines = [json.loads(line) for line in self.volume("ls", "--format", "json").splitlines()]
        self.assertEqual({v["Name"] for v in lines}, {"data", generated})

        [v] = json.loads(self.volume("inspect", "data"))
        self.assertEqual(v["Name"], "data")
        self.assertEqual(v["Driver"], "local")
        self.assertEqual(v["Scope"], "local")
        self.assertEqual(v["Labels"], {"env": "prod"})
        self.assertEqual(v["Mountpoint"], os.path.join(self.root, "volumes", "data", "_data"))
        self.assertTrue(os.path.isdir(v["Mountpoint"]))
        self.assertEqual(json.loads(self.ok("inspect", "--root", self.root, "data"))[0]["Name"], "data")
        self.assertEqual(json.loads(self.ok("inspect", "--root", self.root, "--type", "volume", "data"))[0], v)

        r = self.ctk("volume", "inspect", "--root", self.root, "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ctk volume inspect: no such volume: nosuch\n")

    def test_usage_errors(self):
        for args in (["volume"], ["volume", "frob"], ["volume", "ls", "--bogus"], ["volume", "ls", "x"],
                     ["volume", "ls", "--filter", "color=red"], ["volume", "prune", "--filter", "driver=local"], ["volume", "ls", "--format", "yaml"],
                     ["volume", "create", "a1", "b1"], ["volume", "rm"], ["volume", "inspect"],
                     ["volume", "prune", "--filter", "dangling=true"], ["volume", "rm", "-q", "x"]):
            with self.subTest(args=args):
                r = self.ctk(*args, "--root", self.root)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        r = self.ctk("volume", "ls", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--quiet", r.stdout)
        r = self.ctk("volume", "create", "--root", self.root, "bad/name")
        self.assertEqual(r.returncode, 1)
        self.assertIn("invalid volume name", r.stderr)

    def test_rm(self):
        self.volume("create", "data")
        self.volume("create", "more")
        self.assertEqual(self.volume("rm", "data", "more"), "data\nmore\n")
        self.assertEqual(self.names(), [])
        r = self.ctk("volume", "rm", "--root", self.root, "data")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ctk volume rm: no such volume: data\n")
        self.assertEqual(self.volume("rm", "-f", "data"), "")

    def test_volumes_in_use_by_a_created_container(self):
        self.ok("create", "--root", self.root, "--name", "web", "-v", "data:/data", "-v", "/anon",
                "--tmpfs", "/t:size=1m", "--read-only", self.layer, "sh")
        self.ok("create", "--root", self.root, "--name", "db", "--mount", "type=volume,src=data,dst=/d,readonly",
                self.layer, "sh")
        [anon] = [n for n in self.names() if n != "data"]
        self.assertRegex(anon, r"^[0-9a-f]{64}$")
        self.assertEqual(self.names("--filter", "dangling=true"), [])
        # docker ps's volume filter: a volume's name or a mount point.
        ps = lambda f: [json.loads(line)["Names"] for line in
                        self.ok("ps", "--root", self.root, "-a", "--format", "json", "--filter", f).splitlines()]
        self.assertEqual(sorted(ps("volume=data")), ["db", "web"])
        self.assertEqual(ps("volume=/anon"), ["web"])
        self.assertEqual(ps(f"volume={anon}"), ["web"])
        self.assertEqual(ps("volume=nosuch"), [])

        r = self.ctk("volume", "rm", "--root", self.root, "data")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ctk volume rm: volume data is in use by containers db, web\n")
        # Prune leaves what containers use.
        self.assertEqual(self.volume("prune", "-a", "-f"), "Total reclaimed space: 0B\n")

        [c] = json.loads(self.ok("inspect", "--root", self.root, "web"))
        mounts = {m["Destination"]: m for m in c["Mounts"]}
        self.assertEqual(mounts["/data"], {
            "Type": "volume", "Name": "data", "Source": os.path.join(self.root, "volumes", "data", "_data"),
            "Destination": "/data", "Driver": "local", "Mode": "", "RW": True, "Propagation": ""})
        self.assertEqual(mounts["/anon"]["Name"], anon)
        self.assertEqual(mounts["/t"]["Type"], "tmpfs")
        self.assertEqual(c["HostConfig"]["Binds"], ["data:/data"])
        self.assertEqual(c["HostConfig"]["Tmpfs"], {"/t": "size=1m"})
        self.assertTrue(c["HostConfig"]["ReadonlyRootfs"])
        self.assertEqual(c["Config"]["Volumes"], {"/anon": {}})
        [c] = json.loads(self.ok("inspect", "--root", self.root, "db"))
        self.assertEqual(c["Mounts"][0]["RW"], False)
        self.assertEqual(c["Mounts"][0]["Mode"], "ro")

        # rm -v takes the anonymous volume, never a named one.
        self.ok("rm", "--root", self.root, "-v", "web")
        self.assertEqual(self.names(), ["data"])
        r = self.ctk("volume", "rm", "--root", self.root, "data")
        self.assertEqual(r.stderr, "ctk volume rm: volume data is in use by container db\n")
        self.ok("rm", "--root", self.root, "-v", "db")
        self.assertEqual(self.names("--filter", "dangling=true"), ["data"])
        self.assertEqual(self.volume("rm", "data"), "data\n")

    def test_bind_mounts_in_inspect(self):
        host = os.path.join(self.root, "host")
        self.ok("create", "--root", self.root, "--name", "b", "-v", f"{host}:/h:ro", self.layer, "sh")
        [c] = json.loads(self.ok("inspect", "--root", self.root, "b"))
        self.assertEqual(c["Mounts"], [{"Type": "bind", "Source": host, "Destination": "/h", "Mode": "ro",
                                        "RW": False, "Propagation": "rprivate"}])
        self.assertEqual(c["HostConfig"]["Binds"], [f"{host}:/h:ro"])
        self.assertIsNone(c["Config"]["Volumes"])
        self.assertNotIn("Tmpfs", c["HostConfig"])

    def test_prune(self):
        self.volume("create", "--label", "keep=1", "named")
        self.volume("create", "other")
        self.ok("create", "--root", self.root, "--name", "c", "-v", "/anon", self.layer, "sh")
        [anon] = [n for n in self.names() if n not in ("named", "other")]
        with open(os.path.join(self.root, "volumes", anon, "_data", "f"), "w") as f:
            f.write("x" * 1500)
        self.ok("rm", "--root", self.root, "c")  # without -v: the anonymous volume stays, unused
        self.assertEqual(self.volume("prune"), f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 1.5kB\n")
        self.assertEqual(self.volume("prune", "-a", "--filter", "label!=keep"),
                         "Deleted Volumes:\nother\n\nTotal reclaimed space: 0B\n")
        self.assertEqual(self.names(), ["named"])
        self.assertEqual(self.volume("prune", "--all", "--filter", "label=keep=1"),
                         "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n")


if __name__ == "__main__":
    unittest.main()
