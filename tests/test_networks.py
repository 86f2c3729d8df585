"""Networks in real VMs: containers in different VMs reach each other by
name through ctk's user-space switch (no root, no bridge, no tap); DNS at
each network's gateway; isolation between networks; --internal; addresses
that survive stop/start; IPAM under concurrent creates; the switch killed
and traffic resuming."""
import hashlib
import json
import os
import socket
import struct
import subprocess
import threading
import time
import urllib.request

import hostserver
from test_containers import CTK, ContainerTest

BIG = 100 * 1024 * 1024


class NetworkTest(ContainerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Names no container has go to these resolvers: a fake one the test runs.
        cls.resolv_conf = os.path.join(cls.tmp, "resolv.conf")
        with open(cls.resolv_conf, "w") as f:
            f.write("nameserver 127.0.0.77\n")
        cls.env["CTK_RESOLV_CONF"] = cls.resolv_conf
        cls.dns = FakeResolver("127.0.0.77")
        for args in (["app"], ["other"], ["--internal", "sealed"]):
            cls.cli("network", "create", *args)
        # A web server on `app` with an alias, serving 100 MB of known content.
        cls.cli("run", "-d", "--name", "web", "--network", "app", "--network-alias", "www", "-p", "127.0.0.1:0:8080",
                cls.layer, "sh", "-c",
                "mkdir -p /www && echo hello > /www/index.html && "
                f"yes ctk-network | head -c {BIG} > /www/big && exec httpd -f -p 8080 -h /www")
        cls.big_md5 = hashlib.md5((b"ctk-network\n" * (BIG // 12 + 1))[:BIG]).hexdigest()

    @classmethod
    def tearDownClass(cls):
        cls.dns.close()
        subprocess.run([CTK, "rm", "-f", "web"], env=cls.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        super().tearDownClass()

    @classmethod
    def cli(cls, *args):
        r = subprocess.run([CTK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cls.env, timeout=120)
        assert r.returncode == 0, f"ctk {' '.join(args)}: {r.stderr.decode()}"
        return r.stdout.decode()

    def sh(self, *args, script):
        """A throwaway container running script; its result."""
        return self.ctk("run", "--rm", *args, self.layer, "sh", "-c", script)

    def endpoint(self, container, network):
        return json.loads(self.ok("inspect", container))[0]["NetworkSettings"]["Networks"][network]

    def wait_web(self, via="web"):
        """httpd listens once /www/big is written."""
        self.wait_for("httpd", lambda: self.ctk("exec", "web", "sh", "-c", f"wget -q -O- http://{via}:8080/index.html")
                      .stdout == b"hello\n", timeout=120)

    def test_by_name_and_alias_with_a_checksummed_100mb_transfer(self):
        self.wait_web()
        r = self.sh("--network", "app", script="wget -q -O- http://web:8080/index.html && "
                                               "wget -q -O- http://www:8080/index.html && "
                                               "wget -q -O- http://web:8080/big | md5sum")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        lines = r.stdout.decode().splitlines()
        self.assertEqual(lines[:2], ["hello", "hello"])
        self.assertEqual(lines[2].split()[0], self.big_md5)

    def test_published_port_of_a_container_on_a_network(self):
        self.wait_web()
        port = self.ok("port", "web", "8080").strip()
        self.assertEqual(urllib.request.urlopen(f"http://{port}/index.html", timeout=30).read(), b"hello\n")

    def test_a_container_on_two_networks_reaches_both(self):
        self.wait_web()
        self.run_detached("both-peer", "--network", "other", script="mkdir /w && echo other-side > /w/index.html && "
                                                                    "exec httpd -f -p 8082 -h /w")
        r = self.sh("--network", "other", "--network", "app", script="ip -4 addr show | grep -c 'inet 172'; "
                    "wget -q -O- http://web:8080/index.html; "
                    "until wget -q -O- http://both-peer:8082/index.html; do sleep 0.2; done")
        self.assertEqual(r.stdout.decode().splitlines(), ["2", "hello", "other-side"], r.stderr.decode())

    def test_names_and_addresses_of_other_networks_are_out_of_reach(self):
        self.wait_web()
        ip = self.endpoint("web", "app")["IPAddress"]
        r = self.sh("--network", "other", script=f"nslookup web; echo; timeout 5 wget -q -O- http://{ip}:8080/index.html;"
                                                 " echo wget=$?")
        out = r.stdout.decode()
        self.assertNotIn(ip, out)
        self.assertNotIn("hello", out)
        self.assertIn("wget=", out)
        self.assertNotIn("wget=0", out)

    def test_inspect_resolv_conf_and_hosts(self):
        ep = self.endpoint("web", "app")
        net = json.loads(self.ok("network", "inspect", "app"))[0]
        gateway = net["IPAM"]["Config"][0]["Gateway"]
        self.assertEqual(ep["Gateway"], gateway)
        self.assertEqual(ep["IPPrefixLen"], 16)
        self.assertIn("www", ep["Aliases"])
        self.assertRegex(ep["MacAddress"], r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
        web_id = json.loads(self.ok("inspect", "web"))[0]["Id"]
        self.assertEqual(net["Containers"][web_id]["IPv4Address"], ep["IPAddress"] + "/16")
        self.assertEqual(self.ok("exec", "web", "cat", "/etc/resolv.conf"), f"nameserver {gateway}\noptions ndots:0\n")
        self.assertIn(f"{ep['IPAddress']}\tweb\n", self.ok("exec", "web", "cat", "/etc/hosts"))
        # The switch NIC's frames stay among the VMs: as large as a datagram (the NAT NIC's are 1500).
        links = self.ok("exec", "web", "ip", "link")
        self.assertEqual(links.count("mtu 65520"), 1, links)

    def test_internal_has_no_way_out_and_others_do(self):
        server = hostserver.serve(b"outside\n")
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        port = server.server_address[1]
        # QEMU's NAT shows the host's loopback as 10.0.2.2.
        script = f"timeout 10 wget -q -O- http://10.0.2.2:{port}/; echo wget=$?"
        r = self.sh("--network", "app", script=script)
        self.assertIn("outside\nwget=0", r.stdout.decode())
        r = self.sh("--network", "sealed", script=script)
        self.assertNotIn("outside", r.stdout.decode())
        self.assertNotIn("wget=0", r.stdout.decode())

    def test_outside_names_are_forwarded_except_from_internal_networks(self):
        if not self.dns.ok:
            self.skipTest(f"cannot run a resolver on 127.0.0.77:53: {self.dns.why}")
        r = self.sh("--network", "app", script="nslookup outside.example")
        self.assertIn("192.0.2.7", r.stdout.decode(), r.stderr.decode())
        asked = len(self.dns.queries)
        r = self.sh("--network", "sealed", script="nslookup outside.example")
        self.assertNotIn("192.0.2.7", r.stdout.decode())
        self.assertEqual(len(self.dns.queries), asked)

    def test_a_container_joining_or_leaving_is_seen_at_once(self):
        self.run_detached("late", "--network", "app", "--hostname", "late-host", script="sleep 1000")
        ip = self.endpoint("late", "app")["IPAddress"]
        # No restart, no wait: the next lookup knows it, by name and by hostname.
        self.assertIn(ip, self.ok("exec", "web", "nslookup", "late"))
        self.assertIn(ip, self.ok("exec", "web", "nslookup", "late-host"))
        self.ok("rm", "-f", "late")
        self.assertNotIn(ip, self.ctk("exec", "web", "nslookup", "late").stdout.decode())

    def test_connect_and_disconnect_a_running_container(self):
        self.run_detached("joiner", "--network", "other", script="mkdir /w && echo joined > /w/index.html && "
                                                                 "exec httpd -f -p 8081 -h /w")
        self.ok("network", "connect", "--alias", "extra", "app", "joiner")
        ip = self.endpoint("joiner", "app")["IPAddress"]
        self.assertIn(ip, self.ok("exec", "web", "nslookup", "extra"))
        self.assertEqual(self.ok("exec", "web", "timeout", "20", "wget", "-q", "-O-", "http://joiner:8081/"), "joined\n")
        self.ok("network", "disconnect", "app", "joiner")
        self.assertNotIn(ip, self.ctk("exec", "web", "nslookup", "joiner").stdout.decode())
        r = self.ctk("exec", "web", "timeout", "5", "wget", "-q", "-O-", f"http://{ip}:8081/")
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn(ip, self.ok("exec", "joiner", "ip", "addr"))

    def test_default_bridge_and_a_chosen_address(self):
        r = self.sh("--network", "bridge", script="ip -4 addr show | grep -o 'inet 172.17[0-9.]*'")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), "inet 172.17.0.2\n")
        self.run_detached("chosen", "--network", "app", "--ip", "172.18.9.9", script="sleep 1000")
        self.assertEqual(self.endpoint("chosen", "app")["IPAddress"], "172.18.9.9")
        # Taken: the create fails whole, nothing is left of it.
        r = self.ctk("create", "--name", "dup", "--network", "app", "--ip", "172.18.9.9", self.layer, "true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("172.18.9.9", r.stderr.decode())
        self.assertNotIn("dup", self.ok("ps", "-a"))

    def test_stop_and_start_keep_the_address(self):
        self.run_detached("keeper", "--network", "app", script="sleep 1000")
        before = self.endpoint("keeper", "app")["IPAddress"]
        self.ok("stop", "-t", "0", "keeper")
        self.ok("start", "keeper")
        self.assertEqual(self.endpoint("keeper", "app")["IPAddress"], before)
        self.assertIn(before, self.ok("exec", "keeper", "ip", "addr"))
        self.assertIn(before, self.ok("exec", "web", "nslookup", "keeper"))

    def test_eight_concurrent_creates_get_eight_addresses(self):
        procs = [subprocess.Popen([CTK, "create", "--name", f"ipam{i}", "--network", "app", self.layer, "true"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env) for i in range(8)]
        for i, p in enumerate(procs):
            self.addCleanup(self.ctk, "rm", "-f", f"ipam{i}")
            _, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err.decode())
        addresses = {self.endpoint(f"ipam{i}", "app")["IPAddress"] for i in range(8)}
        self.assertEqual(len(addresses), 8)
        self.assertNotIn(self.endpoint("web", "app")["IPAddress"], addresses)

    def test_removing_a_network_in_use_is_refused(self):
        r = self.ctk("network", "rm", "app")
        self.assertEqual(r.returncode, 1)
        self.assertIn("web", r.stderr.decode())
        self.assertIn("app", self.ok("network", "ls", "--format", "{{.Name}}").split())

    def test_traffic_resumes_after_the_switch_is_killed(self):
        self.wait_web()
        self.run_detached("peer", "--network", "app", script="sleep 1000")
        def switch_pid():
            r = subprocess.run(["pgrep", "-f", f"ctk network-switch --root {self.data}"], stdout=subprocess.PIPE)
            return r.stdout.split()
        [old] = self.wait_for("the switch", switch_pid)
        os.kill(int(old), 9)
        # The supervisors start another; the VMs' links and addresses are as they were.
        self.wait_for("a new switch", lambda: switch_pid() and switch_pid() != [old])
        self.wait_for("traffic", lambda: self.ctk("exec", "peer", "timeout", "5", "wget", "-q", "-O-",
                                                  "http://web:8080/index.html").stdout == b"hello\n")


class FakeResolver:
    """A DNS server on addr:53 answering A 192.0.2.7 for outside.example,
    NXDOMAIN otherwise; it records the names it was asked."""

    def __init__(self, addr):
        self.queries = []
        self.ok = True
        self.why = ""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((addr, 53))
        except OSError as e:
            self.ok, self.why = False, str(e)
            return
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(512)
            except OSError:
                return
            end = data.index(b"\0", 12) + 5
            question = data[12:end]
            qtype = struct.unpack(">H", question[-4:-2])[0]
            labels, i = [], 0
            while question[i]:
                labels.append(question[i + 1:i + 1 + question[i]].decode())
                i += 1 + question[i]
            name = ".".join(labels)
            self.queries.append(name)
            found = name == "outside.example"
            answers = b""
            if found and qtype == 1:
                answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + bytes([192, 0, 2, 7])
            flags = 0x8180 if found else 0x8183
            header = data[:2] + struct.pack(">HHHHH", flags, 1, 1 if answers else 0, 0, 0)
            self.sock.sendto(header + question + answers, peer)

    def close(self):
        self.sock.close()
