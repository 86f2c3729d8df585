"""ctk load and ctk save with real tools: docker-save tarballs made here from
busybox-static (one gzip layer, one plain), OCI layouts made by umoci and
tarred (plain and gzip), skopeo reading the store and the saved archives,
mkrootfs + e2fsck on a loaded image, and every kind of bad archive: each
fails with one line and leaves no reference and nothing half-written."""
import glob
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

import registryfixture as rf
from registryfixture import docker_save_files, sha, tar_bytes

MISSING = [t for t in ("skopeo", "umoci", "e2fsck") if not shutil.which(t)]
if not os.path.exists(rf.BUSYBOX):
    MISSING.append(rf.BUSYBOX + " (busybox-static)")
SKIP = f"missing tools: {', '.join(MISSING)}" if MISSING else ""


class LoadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if MISSING:
            raise unittest.SkipTest(SKIP)
        cls.work = tempfile.mkdtemp(prefix="ctk-load-")
        cls.docker_tar = os.path.join(cls.work, "busybox.tar")
        with open(cls.docker_tar, "wb") as f:
            f.write(tar_bytes(docker_save_files()))
        cls.docker_tgz = cls.docker_tar + ".gz"
        with open(cls.docker_tgz, "wb") as f:
            f.write(gzip.compress(rf.read_bytes(cls.docker_tar)))
        cls.layout = rf.build_layout(cls.work, big=64 << 10)
        cls.v1 = rf.manifest_digest(cls.layout, "v1")
        cls.multi = rf.manifest_digest(cls.layout, "multi")
        cls.oci_tar = cls.tar_layout(cls.layout, "layout.tar")
        cls.oci_tgz = cls.tar_layout(cls.layout, "layout.tar.gz")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def tar_layout(cls, layout, name):
        path = os.path.join(cls.work, name)
        with tarfile.open(path, "w:gz" if name.endswith(".gz") else "w") as t:
            t.add(layout, arcname=".")  # members named ./index.json, as `tar -C DIR .` writes
        return path

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="t-", dir=self.work)
        self.store = os.path.join(self.tmp, "store")
        self.env = dict(os.environ, HOME=self.tmp, CTK_ROOT=self.store)

    def ctk(self, *args, env=None, **kw):
        return rf.ctk(*args, env=env or self.env, **kw)

    def assertOk(self, r):
        self.assertEqual(r.returncode, 0, r.stderr)

    def assertStoreConsistent(self, store=None):
        """Every blob's name is its content's digest; every reference reaches
        only blobs that are there; no temporary file is left in ingest/."""
        store = store or self.store
        for path in glob.glob(os.path.join(store, "blobs", "sha256", "*")):
            with open(path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), os.path.basename(path), path)
        self.assertEqual(glob.glob(os.path.join(store, "blobs", "sha256", ".*")), [])
        self.assertEqual(glob.glob(os.path.join(store, "ingest", "load-*")), [])
        for ref in rf.store_refs(store):
            rf.check("skopeo", "inspect", f"oci:{store}:{ref}")

    def load(self, path, *flags):
        return self.ctk("load", *flags, path)

    def manifest(self, ref, store=None):
        digest = rf.store_refs(store or self.store)[ref]
        return rf.read_json(os.path.join(store or self.store, "blobs", "sha256", digest[7:]))

    # docker save tarballs

    def test_docker_save_tarball(self):
        r = self.load(self.docker_tar)
        self.assertOk(r)
        self.assertEqual(r.stdout, "Loaded image: docker.io/library/busybox:latest\n")
        m = self.manifest("docker.io/library/busybox:latest")
        self.assertEqual(m["mediaType"], "application/vnd.oci.image.manifest.v1+json")
        self.assertEqual(m["config"]["mediaType"], "application/vnd.oci.image.config.v1+json")
        self.assertEqual([l["mediaType"] for l in m["layers"]],
                         ["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar"])
        images = self.ctk("images")
        self.assertOk(images)
        self.assertIn("docker.io/library/busybox:latest", images.stdout)
        self.assertIn("2024-05-01T12:00:00", images.stdout)
        out = os.path.join(self.tmp, "x.ext4")
        self.assertOk(self.ctk("mkrootfs", "busybox", "-o", out))
        fsck = rf.run("e2fsck", "-fn", out)
        self.assertEqual(fsck.returncode, 0, fsck.stdout + fsck.stderr)
        self.assertStoreConsistent()
        # docker save's per-layer VERSION and repositories files stay out of the store.
        self.assertFalse(os.path.exists(os.path.join(self.store, "blobs", "sha256",
                                                     hashlib.sha256(b"1.0").hexdigest())))

    def test_docker_save_gzip_from_stdin_with_several_tags(self):
        path = os.path.join(self.tmp, "two.tar.gz")
        with open(path, "wb") as f:
            f.write(gzip.compress(tar_bytes(docker_save_files(("busybox:latest", "localhost:5000/tools/bb:1.36")))))
        with open(path, "rb") as f:
            r = self.ctk("load", "-q", stdin=f)
        self.assertOk(r)
        self.assertEqual(r.stdout.split(), ["docker.io/library/busybox:latest", "localhost:5000/tools/bb:1.36"])
        refs = rf.store_refs(self.store)
        self.assertEqual(refs["docker.io/library/busybox:latest"], refs["localhost:5000/tools/bb:1.36"])
        # Loading the same archive again (blobs present) changes nothing.
        r = self.load(self.docker_tgz, "-i")
        self.assertOk(r)
        self.assertEqual(rf.store_refs(self.store)["docker.io/library/busybox:latest"], refs["localhost:5000/tools/bb:1.36"])
        self.assertStoreConsistent()

    # OCI image archives

    def test_oci_archive_plain_and_gzip(self):
        for archive in (self.oci_tar, self.oci_tgz):
            with self.subTest(archive=os.path.basename(archive)):
                store = os.path.join(self.tmp, os.path.basename(archive) + ".store")
                r = self.ctk("load", "-i", archive, "--root", store)
                self.assertOk(r)
                self.assertEqual(sorted(r.stdout.splitlines()),
                                 ["Loaded image: arm", "Loaded image: multi", "Loaded image: v1"])
                refs = rf.store_refs(store)
                self.assertEqual(refs["v1"], self.v1)
                self.assertEqual(refs["multi"], self.multi)
                inspect = json.loads(rf.check("skopeo", "inspect", f"oci:{store}:v1").stdout)
                self.assertEqual(inspect["Digest"], self.v1)
                self.assertEqual(len(inspect["Layers"]), 4)
                self.assertStoreConsistent(store)

    # ctk save

    def test_save_then_skopeo_and_a_round_trip_keep_the_digest(self):
        self.assertOk(self.load(self.docker_tar))
        digest = rf.store_refs(self.store)["docker.io/library/busybox:latest"]
        out = os.path.join(self.tmp, "saved.tar")
        r = self.ctk("save", "-o", out, "busybox")
        self.assertOk(r)
        self.assertEqual(r.stdout, "Saved image: docker.io/library/busybox:latest\n")
        inspect = json.loads(rf.check("skopeo", "inspect", f"oci-archive:{out}").stdout)
        self.assertEqual(inspect["Digest"], digest)
        copy = os.path.join(self.tmp, "copy")
        rf.check("skopeo", "copy", "-q", f"oci-archive:{out}:docker.io/library/busybox:latest", f"oci:{copy}:bb")
        # skopeo gzips the plain layer for an oci: layout, so only the config is the same.
        copied = rf.read_json(os.path.join(copy, "blobs", "sha256", rf.manifest_digest(copy, "bb")[7:]))
        self.assertEqual(copied["config"]["digest"], self.manifest("docker.io/library/busybox:latest")["config"]["digest"])
        fresh = os.path.join(self.tmp, "fresh")
        self.assertOk(self.ctk("load", out, "--root", fresh))
        self.assertEqual(rf.store_refs(fresh), {"docker.io/library/busybox:latest": digest})
        self.assertStoreConsistent(fresh)

    def test_save_several_images_and_an_index(self):
        self.assertOk(self.load(self.oci_tar))
        self.assertOk(self.load(self.docker_tar))
        out = os.path.join(self.tmp, "all.tar")
        self.assertOk(self.ctk("save", "-q", "-o", out, "multi", "v1", "busybox", "v1"))
        with tarfile.open(out) as t:
            names = t.getnames()
            index = json.load(t.extractfile("index.json"))
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual([m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]],
                         ["multi", "v1", "docker.io/library/busybox:latest"])
        inspect = json.loads(rf.check("skopeo", "inspect", f"oci-archive:{out}:v1").stdout)
        self.assertEqual(inspect["Digest"], self.v1)
        fresh = os.path.join(self.tmp, "fresh")
        self.assertOk(self.ctk("load", out, "--root", fresh))
        saved = {k: v for k, v in rf.store_refs(self.store).items() if k != "arm"}
        self.assertEqual(rf.store_refs(fresh), saved)
        copy = os.path.join(self.tmp, "copy")
        rf.check("skopeo", "copy", "-q", f"oci-archive:{out}:v1", f"oci:{copy}:v1")
        self.assertEqual(rf.manifest_digest(copy, "v1"), self.v1)
        self.assertStoreConsistent(fresh)

    def test_save_errors(self):
        r = self.ctk("save", "-o", os.path.join(self.tmp, "x.tar"), "nothere:v1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no image 'nothere:v1'", r.stderr)
        self.assertEqual([n for n in os.listdir(self.tmp) if "x.tar" in n], [])
        self.assertEqual(self.ctk("save", "busybox").returncode, 2)
        self.assertEqual(self.ctk("save", "-o", "x.tar").returncode, 2)

    # Bad archives: one line, exit 1, no reference, nothing half-written.

    def assertLoadFails(self, data, *needles):
        path = os.path.join(self.tmp, "bad.tar")
        with open(path, "wb") as f:
            f.write(data)
        r = self.load(path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)
        self.assertEqual(rf.store_refs(self.store), {})
        self.assertStoreConsistent()

    def test_truncated_archives(self):
        data = rf.read_bytes(self.docker_tar)
        self.assertLoadFails(data[:len(data) // 3], "Truncated")
        packed = rf.read_bytes(self.docker_tgz)
        self.assertLoadFails(packed[:len(packed) // 2], "gzip: truncated")
        layout = rf.read_bytes(self.oci_tar)
        self.assertLoadFails(layout[:len(layout) // 2])

    def test_corrupt_gzip(self):
        packed = bytearray(rf.read_bytes(self.docker_tgz))
        packed[len(packed) // 2] ^= 0xff
        self.assertLoadFails(bytes(packed), "gzip")

    def test_not_an_archive(self):
        self.assertLoadFails(b"this is not a tar archive\n" * 100, "bad.tar")
        self.assertLoadFails(b"", "bad.tar")

    def test_missing_manifest(self):
        files = [f for f in docker_save_files() if f[0] != "manifest.json"]
        self.assertLoadFails(tar_bytes(files), "neither manifest.json", "nor index.json")

    def test_layer_listed_but_absent(self):
        files = [f for f in docker_save_files() if f[0] != "bbb/layer.tar"]
        self.assertLoadFails(tar_bytes(files), "'bbb/layer.tar' is listed but not in the archive")

    def test_config_missing_from_docker_archive(self):
        files = [f for f in docker_save_files() if not f[0].endswith(".json") or f[0] == "manifest.json"]
        self.assertLoadFails(tar_bytes(files), ".json' is listed but not in the archive")

    def test_plain_layer_not_matching_its_diff_id(self):
        files = [(n, tar_bytes([("etc", None), ("etc/motd", b"tampered\n")]) if n == "bbb/layer.tar" else d)
                 for n, d in docker_save_files()]
        self.assertLoadFails(tar_bytes(files), "'bbb/layer.tar'", "diff_id")

    def test_an_image_saved_by_id_stays_untagged(self):
        # docker's `save ID` writes no RepoTags; load keeps the image as <none>.
        path = os.path.join(self.tmp, "untagged.tar")
        with open(path, "wb") as f:
            f.write(tar_bytes(docker_save_files(())))
        r = self.load(path)
        self.assertOk(r)
        image_id = r.stdout.strip().removeprefix("Loaded image ID: ")
        self.assertRegex(image_id, "^sha256:[0-9a-f]{64}$")
        refs = rf.store_refs(self.store)
        self.assertEqual(list(refs), [""])
        self.assertEqual(self.manifest("")["config"]["digest"], image_id)
        self.assertStoreConsistent()
        self.assertIn("<none>", self.ctk("images").stdout)
        # Loading it again adds nothing; saving it by id keeps it nameless.
        self.assertOk(self.load(path))
        self.assertEqual(rf.store_refs(self.store), refs)
        out = os.path.join(self.tmp, "by-id.tar")
        r = self.ctk("save", "-o", out, image_id[7:19])
        self.assertOk(r)
        self.assertEqual(r.stdout, f"Saved image: {image_id}\n")
        with tarfile.open(out) as t:
            self.assertNotIn("annotations", json.load(t.extractfile("index.json"))["manifests"][0])
        fresh = os.path.join(self.tmp, "fresh")
        r = self.ctk("load", out, "--root", fresh)
        self.assertEqual(r.stdout, f"Loaded image ID: {image_id}\n")
        self.assertEqual(rf.store_refs(fresh), refs)
        # A tag names it (the untagged entry goes); by id, rmi takes it and its blobs.
        self.assertOk(self.ctk("tag", image_id, "named:v1"))
        self.assertEqual(rf.store_refs(self.store), {"docker.io/library/named:v1": refs[""]})
        self.assertOk(self.ctk("rmi", "named:v1"))
        self.assertOk(self.ctk("rmi", image_id, "--root", fresh))
        self.assertEqual(rf.store_refs(fresh), {})
        self.assertEqual(os.listdir(os.path.join(fresh, "blobs", "sha256")), [])

    def oci_files(self, change=None, drop=None):
        files = []
        for root, _, names in os.walk(self.layout):
            for name in names:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, self.layout)
                if rel == drop:
                    continue
                data = rf.read_bytes(path)
                files.append((rel, change(rel, data) if change else data))
        return files

    def v1_layer(self, i):
        manifest = rf.read_json(os.path.join(self.layout, "blobs", "sha256", self.v1[7:]))
        return "blobs/sha256/" + manifest["layers"][i]["digest"][7:]

    def test_oci_blob_not_matching_its_digest(self):
        layer = self.v1_layer(3)

        def corrupt(rel, data):
            if rel != layer:
                return data
            data = bytearray(data)
            data[len(data) // 2] ^= 0xff
            return bytes(data)
        self.assertLoadFails(tar_bytes(self.oci_files(change=corrupt)), layer, "does not match its digest")

    def test_oci_blob_listed_but_absent(self):
        layer = self.v1_layer(2)
        self.assertLoadFails(tar_bytes(self.oci_files(drop=layer)), "v1", layer[13:], "not in the archive")

    def test_oci_index_not_json(self):
        files = [(n, b"{nope" if n == "index.json" else d) for n, d in self.oci_files()]
        self.assertLoadFails(tar_bytes(files), "index.json")

    def test_usage_errors(self):
        self.assertEqual(self.ctk("load", "a.tar", "b.tar").returncode, 2)
        self.assertEqual(self.ctk("load", "-i", "a.tar", "b.tar").returncode, 2)
        r = self.load(os.path.join(self.tmp, "nothere.tar"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("nothere.tar", r.stderr)


if __name__ == "__main__":
    unittest.main()
