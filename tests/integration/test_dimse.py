"""DIMSE services of `radflow serve`: C-ECHO, C-STORE, C-FIND (all levels and matching
types), C-MOVE to a DCMTK storescp, C-GET, duplicates and concurrent associations."""
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CHEST = h.series_dir("ct_chest_lung_dx")
STS = h.series_dir("sts_042_ct_mr_pet")
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def assert_same_pixels(test, received, originals):
    """Every received file has the pixel data of the original with the same SOP UID."""
    for path in received:
        uid = h.file_meta(path)["sop_uid"]
        test.assertIn(uid, originals, "unexpected instance %s" % uid)
        test.assertEqual(h.pixel_data(path), h.pixel_data(originals[uid]),
                         "pixel data differs for %s" % uid)


class DimseTests(h.ServerTestCase):
    """One server holding the chest CT (64 instances) and STS_042 (CT/MR/PT + 3 RTSTRUCT:
    143 instances, 6 series, one study)."""

    @classmethod
    def setUpClass(cls):
        cls.scp_dir = tempfile.mkdtemp(prefix="move-dest-")
        cls.addClassCleanup(shutil.rmtree, cls.scp_dir, True)
        cls.scp = cls.start_class(h.StoreSCP(cls.scp_dir, aet="STORESCP"))
        cls.srv = cls.start_class(h.RadflowServer(
            modalities={"STORESCP": ("127.0.0.1", cls.scp.port)}))
        cls.chest = h.index_by_sop_uid(h.dicom_files(CHEST))
        cls.sts = h.index_by_sop_uid(h.dicom_files(STS))
        for files in (cls.chest, cls.sts):
            proc, status = h.storescu(cls.srv.dicom_port, sorted(files.values()))
            bad = {p: s for p, s in status.items() if s != "Success"}
            if proc.returncode != 0 or bad or len(status) != len(files):
                raise AssertionError("initial C-STORE failed (rc %d, %d/%d acked, bad %s):\n%s\n%s"
                                     % (proc.returncode, len(status), len(files), bad,
                                        proc.stdout[-3000:], cls.srv.log_tail()))
        first = h.read_dataset(next(iter(cls.chest.values())), stop_before_pixels=True)
        cls.chest_study, cls.chest_series = first.StudyInstanceUID, first.SeriesInstanceUID
        cls.sts_study = h.read_dataset(next(iter(cls.sts.values())),
                                       stop_before_pixels=True).StudyInstanceUID

    def find(self, level, keys, model="-S"):
        return h.findscu(self.srv.dicom_port, level, keys, model=model)

    # ------------------------------------------------------------ echo / stats
    def test_echo(self):
        proc = h.run_dcmtk(["echoscu", "-v", "-aec", "RADFLOW", "127.0.0.1", self.srv.dicom_port])
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertIn("Received Echo Response (Success)", proc.stdout)

    def test_stats_after_store(self):
        st = self.srv.stats()
        self.assertEqual((st["patients"], st["studies"], st["series"], st["instances"]),
                         (2, 2, 7, 64 + 143), st)
        self.assertGreater(st["bytes"], 64 * 512 * 512 * 2, "bytes smaller than the pixel data")

    def test_resend_identical_is_success_without_copy(self):
        before = self.srv.stats()
        files = sorted(self.chest.values())[:5]
        proc, status = h.storescu(self.srv.dicom_port, files)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        self.assertEqual(status, {p: "Success" for p in files})
        self.assertEqual(self.srv.stats(), before)

    # ------------------------------------------------------------ C-FIND patient level
    def test_find_patient_universal(self):
        rsp = self.find("PATIENT", [("PatientID", ""), ("PatientName", ""),
                                    ("NumberOfPatientRelatedStudies", "")], model="-P")
        self.assertEqual(sorted(r["PatientID"] for r in rsp), ["Lung_Dx-A0001", "STS_042"])
        self.assertEqual(sorted(r["PatientName"] for r in rsp), ["Lung_Dx-A0001", "STS_042"])
        self.assertEqual([r["NumberOfPatientRelatedStudies"] for r in rsp], ["1", "1"])

    def test_find_patient_single_value_and_no_match(self):
        rsp = self.find("PATIENT", [("PatientID", "STS_042"), ("PatientName", "")], model="-P")
        self.assertEqual([r["PatientName"] for r in rsp], ["STS_042"])
        self.assertEqual(self.find("PATIENT", [("PatientID", "NOBODY")], model="-P"), [])

    def test_find_patient_wildcards(self):
        rsp = self.find("PATIENT", [("PatientName", "Lung*"), ("PatientID", "")], model="-P")
        self.assertEqual([r["PatientID"] for r in rsp], ["Lung_Dx-A0001"])
        rsp = self.find("PATIENT", [("PatientID", "STS_04?"), ("PatientName", "")], model="-P")
        self.assertEqual([r["PatientName"] for r in rsp], ["STS_042"])
        rsp = self.find("PATIENT", [("PatientID", "*")], model="-P")
        self.assertEqual(len(rsp), 2)

    # ------------------------------------------------------------ C-FIND study level
    def test_find_study_universal_with_computed_keys(self):
        rsp = self.find("STUDY", [("StudyInstanceUID", ""), ("PatientName", ""),
                                  ("StudyDescription", ""), ("ModalitiesInStudy", ""),
                                  ("NumberOfStudyRelatedSeries", ""),
                                  ("NumberOfStudyRelatedInstances", "")])
        by_uid = {r["StudyInstanceUID"]: r for r in rsp}
        self.assertEqual(set(by_uid), {self.chest_study, self.sts_study})
        chest, sts = by_uid[self.chest_study], by_uid[self.sts_study]
        self.assertEqual(chest["PatientName"], "Lung_Dx-A0001")
        self.assertEqual(chest["StudyDescription"], "Chest")
        self.assertEqual(chest["ModalitiesInStudy"], "CT")
        self.assertEqual((chest["NumberOfStudyRelatedSeries"],
                          chest["NumberOfStudyRelatedInstances"]), ("1", "64"))
        self.assertEqual(set(sts["ModalitiesInStudy"].split("\\")), {"CT", "MR", "PT", "RTSTRUCT"})
        self.assertEqual((sts["NumberOfStudyRelatedSeries"],
                          sts["NumberOfStudyRelatedInstances"]), ("6", "143"))

    def study_uids(self, keys, model="-S"):
        return sorted(r["StudyInstanceUID"] for r in
                      self.find("STUDY", [("StudyInstanceUID", "")] + keys, model=model))

    def test_find_study_dates(self):
        chest, sts = [self.chest_study], [self.sts_study]
        self.assertEqual(self.study_uids([("StudyDate", "20040519")]), sts)
        self.assertEqual(self.study_uids([("StudyDate", "20070101-20071231")]), chest)
        self.assertEqual(self.study_uids([("StudyDate", "-20050101")]), sts)
        self.assertEqual(self.study_uids([("StudyDate", "20050101-")]), chest)
        self.assertEqual(self.study_uids([("StudyDate", "20040519-20070404")]),
                         sorted(chest + sts))
        self.assertEqual(self.study_uids([("StudyDate", "19900101-19901231")]), [])

    def test_find_study_uid_list_and_single(self):
        both = sorted([self.chest_study, self.sts_study])
        self.assertEqual(self.study_uids([]), both)
        rsp = self.find("STUDY", [("StudyInstanceUID", "\\".join(both))])
        self.assertEqual(sorted(r["StudyInstanceUID"] for r in rsp), both)
        rsp = self.find("STUDY", [("StudyInstanceUID", self.sts_study), ("StudyDate", "")])
        self.assertEqual([(r["StudyInstanceUID"], r["StudyDate"]) for r in rsp],
                         [(self.sts_study, "20040519")])

    def test_find_study_patient_root(self):
        self.assertEqual(self.study_uids([("PatientID", "STS_042")], model="-P"),
                         [self.sts_study])

    # ------------------------------------------------------------ C-FIND series level
    def test_find_series_of_study(self):
        rsp = self.find("SERIES", [("StudyInstanceUID", self.sts_study),
                                   ("SeriesInstanceUID", ""), ("Modality", ""),
                                   ("NumberOfSeriesRelatedInstances", "")])
        got = sorted((r["Modality"], r["NumberOfSeriesRelatedInstances"]) for r in rsp)
        self.assertEqual(got, [("CT", "49"), ("MR", "42"), ("PT", "49"),
                               ("RTSTRUCT", "1"), ("RTSTRUCT", "1"), ("RTSTRUCT", "1")])

    def test_find_series_by_modality_and_wildcard(self):
        base = [("StudyInstanceUID", self.sts_study), ("SeriesInstanceUID", "")]
        self.assertEqual(len(self.find("SERIES", base + [("Modality", "RTSTRUCT")])), 3)
        self.assertEqual(len(self.find("SERIES", base + [("Modality", "RT*")])), 3)
        rsp = self.find("SERIES", base + [("Modality", "P?"),
                                          ("NumberOfSeriesRelatedInstances", "")])
        self.assertEqual([r["NumberOfSeriesRelatedInstances"] for r in rsp], ["49"])
        rsp = self.find("SERIES", [("StudyInstanceUID", ""), ("SeriesInstanceUID", ""),
                                   ("Modality", "CT")])
        self.assertEqual(len(rsp), 2)  # chest CT + STS CT across both studies

    # ------------------------------------------------------------ C-FIND image level
    def test_find_images_of_series(self):
        rsp = self.find("IMAGE", [("StudyInstanceUID", self.chest_study),
                                  ("SeriesInstanceUID", self.chest_series),
                                  ("SOPInstanceUID", ""), ("SOPClassUID", ""),
                                  ("InstanceNumber", "")])
        self.assertEqual(sorted(r["SOPInstanceUID"] for r in rsp), sorted(self.chest))
        self.assertEqual({r["SOPClassUID"] for r in rsp}, {CT_STORAGE})
        self.assertEqual(sorted(int(r["InstanceNumber"]) for r in rsp), list(range(1, 65)))

    def test_find_images_by_uid_list(self):
        uids = sorted(self.chest)[:3]
        rsp = self.find("IMAGE", [("StudyInstanceUID", self.chest_study),
                                  ("SeriesInstanceUID", self.chest_series),
                                  ("SOPInstanceUID", "\\".join(uids))])
        self.assertEqual(sorted(r["SOPInstanceUID"] for r in rsp), uids)
        rsp = self.find("IMAGE", [("StudyInstanceUID", self.chest_study),
                                  ("SeriesInstanceUID", self.chest_series),
                                  ("SOPInstanceUID", ""), ("InstanceNumber", "10")])
        self.assertEqual([r["InstanceNumber"] for r in rsp], ["10"])

    def test_find_images_patient_root(self):
        rsp = self.find("IMAGE", [("PatientID", "Lung_Dx-A0001"),
                                  ("StudyInstanceUID", self.chest_study),
                                  ("SeriesInstanceUID", self.chest_series),
                                  ("SOPInstanceUID", "")], model="-P")
        self.assertEqual(len(rsp), 64)

    # ------------------------------------------------------------ C-MOVE / C-GET
    def clear_scp(self):
        for n in os.listdir(self.scp_dir):
            os.unlink(os.path.join(self.scp_dir, n))

    def test_move_study_to_storescp(self):
        self.clear_scp()
        proc = h.movescu(self.srv.dicom_port, "STORESCP", "STUDY",
                         [("StudyInstanceUID", self.chest_study)])
        self.assertIn("Received Final Move Response (Success)", proc.stdout, proc.stdout[-3000:])
        received = h.received_files(self.scp_dir)
        self.assertEqual(sorted(h.file_meta(p)["sop_uid"] for p in received), sorted(self.chest))
        assert_same_pixels(self, received, self.chest)

    def test_move_series_patient_root(self):
        self.clear_scp()
        pet = {u: p for u, p in self.sts.items() if "/PET/image/" in p}
        series = h.read_dataset(next(iter(pet.values())), True).SeriesInstanceUID
        proc = h.movescu(self.srv.dicom_port, "STORESCP", "SERIES",
                         [("PatientID", "STS_042"), ("StudyInstanceUID", self.sts_study),
                          ("SeriesInstanceUID", series)], model="-P")
        self.assertIn("Received Final Move Response (Success)", proc.stdout, proc.stdout[-3000:])
        received = h.received_files(self.scp_dir)
        self.assertEqual(len(received), 49)
        assert_same_pixels(self, received, pet)

    def test_get_study(self):
        out = self.tmpdir()
        proc = h.getscu(self.srv.dicom_port, out, "STUDY", [("StudyInstanceUID", self.sts_study)])
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        received = h.received_files(out)
        self.assertEqual(sorted(h.file_meta(p)["sop_uid"] for p in received), sorted(self.sts))
        assert_same_pixels(self, received, self.sts)

    def test_get_patient_level_patient_root(self):
        out = self.tmpdir()
        proc = h.getscu(self.srv.dicom_port, out, "PATIENT", [("PatientID", "STS_042")], model="-P")
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        self.assertEqual(sorted(h.file_meta(p)["sop_uid"] for p in h.received_files(out)),
                         sorted(self.sts))

    def test_get_images_by_uid_list(self):
        out = self.tmpdir()
        uids = sorted(self.chest)[-4:]
        proc = h.getscu(self.srv.dicom_port, out, "IMAGE",
                        [("StudyInstanceUID", self.chest_study),
                         ("SeriesInstanceUID", self.chest_series),
                         ("SOPInstanceUID", "\\".join(uids))])
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        received = h.received_files(out)
        self.assertEqual(sorted(h.file_meta(p)["sop_uid"] for p in received), uids)
        assert_same_pixels(self, received, self.chest)


