"""Real registries for the image tests: Debian's docker-registry on 127.0.0.1
(plain HTTP, TLS with a self-signed CA, TLS + htpasswd Basic auth), test
images built with umoci from hand-made layers around busybox-static and
pushed with skopeo, a fault-injecting HTTP proxy with a token server, and a
docker credential helper."""
import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.parse

CTK = os.environ.get("CTK", "build/ctk")
TOOLS = ["docker-registry", "skopeo", "umoci", "openssl", "htpasswd"]
BUSYBOX = "/bin/busybox"


def missing_tools():
    missing = [t for t in TOOLS if not shutil.which(t)]
    if not os.path.exists(BUSYBOX):
        missing.append(BUSYBOX + " (busybox-static)")
    return missing


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, **kw):
    return subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_text(path):
    with open(path) as f:
        return f.read()


def read_json(path):
    with open(path) as f:
        return json.load(f)


def check(*args, **kw):
    r = run(*args, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {r.stderr.strip()}")
    return r


def ctk(*args, env=None, **kw):
    return run(CTK, *args, env=env, **kw)


class Registry:
    """docker-registry serving from a temp dir; tls and htpasswd optional."""

    def __init__(self, workdir, name, tls=False, user=None, password=None):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.certs = None
        cfg = [
            "version: 0.1",
            "log:",
            "  level: error",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.dir}/data",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
        ]
        if tls:
            self.certs = os.path.join(self.dir, "certs")
            os.makedirs(self.certs)
            key, crt = os.path.join(self.dir, "key.pem"), os.path.join(self.certs, "ca.crt")
            check("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                  "-days", "2", "-subj", "/CN=ctk test registry", "-addext", "subjectAltName=IP:127.0.0.1")
            cfg += ["  tls:", f"    certificate: {crt}", f"    key: {key}"]
        if user:
            htpasswd = os.path.join(self.dir, "htpasswd")
            check("htpasswd", "-Bbc", htpasswd, user, password)
            cfg += ["auth:", "  htpasswd:", "    realm: ctk-test", f"    path: {htpasswd}"]
        path = os.path.join(self.dir, "config.yml")
        with open(path, "w") as f:
            f.write("\n".join(cfg) + "\n")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", path], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("docker-registry did not start: " + read_text(self.log.name))
                time.sleep(0.05)

    def push(self, layout, ref, repo_tag, all_images=False, user=None, password=None):
        args = ["skopeo", "copy", "-q"]
        if all_images:
            args.append("--all")
        if self.certs:
            args += ["--dest-cert-dir", self.certs]
        else:
            args.append("--dest-tls-verify=false")
        if user:
            args += ["--dest-creds", f"{user}:{password}"]
        check(*args, f"oci:{layout}:{ref}", f"docker://{self.host}/{repo_tag}")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def _tar(entries):
    """entries: (name, kind, payload): kind file/dir/symlink/hardlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                t.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, payload
                t.addfile(info)
            else:
                info.mode, info.size = 0o755, len(payload)
                t.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def tar_bytes(files):
    """files: (name, bytes or None for a directory)."""
    return _tar([(name, "dir" if data is None else "file", data) for name, data in files])


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def docker_save_files(tags=("busybox:latest",), config=None, layers=None):
    """The members of a `docker save` tarball (legacy form): the layers
    (tarballs, each with whether to gzip it; by default a gzip layer with
    busybox, a plain layer with /etc/motd) in aaa/, bbb/, ..., the image
    config (its "config" member: `config`, or a Cmd and an Env), manifest.json."""
    if layers is None:
        busybox = read_bytes(BUSYBOX)
        layers = [(tar_bytes([("bin", None), ("bin/busybox", busybox), ("etc", None)]), True),
                  (tar_bytes([("etc", None), ("etc/motd", b"loaded by ctk\n")]), False)]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-05-01T12:00:00Z",
        "config": {"Cmd": ["/bin/busybox", "sh"], "Env": ["PATH=/bin"]} if config is None else config,
        "rootfs": {"type": "layers", "diff_ids": [sha(tar) for tar, _ in layers]},
    }).encode()
    cid = hashlib.sha256(config).hexdigest()
    dirs = [chr(ord("a") + i) * 3 for i in range(len(layers))]
    manifest = [{"Config": f"{cid}.json", "RepoTags": list(tags), "Layers": [f"{d}/layer.tar" for d in dirs]}]
    files = []
    for d, (tar, compress) in zip(dirs, layers):
        files += [(d, None), (f"{d}/VERSION", b"1.0"),
                  (f"{d}/layer.tar", gzip.compress(tar, mtime=0) if compress else tar)]
    return files + [
        (f"{cid}.json", config),
        ("manifest.json", json.dumps(manifest).encode()),
        ("repositories", b"{}"),
    ]


def build_layout(workdir, big=2 << 20, arm_busybox=None):
    """An OCI layout with images 'v1' (4 layers: busybox, a hard link, a
    symlink, a whiteout, an opaque dir, `big` random-ish bytes) and 'multi'
    (an index: linux/amd64 = v1, linux/arm64 = a one-layer image, with
    `arm_busybox` as /bin/busybox and /bin/sh when given)."""
    layout = os.path.join(workdir, "layout")
    check("umoci", "init", "--layout", layout)
    check("umoci", "new", "--image", f"{layout}:v1")
    busybox = read_bytes(BUSYBOX)
    layers = [
        [("bin", "dir", None), ("bin/busybox", "file", busybox), ("bin/sh", "symlink", "busybox"),
         ("bin/ls", "hardlink", "bin/busybox"), ("etc", "dir", None), ("etc/hostname", "file", b"ctk\n"),
         ("etc/removeme", "file", b"gone\n"), ("opt", "dir", None), ("opt/data", "dir", None),
         ("opt/data/old.txt", "file", b"old\n")],
        [("etc", "dir", None), ("etc/.wh.removeme", "file", b""), ("opt", "dir", None), ("opt/data", "dir", None),
         ("opt/data/.wh..wh..opq", "file", b""), ("opt/data/new.txt", "file", b"new\n")],
        [("usr", "dir", None), ("usr/big.bin", "file",
                                b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(big // 32)))],
        [("etc", "dir", None), ("etc/motd", "file", b"hello from ctk\n")],
    ]
    for i, entries in enumerate(layers):
        path = os.path.join(workdir, f"layer{i}.tar")
        with open(path, "wb") as f:
            f.write(_tar(entries))
        check("umoci", "raw", "add-layer", "--image", f"{layout}:v1", path)
    check("umoci", "config", "--image", f"{layout}:v1", "--config.cmd", "/bin/sh", "--architecture", "amd64",
          "--os", "linux")
    # The arm64 sibling: one small layer.
    check("umoci", "new", "--image", f"{layout}:arm")
    path = os.path.join(workdir, "arm.tar")
    arm_entries = [("etc", "dir", None), ("etc/arch", "file", b"arm64\n")]
    if arm_busybox:
        arm_entries += [("bin", "dir", None), ("bin/busybox", "file", read_bytes(arm_busybox)),
                        ("bin/sh", "symlink", "busybox")]
    with open(path, "wb") as f:
        f.write(_tar(arm_entries))
    check("umoci", "raw", "add-layer", "--image", f"{layout}:arm", path)
    check("umoci", "config", "--image", f"{layout}:arm", "--architecture", "arm64", "--os", "linux")
    # The index 'multi', written by hand: umoci makes no indexes.
    index = read_json(os.path.join(layout, "index.json"))
    by_name = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index["manifests"]}
    entries = []
    for name, arch in (("v1", "amd64"), ("arm", "arm64")):
        d = dict(by_name[name])
        d.pop("annotations", None)
        d["platform"] = {"architecture": arch, "os": "linux"}
        entries.append(d)
    blob = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": entries}).encode()
    digest = hashlib.sha256(blob).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(blob)
    index["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
                               "digest": "sha256:" + digest, "size": len(blob),
                               "annotations": {"org.opencontainers.image.ref.name": "multi"}})
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    return layout


def store_refs(store):
    """ref name -> manifest digest, from a store's (an OCI layout's) index.json;
    an untagged entry's name is ""."""
    path = os.path.join(store, "index.json")
    if not os.path.exists(path):
        return {}
    index = read_json(path)
    return {m.get("annotations", {}).get("org.opencontainers.image.ref.name", ""): m["digest"]
            for m in index["manifests"]}


