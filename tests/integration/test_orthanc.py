"""Interoperability with a real PACS: Orthanc pushes a study to radflow (C-STORE triggered
over Orthanc's REST API) and radflow moves a study to Orthanc (C-MOVE)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


class OrthancInteropTests(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        radflow_port = h.free_port()
        cls.orthanc = cls.start_class(h.OrthancServer(
            aet="ORTHANC", modalities={"RADFLOW": ("RADFLOW", "127.0.0.1", radflow_port)}))
        cls.srv = cls.start_class(h.RadflowServer(
            dicom_port=radflow_port,
            modalities={"ORTHANC": ("127.0.0.1", cls.orthanc.dicom_port)}))

    def test_orthanc_pushes_study_to_radflow(self):
        originals = h.index_by_sop_uid(h.dicom_files(h.series_dir("ct_chest_lung_dx")))
        proc, status = h.storescu(self.orthanc.dicom_port, sorted(originals.values()),
                                  aet="ORTHANC")
        self.assertEqual(set(status.values()), {"Success"}, proc.stdout[-2000:])
        study_uid = h.read_dataset(next(iter(originals.values())), True).StudyInstanceUID
        ids = self.orthanc.post("/tools/lookup", study_uid.encode())
        self.assertEqual(len(ids), 1, ids)
        before = self.srv.stats()["instances"]
        job = self.orthanc.post("/modalities/RADFLOW/store",
                                {"Resources": [ids[0]["ID"]], "Synchronous": True})
        self.assertEqual(job.get("FailedInstancesCount", 0), 0, job)
        self.assertEqual(self.srv.stats()["instances"] - before, len(originals))

        out = self.tmpdir()
        proc = h.getscu(self.srv.dicom_port, out, "STUDY", [("StudyInstanceUID", study_uid)])
        received = h.received_files(out)
        self.assertEqual(sorted(h.file_meta(p)["sop_uid"] for p in received),
                         sorted(originals), proc.stdout[-3000:])
        for path in received:
            uid = h.file_meta(path)["sop_uid"]
            self.assertEqual(h.pixel_data(path), h.pixel_data(originals[uid]), uid)

    def test_radflow_moves_study_to_orthanc(self):
        originals = h.index_by_sop_uid(h.dicom_files(h.series_dir("mr_brain_t1_siemens")))
        proc, status = h.storescu(self.srv.dicom_port, sorted(originals.values()))
        self.assertEqual(set(status.values()), {"Success"}, proc.stdout[-2000:])
        study_uid = h.read_dataset(next(iter(originals.values())), True).StudyInstanceUID
        proc = h.movescu(self.srv.dicom_port, "ORTHANC", "STUDY",
                         [("StudyInstanceUID", study_uid)])
        self.assertIn("Received Final Move Response (Success)", proc.stdout, proc.stdout[-3000:])

        found = self.orthanc.post("/tools/find", {"Level": "Instance", "Expand": True,
                                                  "Query": {"StudyInstanceUID": study_uid}})
        by_uid = {i["MainDicomTags"]["SOPInstanceUID"]: i["ID"] for i in found}
        self.assertEqual(sorted(by_uid), sorted(originals))
        tmp = self.tmpdir()
        for uid, orthanc_id in by_uid.items():
            path = os.path.join(tmp, uid + ".dcm")
            with open(path, "wb") as f:
                f.write(self.orthanc.get_bytes("/instances/%s/file" % orthanc_id))
            self.assertEqual(h.pixel_data(path), h.pixel_data(originals[uid]), uid)


if __name__ == "__main__":
    unittest.main()
