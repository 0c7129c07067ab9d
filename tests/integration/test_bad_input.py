"""Malformed and unusual input: C-STORE of every file of edgecases_pydicom and codecs in
one association (storescu --no-halt), plus two crafted instances that lack a mandatory
UID; `radflow import` of non-DICOM files; and C-STORE of Latin-1 and Japanese objects (and
one whose character set is unknown), read back by QIDO-RS and C-FIND in UTF-8."""
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import dicomweb_client as dw  # noqa: E402

EDGE = h.series_dir("edgecases_pydicom")
CHARSETS = os.path.join(EDGE, "charset_files")
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


class CharacterSetTests(h.ServerTestCase):
    """The index holds UTF-8 whatever the object's SpecificCharacterSet (PS3.5 6.1): QIDO-RS
    (PS3.18 F.2, UTF-8) and C-FIND (SpecificCharacterSet ISO_IR 192) return the names as
    pydicom decodes them, on either index backend (PostgreSQL refuses bytes that are not
    UTF-8). The expected names are pydicom's (tests/test_charset.py)."""

    NAMES = {  # PatientID: (file, PatientName)
        "SCSFREN": ("chrFren.dcm", "Buc^Jérôme"),                          # ISO_IR 100
        "SCSGERM": ("chrGerm.dcm", "Äneas^Rüdiger"),                       # ISO_IR 100
        "H32EXAMPLE": ("chrH32.dcm", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"),  # ISO 2022 IR 13\87
        "H31EXAMPLE": ("chrH31.dcm", "Yamada^Tarou=山田^太郎=やまだ^たろう"),  # \ISO 2022 IR 87
        "I2EXAMPLE": ("chrI2.dcm", "Hong^Gildong=洪^吉洞=홍^길동"),          # \ISO 2022 IR 149
    }

    def store(self, srv, files):
        proc, status = h.storescu(srv.dicom_port, files)
        for path in files:
            self.assertTrue(status.get(path, "").startswith("Success"),
                            "%s: %s\n%s" % (path, status.get(path), proc.stdout[-3000:]))

    def test_names_by_qido_and_cfind(self):
        srv = self.start(h.RadflowServer())
        self.store(srv, [os.path.join(CHARSETS, f) for f, _ in self.NAMES.values()])
        client = dw.Client(srv.http_port)
        self.addCleanup(client.close)

        def qido(query):
            r = client.qido("studies", dict(query, includefield="PatientName"))
            self.assertEqual(r.status, 200, r)
            r.body.decode("utf-8")  # strict: the whole answer is UTF-8
            return r.json()

        for pid, (_, name) in self.NAMES.items():
            rsp = qido({"PatientID": pid})
            self.assertEqual(len(rsp), 1, rsp)
            groups = rsp[0]["00100010"]["Value"][0]
            joined = "=".join(groups.get(k, "") for k in ("Alphabetic", "Ideographic", "Phonetic"))
            self.assertEqual(joined.rstrip("="), name, pid)
            self.assertEqual(rsp[0]["00080005"]["Value"], ["ISO_IR 192"], pid)
            found = h.findscu(srv.dicom_port, "STUDY", [("PatientID", pid), ("PatientName", ""),
                                                        ("SpecificCharacterSet", "")])
            self.assertEqual(len(found), 1, found)
            self.assertEqual(found[0].get("PatientName"), name, found)
            self.assertEqual(found[0].get("SpecificCharacterSet"), "ISO_IR 192", found)

        # UTF-8 QIDO queries match the decoded names (exact, wildcard, fuzzy).
        def pids(query):
            return sorted(o["00100020"]["Value"][0] for o in qido(dict(query, includefield="PatientID")))
        self.assertEqual(pids({"PatientName": "Buc^Jérôme"}), ["SCSFREN"])
        self.assertEqual(pids({"PatientName": "Äneas*"}), ["SCSGERM"])
        self.assertEqual(pids({"PatientName": "ﾔﾏﾀﾞ*"}), ["H32EXAMPLE"])
        self.assertEqual(pids({"PatientName": "*山田^太郎*"}), ["H31EXAMPLE", "H32EXAMPLE"])
        self.assertEqual(pids({"PatientName": "jerome", "fuzzymatching": "true"}), ["SCSFREN"])

        # C-FIND queries in ISO_IR 100 (the raw Latin-1 bytes) and in UTF-8 find the same study.
        latin1 = os.fsdecode("Buc^J\xe9r\xf4me".encode("latin-1"))
        for charset, key in (("ISO_IR 100", latin1), ("ISO_IR 192", os.fsdecode("Buc^Jérôme".encode()))):
            found = h.findscu(srv.dicom_port, "STUDY", [("SpecificCharacterSet", charset),
                                                        ("PatientName", key), ("PatientID", "")])
            self.assertEqual([f.get("PatientID") for f in found], ["SCSFREN"], charset)

    def test_undecodable_name_is_stored_with_replacement_characters(self):
        """An unknown character set: the object is kept (its blob unchanged), the name indexed
        with U+FFFD for the bytes that did not decode, and a conformance problem recorded."""
        tmp = self.tmpdir()
        path = os.path.join(tmp, "unknown_charset.dcm")
        shutil.copy(os.path.join(CHARSETS, "chrFren.dcm"), path)
        h.run_dcmtk(["dcmodify", "-nb", "-m", "SpecificCharacterSet=ISO_IR 999",
                     "-m", "PatientID=UNKNOWNCS", "-m", "SOPInstanceUID=" + h.new_uid(), path], check=True)
        srv = self.start(h.RadflowServer())
        self.store(srv, [path])
        client = dw.Client(srv.http_port)
        self.addCleanup(client.close)
        r = client.qido("studies", {"PatientID": "UNKNOWNCS", "includefield": "PatientName"})
        self.assertEqual(r.status, 200, r)
        rsp = r.json()
        self.assertEqual(rsp[0]["00100010"]["Value"][0], {"Alphabetic": "Buc^J\ufffdr\ufffdme"})
        study = rsp[0]["0020000D"]["Value"][0]
        r = client.get("/api/v1/studies/%s/conformance" % study)
        self.assertEqual(r.status, 200, r)
        problems = [p for i in r.json()["instances"] for p in i["problems"]]
        self.assertTrue(any("ISO_IR 999" in p and "PatientName (0010,0010)" in p for p in problems), problems)
        # The stored dataset is the one sent, byte for byte (the SCP writes its own File Meta).
        r = client.get("studies/%s" % study, accept='multipart/related; type="application/dicom"')
        self.assertEqual(r.status, 200, r)
        blob = os.path.join(tmp, "blob.dcm")
        with open(blob, "wb") as f:
            f.write(r.parts()[0][1])
        self.assertEqual(h.split_part10(blob)[1], h.split_part10(path)[1])


if __name__ == "__main__":
    unittest.main()
