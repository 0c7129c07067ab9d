"""The app library, AI performance and similar cases in the running server
(docs/app-library.md, docs/similar-cases.md).

AppLibraryTest: two versions of one test app (the engine's test-threshold, as "test-lib"
1.0.0 and 1.2.0) installed from two app folders (--apps); the newest runs, an administrator
pins the older one and it runs (the SEG's SoftwareVersions says which manifest the worker
loaded), the pin survives a restart, disable / enable / unpin are recorded in the audit
with the signed-in administrator as actor; GET /api/v1/apps/{id} shows manifest, versions, jobs,
performance and audit. Decisions on the findings (POST /api/v1/findings/{id}/decision, or
rows written directly while that route is missing) and a signed report give the AI
performance numbers, checked against hand counts.

SimilarCasesTest: the real ct-lung-lesions app on three patients made from one chest CT
(Lung-PET-CT-Dx A0001, resliced to 2 mm) with solid ellipsoidal nodules (1.0 and 2.7 ml,
partial volume sampled): A; B the same patient moved by a known rigid transform (12 deg
about z, 3 deg about x, 22.5 mm) and scanned again on the same grid (the anatomy resampled,
the nodules sampled anew at their moved centres and orientations); C nodules of 1.6 times
the volumes at A's places. A's nodules find B's copies first (not C's, never A's own); B's
2.7 ml copy finds A's first, its 1 ml copy within the first two (docs/similar-cases.md).
Each similar case carries its study's signed report."""
import json
import math
import os
import shutil
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import worklist_data as wd  # noqa: E402
from ai_harness import FIXTURES, ai_server, jobs, wado_instance, wait_jobs  # noqa: E402

PAT1 = harness.series_dir("ct_lung_ibsi_pat1")
ADMIN = "dr.admin"


