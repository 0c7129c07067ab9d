"""The reading worklist through the real server (docs/worklist.md): items from C-STORE, the
priority rule with a real ct-head-bleed job on a head CT carrying a synthetic haemorrhage,
claims and state changes with their 4xx errors, filters, server-sent events, priors and
the prefetch of priors from Orthanc by C-FIND / C-MOVE."""
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import worklist_data as wd  # noqa: E402
from ai_harness import ai_server  # noqa: E402


class EventListener(threading.Thread):
    """Reads /api/v1/worklist/events; keeps every (event name, data) received."""

    def __init__(self, port, token):
        super().__init__(daemon=True)
        self.port, self.token, self.events, self.error = port, token, [], None
        self.connected = threading.Event()

    def run(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=60) as s:
                s.sendall(b"GET /api/v1/worklist/events HTTP/1.1\r\nHost: x\r\n"
                          b"Authorization: Bearer " + self.token.encode() + b"\r\n\r\n")
                buf, name = b"", None
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                    if not self.connected.is_set() and b"radflow worklist events" in buf:
                        self.connected.set()
                    for line in buf.split(b"\n")[:-1]:
                        line = line.strip(b"\r")
                        if line.startswith(b"event: "):
                            name = line[7:].decode()
                        elif line.startswith(b"data: ") and name:
                            self.events.append((name, json.loads(line[6:])))
                    buf = buf.split(b"\n")[-1]
        except Exception as e:  # the server stopped: the test reads what arrived
            self.error = e

    def reasons(self, study):
        return [d["reason"] for n, d in self.events if n == "worklist" and d["study_uid"] == study]


