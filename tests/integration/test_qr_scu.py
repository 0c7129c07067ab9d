"""radflow as Query/Retrieve SCU (the prior-study prefetch, dimse/query_scu.h) against a
real archive: `radflow qr find` (C-FIND, Study Root, STUDY level) and `radflow qr move`
(C-MOVE of one study to radflow itself) with Orthanc holding two studies of one patient."""
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

N = 6  # instances per study
PATIENT = "RFQR-" + h.new_uid()[-10:]
ISSUER = "RADFLOW-TEST"


def reidentify(files, out_dir, **study):
    """Copies of files as one new study of PATIENT: new Study/Series/SOP Instance UIDs and
    the given study attributes. Returns (study_uid, paths)."""
    pydicom = h._pydicom()
    os.makedirs(out_dir, exist_ok=True)
    study_uid, series_uid, paths = h.new_uid(), h.new_uid(), []
    for i, path in enumerate(files):
        ds = h.read_dataset(path)
        ds.PatientID, ds.IssuerOfPatientID, ds.PatientName = PATIENT, ISSUER, "QR^Prefetch"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.SOPInstanceUID = h.new_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        for k, v in study.items():
            setattr(ds, k, v)
        out = os.path.join(out_dir, "%03d.dcm" % i)
        pydicom.dcmwrite(out, ds, write_like_original=True)
        paths.append(out)
    return study_uid, paths


