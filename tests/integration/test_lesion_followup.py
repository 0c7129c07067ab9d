"""Longitudinal lesion tracking in the running server (docs/worklist.md, "Study page"): a
chest CT (Lung-PET-CT-Dx A0001 on 2 mm slices) with solid nodules of known volumes, a prior
of the same patient 90 days earlier made from the same pixels with the patient repositioned
by a known rigid transform (12 deg about z, 3 deg about x, 22.5 mm), and a third examination
90 days later, repositioned again. ct-lung-lesions runs on each; the server registers
current -> prior, tracks the nodules (tracked / new / resolved, volume change, doubling
time), stores a TID 1500 SR in the current study and answers GET
/api/v1/studies/{uid}/lesions. The lesions keep one Tracking UID across the three."""
import math
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import worklist_data as wd  # noqa: E402
from ai_harness import ai_server, api, dciodvfy_errors, jobs, wado_instance  # noqa: E402

# The volume tolerance of ct-lung-lesions: +-0.25 ml (its phantom sphere,
# tests/unit/app_lung/lung_lesions_test.cpp PhantomSphereIsMeasured; the bound
# tests/unit/lesion_tracking/follow_up_test.cpp holds the tracking to as well).
VOLUME_TOLERANCE_ML = 0.25
INTERVAL_DAYS = 90
# Solid nodules in aerated lung of A0001, away from its tumour (24, 180, -228) and each
# other (tests/unit/lesion_tracking): (name, centre in the current examination, prior ml,
# current ml); 0: absent.
NODULES = [
    ("grown 1 -> 2 ml", (-90.0, 210.0, -270.0), 1.0, 2.0),
    ("grown 2 -> 4 ml", (90.0, 120.0, -270.0), 2.0, 4.0),
    ("resolved 1 ml", (-70.0, 80.0, -290.0), 1.0, 0.0),
    ("new 1 ml", (90.0, 150.0, -300.0), 0.0, 1.0),
]


def dist(a, b):
    return math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b)))