class FailureResponseTests(h.ServerTestCase):
    """Requests that must get a failure status; the server must stay up afterwards."""

    def setUp(self):
        super().setUp()
        self.srv = self.start(h.RadflowServer(
            modalities={"DOWN": ("127.0.0.1", h.free_port())}))  # configured, not listening
        files = h.dicom_files(CHEST)[:3]
        proc, status = h.storescu(self.srv.dicom_port, files)
        self.assertEqual(set(status.values()), {"Success"}, proc.stdout[-2000:])
        self.study = h.read_dataset(files[0], True).StudyInstanceUID

    def assert_failed_and_alive(self, proc, final_line):
        self.assertIn(final_line, proc.stdout, proc.stdout[-3000:])
        self.assertNotIn(final_line + " (Success)", proc.stdout)
        time.sleep(0.3)
        self.assertTrue(self.srv.alive(), "server died (exit %s)" % self.srv.proc.returncode)
        self.assertNotIn("Release Failed", proc.stdout, "server dropped the association")
        echo = h.run_dcmtk(["echoscu", "-aec", "RADFLOW", "127.0.0.1", self.srv.dicom_port])
        self.assertEqual(echo.returncode, 0, echo.stdout)

    def test_move_to_unknown_destination(self):
        proc = h.movescu(self.srv.dicom_port, "NOWHERE", "STUDY", [("StudyInstanceUID", self.study)])
        self.assert_failed_and_alive(proc, "Received Final Move Response")

    def test_move_to_unreachable_destination(self):
        proc = h.movescu(self.srv.dicom_port, "DOWN", "STUDY", [("StudyInstanceUID", self.study)])
        self.assert_failed_and_alive(proc, "Received Final Move Response")

    def test_get_with_invalid_level(self):
        proc = h.getscu(self.srv.dicom_port, self.tmpdir(), "BOGUS",
                        [("StudyInstanceUID", self.study)])
        self.assert_failed_and_alive(proc, "Received C-GET Response")

    def test_find_with_invalid_level(self):
        proc = h.run_dcmtk(["findscu", "-v", "-S", "-aec", "RADFLOW", "-k", "QueryRetrieveLevel=BOGUS",
                            "-k", "StudyInstanceUID=", "127.0.0.1", self.srv.dicom_port])
        self.assertNotIn("Find Response: 1 (Pending)", proc.stdout)
        self.assert_failed_and_alive(proc, "Received Final Find Response")


