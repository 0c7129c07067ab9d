"""The shipped clinical apps and the project's own TorchScript / ONNX models, end to end
through a real server: storescu → routing by the manifests → worker → SEG / SR / derived
series stored in the study, retrieved by WADO-RS and checked with dciodvfy; findings by REST."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ai_harness import (FIXTURES, ai_server, api, by_app, dciodvfy_errors, finished,  # noqa: E402
                        wado_instance, wait_jobs)

CHEST = harness.series_dir("ct_chest_lung_dx")
HEAD = harness.series_dir("ct_head_ge_tilt")
PAT1 = harness.series_dir("ct_lung_ibsi_pat1")
SHIPPED = os.path.join(harness.REPO, "apps")


def ct_series(folder):
    files = [f for f in harness.dicom_files(folder)
             if getattr(harness.read_dataset(f, stop_before_pixels=True), "Modality", "") == "CT"]
    ds = harness.read_dataset(files[0], stop_before_pixels=True)
    return files, ds.StudyInstanceUID, ds.SeriesInstanceUID


class AppsTestCase(harness.ServerTestCase):
    def check_objects(self, server, study, job, kinds):
        """Every result object of the job is retrievable and passes dciodvfy; returns them."""
        objects = job["results"]["objects"]
        self.assertEqual({o["kind"] for o in objects}, set(kinds), job)
        out = self.tmpdir()
        checked = set()
        for o in objects:
            if o["kind"] == "derived" and "derived" in checked:
                continue  # one slice of a derived series is enough for dciodvfy
            path = wado_instance(server, study, o["series_uid"], o["sop_uid"],
                                 os.path.join(out, o["sop_uid"] + ".dcm"))
            self.assertEqual(dciodvfy_errors(path), [], "%s %s of %s" % (o["kind"], path, job["app_id"]))
            ds = harness.read_dataset(path, stop_before_pixels=True)
            self.assertEqual(ds.StudyInstanceUID, study)
            self.assertEqual(ds.ContributingEquipmentSequence[0].SoftwareVersions, job["app_version"])
            checked.add(o["kind"])
        return objects


class ClinicalApps(AppsTestCase):
    def test_chest_and_head_ct(self):
        server = self.start(ai_server([], SHIPPED, workers=2))
        status, body = api(server, "/api/v1/apps/ct-denoise/enable", "POST")  # opt-in by default
        self.assertEqual(status, 200, body)
        chest, chest_study, chest_series = ct_series(CHEST)
        head, head_study, head_series = ct_series(HEAD)
        harness.storescu(server.dicom_port, chest)
        harness.storescu(server.dicom_port, head)
        chest_apps = ("ct-lung-lesions", "ct-emphysema", "ct-quality", "ct-denoise")
        head_apps = ("ct-head-bleed", "ct-quality", "ct-denoise")
        js = wait_jobs(server, lambda js: all(finished([j for j in js if j["series_uid"] == chest_series], a)
                                              for a in chest_apps)
                       and all(finished([j for j in js if j["series_uid"] == head_series], a) for a in head_apps),
                       timeout=300, what="the clinical apps")
        chest_jobs = {j["app_id"]: j for j in js if j["series_uid"] == chest_series}
        head_jobs = {j["app_id"]: j for j in js if j["series_uid"] == head_series}
        self.assertEqual(set(chest_jobs), set(chest_apps))  # routing: no head-bleed on the chest
        self.assertEqual(set(head_jobs), set(head_apps))    # nor lung apps on the head
        for j in list(chest_jobs.values()) + list(head_jobs.values()):
            self.assertEqual(j["state"], "succeeded", j)
            print("\n%-16s %-60s %s" % (j["app_id"], j["summary"][:60], j["results"]["timings"]))

        self.check_objects(server, chest_study, chest_jobs["ct-lung-lesions"], {"seg", "sr"})
        self.check_objects(server, chest_study, chest_jobs["ct-emphysema"], {"seg", "sr"})
        self.check_objects(server, chest_study, chest_jobs["ct-quality"], {"sr"})
        derived = self.check_objects(server, chest_study, chest_jobs["ct-denoise"], {"derived"})
        self.assertEqual(len(derived), len(chest))  # one derived slice per source slice
        self.check_objects(server, head_study, head_jobs["ct-head-bleed"], {"sr"} if
                           head_jobs["ct-head-bleed"]["results"]["objects"] else set())

        status, lesions = api(server, "/api/v1/series/%s/findings" % chest_series)
        lung = [f for f in lesions if f["app_id"] == "ct-lung-lesions"]
        # docs/apps/ct-lung-lesions.md, "Results": A0001 (64 x 5 mm) gives 1 finding, the tumour.
        self.assertEqual(len(lung), 1, lung)
        self.assertEqual(lung[0]["severity"], "high")  # 89 mm solid: size band 4B -> high (ibid.)
        # Negative head CT: no suspected haemorrhage.
        status, head_findings = api(server, "/api/v1/series/%s/findings" % head_series)
        self.assertEqual([f for f in head_findings if f["app_id"] == "ct-head-bleed"], [])
        # ct-quality flags the head CT's tilt and irregular spacing, nothing severe on the chest.
        qc_head = [f for f in head_findings if f["app_id"] == "ct-quality"]
        self.assertTrue(any("tilt" in f["label"].lower() and f["severity"] in ("moderate", "high")
                            for f in qc_head), qc_head)
        qc_chest = [f for f in lesions if f["app_id"] == "ct-quality"]
        self.assertFalse([f for f in qc_chest if f["severity"] in ("moderate", "high", "critical")], qc_chest)


class ModelApps(AppsTestCase):
    def test_torchscript_and_onnx_apps(self):
        empty = self.tmpdir()
        server = self.start(ai_server([os.path.join(FIXTURES, "apps"), os.path.join(FIXTURES, "apps_unsupported")],
                                      empty, workers=2))
        files, study, series = ct_series(PAT1)
        harness.storescu(server.dicom_port, files)
        apps = ("bone3d-torch", "bone2d-onnx", "bone3d-onnx")
        js = wait_jobs(server, lambda js: all(finished(js, a) for a in apps), timeout=300, what="model apps")
        torch, = by_app(js, "bone3d-torch")
        onnx, = by_app(js, "bone2d-onnx")
        bad, = by_app(js, "bone3d-onnx")
        for j in (torch, onnx):
            self.assertEqual(j["state"], "succeeded", j)
            self.check_objects(server, study, j, {"seg", "sr"})
            print("\n%-14s %s %s" % (j["app_id"], j["summary"], j["results"]["timings"]))
        # OpenCV 4.6 cannot run a 3-D transposed convolution: a clear error naming the layer.
        self.assertEqual(bad["state"], "failed", bad)
        self.assertIn("ConvTranspose", bad["error"])
        self.assertIn("not supported by OpenCV", bad["error"])
        status, findings = api(server, "/api/v1/series/%s/findings" % series)
        self.assertTrue([f for f in findings if f["app_id"] == "bone3d-torch"])
        self.assertTrue([f for f in findings if f["app_id"] == "bone2d-onnx"])


if __name__ == "__main__":
    unittest.main()
