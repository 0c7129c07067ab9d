"""The research hub end to end (docs/research.md): a real chest CT read by ct-lung-lesions
(findings, SEG, SR, IBSI features) and a real liver CT with its dcmqi SEG; cohorts previewed,
created in two versions and exported by a researcher through the REST API; the downloaded
tar checked (manifest hashes, NIfTI headers and voxels against the DICOM, the SEG segment
as a mask, findings.csv with the IBSI columns, no original identifier anywhere); the CLI
export with its progress bar."""
import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ai_harness import ai_server, finished, wait_jobs  # noqa: E402

import numpy as np  # noqa: E402

CHEST = harness.series_dir("ct_chest_lung_dx")
DCMQI = os.path.join(harness.DATA_ROOT, "seg_sr", "dcmqi", "data", "segmentations")
LIVER_CT = sorted(os.path.join(DCMQI, "ct-3slice", f) for f in os.listdir(os.path.join(DCMQI, "ct-3slice")))
LIVER_SEG = os.path.join(DCMQI, "liver.dcm")
IBSI = ["morph_volume", "morph_pca_maj_axis", "morph_sphericity", "morph_pca_elongation", "morph_pca_flatness",
        "morph_vol_dens_conv_hull", "stat_mean", "stat_var", "stat_skew", "stat_p10", "stat_p90"]


def chest_files():
    return [f for f in harness.dicom_files(CHEST)
            if getattr(harness.read_dataset(f, stop_before_pixels=True), "Modality", "") == "CT"]