@unittest.skipUnless(os.path.isdir(harness.series_dir(wd.CHEST_CT)), "Lung-PET-CT-Dx A0001 not available")
class LesionFollowUpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_binary()
        cls.tmp = tempfile.mkdtemp(prefix="radflow_followup_")
        apps = os.path.join(cls.tmp, "apps")
        os.makedirs(apps)
        shutil.copy(os.path.join(harness.REPO, "apps", "ct-lung-lesions.json"), apps)
        cls.server = ai_server([], apps)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def make_study(self, name, date, nodules, move=None):
        datasets = wd.resliced(wd.CHEST_CT, 2.0)
        wd.insert_nodules(datasets, nodules)
        if move is not None:
            wd.move_rigid(datasets, move)
        return wd.write_study(os.path.join(self.tmp, name), None, "FOLLOWUP-1", "Follow^Up", date,
                              description="CT chest follow-up", datasets=datasets)

    def store_and_wait(self, files, study, timeout=150):
        t0 = time.time()
        proc, statuses = harness.storescu(self.server.dicom_port, files)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:] if proc.stdout else proc)
        deadline = time.time() + timeout
        while time.time() < deadline:
            js = [j for j in jobs(self.server, limit=1000) if j["study_uid"] == study and j["app_id"] == "ct-lung-lesions"]
            if js and js[0]["state"] in ("failed", "cancelled"):
                self.fail("ct-lung-lesions %s: %s" % (js[0]["state"], js[0].get("error")))
            if js and js[0]["state"] == "succeeded":
                return js[0], time.time() - t0
            time.sleep(0.3)
        self.fail("ct-lung-lesions did not finish on " + study)

    def wait_followup(self, study, timeout=150):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, body = api(self.server, "/api/v1/studies/%s/lesions" % study)
            self.assertEqual(status, 200, body)
            if body["state"] != "none":
                return body
            time.sleep(0.5)
        self.fail("no follow-up for " + study)

    def test_follow_up_across_three_examinations(self):
        grid = wd.resliced(wd.CHEST_CT, 2.0)
        centre = wd.series_centre(grid)
        del grid
        # current -> prior: the prior's pixel at current position x lies at truth x.
        truth = wd.rigid_matrix(12, 3, centre, (16, -14, 7.5))
        t_start = time.time()
        prior_uid, prior_files = self.make_study(
            "prior", "20240101", [(c, p) for _, c, p, _ in NODULES if p > 0], move=truth)
        cur_uid, cur_files = self.make_study("current", "20240331", [(c, v) for _, c, _, v in NODULES if v > 0])
        print("\nstudies built in %.1f s (%d slices each)" % (time.time() - t_start, len(cur_files)))

        # Unknown study: 404; a study without a follow-up: state none.
        status, _ = api(self.server, "/api/v1/studies/1.2.3.4.404/lesions")
        self.assertEqual(status, 404)

        prior_job, dt = self.store_and_wait(prior_files, prior_uid)
        print("prior: %s (%.1f s)" % (prior_job["summary"], dt))
        status, body = api(self.server, "/api/v1/studies/%s/lesions" % prior_uid)
        self.assertEqual((status, body["state"], body["lesions"]), (200, "none", []), body)

        t0 = time.time()
        cur_job, dt = self.store_and_wait(cur_files, cur_uid)
        print("current: %s (%.1f s)" % (cur_job["summary"], dt))
        body = self.wait_followup(cur_uid)
        print("follow-up %.1f s after the current's job: %s" % (time.time() - t0 - dt, body["state"]))
        self.assertEqual(body["state"], "ok", body)
        self.assertEqual(body["prior_study_uid"], prior_uid)
        self.assertEqual(body["interval_days"], INTERVAL_DAYS)
        lesions = body["lesions"]
        for l in lesions:
            print("  %-8s %-9s %-40s %s | %s | %s %s VDT %s" % (
                l["status"], l["tracking_id"], (l["current"] or l["prior"])["label"],
                l["current"] and "%.3f ml" % l["current"]["volume_ml"],
                l["prior"] and "prior %.3f ml" % l["prior"]["volume_ml"],
                l["volume_change_pct"], l["distance_mm"], l["doubling_time_days"]))

        for name, c, prior_ml, cur_ml in NODULES:
            if cur_ml > 0:
                hits = [l for l in lesions if l["current"] and dist(l["current"]["center_lps_mm"], c) < 4]
            else:
                pc = wd.apply(truth, c)
                hits = [l for l in lesions if l["prior"] and dist(l["prior"]["center_lps_mm"], pc) < 4]
            self.assertEqual(len(hits), 1, "%s: %s" % (name, hits))
            l = hits[0]
            if cur_ml > 0:
                self.assertAlmostEqual(l["current"]["volume_ml"], cur_ml, delta=VOLUME_TOLERANCE_ML, msg=name)
            if prior_ml > 0 and l["prior"]:
                self.assertAlmostEqual(l["prior"]["volume_ml"], prior_ml, delta=VOLUME_TOLERANCE_ML, msg=name)
            if prior_ml > 0 and cur_ml > 0:
                self.assertEqual(l["status"], "tracked", name)
                self.assertLess(dist(l["prior"]["center_lps_mm"], wd.apply(truth, c)), 4, name)
                self.assertEqual(l["trend"], "growing", name)
                # The doubling time such volumes allow: dt ln2 / ln(V2/V1) over V1 +- tol, V2 +- tol.
                tol = VOLUME_TOLERANCE_ML
                lo = INTERVAL_DAYS * math.log(2) / math.log((cur_ml + tol) / (prior_ml - tol))
                ratio_min = (cur_ml - tol) / (prior_ml + tol)
                hi = INTERVAL_DAYS * math.log(2) / math.log(ratio_min) if ratio_min > 1 else float("inf")
                self.assertIsNotNone(l["doubling_time_days"], name)
                print("%s: VDT %.1f days (true %d, allowed %.1f-%.1f), volume %+.0f %%" % (
                    name, l["doubling_time_days"], INTERVAL_DAYS, lo, hi, l["volume_change_pct"]))
                self.assertGreaterEqual(l["doubling_time_days"], lo, name)
                self.assertLessEqual(l["doubling_time_days"], hi, name)
                lo_pct = 100 * ((cur_ml - tol) / (prior_ml + tol) - 1)
                hi_pct = 100 * ((cur_ml + tol) / (prior_ml - tol) - 1)
                self.assertGreaterEqual(l["volume_change_pct"], lo_pct, name)
                self.assertLessEqual(l["volume_change_pct"], hi_pct, name)
            elif cur_ml > 0:
                self.assertEqual(l["status"], "new", name)
                self.assertIsNone(l["prior"], name)
                self.assertIsNone(l["doubling_time_days"], name)
            else:
                self.assertEqual(l["status"], "resolved", name)
                self.assertIsNone(l["current"], name)
        uids = [l["tracking_uid"] for l in lesions]
        self.assertEqual(len(set(uids)), len(uids), "tracking UIDs not unique")
        self.assertTrue(all(u.startswith("2.25.") for u in uids), uids)

        # The follow-up's SR in the current study, valid per dciodvfy.
        self.assertIsNotNone(body["sr"], body)
        status, series = api(self.server, "/dicom-web/studies/%s/series" % cur_uid)
        self.assertEqual(status, 200, series)
        sr_series = [s for s in series if s["00080060"]["Value"][0] == "SR"
                     and s["0020000E"]["Value"][0] == body["sr"]["series_uid"]]
        self.assertEqual(len(sr_series), 1, series)
        sr_path = wado_instance(self.server, cur_uid, body["sr"]["series_uid"], body["sr"]["sop_uid"],
                                os.path.join(self.tmp, "followup-sr.dcm"))
        errors = dciodvfy_errors(sr_path)
        self.assertEqual(errors, [], "\n".join(errors))
        ds = harness.read_dataset(sr_path)
        sr_uids = set()

        def walk(items):
            for it in items:
                if it.get("ValueType") == "UIDREF" and it.ConceptNameCodeSequence[0].CodeValue == "112040":
                    sr_uids.add(it.UID)
                walk(it.get("ContentSequence", []))
        walk(ds.ContentSequence)
        self.assertEqual(sr_uids, set(uids))
        # Its series is not routed to an app.
        time.sleep(2)
        self.assertFalse([j for j in jobs(self.server, limit=1000) if j["series_uid"] == body["sr"]["series_uid"]])

        # A third examination, 90 days later, repositioned again: the same lesions keep their
        # Tracking UIDs (exam 1 -> 2 -> 3); nothing resolves or appears.
        third_move = wd.rigid_matrix(-10, 0, centre, (-18, 12, -6))
        third_uid, third_files = self.make_study(
            "third", "20240629", [(c, v) for _, c, _, v in NODULES if v > 0], move=third_move)
        t0 = time.time()
        third_job, dt = self.store_and_wait(third_files, third_uid)
        third = self.wait_followup(third_uid)
        print("third examination: %s; follow-up %s, %.1f s" % (third_job["summary"], third["state"], time.time() - t0))
        self.assertEqual(third["state"], "ok", third)
        self.assertEqual(third["prior_study_uid"], cur_uid)
        for l in third["lesions"]:
            print("  %-8s %-9s %s %+.0f %%" % (l["status"], l["tracking_id"], l["tracking_uid"],
                                              l["volume_change_pct"] or 0))
        # The inserted nodules (and the tumour) keep the identity they had in exams 1 and 2;
        # the app's incidental findings of the patient's own anatomy may differ between
        # positions (reported above, not a tracking matter).
        inserted = [(name, c) for name, c, _, cur_ml in NODULES if cur_ml > 0]
        inserted.append(("tumour", max((l for l in lesions if l["current"]),
                                       key=lambda l: l["current"]["volume_ml"])["current"]["center_lps_mm"]))
        for name, c in inserted:
            was = [l for l in lesions if l["current"] and dist(l["current"]["center_lps_mm"], c) < 4]
            now = [l for l in third["lesions"] if l["current"]
                   and dist(l["current"]["center_lps_mm"], wd.apply(third_move, c)) < 4]
            self.assertEqual((len(was), len(now)), (1, 1), name)
            self.assertEqual(now[0]["status"], "tracked", name)
            self.assertEqual(now[0]["tracking_uid"], was[0]["tracking_uid"], name)
            self.assertEqual(now[0]["tracking_id"], was[0]["tracking_id"], name)
            self.assertEqual(now[0]["trend"], "stable", name)
            self.assertLess(dist(now[0]["prior"]["center_lps_mm"], c), 4, name)
        # Exam 1's UIDs of the grown nodules reach exam 3 (one UID across three examinations).
        for name, c, prior_ml, cur_ml in NODULES:
            if prior_ml > 0 and cur_ml > 0:
                first = [l["tracking_uid"] for l in lesions if l["current"] and dist(l["current"]["center_lps_mm"], c) < 4]
                self.assertIn(first[0], {l["tracking_uid"] for l in third["lesions"]}, name)
        # Stopped between a job and its follow-up: the next start follows it up. (The third
        # examination's follow-up rows are removed while the server is stopped.)
        self.server.stop()
        db = harness.IndexDb(self.server.data_dir)
        for table in ("lesion_followups", "lesion_tracks", "lesion_identities"):
            db.execute("DELETE FROM %s WHERE study_uid = ?" % table, (third_uid,))
        db.commit()
        db.close()
        self.server.start()
        again = self.wait_followup(third_uid)
        self.assertEqual(again["state"], "ok", again)
        self.assertEqual(again["prior_study_uid"], cur_uid)
        # The inserted nodules and the tumour keep their identities (the app's incidental
        # candidates near the matching gate may pair differently between registrations).
        for name, c in inserted:
            before = [l for l in third["lesions"] if l["current"]
                      and dist(l["current"]["center_lps_mm"], wd.apply(third_move, c)) < 4]
            after = [l for l in again["lesions"] if l["current"]
                     and dist(l["current"]["center_lps_mm"], wd.apply(third_move, c)) < 4]
            self.assertEqual((len(before), len(after)), (1, 1), name)
            self.assertEqual((after[0]["status"], after[0]["tracking_uid"]),
                             ("tracked", before[0]["tracking_uid"]), name)
        print("total %.1f s" % (time.time() - t_start))


if __name__ == "__main__":
    unittest.main()
