"""The binary's shape: applet dispatch by argument and by argv[0], --help
and man pages that agree, usage errors with exit code 2 and a suggestion."""
import os
import re
import subprocess
import tempfile
import unittest

CTK = os.environ.get("CTK", "build/ctk")
MAN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "man")


def ctk(*args, argv0=None):
    exe = argv0 or CTK
    return subprocess.run([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def applets():
    out = ctk("help").stdout
    block = out.split("Applets:\n", 1)[1]
    return [line.split()[0] for line in block.splitlines() if line.startswith("  ")]


class CliTest(unittest.TestCase):
    def test_static_binary(self):
        out = subprocess.run(["file", "-L", CTK], stdout=subprocess.PIPE, text=True).stdout
        self.assertIn("statically linked", out)
        # The budget with the Docker API server and the embedded web UI (issue 13).
        self.assertLess(os.path.getsize(CTK), 10 << 20, "binary over the 10 MiB budget")

    def test_the_guest_initramfs_stays_under_its_budget(self):
        # Issue 13's budget: under 5 MiB, with this binary (its web UI too) as the guest's /init.
        import vmkernel
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "initfs.img")
            r = ctk("mkinitfs", "-o", out, "--kernel", vmkernel.kernel())
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertLess(os.path.getsize(out), 5 << 20, "the initramfs is over the 5 MiB budget")

    def test_version(self):
        r = ctk("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^ctk \d+\.\d+\.\d+\n$")

    def test_every_applet_has_help_and_a_matching_man_page(self):
        names = applets()
        self.assertIn("mkrootfs", names)
        for name in names:
            with self.subTest(applet=name):
                r = ctk(name, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith(f"Usage: ctk {name}"))
                page = os.path.join(MAN, f"ctk-{name}.1")
                self.assertTrue(os.path.exists(page), f"no man page {page}")
                with open(page) as f:
                    roff = f.read().replace("\\-", "-")
                for flag in set(re.findall(r"--[a-z][a-z-]*", r.stdout)):
                    self.assertIn(flag, roff, f"{flag} of `ctk {name} --help` missing from {page}")
                summary = r.stdout.split("\n")[2]
                self.assertIn(summary, roff.replace("\n", " "), "man NAME line differs from --help summary")
                self.assertEqual(ctk("help", name).stdout, r.stdout)

    def test_unknown_applet_suggests_the_closest(self):
        r = ctk("mkrotfs")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.count("\n"), 1)
        self.assertIn("unknown applet 'mkrotfs'", r.stderr)
        self.assertIn("did you mean 'mkrootfs'", r.stderr)

    def test_unknown_flag_suggests_the_closest(self):
        r = ctk("mkrootfs", "--jurnal", "x.tar")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.count("\n"), 1)
        self.assertIn("unknown flag '--jurnal'", r.stderr)
        self.assertIn("did you mean '--journal'", r.stderr)

    def test_argv0_picks_the_applet(self):
        with tempfile.TemporaryDirectory() as d:
            link = os.path.join(d, "mkrootfs")
            os.symlink(os.path.abspath(CTK), link)
            r = ctk("--help", argv0=link)
            self.assertEqual(r.returncode, 0)
            self.assertTrue(r.stdout.startswith("Usage: ctk mkrootfs"))


if __name__ == "__main__":
    unittest.main()