def manifest_digest(layout, ref):
    index = read_json(os.path.join(layout, "index.json"))
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            return m["digest"]
    raise KeyError(ref)


CREDENTIAL_HELPER = r"""#!/usr/bin/env python3
# docker-credential-ctktest: a credential helper as docker's protocol has it
# (ACTION argument; the server URL, or for store a JSON object, on stdin;
# "credentials not found" errors on stdout), keeping its credentials in
# store.json beside itself and logging each call to calls.log.
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "store.json")
creds = json.load(open(path)) if os.path.exists(path) else {}
action, request = sys.argv[1], sys.stdin.read()
with open(os.path.join(here, "calls.log"), "a") as log:
    log.write(json.dumps([action, request]) + "\n")
def save():
    with open(path, "w") as f:
        json.dump(creds, f)
def not_found():
    print("credentials not found in native keychain")
    sys.exit(1)
if action == "store":
    req = json.loads(request)
    creds[req["ServerURL"]] = [req["Username"], req["Secret"]]
    save()
elif action == "get":
    if request not in creds:
        not_found()
    print(json.dumps({"ServerURL": request, "Username": creds[request][0], "Secret": creds[request][1]}))
elif action == "erase":
    if creds.pop(request, None) is None:
        not_found()
    save()
elif action == "list":
    print(json.dumps({url: c[0] for url, c in creds.items()}))
else:
    print("unknown action " + action)
    sys.exit(1)
"""


