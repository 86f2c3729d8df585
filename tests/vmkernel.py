"""A guest kernel for VM tests: $CTK_KERNEL when set, else Debian's cloud
kernel fetched with `apt-get download` and unpacked with `dpkg -x` into a
cache (seconds; installing the package would run update-initramfs for
minutes). Its modules get a modules.dep from depmod, which the .deb lacks."""
import glob
import os
import subprocess

CACHE = os.environ.get("CTK_TEST_CACHE", "/var/tmp/ctk-test-cache")


def _unpacked(package, root):
    """Downloads Debian `package` (e.g. "busybox-static:arm64") with apt-get
    and unpacks it with dpkg -x into `root`; raises SkipTest when apt cannot."""
    import unittest

    dl = os.path.join(CACHE, "debs")
    os.makedirs(dl, exist_ok=True)
    r = subprocess.run(["apt-get", "download", package], cwd=dl, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    name, _, arch = package.partition(":")
    debs = glob.glob(os.path.join(dl, f"{name}_*_{arch or '*'}.deb"))
    if r.returncode or not debs:
        raise unittest.SkipTest(f"cannot download {package}: {r.stdout.strip()[-200:]}")
    os.makedirs(root, exist_ok=True)
    subprocess.run(["dpkg", "-x", sorted(debs)[-1], root], check=True)


def kernel(arch="amd64"):
    """Path of a Debian cloud kernel image for `arch` ("amd64", "arm64"), or
    raises unittest.SkipTest with the reason. $CTK_KERNEL (amd64) or
    $CTK_KERNEL_AARCH64 (arm64) win when set."""
    import unittest

    env = os.environ.get("CTK_KERNEL" if arch == "amd64" else "CTK_KERNEL_AARCH64")
    if env:
        return env
    qemu = "qemu-system-x86_64" if arch == "amd64" else "qemu-system-aarch64"
    for tool in (qemu, "apt-get", "dpkg", "depmod"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
            raise unittest.SkipTest(f"{tool} is not installed")
    root = os.path.join(CACHE, "kernel" if arch == "amd64" else "kernel-" + arch)
    found = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    if found:
        return found[-1]
    # The meta package names the current cloud kernel; download that one.
    meta = f"linux-image-cloud-{arch}" + ("" if arch == "amd64" else ":" + arch)
    dep = subprocess.run(["apt-cache", "depends", meta], stdout=subprocess.PIPE, text=True).stdout
    names = [l.split(":", 1)[1].strip() for l in dep.splitlines() if l.strip().startswith("Depends:")]
    if not names:
        raise unittest.SkipTest(f"{meta} is not known to apt (dpkg --add-architecture, apt-get update)")
    _unpacked(names[0].split(":")[0] + ("" if arch == "amd64" else ":" + arch), root)
    found = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    release = os.path.basename(found[-1])[len("vmlinuz-"):]
    subprocess.run(["depmod", "-b", root, release], check=True)
    return found[-1]


def busybox_static(arch="amd64"):
    """Path of a static busybox for `arch`: the host's for amd64, Debian's
    busybox-static:ARCH unpacked into the cache otherwise."""
    if arch == "amd64":
        return "/bin/busybox"
    root = os.path.join(CACHE, "busybox-" + arch)
    path = os.path.join(root, "bin", "busybox")
    if not os.path.exists(path):
        _unpacked("busybox-static:" + arch, root)
    return path


def busybox_rootfs(directory, arch="amd64"):
    """A busybox-static root filesystem tree for `arch` in `directory`."""
    bb = busybox_static(arch)
    for d in ("bin", "proc", "sys", "dev", "etc", "root", "tmp", "home/user"):
        os.makedirs(os.path.join(directory, d), exist_ok=True)
    os.chmod(os.path.join(directory, "tmp"), 0o1777)
    with open(bb, "rb") as src, open(os.path.join(directory, "bin/busybox"), "wb") as dst:
        dst.write(src.read())
    os.chmod(os.path.join(directory, "bin/busybox"), 0o755)
    # The host's busybox lists the applets: a foreign one cannot run here.
    applets = subprocess.run(["/bin/busybox", "--list"], stdout=subprocess.PIPE, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(directory, "bin", a))
    with open(os.path.join(directory, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
    with open(os.path.join(directory, "etc/group"), "w") as f:
        f.write("root:x:0:\nuser:x:1000:\n")
    os.chown(os.path.join(directory, "home/user"), 1000, 1000)


if __name__ == "__main__":
    # `export CTK_KERNEL=$(python3 tests/vmkernel.py)`: a guest kernel without installing one;
    # `python3 tests/vmkernel.py arm64` for an arm64 one.
    import sys
    print(kernel(*sys.argv[1:2]))
