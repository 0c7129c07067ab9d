"""The access rules, walked (docs/access-control.md): every row of GET /api/v1/admin/routes with
every role and with no credentials, on real data (a CT stored twice: one study referred by the
test's referring physician, one by another; a series with a queued AI job).

- no credentials: 401 `authentication required` with `WWW-Authenticate: Bearer` on every row but
  the public ones (a browser navigation gets 302 to /login?next=);
- a role the row does not admit: the guard's 403 (code "forbidden");
- a role it admits: neither the guard's 401 nor its 403 (the handler may still say 400/404/409);
- the referring role inside and outside its studies, the AI service inside and outside the
  series of its jobs, the referring physician's study search narrowed to their studies;
- every route the server registered is covered by a row (`registered` vs the rules).
"""
import http.client
import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from dicomweb_client import Client as DicomWebClient  # noqa: E402

ROLES = ["administrator", "radiologist", "technologist", "referring", "researcher", "ai-service"]
REFERRER = "MATRIX^REFERRER"
OTHER_REFERRER = "OTHER^DOCTOR"


def guard_401(status, body):
    return status == 401 and isinstance(body, dict) and body.get("error") == "authentication required"


def guard_403(status, body):
    return status == 403 and isinstance(body, dict) and body.get("code") == "forbidden"


