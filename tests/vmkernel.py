"""A guest kernel for VM tests: $CTK_KERNEL when set, else Debian's cloud
kernel fetched with `apt-get download` and unpacked with `dpkg -x` into a
cache (seconds; installing the package would run update-initramfs for
minutes). Its modules get a modules.dep from depmod, which the .deb lacks.
Debian's generic kernel (for 9p) comes the same way; without_modules makes
a kernel that lacks some modules out of one that has them."""
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


def _debian_kernel(meta, root):
    """The kernel image that Debian's meta package `meta` (e.g.
    "linux-image-cloud-amd64", "linux-image-cloud-arm64:arm64") depends on,
    unpacked into `root` with a modules.dep (once: later calls find it)."""
    import unittest

    found = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    if found:
        return found[-1]
    dep = subprocess.run(["apt-cache", "depends", meta], stdout=subprocess.PIPE, text=True).stdout
    names = [l.split(":", 1)[1].strip() for l in dep.splitlines() if l.strip().startswith("Depends:")]
    if not names:
        raise unittest.SkipTest(f"{meta} is not known to apt (dpkg --add-architecture, apt-get update)")
    _, _, arch = meta.partition(":")
    _unpacked(names[0].split(":")[0] + (":" + arch if arch else ""), root)
    found = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    release = os.path.basename(found[-1])[len("vmlinuz-"):]
    subprocess.run(["depmod", "-b", root, release], check=True)
    return found[-1]


def _need(*tools):
    import unittest

    for tool in tools:
        if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
            raise unittest.SkipTest(f"{tool} is not installed")


def kernel(arch="amd64"):
    """Path of a Debian cloud kernel image for `arch` ("amd64", "arm64"), or
    raises unittest.SkipTest with the reason. $CTK_KERNEL (amd64) or
    $CTK_KERNEL_AARCH64 (arm64) win when set."""
    env = os.environ.get("CTK_KERNEL" if arch == "amd64" else "CTK_KERNEL_AARCH64")
    if env:
        return env
    _need("qemu-system-x86_64" if arch == "amd64" else "qemu-system-aarch64", "apt-get", "dpkg", "depmod")
    root = os.path.join(CACHE, "kernel" if arch == "amd64" else "kernel-" + arch)
    return _debian_kernel(f"linux-image-cloud-{arch}" + ("" if arch == "amd64" else ":" + arch), root)


def generic_kernel():
    """Path of Debian's generic amd64 kernel image (what linux-image-amd64
    depends on), or raises unittest.SkipTest. Unlike the cloud kernel it has
    9p (CONFIG_NET_9P=m) as well as virtio-fs."""
    _need("qemu-system-x86_64", "apt-get", "dpkg", "depmod")
    return _debian_kernel("linux-image-amd64", os.path.join(CACHE, "kernel-generic"))


def without_modules(image, directory, names):
    """A copy of the kernel `image` (DIR/boot/vmlinuz-R, modules in
    DIR/lib/modules/R) in `directory` whose modules.dep lacks the modules
    `names`, as if they were never built: ctk knows a kernel's modules from
    modules.dep alone. Everything else is symlinked. Returns the image's path."""
    boot = os.path.dirname(image)
    release = os.path.basename(image)[len("vmlinuz-"):]
    os.makedirs(os.path.join(directory, "boot"))
    os.symlink(image, os.path.join(directory, "boot", os.path.basename(image)))
    config = os.path.join(boot, f"config-{release}")
    if os.path.exists(config):
        os.symlink(config, os.path.join(directory, "boot", f"config-{release}"))
    modules = os.path.join(os.path.dirname(boot), "lib", "modules", release)
    copy = os.path.join(directory, "lib", "modules", release)
    os.makedirs(copy)
    os.symlink(os.path.join(modules, "kernel"), os.path.join(copy, "kernel"))
    with open(os.path.join(modules, "modules.dep")) as src, open(os.path.join(copy, "modules.dep"), "w") as dst:
        dst.writelines(line for line in src if os.path.basename(line.split(":", 1)[0]).split(".ko")[0] not in names)
    return os.path.join(directory, "boot", os.path.basename(image))


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
