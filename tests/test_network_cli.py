"""ctk network: create, ls, inspect, rm, prune, connect and disconnect against
a temporary data root, and how networks follow the containers on them
(created, never started: no VM is needed)."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import CliTest  # noqa: E402


class NetworkCliTest(CliTest):
    prefix = "ctk-network-test-"

    def network(self, *args):
        return self.ok("network", *args[:1], "--root", self.root, *args[1:])

    def failed(self, *args, code=1):
        """Runs `ctk network ARGS`, which must fail with one line on stderr."""
        r = self.ctk("network", *args[:1], "--root", self.root, *args[1:])
        self.assertEqual(r.returncode, code, f"ctk network {' '.join(args)}: {r.stdout}{r.stderr}")
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        return r

    def names(self, *flags):
        return self.network("ls", "--format", "{{.Name}}", *flags).split()

    def inspect(self, name):
        [n] = json.loads(self.network("inspect", name))
        return n

    def container(self, name):
        self.ok("create", "--root", self.root, "--name", name, self.layer, "sh")
        return json.loads(self.ok("inspect", "--root", self.root, name))[0]["Id"]

    def disk(self):
        """Everything under <root>/networks but the lock: what a refused command must leave as it was."""
        state = {}
        top = os.path.join(self.root, "networks")
        for d, _, files in os.walk(top):
            for f in files:
                path = os.path.join(d, f)
                if f != ".lock":
                    with open(path) as fh:
                        state[os.path.relpath(path, top)] = fh.read()
        return state

    def test_create_ls_inspect(self):
        app = self.network("create", "app").strip()
        self.assertRegex(app, r"^[0-9a-f]{64}$")
        self.assertTrue(os.path.isfile(os.path.join(self.root, "networks", "app", "network.json")))
        mine = self.network("create", "--subnet", "10.5.0.0/24", "--gateway", "10.5.0.254", "--internal",
                            "--label", "env=prod", "--label", "team", "-d", "bridge", "mine").strip()
        bridge = self.inspect("bridge")["Id"]
        self.assertEqual(self.names(), ["app", "bridge", "mine"])

        table = self.network("ls").splitlines()
        self.assertEqual(table[0], "NETWORK ID     NAME      DRIVER    SCOPE")
        self.assertEqual(table[1:], [f"{app[:12]}   app       bridge    local",
                                     f"{bridge[:12]}   bridge    bridge    local",
                                     f"{mine[:12]}   mine      bridge    local"])
        self.assertEqual(self.network("ls", "-q").split(), [app[:12], bridge[:12], mine[:12]])
        self.assertEqual(self.network("ls", "-q", "--no-trunc").split(), [app, bridge, mine])
        self.assertEqual(self.network("ls", "--format", "table {{.Name}}\\t{{.Internal}}").splitlines(),
                         ["NAME      INTERNAL", "app       false", "bridge    false", "mine      true"])
        lines = [json.loads(line) for line in self.network("ls", "--format", "json").splitlines()]
        self.assertEqual(lines[2]["Labels"], "env=prod,team=")
        self.assertEqual(lines[2]["ID"], mine[:12])
        self.assertEqual(sorted(lines[2]), ["CreatedAt", "Driver", "ID", "IPv6", "Internal", "Labels", "Name",
                                            "Scope"])
        self.assertRegex(lines[2]["CreatedAt"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$")
        self.assertEqual(self.names("--filter", "name=ap"), ["app"])
        self.assertEqual(self.names("-f", "id=" + mine[:8]), ["mine"])
        self.assertEqual(self.names("--filter", "label=env=prod"), ["mine"])
        self.assertEqual(self.names("--filter", "type=builtin"), ["bridge"])
        self.assertEqual(self.names("--filter", "type=custom", "--filter", "label=team"), ["mine"])
        self.assertEqual(self.names("--filter", "dangling=true"), ["app", "mine"])  # bridge never is
        self.assertEqual(self.names("--filter", "driver=bridge"), ["app", "bridge", "mine"])

        n = self.inspect("mine")
        self.assertEqual(n["Name"], "mine")
        self.assertEqual(n["Id"], mine)
        self.assertEqual(n["IPAM"], {"Driver": "default", "Options": {},
                                     "Config": [{"Subnet": "10.5.0.0/24", "Gateway": "10.5.0.254"}]})
        self.assertTrue(n["Internal"])
        self.assertEqual(n["Labels"], {"env": "prod", "team": ""})
        self.assertEqual(n["Containers"], {})
        for key, value in {"Scope": "local", "Driver": "bridge", "EnableIPv6": False, "Attachable": False,
                           "Ingress": False, "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
                           "Options": {}}.items():
            self.assertEqual(n[key], value, key)
        # docker's pools: app took the first after bridge's.
        self.assertEqual(self.inspect("app")["IPAM"]["Config"], [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}])
        self.assertEqual(self.inspect("bridge")["IPAM"]["Config"],
                         [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}])
        self.assertEqual(self.network("create", "next").strip(), self.inspect("next")["Id"])
        self.assertEqual(self.inspect("next")["IPAM"]["Config"][0]["Subnet"], "172.19.0.0/16")
        # By id and by id prefix too.
        self.assertEqual(self.inspect(mine)["Name"], "mine")
        self.assertEqual(self.inspect(mine[:10])["Name"], "mine")

        r = self.failed("inspect", "app", "nosuch")
        self.assertEqual(r.stderr, "ctk network inspect: no such network: nosuch\n")
        self.assertEqual([n["Name"] for n in json.loads(r.stdout)], ["app"])

    def test_bad_input_changes_nothing(self):
        self.network("create", "app")
        web = self.container("web")
        self.network("connect", "app", "web")
        before = self.disk()
        for args, message in [
            (["create", "--subnet", "10.0.0.0/33", "x"], "invalid subnet '10.0.0.0/33': want an IPv4 ADDRESS/LENGTH"
                                                         " such as 172.18.0.0/16"),
            (["create", "--subnet", "fd00::/64", "x"], "invalid subnet 'fd00::/64': want an IPv4 ADDRESS/LENGTH"
                                                       " such as 172.18.0.0/16"),
            (["create", "--subnet", "10.0.0.1/24", "x"], "invalid subnet 10.0.0.1/24: host bits set"
                                                         " (did you mean 10.0.0.0/24?)"),
            (["create", "--subnet", "10.0.0.0/30", "x"], "invalid subnet 10.0.0.0/30: too small, the longest"
                                                         " prefix is /29"),
            (["create", "--subnet", "172.18.5.0/24", "x"], "subnet 172.18.5.0/24 overlaps network app"
                                                           " (172.18.0.0/16)"),
            (["create", "--subnet", "10.9.0.0/24", "--gateway", "10.8.0.1", "x"],
             "gateway 10.8.0.1 is not a host address of subnet 10.9.0.0/24"),
            (["create", "--subnet", "10.9.0.0/24", "--gateway", "nope", "x"],
             "invalid gateway 'nope': want an IPv4 address"),
            (["create", "bad/name"], "invalid network name 'bad/name': 1 to 255 characters, without '/', ':'"
                                     " or control characters, not starting with '.' or '-'"),
            (["create", ".x"], "invalid network name '.x': 1 to 255 characters, without '/', ':' or control"
                               " characters, not starting with '.' or '-'"),
            (["create", "app"], "network with name app already exists"),
            (["create", "bridge"], "network with name bridge already exists"),
            (["create", "none"], "network name 'none' is reserved: it is a mode of --network"),
            (["create", "-d", "overlay", "x"], "network driver 'overlay' is not supported: only bridge"),
            (["rm", "nosuch"], "no such network: nosuch"),
            (["rm", "bridge"], "bridge is a pre-defined network and cannot be removed"),
            (["connect", "nosuch", "web"], "no such network: nosuch"),
            (["connect", "app", "nosuch"], "no such container: nosuch"),
            (["connect", "app", "web"], f"container {web[:12]} is already connected to network app"),
            (["connect", "bridge", "--ip", "10.0.0.2", "web"],
             "10.0.0.2 is not a host address on network bridge (172.17.0.0/16)"),
            (["connect", "bridge", "--ip", "172.17.0.1", "web"],
             "172.17.0.1 is the gateway's address on network bridge (172.17.0.0/16)"),
            (["connect", "--ip", "1.2.3", "bridge", "web"], "invalid --ip '1.2.3': want an IPv4 address"),
            (["disconnect", "bridge", "web"], f"container {web[:12]} is not connected to network bridge"),
            (["disconnect", "nosuch", "web"], "no such network: nosuch"),
        ]:
            with self.subTest(args=args):
                r = self.failed(*args)
                self.assertEqual(r.stderr, f"ctk network {args[0]}: {message}\n")
                self.assertEqual(r.stdout, "")
                self.assertEqual(self.disk(), before)

    def test_usage_errors(self):
        for args in (["network"], ["network", "frob"], ["network", "ls", "x"], ["network", "ls", "--bogus"],
                     ["network", "ls", "--filter", "color=red"], ["network", "ls", "--filter", "scope=galaxy"], ["network", "ls", "--filter", "type=mine"],
                     ["network", "ls", "--format", "{{.Nope}}"], ["network", "create"],
                     ["network", "create", "a1", "b1"], ["network", "create", "--gateway", "10.0.0.1", "a1"], ["network", "create", "--ip-range", "10.0.0.0/24", "a1"],
                     ["network", "create", "--label", "=v", "a1"], ["network", "rm"], ["network", "inspect"],
                     ["network", "prune", "--filter", "dangling=true"], ["network", "connect", "app"],
                     ["network", "disconnect", "a", "b", "c"]):
            with self.subTest(args=args):
                r = self.ctk(*args, "--root", self.root)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        r = self.ctk("network", "connect", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("Usage: ctk network connect [--alias NAME]..."))
        self.assertIn("--ip", r.stdout)

    def test_containers_on_a_network(self):
        self.network("create", "--subnet", "10.7.0.0/24", "app")
        web, db = self.container("web"), self.container("db")
        self.assertEqual(self.network("connect", "--alias", "frontend", "--alias", "www", "app", "web"), "")
        self.assertEqual(self.network("connect", "--ip", "10.7.0.50", "app", db[:8]), "")
        self.network("connect", "bridge", "db")
        # docker ps's network filter: a network's name or id.
        ps = lambda f: [json.loads(line)["Names"] for line in
                        self.ok("ps", "--root", self.root, "-a", "--format", "json", "--filter", f).splitlines()]
        self.assertEqual(sorted(ps("network=app")), ["db", "web"])
        self.assertEqual(ps("network=" + self.inspect("bridge")["Id"]), ["db"])
        self.assertEqual(ps("network=nosuch"), [])
        endpoints = os.path.join(self.root, "networks", "app", "endpoints")
        self.assertEqual(sorted(os.listdir(endpoints)), sorted([web + ".json", db + ".json"]))
        with open(os.path.join(endpoints, web + ".json")) as f:
            self.assertEqual(json.load(f)["aliases"], ["frontend", "www"])

        containers = self.inspect("app")["Containers"]
        self.assertEqual(set(containers), {web, db})
        self.assertEqual(containers[web]["Name"], "web")
        self.assertEqual(containers[web]["IPv4Address"], "10.7.0.2/24")
        self.assertEqual(containers[web]["MacAddress"], "02:42:0a:07:00:02")
        self.assertEqual(containers[web]["IPv6Address"], "")
        self.assertRegex(containers[web]["EndpointID"], r"^[0-9a-f]{64}$")
        self.assertEqual(containers[db]["IPv4Address"], "10.7.0.50/24")
        self.assertEqual(self.inspect("bridge")["Containers"][db]["IPv4Address"], "172.17.0.2/16")
        # A rename shows at once.
        self.ok("rename", "--root", self.root, "db", "database")
        self.assertEqual(self.inspect("app")["Containers"][db]["Name"], "database")

        # In use, running or not: rm is refused naming them, prune keeps it.
        r = self.failed("rm", "app")
        self.assertEqual(r.stderr, "ctk network rm: network app is in use by containers database, web\n")
        self.network("create", "unused")
        self.assertEqual(self.network("prune", "-f"), "Deleted Networks:\nunused\n\n")
        self.assertEqual(self.names("--filter", "dangling=false"), ["app", "bridge"])

        self.assertEqual(self.network("disconnect", "app", "database"), "")
        self.assertEqual(set(self.inspect("app")["Containers"]), {web})
        r = self.failed("disconnect", "app", "database")
        self.assertEqual(r.stderr, f"ctk network disconnect: container {db[:12]} is not connected to network app\n")
        self.assertEqual(self.network("disconnect", "-f", "app", "database"), "")
        self.assertEqual(self.network("disconnect", "-f", "app", "nosuch"), "")
        # Its address is free again: the next one gets the lowest.
        self.network("connect", "app", "database")
        self.assertEqual(self.inspect("app")["Containers"][db]["IPv4Address"], "10.7.0.3/24")

        # rm frees the container's addresses on every network.
        self.ok("rm", "--root", self.root, "web")
        self.assertEqual(set(self.inspect("app")["Containers"]), {db})
        self.assertEqual(os.listdir(endpoints), [db + ".json"])
        r = self.failed("rm", "app")
        self.assertEqual(r.stderr, "ctk network rm: network app is in use by container database\n")
        self.ok("rm", "--root", self.root, "database")
        self.assertEqual(self.inspect("bridge")["Containers"], {})
        self.assertEqual(self.network("rm", "app"), "app\n")
        self.assertFalse(os.path.exists(os.path.join(self.root, "networks", "app")))

    def test_ip_range_and_new_filters(self):
        self.network("create", "--subnet", "10.6.0.0/16", "--ip-range", "10.6.9.0/30", "--label", "a=b", "ranged")
        self.assertEqual(self.inspect("ranged")["IPAM"]["Config"],
                         [{"Subnet": "10.6.0.0/16", "IPRange": "10.6.9.0/30", "Gateway": "10.6.0.1"}])
        self.container("r1")
        self.network("connect", "ranged", "r1")
        # The range's first address: a host address of the /16, as docker's IPAM hands it out.
        self.assertEqual(list(self.inspect("ranged")["Containers"].values())[0]["IPv4Address"], "10.6.9.0/16")
        self.assertEqual(self.names("--filter", "scope=local", "--filter", "label=a"), ["ranged"])
        self.assertEqual(self.names("--filter", "scope=swarm"), [])
        r = self.failed("create", "--subnet", "10.5.0.0/16", "--ip-range", "10.4.0.0/24", "outside")
        self.assertEqual(r.stderr, "ctk network create: IP range 10.4.0.0/24 is not inside subnet 10.5.0.0/16\n")

    def test_rm_and_prune(self):
        a = self.network("create", "a").strip()
        self.network("create", "b")
        self.assertEqual(self.network("rm", a[:12], "b"), f"{a[:12]}\nb\n")
        self.assertEqual(self.names(), ["bridge"])
        r = self.failed("rm", "nosuch")
        self.assertEqual(r.stderr, "ctk network rm: no such network: nosuch\n")
        self.assertEqual(self.network("rm", "-f", "nosuch"), "")
        self.network("create", "c")
        r = self.ctk("network", "rm", "--root", self.root, "nosuch", "c")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (1, "c\n", "ctk network rm: no such network: nosuch\n"))

        self.network("create", "--label", "keep=1", "n1")
        self.network("create", "n2")
        self.assertEqual(self.network("prune", "--filter", "label!=keep"), "Deleted Networks:\nn2\n\n")
        self.assertEqual(self.network("prune", "--filter", "label=other"), "")
        self.assertEqual(self.network("prune"), "Deleted Networks:\nn1\n\n")
        self.assertEqual(self.network("prune"), "")
        self.assertEqual(self.names(), ["bridge"])

    def test_generation_moves_with_every_change(self):
        self.network("ls")  # makes bridge
        def generation():
            with open(os.path.join(self.root, "networks", ".generation")) as f:
                return f.read()
        seen = [generation()]
        self.network("create", "app")
        seen.append(generation())
        self.container("web")
        self.network("connect", "app", "web")
        seen.append(generation())
        self.ok("rm", "--root", self.root, "web")
        seen.append(generation())
        self.network("rm", "app")
        seen.append(generation())
        self.assertTrue(all(re.fullmatch(r"\d+\n", g) for g in seen), seen)
        self.assertEqual(len(set(seen)), len(seen), seen)


if __name__ == "__main__":
    unittest.main()