class Research(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        # Only ct-lung-lesions: its findings, SEG and SR are what the cohorts select.
        cls.apps = tempfile.mkdtemp(prefix="radflow-research-apps-")
        shutil.copy(os.path.join(harness.REPO, "apps", "ct-lung-lesions.json"), cls.apps)
        cls.server = cls.start_class(ai_server([], cls.apps, workers=1))
        cls.researcher = {"Authorization": "Bearer " + cls.server.token_for("rita", "researcher")}
        cls.chest = chest_files()
        harness.storescu(cls.server.dicom_port, cls.chest)
        harness.storescu(cls.server.dicom_port, LIVER_CT + [LIVER_SEG])
        ds = harness.read_dataset(cls.chest[0], stop_before_pixels=True)
        cls.chest_series = ds.SeriesInstanceUID
        js = wait_jobs(cls.server, lambda js: finished([j for j in js if j["series_uid"] == cls.chest_series],
                                                        "ct-lung-lesions"), timeout=300, what="ct-lung-lesions")
        job = [j for j in js if j["series_uid"] == cls.chest_series][0]
        assert job["state"] == "succeeded", job
        cls.ai_objects = job["results"]["objects"]
        status, findings = cls.call("/api/v1/series/%s/findings" % cls.chest_series)
        assert status == 200, findings
        cls.findings = [f for f in findings if f["app_id"] == "ct-lung-lesions"]
        assert cls.findings, findings
        # Similar-case search computes (and caches) each lesion's IBSI features on first use.
        for f in cls.findings:
            status, body = cls.call("/api/v1/findings/%d/similar?k=1" % f["id"])
            assert status == 200, body

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.apps, True)

    @classmethod
    def call(cls, path, method="GET", body=None, headers=None, raw=False):
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (cls.server.http_port, path), data=data,
                                     method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                payload = r.read()
                return r.status, (payload if raw else json.loads(payload or b"null"))
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def as_researcher(self, path, method="GET", body=None, raw=False):
        return self.call(path, method, body, self.researcher, raw)

    # ------------------------------------------------------------------ identifiers

    def originals(self):
        """(long identifiers searched as bytes, short ones searched as whole tokens)."""
        long_ids, short_ids = set(), set()
        for path in self.chest + LIVER_CT + [LIVER_SEG]:
            ds = harness.read_dataset(path, stop_before_pixels=True)
            for kw in ("PatientName", "PatientID", "AccessionNumber", "StudyInstanceUID", "SeriesInstanceUID",
                       "SOPInstanceUID", "StudyDate", "PatientBirthDate"):
                v = str(getattr(ds, kw, "") or "").strip()
                if len(v) >= 12:
                    long_ids.add(v.encode())
                elif len(v) >= 4:
                    short_ids.add(v.encode())
        for o in self.ai_objects:  # the AI results' UIDs are originals too
            long_ids.update({o["series_uid"].encode(), o["sop_uid"].encode()})
        return long_ids, short_ids

    def assert_no_identifiers(self, name, data, long_ids, short_ids):
        for v in long_ids:
            self.assertNotIn(v, data, "%s holds the original %r" % (name, v))
        for v in short_ids:
            # A short value (PatientID 99000, a date) counts when it stands alone, not inside
            # the digits of a mapped UID or a hash.
            pattern = rb"(?<![0-9A-Za-z.])" + re.escape(v) + rb"(?![0-9A-Za-z.])"
            self.assertIsNone(re.search(pattern, data), "%s holds the original %r" % (name, v))

    # ------------------------------------------------------------------ NIfTI

    @staticmethod
    def nifti(data):
        """(header fields, voxels as a (z, y, x) float array) of a NIfTI-1 file's bytes."""
        raw = gzip.decompress(data)
        sizeof_hdr, = struct.unpack_from("<i", raw, 0)
        dim = struct.unpack_from("<8h", raw, 40)
        datatype, bitpix = struct.unpack_from("<hh", raw, 70)
        pixdim = struct.unpack_from("<8f", raw, 76)
        vox_offset, = struct.unpack_from("<f", raw, 108)
        magic = raw[344:348]
        hdr = {"sizeof_hdr": sizeof_hdr, "dim": dim, "datatype": datatype, "bitpix": bitpix, "pixdim": pixdim,
               "magic": magic}
        n = dim[1] * dim[2] * dim[3]
        voxels = np.frombuffer(raw, dtype="<f4", count=n, offset=int(vox_offset)).reshape(dim[3], dim[2], dim[1])
        return hdr, voxels

    @staticmethod
    def liver_slices():
        """The liver CT's slices sorted along the slice normal: [(position along it, HU array)]."""
        out = []
        for path in LIVER_CT:
            ds = harness.read_dataset(path)
            iop = [float(x) for x in ds.ImageOrientationPatient]
            normal = np.cross(iop[:3], iop[3:])
            z = float(np.dot(normal, [float(x) for x in ds.ImagePositionPatient]))
            hu = ds.pixel_array.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1)) + \
                float(getattr(ds, "RescaleIntercept", 0))
            out.append((z, hu, normal))
        out.sort(key=lambda s: s[0])
        return out

    def seg_frames(self, normal):
        """The liver SEG's frames as {position along the normal: 0/1 array} (BINARY, PS3.5 8.1.1)."""
        ds = harness.read_dataset(LIVER_SEG)
        rows, cols, frames = int(ds.Rows), int(ds.Columns), int(ds.NumberOfFrames)
        bits = np.unpackbits(np.frombuffer(ds.PixelData, dtype=np.uint8), bitorder="little")
        out = {}
        for i in range(frames):
            pos = [float(x) for x in
                   ds.PerFrameFunctionalGroupsSequence[i].PlanePositionSequence[0].ImagePositionPatient]
            frame = bits[i * rows * cols:(i + 1) * rows * cols].reshape(rows, cols)
            out[round(float(np.dot(normal, pos)), 3)] = frame
        return out

    # ------------------------------------------------------------------ tests

    def test_1_preview_and_versions(self):
        lesions = len(self.findings)
        chest_series = 1 + len({o["series_uid"] for o in self.ai_objects})  # the CT, its SEG and SR
        status, counts = self.as_researcher("/api/v1/research/cohorts/preview", "POST", {"criteria": {}})
        self.assertEqual(status, 200, counts)
        self.assertEqual(counts, {"patients": 2, "studies": 2, "series": chest_series + 2,
                                  "instances": len(self.chest) + len(self.ai_objects) + len(LIVER_CT) + 1,
                                  "lesions": lesions})
        status, philips = self.as_researcher("/api/v1/research/cohorts/preview", "POST",
                                             {"criteria": {"modality": ["CT"], "manufacturer": "philips",
                                                           "model": "brilliance"}})
        self.assertEqual(status, 200, philips)
        self.assertEqual((philips["patients"], philips["studies"], philips["series"]), (1, 1, chest_series))
        status, liver = self.as_researcher("/api/v1/research/cohorts/preview", "POST",
                                           {"criteria": {"study_date_to": "20051231"}})
        self.assertEqual((liver["patients"], liver["series"], liver["instances"], liver["lesions"]),
                         (1, 2, len(LIVER_CT) + 1, 0))
        big = max(f["size_mm"] for f in self.findings)
        status, sized = self.as_researcher("/api/v1/research/cohorts/preview", "POST",
                                           {"criteria": {"finding": {"min_size_mm": big}}})
        self.assertEqual((sized["studies"], sized["lesions"]),
                         (1, len([f for f in self.findings if f["size_mm"] >= big])))
        status, featured = self.as_researcher("/api/v1/research/cohorts/preview", "POST",
                                              {"criteria": {"features": [{"name": "morph_volume", "min": 0}]}})
        self.assertEqual(status, 200, featured)
        self.assertGreaterEqual(featured["lesions"], 1)  # IBSI features were cached for the lesions
        # Bad criteria: 400 naming the field.
        status, err = self.as_researcher("/api/v1/research/cohorts/preview", "POST",
                                         {"criteria": {"finding": {"severity": "severe"}}})
        self.assertEqual(status, 400, err)
        self.assertIn("criteria.finding.severity", err["error"])
        status, err = self.as_researcher("/api/v1/research/cohorts/preview", "POST",
                                         {"criteria": {"study_date_from": "2020"}})
        self.assertEqual(status, 400, err)
        self.assertIn("criteria.study_date_from", err["error"])

        # Two versions of one name: the study list frozen into each.
        status, v1 = self.as_researcher("/api/v1/research/cohorts", "POST",
                                        {"name": "all-ct", "description": "every CT", "criteria": {"modality": ["CT"]}})
        self.assertEqual(status, 201, v1)
        self.assertEqual(v1["version"], 1)
        self.assertEqual(v1["counts"]["studies"], 2)
        kind = self.findings[0]["type"]["meaning"]  # the chest CT's lesion type (nodule or mass)
        status, v2 = self.as_researcher("/api/v1/research/cohorts", "POST",
                                        {"name": "all-ct", "criteria": {"modality": ["CT"], "finding": {"type": kind}}})
        self.assertEqual(status, 201, v2)
        self.assertEqual(v2["version"], 2)
        self.assertEqual(v2["counts"]["studies"], 1)
        status, listed = self.as_researcher("/api/v1/research/cohorts")
        self.assertEqual(status, 200, listed)
        mine = [c for c in listed["cohorts"] if c["name"] == "all-ct"]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0]["version"], mine[0]["created_by"]), (2, "rita"))
        status, detail = self.as_researcher("/api/v1/research/cohorts/all-ct?version=1")
        self.assertEqual(status, 200, detail)
        self.assertEqual(detail["criteria"], {"modality": ["CT"]})
        self.assertEqual([v["version"] for v in detail["versions"]], [1, 2])
        self.assertNotIn(self.chest_series, json.dumps(detail))  # no identifiers
        status, err = self.as_researcher("/api/v1/research/cohorts/nope")
        self.assertEqual(status, 404, err)

    def test_2_export_download(self):
        status, _ = self.as_researcher("/api/v1/research/cohorts", "POST",
                                       {"name": "export-me", "criteria": {"modality": ["CT"]}})
        self.assertEqual(status, 201)
        for bad, field in (({"cohort": "export-me", "formats": ["png"]}, "formats"),
                           ({"cohort": "export-me", "options": {"retain_names": True}}, "options.retain_names"),
                           ({"cohort": "export-me", "options": {"retain_dates": "yes"}}, "options.retain_dates")):
            status, err = self.as_researcher("/api/v1/research/exports", "POST", bad)
            self.assertEqual(status, 400, err)
            self.assertIn(field, err["error"])
        status, err = self.as_researcher("/api/v1/research/exports", "POST", {"cohort": "no-such-cohort"})
        self.assertEqual(status, 404, err)

        status, queued = self.as_researcher("/api/v1/research/exports", "POST",
                                            {"cohort": "export-me", "options": {"retain_dates": False},
                                             "formats": ["dicom", "nifti", "csv"]})
        self.assertEqual(status, 202, queued)
        export_id = queued["id"]
        deadline, seen = time.time() + 300, []
        while True:
            status, e = self.as_researcher("/api/v1/research/exports/%d" % export_id)
            self.assertEqual(status, 200, e)
            seen.append((e["status"], e["done"], e["total"]))
            if e["status"] in ("done", "failed"):
                break
            self.assertLess(time.time(), deadline, seen[-5:])
            time.sleep(0.2)
        self.assertEqual(e["status"], "done", e)
        self.assertEqual(e["done"], e["total"])
        self.assertGreater(e["total"], len(self.chest))
        self.assertIn("manifest", e)
        status, listed = self.as_researcher("/api/v1/research/exports")
        self.assertIn(export_id, [x["id"] for x in listed["exports"]])

        status, tar_bytes = self.as_researcher("/api/v1/research/exports/%d/download" % export_id, raw=True)
        self.assertEqual(status, 200)
        members = {}
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
            for m in tar.getmembers():
                self.assertTrue(m.isfile(), m.name)
                prefix = "radflow-export-%d/" % export_id
                self.assertTrue(m.name.startswith(prefix), m.name)
                members[m.name[len(prefix):]] = tar.extractfile(m).read()
        manifest = json.loads(members["manifest.json"])
        self.assertEqual(manifest, e["manifest"])

        # Every file in the manifest with its size and SHA-256, and nothing else in the archive.
        listed_files = {f["path"]: f for f in manifest["files"]}
        self.assertEqual(set(listed_files), set(members) - {"manifest.json"})
        for path, f in listed_files.items():
            self.assertEqual(f["size"], len(members[path]), path)
            self.assertEqual(f["sha256"], hashlib.sha256(members[path]).hexdigest(), path)
        self.assertEqual(manifest["cohort"]["name"], "export-me")
        self.assertEqual(manifest["cohort"]["criteria"], {"modality": ["CT"]})
        self.assertEqual(manifest["deidentification"]["method_codes"][0]["value"], "113100")
        self.assertFalse(manifest["deidentification"]["options"]["retain_dates"])
        self.assertRegex(manifest["radflow_version"], r"^\d+\.\d+\.\d+")

        dicom = [p for p in members if p.startswith("dicom/")]
        self.assertEqual(len(dicom) + manifest["contents"]["dicom_skipped"],
                         len(self.chest) + len(self.ai_objects) + len(LIVER_CT) + 1)

        # No original identifier in any byte of the archive (NIfTI decompressed too).
        long_ids, short_ids = self.originals()
        self.assert_no_identifiers("the tar", tar_bytes, long_ids, short_ids)
        for path, data in members.items():
            self.assert_no_identifiers(path, gzip.decompress(data) if path.endswith(".gz") else data,
                                       long_ids, short_ids)

        # The liver CT as NIfTI: header readable, voxels = the slices in HU, sorted along the normal.
        slices = self.liver_slices()
        liver_dicom = [p for p in dicom if len(p.split("/")) == 5]
        liver_ds = None
        for p in liver_dicom:
            ds = harness._pydicom().dcmread(io.BytesIO(members[p]), force=True, stop_before_pixels=True)
            if ds.Modality == "SEG" and int(ds.NumberOfFrames) == 3:  # the dcmqi liver SEG
                liver_ds = ds
        self.assertIsNotNone(liver_ds, "the liver SEG is exported")
        patient, study = liver_ds.PatientID, liver_ds.StudyInstanceUID
        image_series = liver_ds.ReferencedSeriesSequence[0].SeriesInstanceUID
        image = "nifti/%s/%s/%s.nii.gz" % (patient, study, image_series)
        self.assertIn(image, members)
        hdr, voxels = self.nifti(members[image])
        self.assertEqual((hdr["sizeof_hdr"], hdr["magic"], hdr["datatype"], hdr["bitpix"]), (348, b"n+1\0", 16, 32))
        self.assertEqual(hdr["dim"][:4], (3, 512, 512, 3))
        np.testing.assert_array_equal(voxels, np.stack([s[1] for s in slices]))
        # The SEG's segment as a mask on the image grid: the same voxels as its frames.
        masks = [p for p in members if p.startswith(image[:-len(".nii.gz")] + "_seg_")]
        self.assertEqual(len(masks), 1, masks)
        mhdr, mask = self.nifti(members[masks[0]])
        self.assertEqual(mhdr["dim"][:4], (3, 512, 512, 3))
        frames = self.seg_frames(slices[0][2])
        expected = np.zeros_like(mask)
        for k, (z, _, _) in enumerate(slices):
            if round(z, 3) in frames:
                expected[k] = frames[round(z, 3)]
        self.assertGreater(int(expected.sum()), 1000)
        np.testing.assert_array_equal(mask, expected)

        # findings.csv: one row per lesion of the chest CT, IBSI columns by their tag names.
        rows = list(csv.DictReader(io.StringIO(members["findings.csv"].decode())))
        header = members["findings.csv"].decode().splitlines()[0].split(",")
        for name in IBSI:
            self.assertIn(name, header)
        self.assertEqual(len(rows), len(self.findings))
        # The app's measurements as columns "<name> [<unit>]" after the IBSI ones.
        self.assertIn("Long Axis [mm]", header)
        self.assertIn("Volume [ml]", header)
        for r, f in zip(sorted(rows, key=lambda r: float(r["size_mm"])), sorted(self.findings, key=lambda f: f["size_mm"])):
            # docs/research.md, findings.csv: numbers printed %.10g — that string exactly.
            self.assertEqual(r["Long Axis [mm]"], "%.10g" % f["size_mm"])
        self.assertEqual({r["app"] for r in rows}, {"ct-lung-lesions"})
        self.assertTrue(all(r["app_version"] for r in rows))
        with_features = [r for r in rows if r["features_source"] == "ibsi"]
        self.assertTrue(with_features, rows)
        for r in with_features:
            self.assertGreater(float(r["morph_volume"]), 0)
            self.assertGreater(float(r["morph_sphericity"]), 0)
            self.assertLessEqual(float(r["morph_sphericity"]), 1.0)
        for r in rows:
            self.assertIn(r["mask_file"], members, r)
            self.assertTrue(r["patient"].startswith("RF"), r)
            self.assertTrue(r["study"].startswith("2.25."), r)
        # The CSV's keys are the exported DICOM's.
        chest_rel = [p for p in dicom if p.split("/")[1] == rows[0]["patient"]]
        self.assertTrue(chest_rel)
        self.assertTrue(all(p.split("/")[2] == rows[0]["study"] for p in chest_rel))

        # The export is in the audit trail: who, which cohort (as the administrator reads it).
        deadline = time.time() + 10
        while True:
            status, audit = self.call("/api/v1/audit?event=export&user=rita")
            self.assertEqual(status, 200, audit)
            records = [r for r in audit["records"] if "cohort 'export-me'" in r["detail"]]
            if records or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(records, audit)
        self.assertEqual((records[0]["outcome"], records[0]["role"]), ("success", "researcher"))

        # Unknown export.
        status, err = self.as_researcher("/api/v1/research/exports/999999/download", raw=True)
        self.assertEqual(status, 404)

    def test_3_roles(self):
        # A researcher sees only the research routes, never the clinical ones.
        status, _ = self.as_researcher("/dicom-web/studies")
        self.assertEqual(status, 403)
        radiologist = {"Authorization": "Bearer " + self.server.token_for("ray", "radiologist")}
        status, _ = self.call("/api/v1/research/cohorts", headers=radiologist)
        self.assertEqual(status, 403)
        with harness.anonymous():
            status, _ = self.call("/api/v1/research/cohorts")
        self.assertEqual(status, 401)

    def test_4_cli_export_with_progress(self):
        data = self.server.data_dir
        kind = self.findings[0]["type"]["meaning"]
        proc = harness.radflow_cli("cohort", "create", "--data", data, "--name", "cli-lung",
                                   "--criteria", json.dumps({"finding": {"type": kind}}))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("version 1", proc.stdout)
        proc = harness.radflow_cli("cohort", "list", "--data", data)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("cli-lung", proc.stdout)
        out = os.path.join(self.tmpdir(), "export")
        # Bytes, not text: text mode would turn the bar's carriage returns into line ends.
        proc = subprocess.run([harness.RADFLOW_BIN, *harness.with_index([
                                  "export", "--data", data, "--cohort", "cli-lung", "--out", out,
                                  "--options", "retain-dates", "--formats", "csv,nifti"])],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        stderr = proc.stderr.decode(errors="replace")
        self.assertEqual(proc.returncode, 0, stderr)
        self.assertNotIn("\n[", stderr)  # one line, redrawn
        bars = re.findall(r"\r\[([#.]+)\] (\d+)/(\d+) files", stderr)
        self.assertGreater(len(bars), 2, stderr)
        self.assertGreater(int(bars[-1][2]), len(self.chest))  # the CT's slices are de-identified first
        last = bars[-1]
        self.assertEqual(last[1], last[2])
        self.assertEqual(last[0], "#" * len(last[0]))
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertTrue(manifest["deidentification"]["options"]["retain_dates"])
        self.assertIn("113107", [c["value"] for c in manifest["deidentification"]["method_codes"]])
        self.assertFalse(os.path.exists(os.path.join(out, "dicom")))  # not asked for
        for f in manifest["files"]:
            with open(os.path.join(out, f["path"]), "rb") as fh:
                self.assertEqual(hashlib.sha256(fh.read()).hexdigest(), f["sha256"], f["path"])
        self.assertGreater(manifest["contents"]["nifti_masks"], 0)
        proc = harness.radflow_cli("export", "--data", data, "--cohort", "no-such", "--out", out + "2")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no cohort 'no-such'", proc.stderr)

    def test_5_export_interrupted_by_a_crash_is_failed_after_restart(self):
        status, queued = self.as_researcher("/api/v1/research/exports", "POST", {"cohort": "export-me"})
        self.assertEqual(status, 202, queued)
        deadline = time.time() + 60
        while True:
            status, e = self.as_researcher("/api/v1/research/exports/%d" % queued["id"])
            if e["status"] == "running" and e["done"] > 0:
                break
            self.assertIn(e["status"], ("queued", "running"), "the export ended before the crash: %s" % e)
            self.assertLess(time.time(), deadline, e)
            time.sleep(0.01)
        self.server.kill()  # SIGKILL mid-export
        self.server.start()
        self.researcher["Authorization"] = "Bearer " + self.server.token_for("rita", "researcher")
        status, e = self.as_researcher("/api/v1/research/exports/%d" % queued["id"])
        self.assertEqual(status, 200, e)
        self.assertEqual((e["status"], e["error"]), ("failed", "interrupted by a restart"))
        status, _ = self.as_researcher("/api/v1/research/exports/%d/download" % queued["id"], raw=True)
        self.assertEqual(status, 409)
        # The service runs after the restart: a new export completes.
        status, again = self.as_researcher("/api/v1/research/exports", "POST",
                                           {"cohort": "export-me", "formats": ["csv"]})
        self.assertEqual(status, 202, again)
        deadline = time.time() + 60
        while True:
            status, e = self.as_researcher("/api/v1/research/exports/%d" % again["id"])
            if e["status"] in ("done", "failed") or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(e["status"], "done", e)


if __name__ == "__main__":
    unittest.main()