class AccessMatrixTest(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.tempfile.mkdtemp(prefix="radflow-matrix-")
        cls.addClassCleanup(harness.shutil.rmtree, cls.tmp, True)
        cls.server = cls.start_class(harness.RadflowServer(extra_args=["--stable-seconds", "1"]))
        # Two studies of one CT: ours (referred by REFERRER) and another physician's.
        files = harness.dicom_files(harness.series_dir("ct_head_ge_tilt"))[:4]
        assert files, "no files in ct_head_ge_tilt"
        ours, theirs = [], []
        other_study, other_series = harness.new_uid(), harness.new_uid()
        for i, path in enumerate(files):
            ds = harness.read_dataset(path)
            ds.ReferringPhysicianName = REFERRER
            a = os.path.join(cls.tmp, "a%d.dcm" % i)
            ds.save_as(a)
            ours.append(a)
            ds.ReferringPhysicianName = OTHER_REFERRER
            ds.StudyInstanceUID, ds.SeriesInstanceUID = other_study, other_series
            ds.SOPInstanceUID = harness.new_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            b = os.path.join(cls.tmp, "b%d.dcm" % i)
            ds.save_as(b)
            theirs.append(b)
        first = harness.read_dataset(ours[0], stop_before_pixels=True)
        cls.study, cls.series = str(first.StudyInstanceUID), str(first.SeriesInstanceUID)
        cls.other_study, cls.other_series = other_study, other_series
        client = DicomWebClient(cls.server.http_port)
        for batch in (ours, theirs):
            r = client.stow_files(batch)
            assert r.status == 200, (r.status, r.body[:400])
        client.close()
        # The AI service's job: a queued job of our series, held back by a retry time a day
        # away so that the engine leaves it queued (written as the job store writes it).
        now_ms = int(time.time() * 1000)
        with harness.IndexDb(cls.server.data_dir) as db:
            db.execute("INSERT INTO ai_jobs (app_id, study_uid, series_uid, state, not_before, created_at)"
                       " VALUES ('matrix-app', ?, ?, 'queued', ?, ?)",
                       (cls.study, cls.series, now_ms + 86400000, now_ms))
        # One account per role (the CLI), each with a token.
        cls.tokens = {}
        for role in ROLES:
            name = "m-" + role
            cls.server.ensure_user(name, role, referring_name=REFERRER if role == "referring" else None)
            cls.tokens[role] = cls.server.token_for(name)
        status, cls.table = cls.request("GET", "/api/v1/admin/routes", cls.tokens["administrator"])
        assert status == 200, cls.table

    @classmethod
    def request(cls, method, path, token=None, accept="application/json", cookie=None):
        """(status, JSON body or text) without the harness's automatic credentials; streams
        (server-sent events) are not read beyond their headers."""
        conn = http.client.HTTPConnection("127.0.0.1", cls.server.http_port, timeout=60)
        headers = {"Accept": accept}
        if token:
            headers["Authorization"] = "Bearer " + token
        if cookie:
            headers["Cookie"] = cookie
        body = None
        if method in ("POST", "PUT"):
            body, headers["Content-Type"] = b"{}", "application/json"
        try:
            with harness.anonymous():
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
            cls.last_headers = {k.lower(): v for k, v in resp.getheaders()}
            if "event-stream" in resp.getheader("Content-Type", ""):
                return resp.status, None
            data = resp.read(1 << 20)
        finally:
            conn.close()
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data[:200].decode(errors="replace")

    def path_of(self, rule, study=None, series=None):
        return (rule["example"].replace("{study}", study or self.study)
                .replace("{series}", series or self.series))

    def test_every_rule_every_role(self):
        rows = self.table["routes"]
        self.assertGreater(len(rows), 60)
        checked = 0
        for rule in rows:
            method = "GET" if rule["method"] == "*" else rule["method"]
            path = self.path_of(rule)
            what = "%s %s (rule %s %s)" % (method, path, rule["method"], rule["pattern"])
            with self.subTest(rule=what, caller="anonymous"):
                status, body = self.request(method, path)
                if rule["public"]:
                    self.assertFalse(guard_401(status, body) or guard_403(status, body), (status, body))
                else:
                    self.assertTrue(guard_401(status, body), (status, body))
                    self.assertEqual(self.last_headers.get("www-authenticate"), 'Bearer realm="radflow"')
            for role in ROLES:
                with self.subTest(rule=what, caller=role):
                    status, body = self.request(method, path, self.tokens[role])
                    admitted = rule["public"] or role in rule["roles"]
                    if admitted:
                        self.assertFalse(guard_401(status, body) or guard_403(status, body),
                                         "%s admitted, got %s %s" % (role, status, body))
                    else:
                        self.assertTrue(guard_403(status, body), "%s refused, got %s %s" % (role, status, body))
                    checked += 1
        self.assertEqual(checked, len(rows) * len(ROLES))

    def test_scopes(self):
        rows = self.table["routes"]
        referring = [r for r in rows if "referring" in r["roles"] and "{study}" in r["example"]]
        ai = [r for r in rows if "ai-service" in r["roles"] and "{series}" in r["example"]]
        self.assertGreater(len(referring), 8)
        self.assertGreaterEqual(len(ai), 2)
        for rule in referring:
            with self.subTest(rule=rule["pattern"], scope="referring"):
                status, body = self.request(rule["method"], self.path_of(rule), self.tokens["referring"])
                self.assertFalse(guard_401(status, body) or guard_403(status, body), (status, body))
                self.assertLess(status, 500, body)
                status, body = self.request(rule["method"], self.path_of(rule, self.other_study, self.other_series),
                                            self.tokens["referring"])
                self.assertTrue(guard_403(status, body), (status, body))
                self.assertIn("is not referred by", body["error"])
        for rule in ai:
            with self.subTest(rule=rule["pattern"], scope="ai-job"):
                status, body = self.request(rule["method"], self.path_of(rule), self.tokens["ai-service"])
                self.assertFalse(guard_401(status, body) or guard_403(status, body), (status, body))
                self.assertLess(status, 500, body)
                status, body = self.request(rule["method"], self.path_of(rule, self.other_study, self.other_series),
                                            self.tokens["ai-service"])
                self.assertTrue(guard_403(status, body), (status, body))
                self.assertIn("has no queued or running AI job", body["error"])
        # Real data through the scopes: the referring physician reads their series' metadata,
        # and the AI service its job's series.
        for role in ("referring", "ai-service"):
            status, meta = self.request("GET", "/dicom-web/studies/%s/series/%s/metadata" % (self.study, self.series),
                                        self.tokens[role], accept="application/dicom+json")
            self.assertEqual(status, 200, meta)
            self.assertEqual(len(meta), 4)

    def test_referring_study_search_is_narrowed(self):
        def studies(query, role="referring"):
            status, body = self.request("GET", "/dicom-web/studies?" + urllib.parse.urlencode(query), self.tokens[role],
                                        accept="application/dicom+json")
            self.assertEqual(status, 200, body)
            return sorted(s["0020000D"]["Value"][0] for s in body)
        self.assertEqual(studies({}, "radiologist"), sorted([self.study, self.other_study]))
        self.assertEqual(studies({}), [self.study])
        # Asking for another physician's studies, by keyword, tag or fuzzy matching, changes nothing.
        self.assertEqual(studies({"ReferringPhysicianName": OTHER_REFERRER}), [self.study])
        self.assertEqual(studies({"00080090": "OTHER*"}), [self.study])
        self.assertEqual(studies({"ReferringPhysicianName": "OTHER", "fuzzymatching": "true"}), [self.study])
        self.assertEqual(studies({"StudyInstanceUID": self.other_study}), [])
        # No worklist, no series search across studies.
        for path in ("/api/v1/worklist", "/dicom-web/series", "/dicom-web/instances"):
            status, body = self.request("GET", path, self.tokens["referring"])
            self.assertTrue(guard_403(status, body), (path, status, body))

    def test_browser_navigation_redirects_to_login(self):
        status, _ = self.request("GET", "/worklist?x=1", accept="text/html,application/xhtml+xml")
        self.assertEqual(status, 302)
        self.assertEqual(self.last_headers["location"], "/login?next=/worklist%3Fx%3D1")
        status, _ = self.request("GET", "/login", accept="text/html")
        self.assertNotIn(status, (302, 401, 403))
        # An API call asking for HTML is not a page: 401, not a redirect.
        status, body = self.request("POST", "/api/v1/worklist/%s/claim" % self.study, accept="text/html")
        self.assertTrue(guard_401(status, body), (status, body))

    def test_default_deny(self):
        for method, path in (("GET", "/api/v1/no-such-route"), ("DELETE", "/api/v1/stats"),
                             ("PUT", "/dicom-web/studies"), ("GET", "/dicom-web/unknown"), ("PATCH", "/")):
            with self.subTest(path="%s %s" % (method, path)):
                status, body = self.request(method, path, self.tokens["administrator"])
                self.assertEqual(status, 403, body)
                self.assertEqual(body["error"], "no access rule for %s %s" % (method, path))

    def test_bad_credentials_are_named(self):
        status, body = self.request("GET", "/api/v1/stats", "rf_not-a-token")
        self.assertEqual(status, 401, body)
        self.assertNotEqual(body["error"], "authentication required")
        self.assertIn('error="invalid_token"', self.last_headers.get("www-authenticate", ""))
        status, body = self.request("GET", "/api/v1/stats", cookie="radflow_session=nonsense")
        self.assertEqual(status, 401, body)

    def test_every_registered_route_has_a_rule(self):
        registered = self.table["registered"]
        self.assertGreater(len(registered), 40)
        uncovered = [r for r in registered if not r.get("covered_by")]
        self.assertEqual(uncovered, [])
        patterns = {(r["method"], r["pattern"]) for r in self.table["routes"]}
        for r in registered:
            self.assertTrue(any(p == r["covered_by"] for _, p in patterns), r)
        # The CLI prints the same table.
        proc = harness.radflow_cli("routes", "--format", "json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["routes"], self.table["routes"])


if __name__ == "__main__":
    unittest.main()
