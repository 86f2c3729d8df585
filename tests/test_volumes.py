"""Volumes, bind mounts, tmpfs and a read-only root in real VMs: host
directories shared over virtio-fs (virtiofsd), named volumes used by two
running containers at once, data that outlives containers and a killed VM,
read-only mounts enforced, symlinks in a share resolved in the guest; and
the same shares over 9p, with a kernel that has no virtio-fs."""
import json
import os
import signal
import subprocess
import tarfile
import time

import vmkernel
from test_containers import CTK, ContainerTest


class ShareTest(ContainerTest):
    """What tests of shared directories share: helpers, and a second layer
    with files where volumes go."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A first use of a volume copies these in.
        seed = os.path.join(cls.tmp, "seed")
        os.makedirs(os.path.join(seed, "seed", "sub"))
        with open(os.path.join(seed, "seed", "from-image"), "w") as f:
            f.write("image content\n")
        os.chmod(os.path.join(seed, "seed"), 0o750)
        os.chown(os.path.join(seed, "seed", "from-image"), 1234, 5678)
        cls.seed_layer = os.path.join(cls.tmp, "seed.tar")
        with tarfile.open(cls.seed_layer, "w") as tf:
            tf.add(seed, arcname=".")

    def host_dir(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def run_fg(self, *args, script):
        return self.ctk("run", "--rm", *args, self.layer, "sh", "-c", script)

    def volume_data(self, name):
        return os.path.join(self.data, "volumes", name, "_data")


class VolumeTest(ShareTest):
    def test_bind_mount_both_ways(self):
        d = self.host_dir("bind-both")
        with open(os.path.join(d, "from-host"), "w") as f:
            f.write("written on the host\n")
        r = self.run_fg("-v", f"{d}:/data", script="cat /data/from-host && echo from-guest > /data/from-guest && "
                                                   "mkdir /data/dir && chown 1000:1000 /data/dir")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), "written on the host\n")
        with open(os.path.join(d, "from-guest")) as f:
            self.assertEqual(f.read(), "from-guest\n")
        # Owners pass through unchanged: the container's uid is the host's.
        st = os.stat(os.path.join(d, "dir"))
        self.assertEqual((st.st_uid, st.st_gid), (1000, 1000))

    def test_read_only_bind_refuses_writes(self):
        d = self.host_dir("bind-ro")
        r = self.run_fg("-v", f"{d}:/data:ro", script="echo x > /data/f; echo rc=$?")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("rc=1", r.stdout.decode())
        self.assertIn("Read-only file system", r.stderr.decode())
        self.assertFalse(os.path.exists(os.path.join(d, "f")))
        # --mount spells it readonly; a remount inside cannot undo it either (no CAP_SYS_ADMIN).
        r = self.run_fg("--mount", f"type=bind,source={d},target=/data,readonly",
                        script="mount -o remount,rw /data 2>&1; touch /data/g; echo rc=$?")
        self.assertIn("rc=1", r.stdout.decode())
        self.assertFalse(os.path.exists(os.path.join(d, "g")))

    def test_symlink_in_a_share_resolves_in_the_guest(self):
        d = self.host_dir("bind-symlink")
        os.symlink("/etc", os.path.join(d, "etc-link"))
        os.symlink("/etc/hosts", os.path.join(d, "hosts-link"))
        r = self.run_fg("--hostname", "guest-side", "-v", f"{d}:/data",
                        script="grep -c guest-side /data/hosts-link; ls /data/etc-link/")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        lines = r.stdout.decode().splitlines()
        # The container's /etc/hosts (it names the container), not the host's.
        self.assertEqual(lines[0], "1")
        # The container's /etc (busybox's few files), not the host's.
        self.assertIn("passwd", lines[1:])
        self.assertNotIn("os-release", lines[1:])

    def test_single_file_bind(self):
        d = self.host_dir("bind-file")
        path = os.path.join(d, "config.txt")
        with open(path, "w") as f:
            f.write("v1\n")
        with open(os.path.join(d, "sibling"), "w") as f:
            f.write("not for the container\n")
        r = self.run_fg("-v", f"{path}:/etc/app.conf", script="cat /etc/app.conf; echo v2 >> /etc/app.conf; "
                                                              "ls /etc | grep -c sibling")
        self.assertEqual(r.stdout.decode().splitlines()[:2], ["v1", "0"])
        with open(path) as f:
            self.assertEqual(f.read(), "v1\nv2\n")

    def test_missing_bind_source(self):
        missing = os.path.join(self.tmp, "made-by-v", "deeper")
        r = self.run_fg("-v", f"{missing}:/data", script="echo ok > /data/f")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertTrue(os.path.isfile(os.path.join(missing, "f")))
        gone = os.path.join(self.tmp, "never-made")
        r = self.run_fg("--mount", f"type=bind,src={gone},dst=/data", script="true")
        self.assertEqual(r.returncode, 125)
        self.assertIn(f"bind source path does not exist: {gone}", r.stderr.decode())
        self.assertFalse(os.path.exists(gone))
        self.assertNotIn("never-made", self.ok("ps", "-a", "--no-trunc"))

    def test_named_volume_shared_by_two_running_containers(self):
        a = self.run_detached("vol-a", "-v", "shared:/data", script="sleep 1000")
        b = self.run_detached("vol-b", "-v", "shared:/data", script="sleep 1000")
        self.ok("exec", a, "sh", "-c", "echo from-a > /data/a.txt")
        self.assertEqual(self.ok("exec", b, "cat", "/data/a.txt"), "from-a\n")
        self.ok("exec", b, "sh", "-c", "echo from-b >> /data/a.txt")
        self.assertEqual(self.ok("exec", a, "cat", "/data/a.txt"), "from-a\nfrom-b\n")
        # Data outlives both containers.
        self.ok("rm", "-f", a, b)
        r = self.run_fg("-v", "shared:/data", script="cat /data/a.txt")
        self.assertEqual(r.stdout.decode(), "from-a\nfrom-b\n")
        with open(os.path.join(self.volume_data("shared"), "a.txt")) as f:
            self.assertEqual(f.read(), "from-a\nfrom-b\n")

    def test_volumes_from_another_container(self):
        src = self.run_detached("vol-src", "-v", "fromvol:/data", "-v", "/anon", script="sleep 1000")
        self.ok("exec", src, "sh", "-c", "echo shared > /data/f; echo anon > /anon/g")
        r = self.run_fg("--volumes-from", "vol-src", script="cat /data/f /anon/g")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), "shared\nanon\n")
        r = self.run_fg("--volumes-from", "vol-src:ro", script="echo x > /data/h")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"Read-only file system", r.stderr)
        # The --rm runs left vol-src's anonymous volume to it.
        self.assertEqual(self.ok("exec", src, "cat", "/anon/g"), "anon\n")
        r = self.run_fg("--volumes-from", "nosuch", script="true")
        self.assertEqual(r.returncode, 125)
        self.assertIn(b"nosuch", r.stderr)

    def test_volume_survives_stop_start_and_a_killed_vm(self):
        name = "vol-kill"
        self.run_detached(name, "-v", "durable:/data", script="sleep 1000")
        self.ok("exec", name, "sh", "-c", "echo before-stop > /data/f")
        self.ok("stop", "-t", "0", name)
        self.ok("start", name)
        self.assertEqual(self.ok("exec", name, "cat", "/data/f"), "before-stop\n")
        self.ok("exec", name, "sh", "-c", "echo written-then-killed > /data/g")
        cid = json.loads(self.ok("inspect", name))[0]["Id"]
        qemu = subprocess.run(["pgrep", "-f", f"qemu-system.*{cid}"], stdout=subprocess.PIPE).stdout.split()
        self.assertEqual(len(qemu), 1)
        os.kill(int(qemu[0]), signal.SIGKILL)
        self.wait_for("the container to exit", lambda: not self.state(name)["Running"])
        with open(os.path.join(self.volume_data("durable"), "g")) as f:
            self.assertEqual(f.read(), "written-then-killed\n")
        self.ok("start", name)
        self.assertEqual(self.ok("exec", name, "cat", "/data/f", "/data/g"), "before-stop\nwritten-then-killed\n")

    def test_first_use_copies_the_image_files_once(self):
        r = self.ctk("run", "--rm", "-v", "seeded:/seed", self.layer, self.seed_layer, "sh", "-c",
                     "cat /seed/from-image; stat -c '%a %u:%g' /seed /seed/from-image; rm /seed/from-image")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().splitlines(), ["image content", "750 0:0", "644 1234:5678"])
        self.assertTrue(os.path.isdir(os.path.join(self.volume_data("seeded"), "sub")))
        # Emptied by its user, it stays so: the copy happened once.
        os.rmdir(os.path.join(self.volume_data("seeded"), "sub"))
        r = self.ctk("run", "--rm", "-v", "seeded:/seed", self.layer, self.seed_layer, "sh", "-c", "ls -A /seed")
        self.assertEqual(r.stdout.decode(), "")
        # nocopy: an empty volume stays empty.
        r = self.ctk("run", "--rm", "-v", "unseeded:/seed:nocopy", self.layer, self.seed_layer, "sh", "-c",
                     "ls -A /seed")
        self.assertEqual(r.stdout.decode(), "")

    def test_anonymous_volume_goes_with_rm_v(self):
        name = "vol-anon"
        volumes = os.path.join(self.data, "volumes")
        before = set(os.listdir(volumes)) if os.path.isdir(volumes) else set()
        self.ok("create", "--name", name, "-v", "/scratch", "-v", "kept:/kept", self.layer, "true")
        anon = [v for v in set(os.listdir(volumes)) - before if len(v) == 64]
        self.assertEqual(len(anon), 1)
        self.ok("rm", "-v", name)
        self.assertFalse(os.path.exists(os.path.join(self.data, "volumes", anon[0])))
        self.assertTrue(os.path.isdir(self.volume_data("kept")))

    def test_read_only_root_with_tmpfs(self):
        r = self.run_fg("--read-only", "--tmpfs", "/scratch:size=1m",
                        script="touch /x 2>&1; echo rc=$?; echo ok > /scratch/f && cat /scratch/f; "
                               "dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>&1 | grep -o 'No space.*'; "
                               "grep ' /scratch ' /proc/mounts")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        out = r.stdout.decode()
        self.assertIn("Read-only file system", out)
        self.assertIn("rc=1", out)
        self.assertIn("ok\n", out)
        self.assertIn("No space left on device", out)
        self.assertRegex(out, r"tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k")

    def test_bad_mount_flags(self):
        for flags, message in [(["-v", "relative/path:/data"], "neither an absolute host path"),
                               (["-v", "/tmp:data"], "not an absolute path"),
                               (["-v", "/tmp:/"], "cannot be /"),
                               (["-v", "/tmp:/a:rx"], "unknown option 'rx'"),
                               (["--mount", "type=nfs,dst=/a"], "type must be bind, volume or tmpfs"),
                               (["--tmpfs", "/a:sise=1m"], "unknown tmpfs option 'sise=1m'"),
                               (["-v", "/tmp:/a", "--tmpfs", "/a"], "duplicate mount point: /a")]:
            r = self.ctk("create", *flags, self.layer, "true")
            self.assertEqual(r.returncode, 125 if "duplicate" in message else 2, (flags, r.stderr))
            self.assertIn(message, r.stderr.decode(), flags)
            self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1, r.stderr)
        self.assertNotIn("true", self.ok("ps", "-a", "--no-trunc"))

    def test_a_kernel_without_virtio_fs_or_9p_is_named(self):
        # The test kernel (Debian's cloud kernel has no 9p) with virtiofs
        # and 9p taken out of its modules.dep.
        kernel = vmkernel.without_modules(self.kernel, os.path.join(self.tmp, "no-shares"), {"virtiofs", "9p"})
        runtime = os.path.join(self.tmp, "run", "ctk")

        def listing():
            return sorted(os.listdir(runtime)) if os.path.isdir(runtime) else []
        before = self.ok("ps", "-aq"), listing()
        r = self.ctk("run", "--rm", "--kernel", kernel, "-v", f"{self.tmp}:/data", self.layer, "true")
        self.assertEqual(r.returncode, 125)
        err = r.stderr.decode()
        self.assertIn(f"the guest kernel {kernel} has neither virtio-fs (module virtiofs or CONFIG_VIRTIO_FS=y) "
                      "nor 9p (modules 9p and 9pnet_virtio", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual((self.ok("ps", "-aq"), listing()), before)
        # Without a share the same kernel boots.
        r = self.ctk("run", "--rm", "--kernel", kernel, self.layer, "true")
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_an_image_volume_gets_an_anonymous_volume_filled_from_the_image(self):
        import registryfixture as rf
        busybox = rf.read_bytes(rf.BUSYBOX)
        layers = [(rf.tar_bytes([("bin", None), ("bin/busybox", busybox)]), True),
                  (rf.tar_bytes([("var", None), ("var/lib", None), ("var/lib/data", None),
                                 ("var/lib/data/seeded", b"from the image\n")]), False)]
        archive = os.path.join(self.tmp, "volimage.tar")
        with open(archive, "wb") as f:
            f.write(rf.tar_bytes(rf.docker_save_files(("volimage:1",), layers=layers, config={
                "Cmd": ["/bin/busybox", "cat", "/var/lib/data/seeded"], "Volumes": {"/var/lib/data": {}}})))
        self.ok("load", "-i", archive)
        volumes = os.path.join(self.data, "volumes")
        before = set(os.listdir(volumes)) if os.path.isdir(volumes) else set()
        name = "vol-image"
        self.ok("create", "--name", name, "volimage:1")
        self.addCleanup(self.ctk, "rm", "-f", "-v", name)
        info = json.loads(self.ok("inspect", name))[0]
        self.assertEqual(info["Config"]["Volumes"], {"/var/lib/data": {}})
        mount = [m for m in info["Mounts"] if m["Destination"] == "/var/lib/data"]
        self.assertEqual(len(mount), 1, info["Mounts"])
        self.assertEqual(mount[0]["Type"], "volume")
        self.assertEqual(len(mount[0]["Name"]), 64)
        self.assertEqual(self.ok("start", "-a", name), "from the image\n")
        with open(os.path.join(self.volume_data(mount[0]["Name"]), "seeded")) as f:
            self.assertEqual(f.read(), "from the image\n")
        # --rm takes its anonymous volume with it.
        r = self.ctk("run", "--rm", "volimage:1")
        self.assertEqual((r.returncode, r.stdout.decode()), (0, "from the image\n"), r.stderr)
        self.assertEqual({v for v in set(os.listdir(volumes)) - before if len(v) == 64}, {mount[0]["Name"]})


class NinePTest(ShareTest):
    """Shares over 9p, the fallback: Debian's generic kernel (it has 9p and
    virtio-fs; the cloud kernel has no 9p) with virtio-fs taken out."""

    @classmethod
    def setUpClass(cls):
        generic = vmkernel.generic_kernel()  # before any set-up: it may skip the class
        super().setUpClass()
        cls.kernel = vmkernel.without_modules(generic, os.path.join(cls.tmp, "no-virtiofs"), {"virtiofs"})
        cls.env.pop("CTK_KERNEL_X86_64", None)
        cls.env["CTK_KERNEL"] = cls.kernel

    def test_bind_mounts_both_ways_and_a_single_file(self):
        d = self.host_dir("9p-bind")
        with open(os.path.join(d, "from-host"), "w") as f:
            f.write("written on the host\n")
        path = os.path.join(self.host_dir("9p-file"), "config.txt")
        with open(path, "w") as f:
            f.write("v1\n")
        r = self.run_fg("-v", f"{d}:/data", "-v", f"{path}:/etc/app.conf",
                        script="grep ' /data ' /proc/mounts | cut -d' ' -f3; cat /data/from-host && "
                               "echo from-guest > /data/from-guest && mkdir /data/dir && chown 1000:1000 /data/dir && "
                               "cat /etc/app.conf && echo v2 >> /etc/app.conf")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), "9p\nwritten on the host\nv1\n")
        with open(os.path.join(d, "from-guest")) as f:
            self.assertEqual(f.read(), "from-guest\n")
        st = os.stat(os.path.join(d, "dir"))
        self.assertEqual((st.st_uid, st.st_gid), (1000, 1000))
        with open(path) as f:
            self.assertEqual(f.read(), "v1\nv2\n")

    def test_read_only_bind_refuses_writes_on_the_host(self):
        d = self.host_dir("9p-ro")
        # Even remounted read-write in the guest (CAP_SYS_ADMIN allows it), the share refuses: QEMU does.
        r = self.run_fg("--cap-add", "SYS_ADMIN", "-v", f"{d}:/data:ro",
                        script="touch /data/f; echo rc=$?; mount -o remount,rw /data && "
                               "mount -o remount,bind,rw /data && grep -c ' /data 9p rw,' /proc/mounts; "
                               "touch /data/g; echo rc=$?")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().split(), ["rc=1", "1", "rc=1"])
        self.assertEqual(r.stderr.decode().count("Read-only file system"), 2, r.stderr.decode())
        self.assertEqual(os.listdir(d), [])

    def test_named_volume_keeps_data_between_containers(self):
        r = self.ctk("run", "--rm", "-v", "ninep:/seed", self.layer, self.seed_layer, "sh", "-c",
                     "stat -c '%a %u:%g' /seed /seed/from-image; echo kept > /seed/new")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().splitlines(), ["750 0:0", "644 1234:5678"])
        r = self.run_fg("-v", "ninep:/seed", script="cat /seed/new /seed/from-image")
        self.assertEqual(r.stdout.decode(), "kept\nimage content\n", r.stderr.decode())
        with open(os.path.join(self.volume_data("ninep"), "new")) as f:
            self.assertEqual(f.read(), "kept\n")