def call(server, path, method="GET", body=None, reader=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if reader:
        headers["X-Radflow-Reader"] = reader
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (server.http_port, path), data=data,
                                 method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class WorklistTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="radflow-worklist-")
        # Only ct-head-bleed runs (its manifest in a folder of its own).
        cls.apps = os.path.join(cls.tmp, "apps")
        os.makedirs(cls.apps)
        shutil.copy(os.path.join(harness.REPO, "apps", "ct-head-bleed.json"), cls.apps)
        S = cls.studies = {}
        S["head"] = wd.write_study(os.path.join(cls.tmp, "head"), wd.HEAD_CT, "WL-P1", "Head^Ann",
                                   "20261201", description="CT HEAD", site="North Hospital",
                                   issuer="NORTH")
        S["head_prior"] = wd.write_study(os.path.join(cls.tmp, "head_prior"), wd.HEAD_CT, "WL-P1",
                                         "Head^Ann", "20250601", description="CT HEAD",
                                         site="North Hospital", issuer="NORTH")
        S["chest"] = wd.write_study(os.path.join(cls.tmp, "chest"), wd.CHEST_CT, "WL-P2",
                                    "Chest^Bob", "20261202", description="CT CHEST",
                                    site="South Clinic", max_slices=20)
        S["stat"] = wd.write_study(os.path.join(cls.tmp, "stat"), wd.CHEST_CT, "WL-P3", "Stat^Cy",
                                   "20261203", description="CT CHEST", priority="STAT",
                                   site="South Clinic", max_slices=20)
        S["bleed"] = wd.write_study(os.path.join(cls.tmp, "bleed"), wd.HEAD_CT, "WL-P4",
                                    "Bleed^Dee", "20261204", description="CT HEAD",
                                    site="North Hospital", bleed_ml=10)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def item(self, server, key):
        status, body = call(server, "/api/v1/worklist/" + self.studies[key][0])
        self.assertEqual(status, 200, body)
        return body

    def order(self, server, query=""):
        status, body = call(server, "/api/v1/worklist" + query)
        self.assertEqual(status, 200, body)
        return [i["study_uid"] for i in body["items"]]

    def test_worklist_end_to_end(self):
        empty = tempfile.mkdtemp(dir=self.tmp)
        data = os.path.join(self.tmp, "data")
        with ai_server([self.apps], empty, extra=["--claim-idle-minutes", "0.05"], data_dir=data) as server:
            events = EventListener(server.http_port, server.token_for())
            events.start()
            self.assertTrue(events.connected.wait(10), "no event stream")
            S = self.studies
            for key in ("head", "chest", "stat"):
                harness.storescu(server.dicom_port, S[key][1])
            wait_for(lambda: len(self.order(server)) == 3, 20, "three items")
            # STAT first, then the longest waiting.
            self.assertEqual(self.order(server), [S["stat"][0], S["head"][0], S["chest"][0]])
            head = self.item(server, "head")
            self.assertEqual(head["patient_id"], "WL-P1")
            self.assertEqual(head["issuer_of_patient_id"], "NORTH")
            self.assertEqual(head["body_part"], "HEAD")
            self.assertEqual(head["site"], "North Hospital")
            self.assertEqual(head["state"], "unread")
            self.assertEqual(head["audit"][0]["action"], "arrived")
            stat = self.item(server, "stat")
            self.assertEqual(stat["order_priority"], "STAT")
            self.assertEqual(stat["priority_reasons"], ["↑ STAT order"])
            wait_for(lambda: self.item(server, "head")["completed_at"] > 0, 20, "series stable")

            # The bleed arrives last; once its job ends, it is above the STAT study.
            t_store = time.time()
            harness.storescu(server.dicom_port, S["bleed"][1])
            bleed_uid = S["bleed"][0]
            wait_for(lambda: self.item(server, "bleed")["ai_flag"] == "critical", 120, "the bleed's finding")
            t_flag = time.time()
            self.assertEqual(self.order(server)[0], bleed_uid)
            bleed = self.item(server, "bleed")
            self.assertEqual(bleed["priority_score"], 1000)
            reason = bleed["priority_reasons"][0]
            self.assertTrue(reason.startswith("↑ critical: suspected haemorrhage "), reason)
            self.assertIn("mL", reason)
            self.assertIn("ct-head-bleed 1.0", reason)
            self.assertEqual(bleed["ai_pending"], 0)
            wait_for(lambda: "ai" in events.reasons(bleed_uid), 5, "the ai event")
            self.assertIn("arrived", events.reasons(bleed_uid))
            print("bleed stored → flagged critical in %.1f s" % (t_flag - t_store))

            # Filters.
            self.assertEqual(self.order(server, "?ai_flag=critical"), [bleed_uid])
            self.assertEqual(set(self.order(server, "?ai_flag=none")), {S["head"][0], S["chest"][0], S["stat"][0]})
            self.assertEqual(self.order(server, "?body_part=head"), [bleed_uid, S["head"][0]])
            self.assertEqual(self.order(server, "?site=south&sort=arrived"), [S["stat"][0], S["chest"][0]])
            self.assertEqual(self.order(server, "?priority=STAT"), [S["stat"][0]])
            self.assertEqual(self.order(server, "?patient=chest%5Eb"), [S["chest"][0]])
            self.assertEqual(self.order(server, "?from=20261202&to=20261203&sort=study_date"),
                             [S["stat"][0], S["chest"][0]])
            self.assertEqual(self.order(server, "?modality=MR"), [])
            status, page = call(server, "/api/v1/worklist?limit=2&offset=1")
            self.assertEqual((page["total"], len(page["items"])), (4, 2))
            for bad, field in (("?state=signed", "state"), ("?ai_flag=huge", "ai_flag"),
                               ("?from=2026", "from"), ("?limit=0", "limit"), ("?sort=name", "sort"),
                               ("?priority=soon", "priority")):
                status, body = call(server, "/api/v1/worklist" + bad)
                self.assertEqual(status, 400, bad)
                self.assertIn(field, body["error"])

            # Claims: one reader at a time, named in the 409.
            head_uid = S["head"][0]
            status, body = call(server, "/api/v1/worklist/%s/claim" % head_uid, "POST", {}, reader="dr-a")
            self.assertEqual(status, 200, body)
            self.assertEqual((body["state"], body["reader"]), ("in_progress", "dr-a"))
            status, body = call(server, "/api/v1/worklist/%s/claim" % head_uid, "POST", {}, reader="dr-b")
            self.assertEqual(status, 409)
            self.assertEqual(body["holder"], "dr-a")
            self.assertIn("claimed by dr-a", body["error"])
            status, body = call(server, "/api/v1/worklist/%s/release" % head_uid, "POST", {}, reader="dr-b")
            self.assertEqual(status, 409)
            with harness.anonymous():  # the reader is the signed-in user: none, no claim
                status, body = call(server, "/api/v1/worklist/%s/claim" % head_uid, "POST", {})
            self.assertEqual(status, 401)
            self.assertEqual(body["code"], "unauthenticated")
            status, body = call(server, "/api/v1/worklist/1.2.3.4/claim", "POST", {}, reader="dr-a")
            self.assertEqual(status, 404)
            status, body = call(server, "/api/v1/worklist/%s/state" % head_uid, "POST",
                                {"state": "signed"}, reader="dr-a")
            self.assertEqual(status, 400)
            status, body = call(server, "/api/v1/worklist/%s/state" % S["chest"][0], "POST",
                                {"state": "final"}, reader="dr-a")
            self.assertEqual(status, 409)
            self.assertIn("unread → final", body["error"])
            status, body = call(server, "/api/v1/worklist/%s/state" % head_uid, "POST", "x", reader="dr-a")
            self.assertEqual(status, 400)
            # The claim expires after --claim-idle-minutes (3 s here) without a heartbeat.
            wait_for(lambda: self.item(server, "head")["state"] == "unread", 15, "the claim to expire")
            self.assertEqual(self.item(server, "head")["reader"], "")
            # dr-b reads it: preliminary, then final; TAT and the audit.
            for path, body in (("claim", {}), ("heartbeat", {}),
                               ("state", {"state": "preliminary", "note": "dictated"})):
                status, out = call(server, "/api/v1/worklist/%s/%s" % (head_uid, path), "POST", body, reader="dr-b")
                self.assertEqual(status, 200, out)
            status, out = call(server, "/api/v1/worklist/%s/state" % head_uid, "POST",
                               {"state": "final"}, reader="dr-b")
            self.assertEqual(status, 200, out)
            head = self.item(server, "head")
            self.assertEqual(head["state"], "final")
            self.assertGreater(head["tat_ms"], 0)
            self.assertEqual([(a["action"], a["reader"], a["to"]) for a in head["audit"]],
                             [("arrived", "", "unread"), ("claimed", "dr-a", "in_progress"),
                              ("expired", "dr-a", "unread"), ("claimed", "dr-b", "in_progress"),
                              ("state", "dr-b", "preliminary"), ("state", "dr-b", "final")])
            self.assertNotIn(head_uid, self.order(server), "final items leave the default list")
            self.assertIn(head_uid, self.order(server, "?state=final"))
            # An order priority set through the API.
            status, out = call(server, "/api/v1/worklist/%s/priority" % S["chest"][0], "POST",
                               {"order_priority": "HIGH"}, reader="desk")
            self.assertEqual((status, out["priority_score"]), (200, 200))
            status, out = call(server, "/api/v1/worklist/%s/priority" % S["chest"][0], "POST",
                               {"order_priority": "whenever"}, reader="desk")
            self.assertEqual(status, 400)
            wait_for(lambda: "priority" in events.reasons(S["chest"][0]), 5, "the priority event")
            for r in ("claimed", "released", "state"):
                self.assertIn(r, events.reasons(head_uid))

            # The study page's data and the priors (the prior is imported later).
            harness.storescu(server.dicom_port, S["head_prior"][1])
            wait_for(lambda: call(server, "/api/v1/worklist/" + S["head_prior"][0])[0] == 200, 20, "the prior")
            status, priors = call(server, "/api/v1/studies/%s/priors" % head_uid)
            self.assertEqual(status, 200, priors)
            self.assertEqual([p["study_uid"] for p in priors["priors"]], [S["head_prior"][0]])
            self.assertIn("same region HEAD", priors["priors"][0]["reasons"])
            status, page = call(server, "/api/v1/studies/%s" % bleed_uid)
            self.assertEqual(status, 200, page)
            kinds = sorted(s["modality"] for s in page["series"])
            self.assertEqual(kinds, ["CT", "SEG", "SR"])  # the app's results in the same study
            self.assertTrue(all(s["first_sop_uid"] for s in page["series"]))
            self.assertEqual(call(server, "/api/v1/studies/9.9.9")[0], 404)
            status, rule = call(server, "/api/v1/worklist/rule")
            self.assertEqual(rule["ai"]["critical"], 1000)
            self.assertEqual(rule["order"]["STAT"], 500)

        # Restart: items, states and the audit are durable.
        with harness.RadflowServer(data_dir=data) as again:
            head = self.item(again, "head")
            self.assertEqual(head["state"], "final")
            self.assertEqual(len(head["audit"]), 6)
            self.assertEqual(self.item(again, "bleed")["ai_flag"], "critical")

    def test_bad_rule_file_is_refused_naming_the_field(self):
        rule = os.path.join(self.tmp, "rule.json")
        with open(rule, "w") as f:
            f.write('{"ai": {"critical": "high"}}')
        server = harness.RadflowServer(extra_args=["--worklist-rule", rule])
        try:
            with self.assertRaises(AssertionError):
                server.start(timeout=10)
            self.assertIn("ai.critical: expected an integer", server.log_tail())
        finally:
            server.stop()

    def test_prefetch_of_priors_from_orthanc(self):
        S = self.studies
        dicom_port = harness.free_port()
        orthanc = harness.OrthancServer(modalities={"radflow": ("RADFLOW", "127.0.0.1", dicom_port)})
        with orthanc:
            harness.storescu(orthanc.dicom_port, S["head_prior"][1], aet=orthanc.aet)
            harness.storescu(orthanc.dicom_port, S["chest"][1], aet=orthanc.aet)  # another patient
            server = harness.RadflowServer(
                dicom_port=dicom_port, modalities={"ORTHANC": ("127.0.0.1", orthanc.dicom_port)},
                extra_args=["--prefetch-from", "ORTHANC", "--stable-seconds", "1"])
            with server:
                harness.storescu(server.dicom_port, S["head"][1])
                prior_uid = S["head_prior"][0]
                item = wait_for(lambda: (lambda r: r[1] if r[0] == 200 else None)(
                    call(server, "/api/v1/worklist/" + prior_uid)), 60, "the prefetched prior")
                self.assertEqual(item["state"], "final", "a prefetched prior is not for reading")
                self.assertEqual(item["audit"][-1]["action"], "prefetched")
                wait_for(lambda: self.item(server, "head_prior")["num_instances"] == len(S["head_prior"][1]),
                         30, "all of the prior's instances")
                status, priors = call(server, "/api/v1/studies/%s/priors" % S["head"][0])
                self.assertEqual([p["study_uid"] for p in priors["priors"]], [prior_uid])
                # Only the relevant prior of the same patient came.
                self.assertEqual(call(server, "/api/v1/worklist/" + S["chest"][0])[0], 404)
                self.assertEqual(self.order(server), [S["head"][0]])


if __name__ == "__main__":
    unittest.main()
