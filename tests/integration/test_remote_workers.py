"""Remote AI workers (docs/remote-workers.md): a hub that runs no app itself
(`--ai-workers 0`) and two `radflow worker` processes on this machine, authenticated with
API tokens of an ai-service account. Three CT series stored → every AI job runs exactly once,
its SEG and SR stored in the hub by STOW-RS, its findings by REST; a worker killed with
SIGKILL mid-job → the job re-queued when its lease (3 s) passes and done by the other
worker, its results stored once; a worker with a wrong token or a radiologist's token is
refused (401 / 403) and exits. The worker routes admit the ai-service role (and the
administrator, who may do everything)."""
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ai_harness import FIXTURES, ai_server, api, jobs, wait_jobs  # noqa: E402

PAT1 = harness.series_dir("ct_lung_ibsi_pat1")
HEAD = harness.series_dir("ct_head_ge_tilt")
CHEST = harness.series_dir("ct_chest_lung_dx")
FAST_APPS = os.path.join(FIXTURES, "worker_apps", "fast")  # test-threshold
SLOW_APPS = os.path.join(FIXTURES, "worker_apps", "slow")  # test-slow-threshold (4 s)
LEASE_S = 3


def ct_files(folder):
    out = []
    for f in harness.dicom_files(folder):
        if getattr(harness.read_dataset(f, stop_before_pixels=True), "Modality", "") == "CT":
            out.append(f)
    return out


class WorkerProcess(harness._Process):
    """`radflow worker` against a hub, its token in an environment variable."""
    name = "worker"

    def __init__(self, hub, worker_id, apps_dir, token, workdir):
        super().__init__(workdir)
        self.hub, self.worker_id, self.apps_dir, self.token = hub, worker_id, apps_dir, token

    def start(self):
        harness.require_binary()
        env_backup = harness.DCMTK_ENV.get("RADFLOW_WORKER_TOKEN")
        harness.DCMTK_ENV["RADFLOW_WORKER_TOKEN"] = self.token
        try:
            self._spawn([harness.RADFLOW_BIN, "worker", "--hub", "http://127.0.0.1:%d" % self.hub.http_port,
                         "--token-env", "RADFLOW_WORKER_TOKEN", "--apps", self.apps_dir, "--id", self.worker_id,
                         "--lease-seconds", str(LEASE_S), "--poll-seconds", "0.2",
                         "--work-dir", os.path.join(self.workdir, "jobs")])
        finally:
            if env_backup is None:
                harness.DCMTK_ENV.pop("RADFLOW_WORKER_TOKEN", None)
            else:
                harness.DCMTK_ENV["RADFLOW_WORKER_TOKEN"] = env_backup
        return self


def qido_count(server, level, **params):
    query = "&".join("%s=%s" % kv for kv in params.items())
    status, body = api(server, "/dicom-web/%s?%s" % (level, query))
    assert status in (200, 204), (status, body)
    return len(body or [])