class DuplicatePolicyTests(h.ServerTestCase):
    """A different object with an already stored SOP Instance UID, per --duplicate-policy."""

    def send_twice(self, policy):
        tmp = self.tmpdir()
        first, second = os.path.join(tmp, "first.dcm"), os.path.join(tmp, "second.dcm")
        shutil.copy(h.dicom_files(h.series_dir("ct_head_ge_tilt"))[0], first)
        shutil.copy(first, second)
        h.run_dcmtk(["dcmodify", "-nb", "-m", "StudyDescription=SECOND VERSION", second],
                    check=True)
        srv = self.start(h.RadflowServer(extra_args=["--duplicate-policy", policy]))
        _, status1 = h.storescu(srv.dicom_port, [first])
        _, status2 = h.storescu(srv.dicom_port, [second])
        self.assertEqual(status1, {first: "Success"})
        self.assertEqual(srv.stats()["instances"], 1)
        ds = h.read_dataset(first, True)
        rsp = h.findscu(srv.dicom_port, "STUDY", [("StudyInstanceUID", ds.StudyInstanceUID),
                                                  ("StudyDescription", "")])
        return status2[second], rsp[0]["StudyDescription"]

    def test_keep(self):
        status, description = self.send_twice("keep")
        self.assertTrue(status.startswith(("Success", "Warning")), status)
        self.assertEqual(description, "HEAD")

    def test_reject(self):
        status, description = self.send_twice("reject")
        self.assertFalse(status.startswith(("Success", "Warning")), status)
        self.assertEqual(description, "HEAD")

    def test_replace(self):
        status, description = self.send_twice("replace")
        self.assertTrue(status.startswith(("Success", "Warning")), status)
        self.assertEqual(description, "SECOND VERSION")


class ConcurrentStoreTests(h.ServerTestCase):
    def test_concurrent_associations(self):
        srv = self.start(h.RadflowServer())
        folders = ["ct_lung_ibsi_pat1", "ct_head_ge_tilt", "mr_brain_t1_siemens",
                   "transfer_syntaxes_mr"]
        results = {}

        def send(name):
            results[name] = h.storescu(srv.dicom_port, h.dicom_files(h.series_dir(name)))

        threads = [threading.Thread(target=send, args=(n,)) for n in folders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = 0
        for name in folders:
            files = h.dicom_files(h.series_dir(name))
            proc, status = results[name]
            self.assertEqual(proc.returncode, 0, "%s: %s" % (name, proc.stdout[-2000:]))
            self.assertEqual(status, {p: "Success" for p in files}, name)
            total += len(files)
        st = srv.stats()
        self.assertEqual(st["instances"], total, st)
        self.assertEqual(st["studies"], 4, st)


if __name__ == "__main__":
    unittest.main()