class CredentialHelper:
    """docker-credential-ctktest in its own directory (put it on PATH)."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "helper-bin")
        os.makedirs(self.dir)
        path = os.path.join(self.dir, "docker-credential-ctktest")
        with open(path, "w") as f:
            f.write(CREDENTIAL_HELPER)
        os.chmod(path, 0o755)
        self.store_path = os.path.join(self.dir, "store.json")

    def store(self):
        """server URL -> [username, secret]"""
        return read_json(self.store_path) if os.path.exists(self.store_path) else {}

    def put(self, server, user, secret):
        creds = self.store()
        creds[server] = [user, secret]
        with open(self.store_path, "w") as f:
            json.dump(creds, f)

    def calls(self):
        """[action, stdin] of each run"""
        path = os.path.join(self.dir, "calls.log")
        return [json.loads(line) for line in read_text(path).splitlines()] if os.path.exists(path) else []


class Proxy:
    """A plain-HTTP proxy in front of a plain registry that misbehaves on
    request: mode is a function (method, path, attempt) -> action, one of
    None (pass through), "429", "corrupt", "truncate", "slow", "garbage-manifest",
    "redirect:HOST:PORT" (a 307 to the same path there)."""

    def __init__(self, upstream_port, mode=lambda method, path, n: None, token=None, token_basic=None,
                 expires_in=300, token_lifetime=None, refresh_token=None):
        self.upstream_port = upstream_port
        self.mode = mode
        # With token: the Bearer flow, tokens from /token on this proxy
        # (which wants Basic token_basic, base64 of user:password, when set).
        # The answer says expires_in; with token_lifetime (seconds) every
        # token is new ("TOKEN.N") and refused with 401 once that old, which
        # may be sooner than it said (a revoked token). POST /token trades
        # refresh_token (an identity token) for one, as in OAuth2.
        self.token = token
        self.token_basic = token_basic
        self.expires_in = expires_in
        self.token_lifetime = token_lifetime
        self.refresh_token = refresh_token
        self.issued = {}  # token -> time.monotonic() when issued
        self.expired = []  # expired tokens that were refused
        self.token_requests = []
        self.token_posts = []  # the form of each POST /token
        self.authorization = []  # the Authorization header of each proxied request
        self.attempts = {}
        self.lock = threading.Lock()
        self.requests = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.forward("HEAD")

            def do_GET(self):
                self.forward("GET")

            def forward(self, method):
                with proxy.lock:
                    n = proxy.attempts.get(self.path, 0)
                    proxy.attempts[self.path] = n + 1
                    proxy.requests.append((method, self.path, self.headers.get("Range")))
                    proxy.authorization.append(self.headers.get("Authorization"))
                if proxy.token and self.path.startswith("/token"):
                    return self.issue_token()
                if proxy.token and not proxy.token_valid(self.headers.get("Authorization")):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", f'Bearer realm="http://{proxy.host}/token",'
                                     f'service="ctk-test",scope="repository:test/busybox:pull"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                action = proxy.mode(method, self.path, n)
                if action and action.startswith("redirect:"):
                    self.send_response(307)
                    self.send_header("Location", f"http://{action[9:]}{self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if action == "429":
                    return self.refuse(429)
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(method, self.path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if action == "garbage-manifest" and "/manifests/" in self.path:
                    body = b"{this is not json"
                if action == "corrupt" and resp.status == 200 and len(body) > 1000:
                    body = body[:500] + bytes([body[500] ^ 0xFF]) + body[501:]
                self.send_response(resp.status)
                drop = ["content-length", "connection", "transfer-encoding"]
                if action == "garbage-manifest":
                    drop.append("docker-content-digest")
                for k, v in resp.getheaders():
                    if k.lower() not in drop:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method == "HEAD":
                    return
                if action == "slow":
                    for i in range(0, len(body), 16384):
                        self.wfile.write(body[i:i + 16384])
                        self.wfile.flush()
                        time.sleep(0.02)
                    return
                if action == "truncate" and len(body) > 1000:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            def do_POST(self):
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
                form = {k: v[0] for k, v in form.items()}
                with proxy.lock:
                    proxy.token_posts.append(form)
                if not (proxy.token and self.path.startswith("/token") and proxy.refresh_token):
                    return self.refuse(404)
                if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != proxy.refresh_token:
                    return self.refuse(401)
                self.send_token("access_token")

            def refuse(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def issue_token(self):
                with proxy.lock:
                    proxy.token_requests.append((self.path, self.headers.get("Authorization")))
                want = proxy.token_basic
                if want and self.headers.get("Authorization") != "Basic " + want:
                    return self.refuse(401)
                self.send_token("token")

            def send_token(self, key):
                with proxy.lock:
                    token = proxy.token
                    if proxy.token_lifetime is not None:
                        token += f".{len(proxy.issued)}"
                    proxy.issued[token] = time.monotonic()
                body = json.dumps({key: token, "expires_in": proxy.expires_in}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # clients that go away mid-transfer (kill -9) are expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token_valid(self, authorization):
        token = (authorization or "")[len("Bearer "):] if (authorization or "").startswith("Bearer ") else None
        with self.lock:
            issued = self.issued.get(token)
            if issued is None:
                return False
            if self.token_lifetime is not None and time.monotonic() - issued >= self.token_lifetime:
                self.expired.append(token)
                return False
            return True

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
