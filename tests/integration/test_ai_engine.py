"""The AI engine end to end: a real series sent by storescu → SeriesStable → routing → jobs
in the index → worker processes → SEG and SR stored as new series of the study, retrievable
by WADO-RS and C-GET and valid per dciodvfy; findings by REST. Beside the good app, a failing
app (retried with backoff, then failed) and a hanging app (killed at its timeout) — neither
blocks the other jobs nor ingest. Then the REST controls, and a kill -9 with jobs queued."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ai_harness import (FIXTURES, ai_server, api, by_app, dciodvfy_errors, finished, jobs,
                        wado_instance, wait_jobs)

PAT1 = harness.series_dir("ct_lung_ibsi_pat1")
HEAD = harness.series_dir("ct_head_ge_tilt")


def ct_files(folder):
    """The CT image files of a folder (not its RTSTRUCT)."""
    out = []
    for f in harness.dicom_files(folder):
        ds = harness.read_dataset(f, stop_before_pixels=True)
        if getattr(ds, "Modality", "") == "CT":
            out.append(f)
    return out


class EngineEndToEnd(harness.ServerTestCase):
    def setUp(self):
        super().setUp()
        self.empty = self.tmpdir()  # replaces the shipped clinical apps in these tests

    def test_series_to_results_with_failing_and_hanging_apps(self):
        server = self.start(ai_server([os.path.join(FIXTURES, "engine_apps")], self.empty))
        files = ct_files(PAT1)
        study = harness.read_dataset(files[0], stop_before_pixels=True).StudyInstanceUID
        series = harness.read_dataset(files[0], stop_before_pixels=True).SeriesInstanceUID
        proc, statuses = harness.storescu(server.dicom_port, files)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])

        # The hang app holds a worker; ingest must go on meanwhile.
        js = wait_jobs(server, lambda js: any(j["state"] == "running" for j in by_app(js, "test-hang")),
                       what="test-hang running")
        hung, = [j for j in by_app(js, "test-hang") if j["series_uid"] == series]
        t0 = time.monotonic()
        proc, statuses = harness.storescu(server.dicom_port, harness.dicom_files(HEAD))
        store_s = time.monotonic() - t0
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        self.assertTrue(statuses and all(s.startswith("Success") for s in statuses.values()), statuses)
        # Ingest does not wait for a running app (README: "killed at its timeout and blocks
        # nothing"): the whole store ends while the hanging app's first attempt is still running
        # (its timeout_s, 15 s, is far above a store's 1-2 s, so this is not a race).
        with open(os.path.join(FIXTURES, "engine_apps", "test-hang.json")) as f:
            hang_timeout_s = json.load(f)["timeout_s"]
        print("\nhead CT stored in %.2f s while test-hang ran (its timeout %d s)" % (store_s, hang_timeout_s))
        now, = [j for j in jobs(server) if j["id"] == hung["id"]]
        self.assertEqual((now["state"], now["attempts"]), ("running", hung["attempts"]),
                         "ingest waited for a hanging app: %r" % now)

        js = wait_jobs(server, lambda js: all(finished([j for j in js if j["series_uid"] == series], a)
                                              for a in ("test-threshold", "test-fail", "test-hang")),
                       timeout=120, what="the three jobs on PAT1 to finish")
        mine = [j for j in js if j["series_uid"] == series]
        good, = by_app(mine, "test-threshold")
        bad, = by_app(mine, "test-fail")
        hang, = by_app(mine, "test-hang")
        self.assertEqual(good["state"], "succeeded", good)
        self.assertEqual(bad["state"], "failed", bad)
        self.assertEqual(bad["attempts"], 2, bad)  # retried once with backoff
        self.assertIn("deliberate failure", bad["error"])
        self.assertEqual(hang["state"], "failed", hang)
        self.assertEqual(hang["attempts"], 2, hang)
        self.assertIn("timed out", hang["error"])

        # Results: a SEG and an SR, new series of the same study.
        objects = {o["kind"]: o for o in good["results"]["objects"]}
        self.assertEqual(set(objects), {"seg", "sr"})
        timings = good["results"]["timings"]
        print("\nengine timings (ms): %s" % timings)
        # Recorded for bench/ai_bench.py (which measures them on a quiet server); here the
        # job may also have waited for a worker slot.
        for key in ("stable_to_start_ms", "stable_to_app_call_ms", "app_return_to_stored_ms"):
            self.assertGreaterEqual(timings[key], 0, key)
        out = self.tmpdir()
        for kind, o in objects.items():
            path = wado_instance(server, study, o["series_uid"], o["sop_uid"], os.path.join(out, kind + ".dcm"))
            ds = harness.read_dataset(path)
            self.assertEqual(ds.StudyInstanceUID, study)
            self.assertNotEqual(ds.SeriesInstanceUID, series)
            self.assertEqual(dciodvfy_errors(path), [], "%s from WADO-RS fails dciodvfy" % kind)
            equipment = ds.ContributingEquipmentSequence[0]
            self.assertEqual(equipment.PurposeOfReferenceCodeSequence[0].CodeValue, "Newcode1")
            self.assertEqual(equipment.ManufacturerModelName, "Engine self-test: dense structures")
        # C-GET of the SR series by a real DCMTK peer.
        got = self.tmpdir()
        proc = harness.getscu(server.dicom_port, got, "SERIES",
                              [("StudyInstanceUID", study), ("SeriesInstanceUID", objects["sr"]["series_uid"])])
        self.assertEqual(len(harness.received_files(got)), 1, proc.stdout[-2000:])
        # C-FIND sees the SEG series.
        found = harness.findscu(server.dicom_port, "SERIES",
                                [("StudyInstanceUID", study), ("Modality", "SEG"), ("SeriesInstanceUID", "")])
        self.assertIn(objects["seg"]["series_uid"], [r.get("SeriesInstanceUID") for r in found])

        # Findings are rows in the index, by series and by study.
        status, findings = api(server, "/api/v1/series/%s/findings" % series)
        self.assertEqual(status, 200)
        self.assertTrue(findings, "no findings")
        self.assertTrue(all(f["app_id"] == "test-threshold" and f["volume_ml"] >= 1 for f in findings))
        self.assertEqual(findings[0]["details"]["segmentation"]["sop_uid"], objects["seg"]["sop_uid"])
        status, by_study = api(server, "/api/v1/studies/%s/findings" % study)
        self.assertEqual(len(by_study), len(findings))
        # The engine's own outputs are never routed to apps.
        for o in objects.values():
            self.assertEqual(jobs(server, series=o["series_uid"]), [])

    def test_rest_controls(self):
        server = self.start(ai_server([os.path.join(FIXTURES, "engine_apps")], self.empty))
        status, apps = api(server, "/api/v1/apps")
        self.assertEqual(status, 200)
        self.assertEqual({a["id"] for a in apps["apps"]}, {"test-threshold", "test-fail", "test-hang"})
        for app in ("test-fail", "test-hang", "test-threshold"):
            status, body = api(server, "/api/v1/apps/%s/disable" % app, "POST")
            self.assertEqual((status, body["enabled"]), (200, False))
        files = ct_files(PAT1)
        series = harness.read_dataset(files[0], stop_before_pixels=True).SeriesInstanceUID
        harness.storescu(server.dicom_port, files)
        time.sleep(2.5)  # past --stable-seconds: routing ran and queued nothing
        self.assertEqual(jobs(server), [])

        status, body = api(server, "/api/v1/apps/test-hang/run", "POST", {"series_uid": series, "priority": "stat"})
        self.assertEqual(status, 202, body)
        hang_id = body["job_id"]
        wait_jobs(server, lambda js: any(j["id"] == hang_id and j["state"] == "running" for j in js))
        status, body = api(server, "/api/v1/jobs/%d/cancel" % hang_id, "POST")
        self.assertEqual(status, 200, body)
        js = wait_jobs(server, lambda js: any(j["id"] == hang_id and j["state"] == "cancelled" for j in js))
        self.assertGreaterEqual([j for j in js if j["id"] == hang_id][0]["priority"], 100)  # STAT
        status, body = api(server, "/api/v1/jobs/%d/cancel" % hang_id, "POST")
        self.assertEqual(status, 409, body)

        status, body = api(server, "/api/v1/apps/test-threshold/run", "POST", {"series_uid": series})
        first = body["job_id"]
        wait_jobs(server, lambda js: any(j["id"] == first and j["state"] == "succeeded" for j in js))
        status, body = api(server, "/api/v1/jobs/%d/rerun" % first, "POST")
        self.assertEqual(status, 202)
        again = body["job_id"]
        js = wait_jobs(server, lambda js: any(j["id"] == again and j["state"] == "succeeded" for j in js))
        status, job = api(server, "/api/v1/jobs/%d" % again)
        self.assertEqual(job["trigger"], "rerun of %d" % first)
        self.assertEqual(len(jobs(server, state="succeeded", app="test-threshold")), 2)

        self.assertEqual(api(server, "/api/v1/apps/nope/run", "POST", {"series_uid": series})[0], 404)
        self.assertEqual(api(server, "/api/v1/apps/test-threshold/run", "POST", {"series": 1})[0], 400)
        self.assertEqual(api(server, "/api/v1/apps/test-threshold/run", "POST", {"series_uid": "1.2.3"})[0], 404)
        self.assertEqual(api(server, "/api/v1/jobs/999999")[0], 404)
        self.assertEqual(api(server, "/api/v1/jobs?state=bogus")[0], 400)
        self.assertEqual(api(server, "/api/v1/findings")[0], 400)

    def test_restart_with_queued_jobs(self):
        data = os.path.join(self.tmpdir(), "data")
        apps = [os.path.join(FIXTURES, "engine_apps_restart")]
        server = self.start(ai_server(apps, self.empty, workers=1, data_dir=data))
        files = ct_files(PAT1)
        series = harness.read_dataset(files[0], stop_before_pixels=True).SeriesInstanceUID
        harness.storescu(server.dicom_port, files)
        js = wait_jobs(server, lambda js: any(j["state"] == "running" for j in by_app(js, "test-hang"))
                       and any(j["state"] == "queued" for j in by_app(js, "test-threshold")),
                       what="hang running, threshold queued")
        # This server's workers only: other tests may run their own servers at the same time.
        # (the job is marked running just before its worker is forked: poll for the process)
        deadline = time.time() + 10
        while True:
            worker_pids = [int(p) for p in os.listdir("/proc") if p.isdigit()
                           and _parent(p) == server.proc.pid
                           and _cmdline(p).split("\0")[1:2] == ["ai-worker"]]
            if worker_pids or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(worker_pids, "the running job's worker process was not found")
        server.kill()  # kill -9 with one job running and one queued
        time.sleep(0.5)
        for pid in worker_pids:  # the worker dies with the server
            self.assertFalse(os.path.exists("/proc/%d" % pid) and "Z" not in _state(pid),
                             "worker %d survived the server" % pid)
        server2 = self.start(ai_server(apps, self.empty, workers=1, data_dir=data))
        js = wait_jobs(server2, lambda js: finished(js, "test-threshold") and finished(js, "test-hang"),
                       timeout=90, what="jobs to finish after the restart")
        good, = by_app(js, "test-threshold")
        hang, = by_app(js, "test-hang")
        self.assertEqual(good["state"], "succeeded", good)
        self.assertEqual(good["series_uid"], series)
        self.assertEqual(hang["state"], "failed", hang)
        self.assertEqual(hang["attempts"], 2, hang)  # interrupted attempt + the retry after restart
        self.assertIn("timed out", hang["error"])


class SeriesStableLostToARestart(harness.ServerTestCase):
    """A series received just before a restart never becomes stable in the old process; the
    new one routes it at start-up (and never routes the engine's own result series)."""

    def test_routed_at_start_up(self):
        data = os.path.join(self.tmpdir(), "data")
        empty = self.tmpdir()
        apps = [os.path.join(FIXTURES, "engine_apps_bench")]  # test-threshold only
        first = self.start(ai_server(apps, empty, data_dir=data, stable_seconds=600))
        files = ct_files(PAT1)
        series = harness.read_dataset(files[0], stop_before_pixels=True).SeriesInstanceUID
        proc, statuses = harness.storescu(first.dicom_port, files)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        self.assertEqual(jobs(first), [])  # not stable yet: nothing routed
        first.kill()

        second = self.start(ai_server(apps, empty, data_dir=data))
        js = wait_jobs(second, lambda js: finished(js, "test-threshold"), what="the catch-up job")
        job, = js
        self.assertEqual((job["series_uid"], job["state"]), (series, "succeeded"), job)
        second.stop()

        # A third start: nothing is routed again (the series was routed after its last
        # instance; the SEG and SR series are marked routed when stored).
        third = self.start(ai_server(apps, empty, data_dir=data))
        time.sleep(2.5)
        self.assertEqual(len(jobs(third)), 1, jobs(third))


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid) as f:
            return f.read()
    except OSError:
        return ""


def _parent(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])  # field 4, after "(comm)"
    except (OSError, IndexError, ValueError):
        return -1


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2]
    except OSError:
        return "Z"


if __name__ == "__main__":
    unittest.main()