def call(server, path, method="GET", body=None, reader=None, timeout=60):
    """(status, JSON) of a REST call; `reader`: as that user (harness: X-Radflow-Reader maps
    to the user's token)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if reader:
        headers["X-Radflow-Reader"] = reader
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (server.http_port, path), data=data,
                                 method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text.decode(errors="replace")


def ct_files(folder):
    out = []
    for f in harness.dicom_files(folder):
        if getattr(harness.read_dataset(f, stop_before_pixels=True), "Modality", "") == "CT":
            out.append(f)
    return out


def write_manifest(folder, version):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "test-lib.json"), "w") as f:
        json.dump({"id": "test-lib", "name": "Library test app %s" % version, "version": version,
                   "vendor": "radflow tests", "intended_use": "App library test. Not clinical.",
                   "rules": [{"attribute": "Modality", "equals": "CT"},
                             {"attribute": "SliceCount", "range": {"min": 20}}],
                   "outputs": ["seg", "sr", "findings"], "timeout_s": 120, "max_attempts": 1,
                   "runner": "builtin:test-threshold"}, f)


def decide(server, data_dir, finding, decision, study, app, version):
    """POST /api/v1/findings/{id}/decision; while that route is missing (another part of the
    issue), the row is written as the report service writes it. Returns 'rest' or 'sql'."""
    body = {"decision": decision}
    if decision == "edited":
        body["sentence"] = "Dense structure, edited by the test."
    if decision == "rejected":
        body["reason"] = "not relevant"
    status, answer = call(server, "/api/v1/findings/%d/decision" % finding, "POST", body, reader="dr.reader")
    if status == 201:
        return "rest"
    with harness.IndexDb(data_dir) as db:
        db.execute("INSERT INTO finding_decisions (finding_id, study_uid, app_id, app_version, decision, reader, at)"
                   " VALUES (?, ?, ?, ?, ?, 'dr.reader', ?)",
                   (finding, study, app, version, decision, int(time.time() * 1000)))
    return "sql (POST answered %s: %s)" % (status, str(answer)[:120])


def sign_external(server, data_dir, study, patient, text):
    status, answer = call(server, "/api/v1/reports/external", "POST",
                          {"patient_id": patient, "study_uid": study, "status": "final", "text": text,
                           "author": "Dr External"})
    if status == 201:
        return "rest"
    now = int(time.time() * 1000)
    with harness.IndexDb(data_dir) as db:
        db.execute("INSERT INTO reports (study_uid, patient_id, status, origin, impression_text, findings_text,"
                   " signed_by, signed_at, created_at, updated_at) VALUES (?, ?, 'final', 'rest', ?, ?, 'Dr External',"
                   " ?, ?, ?)", (study, patient, text, text, now, now, now))
    return "sql (POST answered %s: %s)" % (status, str(answer)[:120])


class AppLibraryTest(harness.ServerTestCase):
    def test_versions_pins_audit_and_performance(self):
        tmp = self.tmpdir()
        v1, v2 = os.path.join(tmp, "site-1.0"), os.path.join(tmp, "site-1.2")
        write_manifest(v1, "1.0.0")
        write_manifest(v2, "1.2.0")
        empty = os.path.join(tmp, "empty")
        os.makedirs(empty)
        data_dir = os.path.join(tmp, "data")
        server = self.start(ai_server([v1, v2], empty, data_dir=data_dir))

        status, body = call(server, "/api/v1/apps")
        self.assertEqual(status, 200, body)
        app, = [a for a in body["apps"] if a["id"] == "test-lib"]
        self.assertEqual(app["versions"], ["1.2.0", "1.0.0"])  # newest first
        self.assertIsNone(app["pinned_version"])
        self.assertEqual(app["running_version"], "1.2.0")
        self.assertEqual(app["version"], "1.2.0")

        # The newest runs on a stored series.
        files = ct_files(PAT1)
        first = harness.read_dataset(files[0], stop_before_pixels=True)
        study, series = first.StudyInstanceUID, first.SeriesInstanceUID
        proc, _ = harness.storescu(server.dicom_port, files)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        js = wait_jobs(server, lambda js: any(j["app_id"] == "test-lib" and j["state"] == "succeeded" for j in js),
                       what="test-lib on PAT1")
        newest, = [j for j in js if j["app_id"] == "test-lib"]
        self.assertEqual(newest["app_version"], "1.2.0")

        def seg_version(job):
            seg, = [o for o in job["results"]["objects"] if o["kind"] == "seg"]
            path = wado_instance(server, study, seg["series_uid"], seg["sop_uid"], os.path.join(tmp, "seg.dcm"))
            return str(harness.read_dataset(path, stop_before_pixels=True).SoftwareVersions)
        self.assertEqual(seg_version(newest), "1.2.0")

        # The radiologist's decisions on this version's findings (while they are current).
        status, findings = call(server, "/api/v1/studies/%s/findings" % study)
        self.assertEqual(status, 200, findings)
        new_f = sorted(f["id"] for f in findings if f["job_id"] == newest["id"])
        self.assertGreaterEqual(len(new_f), 2, findings)
        how = [decide(server, data_dir, new_f[0], "accepted", study, "test-lib", "1.2.0"),
               decide(server, data_dir, new_f[1], "rejected", study, "test-lib", "1.2.0")]

        # Only an administrator changes the app library (docs/access-control.md).
        status, body = call(server, "/api/v1/apps/test-lib/pin", "POST", {"version": "1.0.0"}, reader="dr.reader")
        self.assertEqual(status, 403, body)
        self.assertIn("role radiologist may not POST /api/v1/apps/test-lib/pin", body["error"])
        server.token_for(ADMIN, "administrator")
        # Pin the older version: an unknown version is refused, naming the installed ones.
        status, body = call(server, "/api/v1/apps/test-lib/pin", "POST", {"version": "9.9"}, reader=ADMIN)
        self.assertEqual(status, 400, body)
        self.assertIn("1.2.0, 1.0.0", body["error"])
        status, body = call(server, "/api/v1/apps/test-lib/pin", "POST", {}, reader=ADMIN)
        self.assertEqual(status, 400, body)
        status, body = call(server, "/api/v1/apps/no-such-app/pin", "POST", {"version": "1"}, reader=ADMIN)
        self.assertEqual(status, 404, body)
        status, body = call(server, "/api/v1/apps/test-lib/pin", "POST", {"version": "1.0.0"}, reader=ADMIN)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["pinned_version"], body["running_version"]), ("1.0.0", "1.0.0"))

        # The pinned one runs: the job's version and the manifest the worker loaded.
        status, body = call(server, "/api/v1/apps/test-lib/run", "POST", {"series_uid": series})
        self.assertEqual(status, 202, body)
        pinned_job_id = body["job_id"]
        js = wait_jobs(server, lambda js: any(j["id"] == pinned_job_id and j["state"] == "succeeded" for j in js),
                       what="the pinned version's job")
        pinned, = [j for j in js if j["id"] == pinned_job_id]
        self.assertEqual(pinned["app_version"], "1.0.0")
        self.assertEqual(seg_version(pinned), "1.0.0")
        status, findings = call(server, "/api/v1/studies/%s/findings" % study)
        old_f = sorted(f["id"] for f in findings if f["job_id"] == pinned_job_id)
        self.assertEqual(len(new_f), len(old_f))  # the same app on the same series
        how.append(decide(server, data_dir, old_f[0], "edited", study, "test-lib", "1.0.0"))
        print("\ndecisions written by: %s" % sorted(set(how)))

        # The pin is durable.
        server.stop()
        server = self.start(ai_server([v1, v2], empty, data_dir=data_dir))
        status, body = call(server, "/api/v1/apps")
        app, = [a for a in body["apps"] if a["id"] == "test-lib"]
        self.assertEqual((app["pinned_version"], app["running_version"]), ("1.0.0", "1.0.0"))

        # Disable, enable, unpin: each recorded with its actor (the signed-in administrator).
        server.token_for("dr.other", "administrator")
        status, body = call(server, "/api/v1/apps/test-lib/disable", "POST", reader=ADMIN)
        self.assertEqual((status, body["enabled"]), (200, False), body)
        status, body = call(server, "/api/v1/apps/test-lib/enable", "POST", reader="dr.other")
        self.assertEqual((status, body["enabled"]), (200, True), body)
        status, body = call(server, "/api/v1/apps/test-lib/unpin", "POST", reader=ADMIN)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["pinned_version"], body["running_version"]), (None, "1.2.0"))
        status, body = call(server, "/api/v1/apps/test-lib/audit")
        self.assertEqual(status, 200, body)
        audit = [(a["action"], a["actor"], a["version"]) for a in body["audit"]]
        self.assertEqual(audit, [("unpinned", ADMIN, "1.0.0"), ("enabled", "dr.other", "1.0.0"),
                                 ("disabled", ADMIN, "1.0.0"), ("pinned", ADMIN, "1.0.0")])
        self.assertTrue(all(a["at"] > 0 for a in body["audit"]))
        status, _ = call(server, "/api/v1/apps/no-such-app/audit")
        self.assertEqual(status, 404)

        # The AI performance from the decisions, then with the study's report signed.
        status, perf = call(server, "/api/v1/ai/performance?app_id=test-lib&weeks=2")
        self.assertEqual(status, 200, perf)
        by_version = {a["app_version"]: a for a in perf["apps"]}
        self.assertEqual(set(by_version), {"1.0.0", "1.2.0"})
        v12, v10 = by_version["1.2.0"], by_version["1.0.0"]
        self.assertEqual((v12["results"], v12["findings"], v12["decided"]), (1, len(new_f), 2))
        self.assertEqual((v12["accepted"], v12["edited"], v12["rejected"]), (1, 0, 1))
        self.assertEqual((v12["accepted_rate"], v12["rejected_rate"]), (0.5, 0.5))
        self.assertIsNone(v12["agreement"])  # no signed report yet
        self.assertEqual((v10["edited"], v10["edited_rate"]), (1, 1.0))
        self.assertEqual(len(v12["weeks"]), 2)
        self.assertEqual(v12["weeks"][-1]["results"], 1)
        self.assertRegex(v12["weeks"][-1]["week"], r"^\d{4}-W\d{2}$")
        print("report signed by: %s" % sign_external(server, data_dir, study, str(first.PatientID),
                                                       "Dense structures as described."))
        status, perf = call(server, "/api/v1/ai/performance?app_id=test-lib&weeks=2")
        by_version = {a["app_version"]: a for a in perf["apps"]}
        self.assertEqual(by_version["1.2.0"]["agreement"], 0.5)  # accepted 1 of 2 decided
        self.assertEqual(by_version["1.0.0"]["agreement"], 1.0)
        self.assertEqual(by_version["1.2.0"]["weeks"][-1]["agreement"], 0.5)
        status, body = call(server, "/api/v1/ai/performance?weeks=0")
        self.assertEqual(status, 400, body)

        # The app's page: manifest, versions, jobs and timings, performance, audit.
        status, page = call(server, "/api/v1/apps/test-lib")
        self.assertEqual(status, 200, page)
        self.assertEqual(page["manifest"]["version"], "1.2.0")
        self.assertEqual(page["manifest"]["runner"], "builtin:test-threshold")
        self.assertEqual([(v["version"], v["running"], v["pinned"]) for v in page["installed"]],
                         [("1.2.0", True, False), ("1.0.0", False, False)])
        self.assertEqual(page["jobs"]["by_state"]["succeeded"], 2)
        self.assertGreater(page["jobs"]["median_app_ms"], 0)
        self.assertGreater(page["jobs"]["median_total_ms"], 0)
        self.assertEqual(len(page["jobs"]["recent"]), 2)
        self.assertEqual(page["performance"]["decided"], 3)
        self.assertAlmostEqual(page["performance"]["agreement"], 2 / 3)
        self.assertEqual(len(page["performance"]["versions"]), 2)
        self.assertEqual(page["audit"][0]["action"], "unpinned")
        status, _ = call(server, "/api/v1/apps/no-such-app")
        self.assertEqual(status, 404)


def dist(a, b):
    return math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b)))


def insert_ellipsoids(datasets, lesions, hu=40.0):
    """Solid ellipsoidal lesions blended into the slices with partial volume, as
    wd.insert_nodules does for spheres (each voxel takes the fraction of its 4 x 4 x 4
    sub-samples inside). `lesions`: [(centre LPS mm, semi-axes mm, 3x3 rotation whose
    columns are the axes' directions)]."""
    import numpy as np
    for centre, semi, rot in lesions:
        c, semi, rot = np.asarray(centre, float), np.asarray(semi, float), np.asarray(rot, float)
        reach = float(semi.max())
        for ds in datasets:
            iop = [float(v) for v in ds.ImageOrientationPatient]
            row_dir, col_dir = np.array(iop[:3]), np.array(iop[3:])
            normal = np.cross(row_dir, col_dir)
            thick = float(ds.get("SpacingBetweenSlices", ds.SliceThickness))
            ipp = np.array([float(v) for v in ds.ImagePositionPatient])
            if abs(np.dot(ipp - c, normal)) > reach + thick:
                continue
            dy, dx = (float(v) for v in ds.PixelSpacing)
            rel = c - ipp
            ci, cj = np.dot(rel, row_dir) / dx, np.dot(rel, col_dir) / dy
            i0, i1 = max(int(ci - reach / dx) - 2, 0), min(int(ci + reach / dx) + 3, ds.Columns)
            j0, j1 = max(int(cj - reach / dy) - 2, 0), min(int(cj + reach / dy) + 3, ds.Rows)
            jj, ii = np.mgrid[j0:j1, i0:i1]
            inside = np.zeros(ii.shape)
            for n in range(64):
                di, dj, dk = (n % 4 + 0.5) / 4 - 0.5, (n // 4 % 4 + 0.5) / 4 - 0.5, (n // 16 + 0.5) / 4 - 0.5
                p = (ipp + (ii[..., None] + di) * dx * row_dir + (jj[..., None] + dj) * dy * col_dir
                     + dk * thick * normal)
                u = (p - c) @ rot  # coordinates along the lesion's axes
                inside += (((u / semi) ** 2).sum(axis=2) <= 1)
            if not inside.any():
                continue
            value = wd._hu(ds)
            box = value[j0:j1, i0:i1]
            value[j0:j1, i0:i1] = np.maximum(box, box + (hu - box) * inside / 64.0)
            wd._set_hu(ds, value)


def rotation(axis, degrees):
    import numpy as np
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    t = math.radians(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * k @ k


def moved_resampled(datasets, m, fill_hu=-1000.0):
    """The patient moved by the rigid transform `m` (4x4, LPS mm) and scanned again on the
    same grid: each voxel at p takes the content at m^-1 p, from the nearest voxel (air
    outside) — nearest, not linear, so that the image keeps its noise as a new scan would.
    New pixels, the same geometry (unlike wd.move_rigid)."""
    import numpy as np
    first = datasets[0]
    iop = [float(v) for v in first.ImageOrientationPatient]
    row, col = np.array(iop[:3]), np.array(iop[3:])
    normal = np.cross(row, col)
    dy, dx = (float(v) for v in first.PixelSpacing)
    origin = np.array([float(v) for v in first.ImagePositionPatient])
    dz = float(np.dot(np.array([float(v) for v in datasets[1].ImagePositionPatient]) - origin, normal))
    axes = np.stack([row * dx, col * dy, normal * dz], axis=1)  # index (i, j, k) → mm
    to_index = np.linalg.inv(axes)
    inv = np.linalg.inv(np.asarray(m))
    vol = np.stack([wd._hu(d) for d in datasets]).astype(np.float32)  # [k, j, i]
    nk, nj, ni = vol.shape
    jj, ii = np.mgrid[0:nj, 0:ni]
    for k, ds in enumerate(datasets):
        p = origin + np.stack([ii, jj, np.full_like(ii, k)], axis=-1) @ axes.T
        q = p @ inv[:3, :3].T + inv[:3, 3]
        idx = (q - origin) @ to_index.T  # continuous (i, j, k)
        out = np.full((nj, ni), fill_hu, dtype=np.float64)
        i0, j0, k0 = (np.floor(idx[..., a]).astype(np.int64) for a in range(3))
        ok = (i0 >= 0) & (j0 >= 0) & (k0 >= 0) & (i0 < ni - 1) & (j0 < nj - 1) & (k0 < nk - 1)
        near = [np.rint(idx[..., a][ok]).astype(np.int64) for a in range(3)]
        out[ok] = vol[near[2], near[1], near[0]]
        wd._set_hu(ds, out)


# Solid ellipsoidal nodules in aerated lung of A0001, away from its tumour (the places of
# tests/integration/test_lesion_followup.py): (centre in A's and C's patient space,
# semi-axes mm, axis of the rotation giving their orientation, degrees). C's are 1.6 times
# the volume (every semi-axis × 1.6^(1/3)).
NODULES = [((-90.0, 210.0, -270.0), (8.0, 6.0, 5.0), (1, 1, 0), 30),
           ((90.0, 120.0, -270.0), (11.0, 9.0, 6.5), (0, 1, 1), 50)]
C_SCALE = 1.6 ** (1 / 3)


def ellipsoid_ml(semi):
    return 4 / 3 * math.pi * semi[0] * semi[1] * semi[2] / 1000


@unittest.skipUnless(os.path.isdir(harness.series_dir(wd.CHEST_CT)), "Lung-PET-CT-Dx A0001 not available")
class SimilarCasesTest(harness.ServerTestCase):
    def test_a_lesion_finds_its_moved_copy_first(self):
        tmp = self.tmpdir()
        apps = os.path.join(tmp, "apps")
        os.makedirs(apps)
        shutil.copy(os.path.join(harness.REPO, "apps", "ct-lung-lesions.json"), apps)
        server = self.start(ai_server([], apps, data_dir=os.path.join(tmp, "data")))
        grid = wd.resliced(wd.CHEST_CT, 2.0)
        move = wd.rigid_matrix(12, 3, wd.series_centre(grid), (16, -14, 7.5))
        del grid

        import numpy as np

        def make(name, patient, lesions, m=None):
            datasets = wd.resliced(wd.CHEST_CT, 2.0)
            if m is not None:  # the patient moved, then scanned again: every voxel resampled
                moved_resampled(datasets, m)
            insert_ellipsoids(datasets, lesions)
            return wd.write_study(os.path.join(tmp, name), None, patient, patient.replace("-", "^"), "20240301",
                                  description="CT chest", datasets=datasets)
        t0 = time.time()
        r_move = np.asarray(move)[:3, :3]
        studies = {
            "A": make("a", "SIM-A", [(c, s, rotation(ax, deg)) for c, s, ax, deg in NODULES]),
            # The same lesions moved with the patient: centre m c, axes rotated by m.
            "B": make("b", "SIM-B", [(wd.apply(move, c), s, r_move @ rotation(ax, deg)) for c, s, ax, deg in NODULES],
                      move),
            "C": make("c", "SIM-C", [(c, [x * C_SCALE for x in s], rotation(ax, deg)) for c, s, ax, deg in NODULES])}
        print("\nthree studies built in %.0f s" % (time.time() - t0))
        for key, (uid, files) in studies.items():
            proc, _ = harness.storescu(server.dicom_port, files)
            self.assertEqual(proc.returncode, 0, proc.stdout[-2000:] if proc.stdout else proc)
        uids = {k: v[0] for k, v in studies.items()}
        wait_jobs(server, lambda js: sum(1 for j in js if j["app_id"] == "ct-lung-lesions"
                                         and j["study_uid"] in uids.values() and j["state"] == "succeeded") == 3,
                  timeout=300, what="ct-lung-lesions on the three studies")
        for j in jobs(server, limit=100):
            self.assertNotIn(j["state"], ("failed", "cancelled"), j)
        findings = {}
        for key, uid in uids.items():
            status, rows = call(server, "/api/v1/studies/%s/findings" % uid)
            self.assertEqual(status, 200, rows)
            findings[key] = rows
            print("%s: %s" % (key, ", ".join("%s %.2f ml at %s" % (f["label"], f["volume_ml"],
                                                                  [round(x) for x in f["center_lps_mm"]])
                                             for f in rows)))
        print("B's report signed by: %s" % sign_external(server, os.path.join(tmp, "data"), uids["B"], "SIM-B",
                                                         "Two solid pulmonary nodules; follow-up CT in 12 months."))

        def at(key, centre):
            hits = [f for f in findings[key] if dist(f["center_lps_mm"], centre) < 5]
            self.assertEqual(len(hits), 1, "%s near %s: %s" % (key, centre, findings[key]))
            return hits[0]

        # Indexing runs behind the jobs (features from each SEG on its CT): wait for all.
        lesions = sum(len(v) for v in findings.values())
        deadline = time.time() + 180
        while True:
            status, body = call(server, "/api/v1/findings/%d/similar?k=1" % findings["A"][0]["id"])
            self.assertEqual(status, 200, body)
            if body["indexed"] == lesions or time.time() > deadline:
                break
            time.sleep(1)
        self.assertEqual(body["indexed"], lesions)
        latencies = []
        for centre, semi, _, _ in NODULES:
            ml = ellipsoid_ml(semi)
            a = at("A", centre)
            b = at("B", wd.apply(move, centre))
            c = at("C", centre)
            t = time.time()
            status, body = call(server, "/api/v1/findings/%d/similar?k=5" % a["id"])
            latencies.append(time.time() - t)
            self.assertEqual(status, 200, body)
            print("A's %.1f ml nodule (%s features): %s" % (ml, body["source"], "; ".join(
                "%s %.2f ml d=%.3f%s" % (s["patient_id"], s["finding"]["volume_ml"], s["distance"],
                                         " [report]" if s["report"] else "") for s in body["similar"])))
            self.assertEqual(body["source"], "ibsi")
            self.assertEqual(body["features"][0], "log_volume_ml")
            self.assertEqual(body["finding"]["id"], a["id"])
            self.assertTrue(body["similar"])
            self.assertNotIn("SIM-A", [s["patient_id"] for s in body["similar"]])
            first = body["similar"][0]
            self.assertEqual(first["finding"]["id"], b["id"], "the moved copy is not first")
            self.assertEqual(first["study_uid"], uids["B"])
            self.assertIsNotNone(first["report"])
            self.assertEqual(first["report"]["status"], "final")
            rank_c = [s["finding"]["id"] for s in body["similar"]].index(c["id"]) \
                if c["id"] in [s["finding"]["id"] for s in body["similar"]] else None
            self.assertTrue(rank_c is None or rank_c > 0)
            # And the copy finds the original: first for the 2.7 ml nodule; for the 1 ml one
            # within the first two — its density features move by 15-45 HU with the
            # sampling (partial volume on 2 mm slices), as much as C's 1.6-times volume
            # does (docs/similar-cases.md, "Invariance").
            status, back = call(server, "/api/v1/findings/%d/similar?k=3" % b["id"])
            self.assertEqual(status, 200, back)
            back_ids = [s["finding"]["id"] for s in back["similar"]]
            print("  B's copy finds A's at rank %d: %s" % (back_ids.index(a["id"]) + 1 if a["id"] in back_ids else -1,
                  "; ".join("%s %.2f ml d=%.3f" % (s["patient_id"], s["finding"]["volume_ml"], s["distance"])
                            for s in back["similar"])))
            self.assertIn(a["id"], back_ids[:1] if ml > 2 else back_ids[:2])
        print("similar-case request latency: %s ms" % [round(x * 1000, 1) for x in latencies])

        # A finding that is not a lesion, an unknown one, a bad k.
        status, body = call(server, "/api/v1/findings/99999999/similar")
        self.assertEqual(status, 404, body)
        status, body = call(server, "/api/v1/findings/%d/similar?k=0" % findings["A"][0]["id"])
        self.assertEqual(status, 400, body)


if __name__ == "__main__":
    unittest.main()
