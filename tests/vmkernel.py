"""A guest kernel for VM tests: $CTK_KERNEL when set, else Debian's cloud
kernel fetched with `apt-get download` and unpacked with `dpkg -x` into a
cache (seconds; installing the package would run update-initramfs for
minutes). Its modules get a modules.dep from depmod, which the .deb lacks."""
import glob
import os
import subprocess

CACHE = os.environ.get("CTK_TEST_CACHE", "/var/tmp/ctk-test-cache")


def kernel():
    """Path of a kernel image, or raises unittest.SkipTest with the reason."""
    import unittest

    env = os.environ.get("CTK_KERNEL")
    if env:
        return env
    for tool in ("qemu-system-x86_64", "apt-get", "dpkg", "depmod"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
            raise unittest.SkipTest(f"{tool} is not installed")
    root = os.path.join(CACHE, "kernel")
    found = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    if found:
        return found[-1]
    os.makedirs(root, exist_ok=True)
    dl = os.path.join(CACHE, "kernel-deb")
    os.makedirs(dl, exist_ok=True)
    # The meta package names the current cloud kernel; download that one.
    dep = subprocess.run(["apt-cache", "depends", "linux-image-cloud-amd64"], stdout=subprocess.PIPE,
                         text=True).stdout
    names = [l.split(":", 1)[1].strip() for l in dep.splitlines() if l.strip().startswith("Depends:")]
    if not names:
        raise unittest.SkipTest("linux-image-cloud-amd64 is not known to apt (run apt-get update)")
    r = subprocess.run(["apt-get", "download", names[0]], cwd=dl, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    debs = glob.glob(os.path.join(dl, names[0] + "_*.deb"))
    if r.returncode or not debs:
        raise unittest.SkipTest(f"cannot download {names[0]}: {r.stdout.strip()[-200:]}")
    subprocess.run(["dpkg", "-x", debs[0], root], check=True)
    found = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    release = os.path.basename(found[-1])[len("vmlinuz-"):]
    subprocess.run(["depmod", "-b", root, release], check=True)
    return found[-1]


def busybox_rootfs(directory):
    """A busybox-static root filesystem tree in `directory`."""
    bb = "/bin/busybox"
    for d in ("bin", "proc", "sys", "dev", "etc", "root", "tmp", "home/user"):
        os.makedirs(os.path.join(directory, d), exist_ok=True)
    os.chmod(os.path.join(directory, "tmp"), 0o1777)
    with open(bb, "rb") as src, open(os.path.join(directory, "bin/busybox"), "wb") as dst:
        dst.write(src.read())
    os.chmod(os.path.join(directory, "bin/busybox"), 0o755)
    applets = subprocess.run([bb, "--list"], stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(directory, "bin", a))
    with open(os.path.join(directory, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
    with open(os.path.join(directory, "etc/group"), "w") as f:
        f.write("root:x:0:\nuser:x:1000:\n")
    os.chown(os.path.join(directory, "home/user"), 1000, 1000)


if __name__ == "__main__":
    # `export CTK_KERNEL=$(python3 tests/vmkernel.py)`: a guest kernel without installing one.
    print(kernel())
