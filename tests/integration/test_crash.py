"""Durability: SIGKILL the server while 4 associations are storing; every instance
acknowledged with Success before the kill must survive the restart and be readable, and
`radflow check` must find the data consistent. Also: SIGTERM is a clean shutdown."""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CHEST = h.series_dir("ct_chest_lung_dx")
COPIES = 4  # 4 x 64 chest slices = 256 instances of ~0.5 MB, one association per copy


def make_copies(tmp):
    """COPIES copies of the chest CT, each a new study/series with fresh SOP UIDs.
    Returns [[paths of copy 0], ...] and {path: sop uid}."""
    sources = h.dicom_files(CHEST)
    copies = []
    for i in range(COPIES):
        d = os.path.join(tmp, "copy%d" % i)
        os.makedirs(d)
        paths = [shutil.copy(src, os.path.join(d, "%03d.dcm" % n)) for n, src in enumerate(sources)]
        h.run_dcmtk(["dcmodify", "-nb", "-gin", "-m", "StudyInstanceUID=" + h.new_uid(),
                     "-m", "SeriesInstanceUID=" + h.new_uid(),
                     "-m", "PatientID=CRASH%d" % i, *paths], check=True, timeout=120)
        copies.append(paths)
    uids = {p: h.file_meta(p)["sop_uid"] for c in copies for p in c}
    return copies, uids


class CrashTests(h.ServerTestCase):
    def test_sigkill_during_store_keeps_acknowledged_instances(self):
        tmp = self.tmpdir()
        copies, uids = make_copies(tmp)
        srv = self.start(h.RadflowServer(workdir=tmp))
        acked, lock = {}, threading.Lock()

        def send(files):
            cfg = os.path.join(tmp, "scu-%d.cfg" % h.free_port())
            h.write_scu_config(files, cfg)
            proc = subprocess.Popen(["storescu", "-v", "-aec", "RADFLOW", "-xf", cfg, "Default",
                                     "127.0.0.1", str(srv.dicom_port), *files],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    env=h.DCMTK_ENV, text=True, errors="replace")
            current = None
            for line in proc.stdout:  # stream: acks are counted while the sends go on
                if line.startswith("I: Sending file: "):
                    current = line[len("I: Sending file: "):].strip()
                elif line.startswith("I: Received Store Response (Success)") and current:
                    with lock:
                        acked[current] = uids[current]
            proc.wait(120)

        threads = [threading.Thread(target=send, args=(c,)) for c in copies]
        for t in threads:
            t.start()
        total = sum(len(c) for c in copies)
        deadline = time.time() + 120
        while len(acked) < total * 0.4 and time.time() < deadline and srv.alive():
            time.sleep(0.005)
        n_before_kill = len(acked)
        srv.kill()
        for t in threads:
            t.join(150)
        self.assertGreater(n_before_kill, 0, "nothing was acknowledged before the kill")
        self.assertLess(len(acked), total, "all instances were stored before the kill")

        srv.start()  # same data dir
        found = set()
        for copy in copies:
            ds = h.read_dataset(copy[0], stop_before_pixels=True)
            rsp = h.findscu(srv.dicom_port, "IMAGE",
                            [("StudyInstanceUID", ds.StudyInstanceUID),
                             ("SeriesInstanceUID", ds.SeriesInstanceUID), ("SOPInstanceUID", "")])
            found |= {r["SOPInstanceUID"] for r in rsp}
        lost = sorted(set(acked.values()) - found)
        self.assertEqual(lost, [], "%d acknowledged instances lost after SIGKILL" % len(lost))

        # readable: retrieve every acknowledged instance and compare the pixel data
        out = os.path.join(tmp, "get")
        os.makedirs(out)
        for copy in copies:
            ds = h.read_dataset(copy[0], stop_before_pixels=True)
            h.getscu(srv.dicom_port, out, "SERIES", [("StudyInstanceUID", ds.StudyInstanceUID),
                                                     ("SeriesInstanceUID", ds.SeriesInstanceUID)])
        got = h.index_by_sop_uid(h.received_files(out))
        for path, uid in acked.items():
            self.assertIn(uid, got, "acknowledged instance %s not retrievable" % uid)
            self.assertEqual(h.pixel_data(got[uid]), h.pixel_data(path), uid)
        self.assertEqual(srv.stats()["instances"], len(found))

        self.assertEqual(srv.stop(), 0, "SIGTERM did not exit 0:\n" + srv.log_tail())
        check = h.radflow_cli("check", "--data", srv.data_dir)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_sigterm_is_graceful_and_data_persists(self):
        srv = self.start(h.RadflowServer())
        files = h.dicom_files(h.series_dir("ct_head_ge_tilt"))
        proc, status = h.storescu(srv.dicom_port, files)
        self.assertEqual(set(status.values()), {"Success"}, proc.stdout[-2000:])
        before = srv.stats()
        t0 = time.time()
        self.assertEqual(srv.stop(signal.SIGTERM, timeout=10), 0, srv.log_tail())
        self.assertLess(time.time() - t0, 10)  # hang guard, not a speed figure: the exit status is the claim
        srv.start()
        self.assertEqual(srv.stats(), before)
        self.assertEqual(before["instances"], len(files))


if __name__ == "__main__":
    unittest.main()
