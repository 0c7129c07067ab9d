"""Disk full: radflow's data directory on a 3 MiB tmpfs, and ten 0.5 MB slices of the real
chest CT sent in one association (storescu --no-halt). Those that fit are stored; the others
get a failure status (Refused - Out of Resources when the file cannot be written); the
association is released, not aborted; the server stays up; every acknowledged instance is
in the index and `radflow check` finds the data consistent, with no partial file left.
Skipped where the test may not mount a tmpfs (not root, no CAP_SYS_ADMIN)."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CHEST = h.series_dir("ct_chest_lung_dx")


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="radflow-diskfull-")
        self.mnt = os.path.join(self.tmp, "small")
        os.makedirs(self.mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: " + (r.stderr or r.stdout).strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt], capture_output=True)

    def test_full_disk_refuses_cleanly_and_keeps_what_it_acknowledged(self):
        srv = h.RadflowServer(data_dir=os.path.join(self.mnt, "data"))
        srv.start()
        self.addCleanup(srv.stop)
        files = h.dicom_files(CHEST)[:10]
        proc, status = h.storescu(srv.dicom_port, files, extra=("--no-halt",))
        self.assertEqual(len(status), len(files), proc.stdout[-3000:])
        ok = [f for f, s in status.items() if s == "Success"]
        refused = [f for f, s in status.items() if s != "Success"]
        self.assertGreater(len(ok), 0, status)
        self.assertGreater(len(refused), 0, "3 MiB held ten 0.5 MB slices? %s" % status)
        self.assertTrue(any("OutOfResources" in status[f] for f in refused), status)
        self.assertNotIn("Abort", proc.stdout)
        self.assertTrue(srv.alive())
        self.assertEqual(srv.stats()["instances"], len(ok))

        self.assertEqual(srv.stop(), 0, srv.log_tail())
        check = h.radflow_cli("check", "--data", srv.data_dir)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        leftovers = [n for n in os.listdir(os.path.join(srv.data_dir, "blobs", "tmp"))
                     if os.path.isfile(os.path.join(srv.data_dir, "blobs", "tmp", n))]
        self.assertEqual(leftovers, [])


if __name__ == "__main__":
    unittest.main()