class QrScuTests(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="radflow-qr-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        mr = h.dicom_files(h.series_dir("mr_brain_t1_siemens"))[:N]
        ct = h.dicom_files(h.series_dir("ct_head_ge_tilt"))[:N]
        cls.mr_uid, mr_files = reidentify(
            mr, os.path.join(cls.tmp, "mr"), StudyDate="20200115", StudyTime="081500",
            AccessionNumber="ACC-MR-1", StudyDescription="MR brain prior")
        cls.ct_uid, ct_files = reidentify(
            ct, os.path.join(cls.tmp, "ct"), StudyDate="20240301", StudyTime="143000",
            AccessionNumber="ACC-CT-2", StudyDescription="CT head")

        radflow_port = h.free_port()
        cls.orthanc = cls.start_class(h.OrthancServer(
            aet="ORTHANC", modalities={"RADFLOW": ("RADFLOW", "127.0.0.1", radflow_port)}))
        cls.srv = cls.start_class(h.RadflowServer(
            dicom_port=radflow_port,
            modalities={"ORTHANC": ("127.0.0.1", cls.orthanc.dicom_port)}))
        cls.remote = "ORTHANC=127.0.0.1:%d" % cls.orthanc.dicom_port
        proc, status = h.storescu(cls.orthanc.dicom_port, mr_files + ct_files, aet="ORTHANC")
        if set(status.values()) != {"Success"} or len(status) != 2 * N:
            raise AssertionError("storing into Orthanc failed:\n" + proc.stdout[-3000:])

    def qr(self, *args, timeout=200):
        return h.radflow_cli("qr", *args, timeout=timeout)

    def find_ok(self, *args):
        proc = self.qr("find", *args)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return json.loads(proc.stdout)

    def qido_studies(self, study_uid):
        url = "http://127.0.0.1:%d/dicom-web/studies?StudyInstanceUID=%s" % (
            self.srv.http_port, urllib.parse.quote(study_uid))
        with urllib.request.urlopen(url, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body.strip() else []

    def test_find_returns_the_patients_two_studies(self):
        studies = self.find_ok("--remote", self.remote, "--patient", PATIENT)
        by_uid = {s["study_uid"]: s for s in studies}
        self.assertEqual(sorted(by_uid), sorted([self.mr_uid, self.ct_uid]), studies)
        mr, ct = by_uid[self.mr_uid], by_uid[self.ct_uid]
        self.assertEqual((mr["study_date"], mr["study_time"], mr["modalities"]),
                         ("20200115", "081500", "MR"))
        self.assertEqual((ct["study_date"], ct["study_time"], ct["modalities"]),
                         ("20240301", "143000", "CT"))
        self.assertEqual((mr["accession_number"], mr["study_description"]),
                         ("ACC-MR-1", "MR brain prior"))
        self.assertEqual((ct["accession_number"], ct["study_description"]),
                         ("ACC-CT-2", "CT head"))
        for s in studies:
            self.assertEqual(s["patient_id"], PATIENT)
            self.assertEqual(s["num_instances"], N)
        # Orthanc 1.10 answers a STUDY-level BodyPartExamined key (a series attribute) from
        # one of the study's instances.
        self.assertEqual((mr["body_part"], ct["body_part"]), ("BRAIN", "HEAD"))

    def test_find_with_issuer_and_unknown_patient(self):
        # Orthanc matches IssuerOfPatientID itself.
        self.assertEqual(len(self.find_ok("--remote", self.remote, "--patient", PATIENT,
                                          "--issuer", ISSUER)), 2)
        self.assertEqual(self.find_ok("--remote", self.remote, "--patient", PATIENT,
                                      "--issuer", "ANOTHER-ISSUER"), [])
        self.assertEqual(self.find_ok("--remote", self.remote, "--patient", "NO-SUCH-ID"), [])
        # A wildcard would match other patients: refused before any association.
        proc = self.qr("find", "--remote", self.remote, "--patient", PATIENT[:5] + "*")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("InvalidArgument", proc.stderr)

    def test_move_one_study_to_radflow(self):
        self.assertEqual(self.qido_studies(self.ct_uid), [])
        proc = self.qr("move", "--remote", self.remote, "--study", self.ct_uid, "--dest", "RADFLOW")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(json.loads(proc.stdout), {"completed": N, "failed": 0, "warning": 0})
        found = self.qido_studies(self.ct_uid)
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0]["00201208"]["Value"], [N])  # NumberOfStudyRelatedInstances
        self.assertEqual(self.qido_studies(self.mr_uid), [])  # only the one asked for
        # A second move re-sends the instances; radflow acknowledges them and stores nothing.
        proc = self.qr("move", "--remote", self.remote, "--study", self.ct_uid, "--dest", "RADFLOW")
        self.assertEqual(json.loads(proc.stdout), {"completed": N, "failed": 0, "warning": 0})
        self.assertEqual(self.qido_studies(self.ct_uid)[0]["00201208"]["Value"], [N])
        # radflow's own C-FIND SCP as the remote: the moved study, once (it returns
        # BodyPartExamined empty at STUDY level).
        studies = self.find_ok("--remote", "RADFLOW=127.0.0.1:%d" % self.srv.dicom_port,
                               "--aet", "QRTEST", "--patient", PATIENT)
        self.assertEqual([(s["study_uid"], s["modalities"], s["num_instances"], s["body_part"])
                          for s in studies], [(self.ct_uid, "CT", N, "")])

    def test_unreachable_remote_fails_clearly(self):
        port = h.free_port()  # nothing listens there
        start = time.monotonic()
        proc = self.qr("find", "--remote", "NOBODY=127.0.0.1:%d" % port, "--patient", PATIENT)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("Unavailable", proc.stderr)
        self.assertIn("NOBODY (127.0.0.1:%d)" % port, proc.stderr)
        self.assertIn("association", proc.stderr)
        self.assertLess(time.monotonic() - start, 20)  # hang guard: a refused connection fails at once
        proc = self.qr("move", "--remote", "NOBODY=127.0.0.1:%d" % port, "--study", self.ct_uid,
                       "--dest", "RADFLOW")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("NOBODY (127.0.0.1:%d)" % port, proc.stderr)
        proc = self.qr("find", "--remote", "not-a-remote", "--patient", PATIENT)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("InvalidArgument", proc.stderr)

    def test_silent_remote_times_out(self):
        # A peer that accepts the TCP connection and never answers the A-ASSOCIATE-RQ: the
        # association gives up after its 30 s timeout instead of hanging a prefetch.
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        start = time.monotonic()
        proc = self.qr("find", "--remote", "SILENT=127.0.0.1:%d" % listener.getsockname()[1],
                       "--patient", PATIENT, timeout=90)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("SILENT (127.0.0.1:", proc.stderr)
        self.assertIn("timeout", proc.stderr)
        # docs/architecture.md, DIMSE: the SCU's 30 s connect timeout; 60 s is the hang guard.
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 30)
        self.assertLess(elapsed, 60)

    def test_move_of_unknown_study(self):
        # Orthanc 1.10 answers a study it does not hold with 0xC000 (its log: "C-MOVE request
        # matching no resource stored in Orthanc"), not Success with 0 sub-operations.
        unknown = h.new_uid()
        proc = self.qr("move", "--remote", self.remote, "--study", unknown, "--dest", "RADFLOW")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("ORTHANC (127.0.0.1:%d)" % self.orthanc.dicom_port, proc.stderr)
        self.assertIn(unknown, proc.stderr)
        self.assertIn("status 0xC000", proc.stderr)
        self.assertEqual(self.qido_studies(unknown), [])

    def test_move_to_unknown_destination(self):
        # Orthanc 1.10 answers 0xC000 here too, not 0xA801 (Move Destination unknown).
        proc = self.qr("move", "--remote", self.remote, "--study", self.mr_uid,
                       "--dest", "NOWHERE")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("to NOWHERE failed: status 0xC000", proc.stderr)
        self.assertEqual(self.qido_studies(self.mr_uid), [])


if __name__ == "__main__":
    unittest.main()
