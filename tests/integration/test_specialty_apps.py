"""Slides and photographs through the AI engine end to end (issue 17; docs/apps.md, "Slides
and photographs"): a whole-slide image (CMU-1-Small-Region as DICOM, 5 pyramid levels, by
Debian's OrthancWSIDicomizer) and an Ophthalmic Photography image (retina.jpg wrapped by
DCMTK `img2dcm -oph`) (and the same slide by `radflow wsi import`: 8 instances with thumbnail,
label and overview, the label given InstanceNumber 0 so that it is the series' first file)
sent by storescu → SeriesStable → routing by SOP class and modality → one job per series
(not per level) → the app's own objects (manifest input "files") stored as new series of the
study, dciodvfy clean → findings over REST.

FilesEngine runs the engine's files self-test apps (test_apps.cpp: an SR, one finding, no
volume loaded) under the shipped manifests' rules, under a rule that also matches the
engine's own outputs (PatientID), with a level stored while the slide's job runs, and with
bad objects; ShippedApps runs the shipped wsi-tissue and fundus-quality apps (SEG of each
slide; SEG and SR of the photograph).

--stable-seconds is STABLE (3 s) here: a level stored within it of the last one joins the
same SeriesStable on this loaded 2-core machine; checks that nothing further is queued wait
2 × STABLE after the last job ended (a SeriesStable of the outputs comes STABLE after them)."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ai_harness import ai_server, api, by_app, dciodvfy_errors, finished, jobs, wado_instance, wait_jobs  # noqa: E402

SHIPPED = os.path.join(harness.REPO, "apps")
SVS = os.path.join(harness.DATA_ROOT, "wsi", "cmu1_small_region_svs", "CMU-1-Small-Region.svs")
RETINA = os.path.join(harness.DATA_ROOT, "ophthalmic", "skimage_retina", "retina.jpg")
WSM = "1.2.840.10008.5.1.4.1.1.77.1.6"     # VL Whole Slide Microscopy Image Storage
OP8 = "1.2.840.10008.5.1.4.1.1.77.1.5.1"   # Ophthalmic Photography 8 Bit Image Storage
SEG = "1.2.840.10008.5.1.4.1.1.66.4"
STABLE = 3  # --stable-seconds


def dicomize_slide(out_dir):
    """CMU-1-Small-Region.svs → a DICOM WSM pyramid in one series (5 instances, one per level),
    with Debian's OrthancWSIDicomizer (docs/wsi.md, "Viewing slides in OHIF")."""
    dataset = os.path.join(out_dir, "dataset.json")
    with open(dataset, "w") as f:
        json.dump({"PatientID": "WSI-E2E-1", "PatientName": "SLIDE^E2E", "PatientBirthDate": "",
                   "PatientSex": "", "StudyID": "1", "SeriesNumber": "1", "ReferringPhysicianName": "",
                   "AccessionNumber": "", "Manufacturer": "Orthanc", "ManufacturerModelName": "WSI",
                   "DeviceSerialNumber": "1", "SoftwareVersions": "1.1", "ContainerIdentifier": "CMU-1-SR"}, f)
    libopenslide = (glob.glob("/usr/lib/*/libopenslide.so.0") or ["libopenslide.so.0"])[0]
    # The imaged volume from OpenSlide's mpp (0.499 µm, 2220 × 2967 px): the dicomizer's
    # default, 15 × 15 mm, would make PixelSpacing (and every area in mm²) ~137 times too
    # large. Its "width" divides by the rows (2967 × 0.000499 mm = 1.480533 mm): with these
    # two values PixelSpacing is 0.000499 mm both ways.
    proc = subprocess.run(["OrthancWSIDicomizer", "--folder", out_dir, "--pyramid", "1", "--dataset", dataset,
                           "--imaged-width", "1.480533", "--imaged-height", "1.10778",
                           "--openslide", libopenslide, SVS],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    os.remove(dataset)
    assert proc.returncode == 0, proc.stdout[-2000:]
    files = sorted(glob.glob(os.path.join(out_dir, "*.dcm")))
    assert len(files) >= 2, files
    return files


def import_slide(out_dir):
    """CMU-1-Small-Region.svs → radflow's own DICOM WSM (`radflow wsi import --out`): 5 levels,
    THUMBNAIL, LABEL and OVERVIEW in one series (8 instances), TILED_FULL."""
    proc = harness.radflow_cli("wsi", "import", SVS, "--out", out_dir, "--patient-id", "WSI-E2E-2",
                               "--patient-name", "SLIDE^RADFLOW", "--container-id", "CMU-1-RF")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    files = sorted(glob.glob(os.path.join(out_dir, "*.dcm")))
    assert len(files) >= 5, files
    return files


def wrap_photograph(out_dir):
    """retina.jpg → Ophthalmic Photography 8 Bit (JPEG copied), laterality and codes given."""
    path = os.path.join(out_dir, "retina-op.dcm")
    harness.run_dcmtk(["img2dcm", "-oph", "-k", "PatientID=OP-E2E-1", "-k", "PatientName=FUNDUS^E2E",
                       "-k", "ImageLaterality=R",
                       # PS3.16 CID 4202 / CID 4209 (SNOMED CT): fundus camera, eye
                       "-k", "AcquisitionDeviceTypeCodeSequence[0].CodeValue=409898007",
                       "-k", "AcquisitionDeviceTypeCodeSequence[0].CodingSchemeDesignator=SCT",
                       "-k", "AcquisitionDeviceTypeCodeSequence[0].CodeMeaning=Fundus Camera",
                       "-k", "AnatomicRegionSequence[0].CodeValue=81745001",
                       "-k", "AnatomicRegionSequence[0].CodingSchemeDesignator=SCT",
                       "-k", "AnatomicRegionSequence[0].CodeMeaning=Eye",
                       RETINA, path], check=True)
    return path


def uids(path):
    ds = harness.read_dataset(path, stop_before_pixels=True)
    return ds.StudyInstanceUID, ds.SeriesInstanceUID


def files_manifest(folder, app_id, runner, rules_from, outputs, max_attempts=1, settings=None):
    """A files app manifest with the shipped manifest's routing rules (rules_from: a file of
    apps/) or with these rules (a list)."""
    if isinstance(rules_from, list):
        rules = rules_from
    else:
        with open(os.path.join(SHIPPED, rules_from)) as f:
            rules = json.load(f)["rules"]
    manifest = {"id": app_id, "name": "Engine self-test: " + app_id, "version": "1.0.0",
                "vendor": "radflow tests", "rules": rules, "input": "files", "outputs": outputs,
                "timeout_s": 60, "max_attempts": max_attempts, "runner": runner,
                "settings": settings or {}}
    with open(os.path.join(folder, app_id + ".json"), "w") as f:
        json.dump(manifest, f)


def study_series(server, study):
    status, body = api(server, "/dicom-web/studies/%s/series" % study)
    assert status == 200, body
    return {s["0020000E"]["Value"][0]: s.get("00080060", {}).get("Value", [""])[0] for s in body}


def first_file(files):
    """The file the index lists first (routing's and the app's attributes): the lowest
    InstanceNumber."""
    return min(files, key=lambda p: int(harness.read_dataset(p, stop_before_pixels=True).InstanceNumber))


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def image_type(path):
    """ImageType as routing shows it; "?" where absent (OrthancWSIDicomizer writes none)."""
    ds = harness.read_dataset(path, stop_before_pixels=True)
    return "\\".join(ds.ImageType) if "ImageType" in ds else "?"


class SpecialtyCase(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        # Converted once for the class; each test stores them into a fresh data directory.
        cls.work = tempfile.mkdtemp(prefix="radflow-it-specialty-")
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        for sub in ("orthanc", "radflow", "op"):
            os.makedirs(os.path.join(cls.work, sub))
        cls.slide = dicomize_slide(os.path.join(cls.work, "orthanc"))
        cls.slide2 = import_slide(os.path.join(cls.work, "radflow"))
        # The label first in the series (LocateSeries orders by InstanceNumber; it is 7):
        # routing and the app then see the label's attributes, not a level's.
        cls.label, = [p for p in cls.slide2 if "LABEL" in image_type(p)]
        harness.run_dcmtk(["dcmodify", "-nb", "-m", "InstanceNumber=0", cls.label], check=True)
        cls.photo = wrap_photograph(os.path.join(cls.work, "op"))
        cls.slide_study, cls.slide_series = uids(cls.slide[0])
        cls.slide2_study, cls.slide2_series = uids(cls.slide2[0])
        cls.photo_study, cls.photo_series = uids(cls.photo)

    def setUp(self):
        super().setUp()
        self.data = self.tmpdir()

    def server(self, apps_dirs, builtin_apps_dir):
        return self.start(ai_server(apps_dirs, builtin_apps_dir, data_dir=self.data, stable_seconds=STABLE))

    def settle(self, server, count):
        """2 × STABLE after the last job ended, polling: the job list keeps `count` jobs, all
        ended (a SeriesStable of the engine's outputs comes STABLE after they are stored)."""
        js = jobs(server, limit=1000)
        last_end = max(j["finished_at"] for j in js) / 1000.0
        deadline = max(time.time(), last_end + 2 * STABLE)
        while True:
            js = jobs(server, limit=1000)
            self.assertEqual(len(js), count, js)
            if time.time() >= deadline:
                return js
            time.sleep(0.25)

    def store_all(self, server):
        for files in (self.slide, self.slide2, [self.photo]):
            proc, statuses = harness.storescu(server.dicom_port, files)
            self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
            self.assertTrue(statuses and all(s.startswith("Success") for s in statuses.values()), statuses)

    def check_objects(self, server, study, job, kinds):
        """The job's objects: of these kinds, new series of the study, dciodvfy clean, by WADO-RS."""
        objects = job["results"]["objects"]
        self.assertEqual(sorted(o["kind"] for o in objects), sorted(kinds), job)
        out = self.tmpdir()
        for o in objects:
            path = wado_instance(server, study, o["series_uid"], o["sop_uid"], os.path.join(out, o["sop_uid"] + ".dcm"))
            self.assertEqual(dciodvfy_errors(path), [], "%s of %s fails dciodvfy" % (o["kind"], job["app_id"]))
            ds = harness.read_dataset(path, stop_before_pixels=True)
            self.assertEqual((ds.StudyInstanceUID, ds.SOPClassUID), (study, o["sop_class_uid"]))
            self.assertNotEqual(ds.SeriesInstanceUID, job["series_uid"])
            if o["kind"] == "seg":
                self.assertEqual(ds.SOPClassUID, SEG)
            # The engine's own outputs are never routed to apps (meaningful after settle()).
            self.assertEqual(jobs(server, series=o["series_uid"]), [], o)
        return objects


class FilesEngine(SpecialtyCase):
    def test_slide_and_photograph_through_the_files_test_app(self):
        apps = self.tmpdir()
        files_manifest(apps, "test-files-sm", "builtin:test-files", "wsi-tissue.json", ["sr", "findings"])
        files_manifest(apps, "test-files-op", "builtin:test-files", "fundus-quality.json", ["sr", "findings"])
        # Rules the engine's own SRs match too (same patients): only the engine keeps them
        # from being routed.
        files_manifest(apps, "test-files-patient", "builtin:test-files",
                       [{"attribute": "PatientID", "in": ["WSI-E2E-1", "WSI-E2E-2", "OP-E2E-1"]}], ["sr", "findings"])
        server = self.server([apps], self.tmpdir())
        self.store_all(server)
        ended = lambda j: j["state"] in ("succeeded", "failed")  # noqa: E731
        wait_jobs(server, lambda js: len([j for j in js if ended(j)]) == 6, timeout=60, what="the files test apps")
        js = self.settle(server, 6)  # nothing further is queued, the outputs included
        # Routing by SOP class and modality; once per slide series, not per level.
        on = {series: sorted(j["app_id"] for j in js if j["series_uid"] == series)
              for series in (self.slide_series, self.slide2_series, self.photo_series)}
        self.assertEqual(on, {self.slide_series: ["test-files-patient", "test-files-sm"],
                              self.slide2_series: ["test-files-patient", "test-files-sm"],
                              self.photo_series: ["test-files-op", "test-files-patient"]}, js)
        for series, study, files, sop_class in ((self.slide_series, self.slide_study, self.slide, WSM),
                                                (self.slide2_series, self.slide2_study, self.slide2, WSM),
                                                (self.photo_series, self.photo_study, [self.photo], OP8)):
            for job in [j for j in js if j["series_uid"] == series]:
                self.assertEqual(job["state"], "succeeded", job)
                self.assertEqual(job["summary"], "%d file(s) of %s, first %s, no volume loaded"
                                 % (len(files), sop_class, image_type(first_file(files))))
                self.assertEqual(job["study_uid"], study)
                sr, = self.check_objects(server, study, job, ["sr"])
                self.assertIn(sr["series_uid"], study_series(server, study))
            # Findings over REST, by series and by study: one per job.
            status, findings = api(server, "/api/v1/series/%s/findings" % series)
            self.assertEqual(status, 200, findings)
            self.assertEqual(len(findings), 2, findings)
            for f in findings:
                self.assertEqual(f["type"]["meaning"], "Imaging procedure", f)
                self.assertEqual([m["value"] for m in f["details"]["measurements"]], [len(files)], f)
            status, by_study = api(server, "/api/v1/studies/%s/findings" % study)
            self.assertEqual(len(by_study), 2, by_study)
        # The label (InstanceNumber 0) is the radflow slide's first file: its attributes route.
        self.assertIn("LABEL", image_type(first_file(self.slide2)))
        print("\nslides: %d and %d instances -> 1 job per app each" % (len(self.slide), len(self.slide2)))

    def test_a_level_stored_while_its_job_runs_is_run_again(self):
        """All levels but the last → SeriesStable → job 1 (held at its gate); the last level
        → a SeriesStable while job 1 runs → job 1 ends → job 2 on all levels."""
        apps, gate_dir = self.tmpdir(), self.tmpdir()
        gate = os.path.join(gate_dir, "open")
        files_manifest(apps, "test-files-gated", "builtin:test-files-gated", "wsi-tissue.json", ["sr", "findings"],
                       settings={"gate": gate})
        server = self.server([apps], self.tmpdir())
        ordered = sorted(self.slide, key=lambda p: int(harness.read_dataset(p, stop_before_pixels=True).InstanceNumber))
        first, last = ordered[:-1], ordered[-1:]
        proc, _ = harness.storescu(server.dicom_port, first)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        js = wait_jobs(server, lambda js: any(j["state"] == "running" for j in js), timeout=30, what="job 1 running")
        job1, = js
        proc, _ = harness.storescu(server.dicom_port, last)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        # The engine logs that it remembered the SeriesStable that found job 1 running.
        deadline = time.time() + STABLE + 10
        while "became stable again while a test-files-gated job" not in read_text(server.log_path):
            self.assertLess(time.time(), deadline, "no SeriesStable while job 1 ran")
            time.sleep(0.2)
        self.assertEqual(len(jobs(server)), 1)  # not queued twice while job 1 is active
        open(gate, "w").close()
        js = wait_jobs(server, lambda js: len(js) == 2 and all(j["state"] == "succeeded" for j in js),
                       timeout=30, what="job 2 after job 1")
        job2 = [j for j in js if j["id"] != job1["id"]][0]
        by_id = {j["id"]: j for j in js}
        self.assertTrue(by_id[job1["id"]]["summary"].startswith("%d file(s)" % len(first)), by_id[job1["id"]])
        self.assertTrue(job2["summary"].startswith("%d file(s)" % len(self.slide)), job2)
        self.assertEqual(job2["trigger"], "series-stable (1 instance(s) stored while job %d ran)" % job1["id"], job2)
        self.assertEqual(job2["series_uid"], self.slide_series)

    def test_an_object_outside_the_folder_fails_the_job_naming_it(self):
        apps = self.tmpdir()
        files_manifest(apps, "test-files-escape", "builtin:test-files-escape", "fundus-quality.json", ["sr"])
        server = self.server([apps], self.tmpdir())
        proc, _ = harness.storescu(server.dicom_port, [self.photo])
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        js = wait_jobs(server, lambda js: finished(js, "test-files-escape"), timeout=60, what="the escape app")
        job, = by_app(js, "test-files-escape")
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("is not inside", job["error"])
        self.assertEqual(study_series(server, self.photo_study), {self.photo_series: "OP"})  # nothing stored

    def test_an_object_with_a_stored_sop_instance_uid_fails_the_job_naming_it(self):
        """An SR with the photograph's own SOP Instance UID (rejected by the object checks),
        and one with a slide level's (already stored: rejected before storing)."""
        apps = self.tmpdir()
        level_uid = harness.read_dataset(self.slide[0], stop_before_pixels=True).SOPInstanceUID
        photo_uid = harness.read_dataset(self.photo, stop_before_pixels=True).SOPInstanceUID
        files_manifest(apps, "test-files-source-uid", "builtin:test-files-fixed-uid", "fundus-quality.json", ["sr"])
        files_manifest(apps, "test-files-stored-uid", "builtin:test-files-fixed-uid", "fundus-quality.json", ["sr"],
                       settings={"uid": level_uid})
        server = self.server([apps], self.tmpdir())
        for files in (self.slide, [self.photo]):  # the slide is stored before the photograph's jobs run
            proc, _ = harness.storescu(server.dicom_port, files)
            self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        js = wait_jobs(server, lambda js: finished(js, "test-files-source-uid") and finished(js, "test-files-stored-uid"),
                       timeout=60, what="the UID apps")
        source, = by_app(js, "test-files-source-uid")
        stored, = by_app(js, "test-files-stored-uid")
        self.assertEqual((source["state"], stored["state"]), ("failed", "failed"), js)
        self.assertIn("SOPInstanceUID %s is a source instance's" % photo_uid, source["error"])
        self.assertIn("its sr result's SOPInstanceUID %s is already stored" % level_uid, stored["error"])
        self.assertEqual(study_series(server, self.photo_study), {self.photo_series: "OP"})  # nothing stored
        self.assertEqual(study_series(server, self.slide_study), {self.slide_series: "SM"})


class ShippedApps(SpecialtyCase):
    """apps/wsi-tissue.json and apps/fundus-quality.json with their built-in apps."""

    def test_wsi_tissue_and_fundus_quality(self):
        server = self.server([], SHIPPED)
        status, listed = api(server, "/api/v1/apps")
        self.assertEqual(status, 200, listed)
        inputs = {a["id"]: a["input"] for a in listed["apps"]}
        self.assertEqual((inputs["wsi-tissue"], inputs["fundus-quality"], inputs["ct-quality"]),
                         ("files", "files", "volume"), inputs)
        self.store_all(server)
        done = lambda j: j["state"] in ("succeeded", "failed")  # noqa: E731
        wait_jobs(server, lambda js: len([j for j in by_app(js, "wsi-tissue") if done(j)]) == 2
                  and finished(js, "fundus-quality"), timeout=120, what="wsi-tissue and fundus-quality")
        js = self.settle(server, 3)
        on_slide = [j for j in js if j["series_uid"] == self.slide_series]
        on_slide2 = [j for j in js if j["series_uid"] == self.slide2_series]
        on_photo = [j for j in js if j["series_uid"] == self.photo_series]
        self.assertEqual([j["app_id"] for j in on_slide], ["wsi-tissue"], on_slide)  # no CT app, once per slide
        self.assertEqual([j["app_id"] for j in on_slide2], ["wsi-tissue"], on_slide2)
        self.assertEqual([j["app_id"] for j in on_photo], ["fundus-quality"], on_photo)
        tissue, tissue2, fundus = on_slide[0], on_slide2[0], on_photo[0]
        for job in (tissue, tissue2, fundus):
            self.assertEqual(job["state"], "succeeded", job)
            print("\n%-15s %-70s %s" % (job["app_id"], job["summary"][:70], job["results"]["timings"]))
        self.check_objects(server, self.slide_study, tissue, ["seg"])
        self.check_objects(server, self.slide2_study, tissue2, ["seg"])
        self.check_objects(server, self.photo_study, fundus, ["seg", "sr"])
        areas = []
        for job in (tissue, tissue2, fundus):
            status, findings = api(server, "/api/v1/series/%s/findings" % job["series_uid"])
            self.assertEqual(status, 200, findings)
            self.assertTrue(findings, "%s: no findings" % job["app_id"])
            self.assertTrue(all(f["app_id"] == job["app_id"] for f in findings), findings)
            if job["app_id"] == "wsi-tissue":
                areas += [m["value"] for f in findings for m in f["details"]["measurements"] if m["name"] == "Area"]
        # The same slide by two converters (OrthancWSIDicomizer, radflow wsi import): the same
        # tissue area within 2 % (docs/apps.md, "Slides and photographs"; measured 0.587 and
        # 0.586 mm², 0.14 % apart: the computed lower levels differ by resampling only).
        self.assertEqual(len(areas), 2, areas)
        print("\ntissue area: OrthancWSIDicomizer %.4f mm2, radflow wsi import %.4f mm2" % tuple(areas))
        self.assertLess(abs(areas[0] - areas[1]) / max(areas), 0.02, areas)


if __name__ == "__main__":
    unittest.main()
