"""Malformed and unusual input: C-STORE of every file of edgecases_pydicom and codecs in
one association (storescu --no-halt), plus two crafted instances that lack a mandatory
UID; and `radflow import` of non-DICOM files."""
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

EDGE = h.series_dir("edgecases_pydicom")
CODECS = h.series_dir("codecs")
NO_META = [os.path.join(EDGE, "test_files", n)
           for n in ("no_meta.dcm", "ExplVR_BigEndNoMeta.dcm", "ExplVR_LitEndNoMeta.dcm")]
NO_META.append(os.path.join(CODECS, "files", "OT-PAL-8-face.dcm"))
OK_STATUS = ("Success", "Warning")


def sop_uid(path):
    """The dataset's SOPInstanceUID (what storescu sends), else the path itself."""
    try:
        return str(h.read_dataset(path, stop_before_pixels=True).SOPInstanceUID)
    except Exception:  # unreadable or no UID: storescu cannot send it either
        return path


UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def indexable(path):
    """Has the SOP Instance, Study and Series UIDs a hub needs, each a valid UID (PS3.5 9.1).
    Files without them are legitimately rejected (radflow answers a failure status)."""
    try:
        ds = h.read_dataset(path, stop_before_pixels=True)
        uids = [str(ds.get(k, "")) for k in
                ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")]
    except Exception:
        return False
    return all(len(u) <= 64 and UID.match(u) for u in uids)


def acked_uids(status):
    """SOP Instance UIDs of the files whose C-STORE response was Success or Warning."""
    return {sop_uid(p) for p, s in status.items() if s.startswith(OK_STATUS)}


def craft_missing(tmp, keyword):
    """A copy of CT_small.dcm with a fresh SOP Instance UID and `keyword` removed."""
    path = os.path.join(tmp, "no_%s.dcm" % keyword)
    shutil.copy(os.path.join(EDGE, "test_files", "CT_small.dcm"), path)
    h.run_dcmtk(["dcmodify", "-nb", "-m", "SOPInstanceUID=" + h.new_uid(),
                 "-e", keyword, path], check=True)
    return path


class BadStoreTests(h.ServerTestCase):
    maxDiff = None

    def test_store_every_edge_case_in_one_association(self):
        tmp = self.tmpdir()
        crafted = [craft_missing(tmp, "StudyInstanceUID"), craft_missing(tmp, "SeriesInstanceUID")]
        corpus = h.dicom_files(EDGE) + h.dicom_files(CODECS) + NO_META
        files = corpus[:100] + crafted + corpus[100:]

        # what a lenient DCMTK receiver accepts from the same storescu run
        with h.StoreSCP(os.path.join(tmp, "ref")) as scp:
            _, ref_status = h.storescu(scp.port, corpus, aet="REF", extra=["-nh"], fallback=True)
        reference = acked_uids(ref_status)
        self.assertGreater(len(reference), 100)

        srv = self.start(h.RadflowServer(extra_args=["--duplicate-policy", "keep"]))
        proc, status = h.storescu(srv.dicom_port, files, extra=["-nh"], fallback=True)
        self.assertEqual(proc.stdout.count("Requesting Association"), 1, proc.stdout[-3000:])

        for path in crafted:  # rejected with a failure status, association goes on
            self.assertIn(path, status, "crafted file not sent:\n" + proc.stdout[-3000:])
            self.assertFalse(status[path].startswith(OK_STATUS),
                             "%s was accepted (%s)" % (os.path.basename(path), status[path]))
        stored = acked_uids(status)
        missing = {os.path.relpath(p, h.DICOM_ROOT): status.get(p, "not sent")
                   for p in corpus if ref_status.get(p, "").startswith(OK_STATUS)
                   and indexable(p) and sop_uid(p) not in stored}
        self.assertEqual(missing, {}, "valid files rejected by radflow but stored by storescp")

        # the server survived, answers, and counted each distinct instance once
        echo = h.run_dcmtk(["echoscu", "-aec", "RADFLOW", "127.0.0.1", srv.dicom_port])
        self.assertEqual(echo.returncode, 0, echo.stdout)
        self.assertTrue(srv.alive())
        self.assertEqual(srv.stats()["instances"], len(stored))


class BadImportTests(h.ServerTestCase):
    def test_import_non_dicom_file(self):
        tmp = self.tmpdir()
        bogus = os.path.join(tmp, "notes.txt")
        with open(bogus, "w") as f:
            f.write("this is not a DICOM file\n" * 20)
        proc = h.radflow_cli("import", "--data", os.path.join(tmp, "data"), bogus)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 2, out)
        self.assertIn("stored 0, already present 0, rejected 1", out)
        line = [l for l in out.splitlines() if "notes.txt" in l]
        self.assertTrue(line, "rejected file not named:\n" + out)
        self.assertGreater(len(line[0].replace(bogus, "").strip(" :-\t")), 3,
                           "no reason given: %r" % line[0])

    def test_import_edge_case_folder(self):
        tmp = self.tmpdir()
        proc = h.radflow_cli("import", "--data", os.path.join(tmp, "data"), EDGE)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 2, out[-3000:])
        summary = [l for l in out.splitlines() if l.startswith("stored ")]
        self.assertEqual(len(summary), 1, out[-3000:])
        counts = [int(part.strip().split()[-1]) for part in summary[0].split(",")]
        n_files = sum(len(names) for _, _, names in os.walk(EDGE))
        self.assertEqual(sum(counts), n_files, "every file must be counted once: " + summary[0])
        rejected_lines = [l for l in out.splitlines() if not l.startswith("stored ")]
        for name in ("README.md", "zipMR.gz", "test1.json", "FileInfo.txt", "MR_truncated.dcm"):
            self.assertTrue(any(name in l for l in rejected_lines),
                            "%s not reported as rejected:\n%s" % (name, out[-3000:]))
        self.assertGreater(h.cli_stats(os.path.join(tmp, "data"))["instances"], 100)


if __name__ == "__main__":
    unittest.main()