class RemoteWorkers(harness.ServerTestCase):
    def hub(self, apps_dir, extra=(), workers=0):
        self.empty = self.tmpdir()  # no shipped clinical apps
        return self.start(ai_server([apps_dir], self.empty, workers=workers, extra=list(extra)))

    def worker(self, hub, worker_id, apps_dir, token=None):
        token = token if token is not None else hub.token_for("ai-bot", "ai-service")
        w = WorkerProcess(hub, worker_id, apps_dir, token, self.tmpdir())
        self.addCleanup(w.stop)
        w.start()
        self.servers.append(w)
        return w

    def store(self, hub, files):
        proc, statuses = harness.storescu(hub.dicom_port, files)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])

    def results_of(self, job):
        return [(o["kind"], o["sop_uid"]) for o in job["results"]["objects"]]

    def test_each_job_runs_once_on_two_workers_with_results_in_the_hub(self):
        hub = self.hub(FAST_APPS)
        self.worker(hub, "worker-a", FAST_APPS)
        self.worker(hub, "worker-b", FAST_APPS)
        # The series test-threshold's rules take: CT with at least 20 slices.
        slices = {}
        for folder in (PAT1, HEAD, CHEST):
            files = ct_files(folder)
            for f in files:
                uid = harness.read_dataset(f, stop_before_pixels=True).SeriesInstanceUID
                slices[uid] = slices.get(uid, 0) + 1
            self.store(hub, files)
        expected = {uid for uid, n in slices.items() if n >= 20}
        self.assertGreaterEqual(len(expected), 3, slices)
        n = len(expected)
        js = wait_jobs(hub, lambda js: len(js) >= n and all(j["state"] in ("succeeded", "failed") for j in js),
                       timeout=240, what="%d test-threshold jobs done by the workers" % n)
        time.sleep(2 * 0.2 + 1)  # any double run would have been claimed by now
        js = jobs(hub, limit=1000)
        self.assertEqual(len(js), n, json.dumps(js, indent=1))
        # One job per stored series, none for the result series (never routed).
        self.assertEqual({j["series_uid"] for j in js}, expected)
        owners = {}
        for j in js:
            self.assertEqual(j["state"], "succeeded", json.dumps(j, indent=1))
            self.assertEqual(j["attempts"], 1, j)  # taken once
            self.assertIn(j["lease_owner"], ("worker-a", "worker-b"))
            self.assertEqual(j["results"]["worker"], j["lease_owner"])
            owners[j["id"]] = j["lease_owner"]
            kinds = sorted(k for k, _ in self.results_of(j))
            self.assertEqual(kinds, ["seg", "sr"], j)
            # Each result is in the hub, in the job's study.
            for kind, sop in self.results_of(j):
                status, found = api(hub, "/dicom-web/studies/%s/instances?SOPInstanceUID=%s" % (j["study_uid"], sop))
                self.assertEqual(status, 200, found)
                self.assertEqual(len(found), 1, (kind, sop))
            status, findings = api(hub, "/api/v1/series/%s/findings" % j["series_uid"])
            self.assertEqual(status, 200, findings)
            self.assertTrue(findings and all(f["job_id"] == j["id"] for f in findings), findings)
        # Exactly once: as many SEG and SR series in the hub as jobs (each result its own series).
        self.assertEqual(qido_count(hub, "series", Modality="SEG"), n)
        self.assertEqual(qido_count(hub, "series", Modality="SR"), n)
        print("\njobs by worker: %s" % owners)

    def test_killed_worker_job_is_requeued_after_its_lease_and_done_by_the_other(self):
        hub = self.hub(SLOW_APPS)
        a = self.worker(hub, "worker-a", SLOW_APPS)
        self.store(hub, ct_files(PAT1))
        js = wait_jobs(hub, lambda js: any(j["state"] == "running" and j["lease_owner"] == "worker-a" for j in js),
                       timeout=60, what="the job running on worker-a")
        job, = js
        time.sleep(1.0)  # inside the app's 4 s
        self.assertEqual(jobs(hub)[0]["state"], "running")
        a.kill()
        killed_at = time.monotonic()
        self.worker(hub, "worker-b", SLOW_APPS)
        js = wait_jobs(hub, lambda js: js[0]["state"] in ("succeeded", "failed"), timeout=120,
                       what="the job done by worker-b")
        done = js[0]
        self.assertEqual(done["id"], job["id"])
        self.assertEqual(done["state"], "succeeded", json.dumps(done, indent=1))
        self.assertEqual(done["lease_owner"], "worker-b")
        self.assertEqual(done["attempts"], 2)  # worker-a's attempt counted
        # Not before the lease passed (3 s from worker-a's last renewal, at most 1 s before
        # the kill), then worker-b's 4 s app.
        self.assertGreater(time.monotonic() - killed_at, 4.0)
        self.assertEqual(sorted(k for k, _ in self.results_of(done)), ["seg", "sr"])
        self.assertEqual(qido_count(hub, "series", Modality="SEG"), 1)  # stored once
        self.assertEqual(qido_count(hub, "series", Modality="SR"), 1)
        self.assertEqual(len(jobs(hub)), 1)
        # The late worker's lease is refused (as a worker that woke up would be).
        ai = {"Authorization": "Bearer " + hub.token_for("ai-bot", "ai-service"), "Content-Type": "application/json"}
        for action, body in (("renew", {"worker": "worker-a"}),
                             ("complete", {"worker": "worker-a", "run": {"summary": "late"}}),
                             ("fail", {"worker": "worker-a", "error": "late"})):
            code, answer = post(hub, "/api/v1/ai/worker/jobs/%d/%s" % (job["id"], action), body, ai)
            self.assertEqual(code, 409, (action, answer))
        self.assertEqual(jobs(hub)[0]["state"], "succeeded")

    def test_sigterm_gives_the_job_back(self):
        hub = self.hub(SLOW_APPS)
        w = self.worker(hub, "worker-a", SLOW_APPS)
        self.store(hub, ct_files(PAT1))
        wait_jobs(hub, lambda js: any(j["state"] == "running" and j["lease_owner"] == "worker-a" for j in js),
                  timeout=60, what="the job running on worker-a")
        time.sleep(0.5)
        self.assertEqual(w.stop(), 0, w.log_tail())  # SIGTERM: the app stopped, the job given back
        job, = jobs(hub)
        self.assertEqual((job["state"], job["attempts"]), ("queued", 0), json.dumps(job, indent=1))
        self.assertIn("given back by worker worker-a", job["error"])
        self.assertEqual(qido_count(hub, "series", Modality="SEG"), 0)

    def test_hub_checks_what_a_worker_returns(self):
        """The protocol without a worker process: results that are not stored, of another
        study or in the job's source series are refused with 400 naming the object."""
        # The hub may run 2 jobs itself, but not of this app.
        hub = self.hub(SLOW_APPS, extra=["--ai-remote-only", "test-slow-threshold"], workers=2)
        pat1, head = ct_files(PAT1), ct_files(HEAD)
        self.store(hub, pat1)
        self.store(hub, head)
        wait_jobs(hub, lambda js: len(js) == 2, timeout=60, what="two queued jobs")
        time.sleep(1)  # the hub's scheduler runs every 250 ms: it would have taken them by now
        self.assertEqual([j["state"] for j in jobs(hub)], ["queued", "queued"])
        ai = {"Authorization": "Bearer " + hub.token_for("ai-bot", "ai-service"), "Content-Type": "application/json"}
        code, body = post(hub, "/api/v1/ai/worker/claim", {"worker": "w", "apps": []}, ai)
        self.assertEqual(code, 400, body)
        code, body = post(hub, "/api/v1/ai/worker/claim", {"worker": "w", "apps": ["test-slow-threshold"],
                                                           "lease_seconds": 60, "max_jobs": 2}, ai)
        self.assertEqual(code, 200, body)
        self.assertEqual(len(body["jobs"]), 2, body)
        pat1_ds = harness.read_dataset(pat1[0], stop_before_pixels=True)
        head_ds = harness.read_dataset(head[0], stop_before_pixels=True)
        job, = [j for j in body["jobs"] if j["series_uid"] == pat1_ds.SeriesInstanceUID]
        path = "/api/v1/ai/worker/jobs/%d/" % job["id"]
        for sop, why in (("1.2.826.0.1.3680043.10.999.1", "is not stored"),
                         (head_ds.SOPInstanceUID, "belongs to study"),
                         (pat1_ds.SOPInstanceUID, "source series")):
            run = {"summary": "x", "objects": [{"kind": "seg", "sop_instance_uid": sop, "sop_class_uid": "",
                                                "series_instance_uid": "1.2.3"}], "findings": []}
            code, answer = post(hub, path + "complete", {"worker": "w", "run": run}, ai)
            self.assertEqual(code, 400, answer)
            self.assertIn(why, answer)
        code, answer = post(hub, path + "complete", {"worker": "other", "run": {"summary": "x"}}, ai)
        self.assertEqual(code, 409, answer)
        self.assertIn("held by worker w", answer)
        code, answer = post(hub, path + "renew", {"worker": "w", "result_series": [job["series_uid"]]}, ai)
        self.assertEqual(code, 400, answer)  # results never go into the source series
        # A result-less run with one finding completes the job.
        finding = {"type": {"value": "1", "scheme": "99T", "meaning": "t"}, "label": "f", "center": [0, 0, 0],
                   "size_mm": 1, "volume_ml": 0, "score": 0.5, "severity": "low", "segment_number": 0,
                   "measurements": []}
        code, done = post(hub, path + "complete", {"worker": "w", "run": {"summary": "ok", "findings": [finding]}}, ai)
        self.assertEqual(code, 200, done)
        self.assertEqual((done["state"], done["summary"], done["lease_owner"]), ("succeeded", "ok", "w"))
        status, findings = api(hub, "/api/v1/series/%s/findings" % job["series_uid"])
        self.assertEqual([f["label"] for f in findings], ["f"])
        # The other job: given back, queued again with its attempt given back.
        other, = [j for j in body["jobs"] if j["id"] != job["id"]]
        code, back = post(hub, "/api/v1/ai/worker/jobs/%d/fail" % other["id"],
                          {"worker": "w", "error": "stopping", "give_back": True}, ai)
        self.assertEqual(code, 200, back)
        self.assertEqual((back["state"], back["attempts"]), ("queued", 0))
        # The hub itself never took them (--ai-remote-only).
        self.assertTrue(all(j["lease_owner"] in ("", "w") for j in jobs(hub)))
        self.assertEqual(jobs(hub, state="running"), [])

    def test_worker_with_a_wrong_token_or_role_is_refused(self):
        hub = self.hub(FAST_APPS)
        for token, code in (("not-a-token", 401), (hub.token_for("dr-who", "radiologist"), 403)):
            w = self.worker(hub, "bad-worker", FAST_APPS, token=token)
            w.proc.wait(30)
            self.assertEqual(w.proc.returncode, 2, w.log_tail())
            self.assertIn("HTTP %d" % code, w.log_tail())
        # The REST routes themselves: no token 401, a non-AI role 403.
        with harness.anonymous():
            status, _ = api(hub, "/api/v1/ai/worker/claim", "POST", {"worker": "x", "apps": ["test-threshold"]})
        self.assertEqual(status, 401)
        radiologist = {"Authorization": "Bearer " + hub.token_for("dr-who", "radiologist"),
                       "Content-Type": "application/json"}
        status, _ = post(hub, "/api/v1/ai/worker/claim", {"worker": "x", "apps": ["test-threshold"]}, radiologist)
        self.assertEqual(status, 403)


def post(server, path, body, headers):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (server.http_port, path), data=json.dumps(body).encode(),
                                 method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


if __name__ == "__main__":
    unittest.main()
