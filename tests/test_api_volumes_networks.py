"""ctk serve's volume and network endpoints, driven by the real docker CLI
(and raw requests for what the CLI never sends), with the ctk CLI on the
same data root: both must see the same volumes and networks. Containers are
made with `ctk create` and never started: no VM is needed."""
import http.client
import json
import os
import socket
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apifixture import ApiTest  # noqa: E402


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class ApiVolumesNetworksTest(ApiTest):
    def request(self, method, path, body=None):
        """A raw request: (status, the decoded JSON or text answer)."""
        conn = UnixConnection(self.socket)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            conn.request(method, urllib.parse.quote(path, safe="/?=&"), body=body, headers=headers)
            r = conn.getresponse()
            text = r.read().decode()
            try:
                return r.status, json.loads(text) if text else None
            except ValueError:
                return r.status, text
        finally:
            conn.close()

    def container(self, name, *flags):
        """A container made by the ctk CLI (created, not started): its id."""
        self.ctk_ok("create", "--name", name, *flags, "busybox")
        return json.loads(self.ctk_ok("inspect", name))[0]["Id"]

    def remove_container(self, name):
        self.ctk_ok("rm", "-f", name)

    def volume_names(self, *flags):
        return sorted(self.ok("volume", "ls", "-q", *flags).split())

    def network_names(self, *flags):
        return sorted(self.ok("network", "ls", "--format", "{{.Name}}", *flags).split())

    # Volumes

    def test_volume_create_ls_inspect_rm(self):
        self.assertEqual(self.ok("volume", "create", "--label", "env=prod", "--label", "team", "vdata"), "vdata\n")
        # An existing one is no error: docker answers with it again, labels as they were.
        self.assertEqual(self.ok("volume", "create", "vdata"), "vdata\n")
        generated = self.ok("volume", "create").strip()
        self.assertRegex(generated, r"^[0-9a-f]{64}$")
        try:
            [v] = json.loads(self.ok("volume", "inspect", "vdata"))
            self.assertEqual(v["Name"], "vdata")
            self.assertEqual(v["Driver"], "local")
            self.assertEqual(v["Scope"], "local")
            self.assertEqual(v["Labels"], {"env": "prod", "team": ""})
            self.assertEqual(v["Mountpoint"], os.path.join(self.data, "volumes", "vdata", "_data"))
            self.assertTrue(os.path.isdir(v["Mountpoint"]))
            self.assertRegex(v["CreatedAt"], r"^\d{4}-\d\d-\d\dT")

            self.assertIn("vdata", self.volume_names())
            self.assertIn(generated, self.volume_names())
            self.assertEqual(self.volume_names("--filter", "label=env=prod"), ["vdata"])
            self.assertEqual(self.volume_names("--filter", "label=env=dev"), [])
            self.assertEqual(self.volume_names("--filter", "label=team"), ["vdata"])
            self.assertEqual(self.volume_names("--filter", "name=dat", "--filter", "label=env"), ["vdata"])
            self.assertIn("vdata", self.volume_names("--filter", "dangling=true"))
            self.assertNotIn("vdata", self.volume_names("--filter", "dangling=false"))
            self.assertIn("vdata", self.volume_names("--filter", "driver=local"))
            self.assertEqual(self.volume_names("--filter", "driver=nfs"), [])
            table = self.ok("volume", "ls").splitlines()
            self.assertEqual(table[0].split(), ["DRIVER", "VOLUME", "NAME"])
            self.assertIn(["local", "vdata"], [line.split() for line in table])
            self.assertIn("invalid filter", self.fails("volume", "ls", "--filter", "color=red"))
        finally:
            self.assertEqual(self.ok("volume", "rm", "vdata", generated), f"vdata\n{generated}\n")
        self.assertNotIn("vdata", self.volume_names())
        self.assertFalse(os.path.exists(os.path.join(self.data, "volumes", "vdata")))
        self.assertIn("no such volume", self.fails("volume", "inspect", "vdata"))
        self.assertIn("no such volume", self.fails("volume", "rm", "vdata"))
        # -f: a missing one is no error.
        self.ok("volume", "rm", "-f", "vdata")

    def test_volume_create_refusals(self):
        self.assertIn('plugin "nfs" not found', self.fails("volume", "create", "-d", "nfs", "vnfs"))
        self.assertIn("no driver options", self.fails("volume", "create", "-o", "type=tmpfs", "vtmp"))
        self.assertIn("invalid volume name", self.fails("volume", "create", "_bad"))
        self.assertNotIn("vnfs", self.volume_names())
        self.assertNotIn("vtmp", self.volume_names())

    def test_volume_in_use_is_kept(self):
        self.container("vuser", "-v", "vused:/data")
        try:
            # `create -v` made the volume: docker sees it, in use.
            self.assertIn("vused", self.volume_names("--filter", "dangling=false"))
            err = self.fails("volume", "rm", "vused")
            self.assertIn("volume vused is in use by container vuser", err)
            self.assertIn("vused", self.volume_names())
            # prune -a leaves it too: something uses it.
            self.ok("volume", "prune", "-a", "-f")
            self.assertIn("vused", self.volume_names())
        finally:
            self.remove_container("vuser")
        self.assertEqual(self.ok("volume", "rm", "vused"), "vused\n")

    def test_volume_prune(self):
        self.ok("volume", "create", "--label", "keep=yes", "pkeep")
        self.ok("volume", "create", "--label", "keep=no", "pgo")
        with open(os.path.join(self.data, "volumes", "pgo", "_data", "f"), "w") as f:
            f.write("x" * 1500)
        try:
            # Without -a only anonymous volumes go (API 1.42 on): named ones stay.
            self.ok("volume", "prune", "-f")
            self.assertIn("pgo", self.volume_names())
            out = self.ok("volume", "prune", "-a", "-f", "--filter", "label!=keep=yes")
            self.assertIn("Deleted Volumes:\npgo\n", out)
            self.assertIn("Total reclaimed space: 1.5kB", out)
            self.assertNotIn("pgo", self.volume_names())
            self.assertIn("pkeep", self.volume_names())
        finally:
            self.ok("volume", "rm", "-f", "pkeep", "pgo")
        # The API's own answer.
        self.ok("volume", "create", "pgo2")
        status, body = self.request("POST", '/v1.44/volumes/prune?filters={"all":["true"],"label":["nosuch"]}')
        self.assertEqual((status, body), (200, {"VolumesDeleted": [], "SpaceReclaimed": 0}))
        # Before API 1.42 prune takes named ones too.
        status, body = self.request("POST", '/v1.41/volumes/prune?filters={"name":["x"]}')
        self.assertEqual(status, 400)
        status, body = self.request("POST", "/v1.41/volumes/prune")
        self.assertEqual(status, 200)
        self.assertIn("pgo2", body["VolumesDeleted"])

    def test_volumes_from_both_sides(self):
        self.ok("volume", "create", "--label", "from=docker", "vfromdocker")
        self.ctk_ok("volume", "create", "--label", "from=ctk", "vfromctk")
        try:
            self.assertIn("vfromdocker", self.ctk_ok("volume", "ls", "-q").split())
            self.assertEqual(json.loads(self.ctk_ok("volume", "inspect", "vfromdocker"))[0]["Labels"],
                             {"from": "docker"})
            [v] = json.loads(self.ok("volume", "inspect", "vfromctk"))
            self.assertEqual(v["Labels"], {"from": "ctk"})
            self.assertEqual(self.volume_names("--filter", "label=from"), ["vfromctk", "vfromdocker"])
        finally:
            self.ctk_ok("volume", "rm", "vfromdocker")
            self.ok("volume", "rm", "vfromctk")
        self.assertNotIn("vfromdocker", self.volume_names())
        self.assertNotIn("vfromctk", self.ctk_ok("volume", "ls", "-q").split())

    # Networks

    def test_network_create_ls_inspect_rm(self):
        nid = self.ok("network", "create", "--subnet", "10.77.0.0/16", "--ip-range", "10.77.5.0/24",
                      "--gateway", "10.77.0.254", "--internal", "--label", "team=a", "nfront").strip()
        self.assertRegex(nid, r"^[0-9a-f]{64}$")
        try:
            [n] = json.loads(self.ok("network", "inspect", "nfront"))
            self.assertEqual(n["Id"], nid)
            self.assertEqual(n["Name"], "nfront")
            self.assertEqual(n["Driver"], "bridge")
            self.assertEqual(n["Scope"], "local")
            self.assertTrue(n["Internal"])
            self.assertFalse(n["EnableIPv6"])
            self.assertEqual(n["Labels"], {"team": "a"})
            self.assertEqual(n["IPAM"]["Config"],
                             [{"Subnet": "10.77.0.0/16", "IPRange": "10.77.5.0/24", "Gateway": "10.77.0.254"}])
            # By id and by a unique prefix of it too.
            self.assertEqual(self.ok("network", "inspect", "-f", "{{.Name}}", nid), "nfront\n")
            self.assertEqual(self.ok("network", "inspect", "-f", "{{.Name}}", nid[:10]), "nfront\n")

            self.assertIn("bridge", self.network_names())
            self.assertIn("nfront", self.network_names())
            self.assertEqual(self.network_names("--filter", "label=team=a"), ["nfront"])
            self.assertEqual(self.network_names("--filter", "label=team=b"), [])
            self.assertEqual(self.network_names("--filter", "name=fron"), ["nfront"])
            self.assertEqual(self.network_names("--filter", "id=" + nid[:12]), ["nfront"])
            self.assertEqual(self.network_names("--filter", "type=builtin"), ["bridge"])
            self.assertIn("nfront", self.network_names("--filter", "type=custom"))
            self.assertIn("nfront", self.network_names("--filter", "dangling=true"))
            self.assertIn("nfront", self.network_names("--filter", "driver=bridge"))
            self.assertEqual(self.network_names("--filter", "driver=overlay"), [])
            self.assertEqual(self.ok("network", "ls", "-q", "--no-trunc", "--filter", "name=nfront"), nid + "\n")
            table = self.ok("network", "ls", "--filter", "name=nfront").splitlines()
            self.assertEqual(table[1].split(), [nid[:12], "nfront", "bridge", "local"])

            # A name taken, a subnet taken.
            self.assertIn("already exists", self.fails("network", "create", "nfront"))
            self.assertIn("overlaps", self.fails("network", "create", "--subnet", "10.77.8.0/24", "nother"))
        finally:
            self.assertEqual(self.ok("network", "rm", "nfront"), "nfront\n")
        self.assertNotIn("nfront", self.network_names())
        self.assertIn("no such network", self.fails("network", "inspect", "nfront").lower())
        self.fails("network", "rm", "nfront")

    def test_network_create_refusals(self):
        self.assertIn("IPv4 only", self.fails("network", "create", "--ipv6", "n6"))
        self.assertIn("not supported", self.fails("network", "create", "-d", "macvlan", "nmac"))
        self.assertIn('plugin "weave" not found', self.fails("network", "create", "-d", "weave", "nweave"))
        self.assertIn("invalid subnet", self.fails("network", "create", "--subnet", "10.1.2.3/16", "nhost"))
        # The CLI checks the range itself; the server too (test_bad_input_never_crashes).
        self.assertIn("subnet",
                      self.fails("network", "create", "--subnet", "10.78.0.0/16", "--ip-range", "10.79.0.0/24", "nr"))
        self.assertIn("not permitted on predefined host network", self.fails("network", "create", "host"))
        names = self.network_names()
        for n in ("n6", "nmac", "nweave", "nhost", "nr", "host"):
            self.assertNotIn(n, names)

    def test_predefined_networks_stay(self):
        err = self.fails("network", "rm", "bridge")
        self.assertIn("bridge is a pre-defined network and cannot be removed", err)
        status, body = self.request("DELETE", "/v1.44/networks/bridge")
        self.assertEqual(status, 403)
        status, body = self.request("DELETE", "/v1.44/networks/host")
        self.assertEqual((status, body["message"]), (403, "host is a pre-defined network and cannot be removed"))
        self.assertIn("bridge", self.network_names())

    def test_connect_disconnect_and_rm_in_use(self):
        self.ok("network", "create", "--subnet", "10.88.0.0/24", "napp")
        cid = self.container("c1")
        try:
            self.ok("network", "connect", "--alias", "web", "--ip", "10.88.0.20", "napp", "c1")
            [n] = json.loads(self.ok("network", "inspect", "napp"))
            self.assertEqual(list(n["Containers"]), [cid])
            ep = n["Containers"][cid]
            self.assertEqual(ep["Name"], "c1")
            self.assertEqual(ep["IPv4Address"], "10.88.0.20/24")
            # The endpoint file has the alias: the switch's DNS answers it.
            with open(os.path.join(self.data, "networks", "napp", "endpoints", cid + ".json")) as f:
                self.assertEqual(json.load(f)["aliases"], ["web"])
            # The list leaves containers out, as docker's does.
            status, body = self.request("GET", '/v1.44/networks?filters={"name":{"napp":true}}')
            self.assertEqual(status, 200)
            self.assertEqual([(x["Name"], x["Containers"]) for x in body], [("napp", {})])
            self.assertNotIn("napp", self.network_names("--filter", "dangling=true"))
            self.assertIn("napp", self.network_names("--filter", "dangling=false"))

            self.assertIn("already connected", self.fails("network", "connect", "napp", "c1"))
            err = self.fails("network", "rm", "napp")
            self.assertIn("network napp is in use by container c1", err)
            # prune keeps it.
            self.ok("network", "prune", "-f")
            self.assertIn("napp", self.network_names())

            self.ok("network", "disconnect", "napp", "c1")
            self.assertEqual(json.loads(self.ok("network", "inspect", "napp"))[0]["Containers"], {})
            self.assertIn("is not connected", self.fails("network", "disconnect", "napp", "c1"))
            # Force is for endpoints whose container is gone, not for one
            # that is not on the network (docker errs too).
            self.assertIn("is not connected", self.fails("network", "disconnect", "-f", "napp", "c1"))
            status, _ = self.request("POST", "/v1.44/networks/napp/disconnect",
                                     {"Container": "gone-long-ago", "Force": True})
            self.assertEqual(status, 200)
            # Back on, by the ctk CLI: the docker side sees it, at the lowest free address.
            self.ctk_ok("network", "connect", "napp", "c1")
            self.assertEqual(json.loads(self.ok("network", "inspect", "napp"))[0]["Containers"][cid]["IPv4Address"],
                             "10.88.0.2/24")
            self.assertIn("no such container", self.fails("network", "connect", "napp", "nosuch").lower())
            self.assertIn("no such network", self.fails("network", "connect", "nosuchnet", "c1").lower())
        finally:
            self.remove_container("c1")
        # The container gone, the network is free.
        self.assertEqual(self.ok("network", "rm", "napp"), "napp\n")

    def test_connect_disconnect_running_container(self):
        """A running container's VM follows at once: the address comes and goes on its NIC."""
        self.ok("network", "create", "--subnet", "10.89.0.0/24", "nlive")
        try:
            self.ctk_ok("run", "-d", "--name", "rlive", "--network", "bridge", "busybox", "sleep", "1000")
            self.ok("network", "connect", "--ip", "10.89.0.30", "nlive", "rlive")
            self.assertIn("inet 10.89.0.30/24", self.ctk_ok("exec", "rlive", "ip", "addr"))
            self.assertIn("10.89.0.30/24", json.dumps(json.loads(self.ok("network", "inspect", "nlive"))))
            self.assertIn("in use", self.fails("network", "rm", "nlive"))
            self.ok("network", "disconnect", "nlive", "rlive")
            self.assertNotIn("10.89.0.30", self.ctk_ok("exec", "rlive", "ip", "addr"))
        finally:
            self.ctk("rm", "-f", "rlive")
            self.ok("network", "rm", "-f", "nlive")

    def test_network_prune(self):
        self.ok("network", "create", "--label", "keep=yes", "pkeepnet")
        self.ok("network", "create", "--label", "keep=no", "pgonet")
        try:
            out = self.ok("network", "prune", "-f", "--filter", "label=keep=no")
            self.assertEqual(out, "Deleted Networks:\npgonet\n\n")
            self.assertIn("pkeepnet", self.network_names())
            status, body = self.request("POST", '/v1.44/networks/prune?filters={"label!":["keep=yes"]}')
            self.assertEqual((status, body), (200, {"NetworksDeleted": []}))
            status, body = self.request("POST", '/v1.44/networks/prune?filters={"label":["keep=yes"]}')
            self.assertEqual((status, body), (200, {"NetworksDeleted": ["pkeepnet"]}))
            self.assertIn("bridge", self.network_names())
        finally:
            self.ok("network", "rm", "-f", "pkeepnet", "pgonet")

    def test_networks_from_both_sides(self):
        nid = self.ok("network", "create", "--label", "from=docker", "nfromdocker").strip()
        self.ctk_ok("network", "create", "--subnet", "10.99.0.0/24", "nfromctk")
        try:
            [n] = json.loads(self.ctk_ok("network", "inspect", "nfromdocker"))
            self.assertEqual((n["Id"], n["Labels"]), (nid, {"from": "docker"}))
            [n] = json.loads(self.ok("network", "inspect", "nfromctk"))
            self.assertEqual(n["IPAM"]["Config"][0]["Subnet"], "10.99.0.0/24")
        finally:
            self.ctk_ok("network", "rm", "nfromdocker")
            self.ok("network", "rm", "nfromctk")
        self.assertNotIn("nfromctk", self.ctk_ok("network", "ls", "-q", "--format", "{{.Name}}").split())

    def test_compose_lookups(self):
        """What docker-compose 1.29 asks before `up`: the project network by name."""
        labels = {"com.docker.compose.network": "default", "com.docker.compose.project": "proj"}
        status, body = self.request("GET", '/v1.41/networks?filters={"name": ["proj_default"]}')
        self.assertEqual((status, body), (200, []))
        status, body = self.request("GET", "/v1.41/networks/proj_default")
        self.assertEqual(status, 404)
        status, body = self.request("POST", "/v1.41/networks/create",
                                    {"Name": "proj_default", "Driver": "bridge", "Internal": False,
                                     "Attachable": False, "IPAM": None, "Labels": labels,
                                     "Options": {}, "EnableIPv6": False, "CheckDuplicate": True})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["Warning"], "")
        try:
            status, body = self.request("GET", "/v1.41/networks/proj_default")
            self.assertEqual((status, body["Labels"]), (200, labels))
            # docker's name filter matches a part of the name.
            status, body = self.request("GET", '/v1.41/networks?filters={"name": ["proj_"]}')
            self.assertEqual([n["Name"] for n in body], ["proj_default"])
            status, body = self.request("GET", '/v1.41/networks?filters={"label": ["com.docker.compose.project=proj"]}')
            self.assertEqual([n["Name"] for n in body], ["proj_default"])
            # Twice: 409.
            status, body = self.request("POST", "/v1.41/networks/create", {"Name": "proj_default"})
            self.assertEqual(status, 409)
            # Options are accepted and said to be ignored.
            status, body = self.request("POST", "/v1.44/networks/create",
                                        {"Name": "proj_opts", "Options": {"com.docker.network.driver.mtu": "1400"}})
            self.assertEqual(status, 201, body)
            self.assertIn("com.docker.network.driver.mtu", body["Warning"])
            self.assertEqual(self.request("DELETE", "/v1.44/networks/proj_opts")[0], 204)
        finally:
            self.request("DELETE", "/v1.44/networks/proj_default")

    # Both

    def test_docker_inspect_finds_networks_and_volumes(self):
        self.ok("volume", "create", "ivol")
        nid = self.ok("network", "create", "inet").strip()
        try:
            [v] = json.loads(self.ok("inspect", "ivol"))
            self.assertEqual((v["Name"], v["Driver"]), ("ivol", "local"))
            [n] = json.loads(self.ok("inspect", "inet"))
            self.assertEqual((n["Name"], n["Id"]), ("inet", nid))
            self.assertEqual(self.ok("inspect", "--type", "volume", "-f", "{{.Mountpoint}}", "ivol").strip(),
                             os.path.join(self.data, "volumes", "ivol", "_data"))
            self.assertIn("No such object", self.fails("inspect", "nosuchthing"))
        finally:
            self.ok("volume", "rm", "ivol")
            self.ok("network", "rm", "inet")

    def test_bad_input_never_crashes(self):
        bad = [
            ("POST", "/v1.44/volumes/create", "{not json", 400),
            ("POST", "/v1.44/volumes/create", "[1, 2]", 400),
            ("POST", "/v1.44/volumes/create", {"Name": 5}, 400),
            ("POST", "/v1.44/volumes/create", {"Name": "x", "Labels": ["a"]}, 400),
            ("POST", "/v1.44/volumes/create", {"Name": "../escape"}, 400),
            ("GET", "/v1.44/volumes?filters=garbage", None, 400),
            ("GET", '/v1.44/volumes?filters={"color":["red"]}', None, 400),
            ("GET", '/v1.44/volumes?filters={"name":"x"}', None, 400),
            ("POST", '/v1.44/volumes/prune?filters={"all":["maybe"]}', None, 400),
            ("GET", "/v1.44/volumes/nosuch", None, 404),
            ("GET", "/v1.44/volumes/..", None, 404),
            ("DELETE", "/v1.44/volumes/nosuch", None, 404),
            ("POST", "/v1.44/networks/create", "{\"Name\": ", 400),
            ("POST", "/v1.44/networks/create", "\"text\"", 400),
            ("POST", "/v1.44/networks/create", {}, 400),
            ("POST", "/v1.44/networks/create", {"Name": "x", "IPAM": {"Config": "bad"}}, 400),
            ("POST", "/v1.44/networks/create", {"Name": "x", "IPAM": {"Config": [5]}}, 400),
            ("POST", "/v1.44/networks/create", {"Name": "x", "IPAM": []}, 400),
            ("POST", "/v1.44/networks/create", {"Name": "x", "Internal": "yes"}, 400),
            ("POST", "/v1.44/networks/create", {"Name": "x", "EnableIPv6": True}, 400),
            ("POST", "/v1.44/networks/create", {"Name": "bad/name"}, 400),
            ("POST", "/v1.44/networks/create",
             {"Name": "x", "IPAM": {"Config": [{"Subnet": "10.78.0.0/16", "IPRange": "10.79.0.0/24"}]}}, 400),
            ("GET", "/v1.44/networks/nosuch", None, 404),
            ("GET", "/v1.44/networks/bridge?scope=swarm", None, 404),
            ("DELETE", "/v1.44/networks/nosuch", None, 404),
            ("GET", '/v1.44/networks?filters={"type":["weird"]}', None, 400),
            ("GET", "/v1.44/networks?filters=[", None, 400),
            ("POST", "/v1.44/networks/bridge/connect", "{", 400),
            ("POST", "/v1.44/networks/bridge/connect", {"Container": 3}, 400),
            ("POST", "/v1.44/networks/bridge/connect", {}, 400),
            ("POST", "/v1.44/networks/bridge/connect", {"Container": "nosuch"}, 404),
            ("POST", "/v1.44/networks/bridge/connect",
             {"Container": "x", "EndpointConfig": {"IPAMConfig": {"IPv4Address": 7}}}, 400),
            ("POST", "/v1.44/networks/nosuch/connect", {"Container": "x"}, 404),
            ("POST", "/v1.44/networks/bridge/disconnect", {"Container": "nosuch"}, 404),
            ("POST", "/v1.44/networks/bridge/disconnect", {"Container": "nosuch", "Force": "x"}, 400),
            ("POST", '/v1.44/networks/prune?filters={"name":["x"]}', None, 400),
        ]
        for method, path, body, want in bad:
            with self.subTest(method=method, path=path, body=body):
                status, answer = self.request(method, path, body)
                self.assertEqual(status, want, answer)
                self.assertIsInstance(answer, dict)
                self.assertTrue(answer["message"])
        # Force: a container that is not there is no error.
        self.assertEqual(self.request("POST", "/v1.44/networks/bridge/disconnect",
                                      {"Container": "nosuch", "Force": True})[0], 200)
        self.assertIsNone(self.server.poll())
        self.assertEqual(self.request("GET", "/_ping"), (200, "OK"))
        self.assertNotIn("x", self.volume_names())
        self.assertNotIn("x", self.network_names())


if __name__ == "__main__":
    unittest.main()
