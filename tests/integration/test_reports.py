"""Reporting through the real server (docs/reports.md): a chest CT (Lung-PET-CT-Dx A0001)
read by the real ct-lung-lesions app, plus a real TID 1500 SR (RSNA 2018, dcmqi)
re-identified into the study; the pre-filled draft and its AI proposals; decisions
(accepted / edited / rejected); autosave across a restart with a stale-revision 409; QA
refusing to sign; signing preliminary, final and an addendum — the SR in the study
(QIDO / WADO, dciodvfy), the FHIR R4 resources (R4 JSON schema, tests/fhir), the ORU^R01
P / F / C at an MLLP receiver made with python3-hl7; the durable outbox with the receiver
down, also across a radflow restart; inbound ORU^R01 over MLLP (python3-hl7's client) and
by REST; follow-up recommendations pending, satisfied by a later study, overdue, closed."""
import datetime
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import report_peers as peers  # noqa: E402
import worklist_data as wd  # noqa: E402
from ai_harness import ai_server, api, dciodvfy_errors, jobs, wado_instance  # noqa: E402
from dicomweb_client import Client as DicomWebClient  # noqa: E402

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


def day(offset):
    """Today + offset days as YYYYMMDD (the server's follow-ups are due relative to today)."""
    return (datetime.date.today() + datetime.timedelta(days=offset)).strftime("%Y%m%d")


def iso(yyyymmdd):
    return "%s-%s-%s" % (yyyymmdd[:4], yyyymmdd[4:6], yyyymmdd[6:])


def call(server, path, method="GET", body=None, reader=None, timeout=60):
    """(status, JSON) with the reader header when given."""
    import json
    import urllib.error
    import urllib.request
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if reader:
        headers["X-Radflow-Reader"] = reader
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (server.http_port, path), data=data,
                                 method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null"), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text), e.headers.get("Content-Type", "")
        except ValueError:
            return e.code, text.decode(errors="replace"), e.headers.get("Content-Type", "")


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def oru(control_id, patient_id, accession, status, lines, pid3=True, observed="20250110093000"):
    """An ORU^R01 as another RIS sends it (v2.5.1), fields counted out explicitly."""
    msh = ["MSH", "^~\\&", "OUTSIDE_RIS", "OUTSIDE", "RADFLOW", "RADFLOW", observed, "", "ORU^R01^ORU_R01",
           control_id, "P", "2.5.1"]
    pid = ["PID", "1", "", (patient_id + "^^^OUTSIDE^MR") if pid3 else "", "", "Prior^Pat", "", "19600101", "F"]
    obr = ["OBR", "1", "", "F-" + control_id + "^OUTSIDE", "18748-4^Diagnostic imaging study^LN"]
    obr += [""] * 2 + [observed]             # OBR-5, 6, then OBR-7
    obr += [""] * 10 + [accession]           # OBR-8..17, OBR-18 (placer field 1: accession)
    obr += [""] * 3 + [observed, "", "RAD", status]  # OBR-19..21, 22, 23, 24, 25
    obx = []
    for i, (code, text) in enumerate(lines, 1):
        obx.append("|".join(["OBX", str(i), "TX", code, str(i), text, "", "", "", "", "", status]))
    return "\r".join(["|".join(msh), "|".join(pid), "|".join(obr)] + obx) + "\r"


@unittest.skipUnless(os.path.isdir(harness.series_dir(wd.CHEST_CT)), "Lung-PET-CT-Dx A0001 not available")
class ReportsTest(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_binary()
        cls.tmp = tempfile.mkdtemp(prefix="radflow-reports-")
        cls.apps = os.path.join(cls.tmp, "apps")
        os.makedirs(cls.apps)
        shutil.copy(os.path.join(harness.REPO, "apps", "ct-lung-lesions.json"), cls.apps)
        cls.empty = os.path.join(cls.tmp, "no-apps")
        os.makedirs(cls.empty)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def server(self, data_dir, receivers=(), hl7_port=None, apps=True):
        extra = []
        for r in receivers:
            extra += ["--hl7-receiver", "127.0.0.1:%d" % r.port]
        if hl7_port:
            extra += ["--hl7-port", str(hl7_port)]
        return ai_server([self.apps] if apps else [], self.empty, extra=extra, data_dir=data_dir)

    def receiver(self, start=True):
        r = peers.Hl7Receiver()
        self.addCleanup(r.stop)
        return r.start() if start else r

    def store(self, server, files):
        proc, statuses = harness.storescu(server.dicom_port, files)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        self.assertTrue(all(s == "Success" for s in statuses.values()), statuses)

    def wait_job(self, server, study, timeout=180):
        def done():
            js = [j for j in jobs(server, limit=1000) if j["study_uid"] == study and j["app_id"] == "ct-lung-lesions"]
            return js[0] if js and js[0]["state"] in ("succeeded", "failed", "cancelled") else None
        job = wait_for(done, timeout, "ct-lung-lesions on " + study)
        self.assertEqual(job["state"], "succeeded", job.get("error"))
        return job

    def delivery(self, server, report_id):
        status, body, _ = call(server, "/api/v1/reports/%d/delivery" % report_id)
        self.assertEqual(status, 200, body)
        return body["delivery"]

    # ------------------------------------------------------------------ the reporting flow

    def test_report_sign_deliver_followup(self):
        data = os.path.join(self.tmp, "flow-data")
        receiver = self.receiver()
        hl7_port = harness.free_port()
        server = self.start(self.server(data, [receiver], hl7_port))
        study_date = day(-10)
        uid, files = wd.write_study(os.path.join(self.tmp, "current"), wd.CHEST_CT, "RPT-1", "Report^Ann",
                                    study_date, description="CT CHEST", accession="ACC-CUR")
        sr_path = os.path.join(self.tmp, "rsna-sr.dcm")
        peers.sr_into_study(sr_path, uid, "RPT-1", "Report^Ann", study_date, "ACC-CUR")
        self.store(server, files)
        self.store(server, [sr_path])
        self.wait_job(server, uid)

        # The template the study gets, and the proposals of both sources.
        status, chosen, _ = call(server, "/api/v1/studies/%s/report-template" % uid)
        self.assertEqual(status, 200, chosen)
        self.assertEqual(chosen["template"]["id"], "ct-chest", chosen)
        self.assertIn("ct-chest", chosen["rule"])
        status, created, _ = call(server, "/api/v1/studies/%s/reports" % uid, "POST", {}, reader="dr.ann")
        self.assertEqual(status, 201, created)
        rid = created["id"]
        self.assertEqual((created["status"], created["version"], created["revision"]), ("draft", 1, 0))
        self.assertEqual(created["template_id"], "ct-chest")
        proposals = created["proposals"]
        ai = [p for p in proposals if p["finding_id"] > 0]
        from_sr = [p for p in proposals if p["finding_id"] < 0]
        self.assertTrue(ai, proposals)
        self.assertTrue(from_sr, "the RSNA TID 1500 SR gives SR-only findings: %s" % proposals)
        mass = ai[0]
        self.assertEqual(mass["app_id"], "ct-lung-lesions")
        self.assertEqual(mass["app_version"], "1.1.0")
        self.assertEqual(mass["laterality"], "left")  # A0001's tumour: x > 0 (LPS)
        self.assertIn(mass["severity"], ("moderate", "high"))
        self.assertTrue(mass["sr_sop_uid"], "the app's own TID 1500 SR")
        self.assertTrue(all(p["decision"] is None for p in proposals))
        self.assertEqual(created["content"]["fields"].get("lung_rads"), mass["lung_rads"], created["content"])
        status, again, _ = call(server, "/api/v1/studies/%s/reports" % uid, "POST", {})
        self.assertEqual((status, again["id"]), (200, rid))
        status, listed, _ = call(server, "/api/v1/studies/%s/proposals" % uid)
        self.assertEqual((status, len(listed["proposals"])), (200, len(proposals)))

        # QA refuses to sign an undecided finding of moderate or higher severity.
        status, qa, _ = call(server, "/api/v1/reports/%d/qa" % rid)
        self.assertEqual(status, 200, qa)
        undecided = [i for i in qa["issues"] if i["check"] == "undecided_finding"]
        self.assertEqual([i["finding_id"] for i in undecided], [mass["finding_id"]], qa)
        status, refused, _ = call(server, "/api/v1/reports/%d/sign" % rid, "POST", {"status": "final"}, reader="dr.ann")
        self.assertEqual(status, 409, refused)
        self.assertIn("undecided_finding", [i["check"] for i in refused["issues"]])
        # The signer is the signed-in user: nobody signed in, no signature; a technologist
        # may not sign (docs/access-control.md).
        with harness.anonymous():
            status, body, _ = call(server, "/api/v1/reports/%d/sign" % rid, "POST", {"status": "final"})
        self.assertEqual(status, 401, body)
        self.assertEqual(body["code"], "unauthenticated")
        server.token_for("tech.tom", "technologist")
        status, body, _ = call(server, "/api/v1/reports/%d/sign" % rid, "POST", {"status": "final"},
                               reader="tech.tom")
        self.assertEqual(status, 403, body)
        self.assertIn("role technologist may not POST /api/v1/reports/%d/sign" % rid, body["error"])

        # Decisions: accepted, edited, rejected; bad ones name the field.
        status, body, _ = call(server, "/api/v1/findings/%d/decision" % mass["finding_id"], "POST",
                               {"decision": "edited"}, reader="dr.ann")
        self.assertEqual(status, 400, body)
        self.assertIn("values", body["error"])
        status, body, _ = call(server, "/api/v1/findings/%d/decision" % mass["finding_id"], "POST",
                               {"decision": "maybe"}, reader="dr.ann")
        self.assertEqual(status, 400, body)
        self.assertIn("decision", body["error"])
        status, body, _ = call(server, "/api/v1/findings/999999/decision", "POST", {"decision": "accepted"})
        self.assertEqual(status, 404, body)
        status, accepted, _ = call(server, "/api/v1/findings/%d/decision" % mass["finding_id"], "POST",
                                   {"decision": "accepted"}, reader="dr.ann")
        self.assertEqual(status, 201, accepted)
        self.assertEqual((accepted["decision"], accepted["reader"], accepted["app_id"], accepted["report_id"]),
                         ("accepted", "dr.ann", "ct-lung-lesions", rid))
        status, edited, _ = call(server, "/api/v1/findings/%d/decision" % from_sr[0]["finding_id"], "POST",
                                 {"decision": "edited", "sentence": "Liver lesion as measured.",
                                  "values": {"note": "re-measured"}}, reader="dr.ann")
        self.assertEqual(status, 201, edited)
        self.assertEqual(edited["values"], {"note": "re-measured"})
        rejected_id = from_sr[1]["finding_id"] if len(from_sr) > 1 else from_sr[0]["finding_id"]
        status, rejected, _ = call(server, "/api/v1/findings/%d/decision" % rejected_id, "POST",
                                   {"decision": "rejected", "reason": "not in the field of view"}, reader="dr.bob")
        self.assertEqual(status, 201, rejected)
        status, decisions, _ = call(server, "/api/v1/decisions?study_uid=%s" % uid)
        self.assertEqual(status, 200, decisions)
        self.assertEqual([d["decision"] for d in decisions["decisions"]], ["rejected", "edited", "accepted"])
        status, decisions, _ = call(server, "/api/v1/decisions?reader=dr.bob")
        self.assertEqual([d["reason"] for d in decisions["decisions"]], ["not in the field of view"])
        status, listed, _ = call(server, "/api/v1/studies/%s/proposals" % uid)
        by_id = {p["finding_id"]: p for p in listed["proposals"]}
        self.assertEqual(by_id[mass["finding_id"]]["decision"]["decision"], "accepted")
        self.assertEqual(by_id[rejected_id]["decision"]["reason"], "not in the field of view")

        # Autosave with the revision read; a stale revision is a 409 naming the stored one.
        wrong_side = mass["sentence"].replace("left", "right")
        content = {"fields": dict(created["content"]["fields"]), "sections": {"comparison": "None."}}
        draft = {"revision": 0, "content": content, "findings_text": wrong_side,
                 "impression_text": "Lung mass, Lung-RADS %s. Recommend CT chest in 3 months." % mass["lung_rads"]}
        status, saved, _ = call(server, "/api/v1/reports/%d" % rid, "PUT", draft, reader="dr.ann")
        self.assertEqual(status, 200, saved)
        self.assertEqual(saved["revision"], 1)
        status, stale, _ = call(server, "/api/v1/reports/%d" % rid, "PUT", draft, reader="dr.ann")
        self.assertEqual(status, 409, stale)
        self.assertEqual(stale["revision"], 1)

        # The draft survives a restart of the server.
        server.stop()
        server.start()
        status, back, _ = call(server, "/api/v1/reports/%d" % rid)
        self.assertEqual(status, 200, back)
        self.assertEqual((back["revision"], back["findings_text"], back["content"]), (1, wrong_side, content))

        # "right" in the text, the mass in the left lung: an error until corrected or acknowledged.
        status, refused, _ = call(server, "/api/v1/reports/%d/sign" % rid, "POST", {"status": "preliminary"},
                                  reader="dr.ann")
        self.assertEqual(status, 409, refused)
        mismatch = [i for i in refused["issues"] if i["check"] == "laterality_mismatch"]
        self.assertTrue(mismatch, refused["issues"])
        self.assertEqual((mismatch[0]["field"], mismatch[0]["finding_id"]), ("findings_text", mass["finding_id"]))
        draft.update(revision=1, findings_text=mass["sentence"])
        status, saved, _ = call(server, "/api/v1/reports/%d" % rid, "PUT", draft, reader="dr.ann")
        self.assertEqual((status, saved.get("revision")), (200, 2), saved)
        status, qa, _ = call(server, "/api/v1/reports/%d/qa" % rid)
        errors = [i for i in qa["issues"] if i["severity"] == "error"]
        self.assertEqual(errors, [], qa)

        # Preliminary, then final: an SR each, an ORU^R01 P then F at the receiver.
        status, prelim, _ = call(server, "/api/v1/reports/%d/sign" % rid, "POST", {"status": "preliminary"},
                                 reader="dr.ann")
        self.assertEqual(status, 200, prelim)
        self.assertEqual((prelim["status"], prelim["signed_by"]), ("preliminary", "dr.ann"))
        self.assertTrue(prelim["sr_sop_uid"])
        # The worklist follows the report (the signer had not claimed the study).
        status, item, _ = call(server, "/api/v1/worklist/" + uid)
        self.assertEqual((status, item.get("state")), (200, "preliminary"), item)
        self.assertEqual([d["result_status"] for d in prelim["delivery"]], ["P"])
        status, body, _ = call(server, "/api/v1/reports/%d" % rid, "PUT", dict(draft, revision=2))
        self.assertEqual(status, 409, body)  # signed: no autosave
        status, final, _ = call(server, "/api/v1/reports/%d/sign" % rid, "POST", {"status": "final"}, reader="dr.ann")
        self.assertEqual(status, 200, final)
        self.assertEqual(final["status"], "final")
        self.assertNotEqual(final["sr_sop_uid"], prelim["sr_sop_uid"])
        status, item, _ = call(server, "/api/v1/worklist/" + uid)
        self.assertEqual((status, item.get("state")), (200, "final"), item)
        messages = receiver.wait_for(2)
        wait_for(lambda: all(d["state"] == "sent" for d in self.delivery(server, rid)), 30, "delivery of P and F")

        # The SR in the study: QIDO-RS finds its series, WADO-RS returns it, dciodvfy passes it.
        client = DicomWebClient(server.http_port)
        try:
            r = client.qido("studies/%s/series" % uid, query={"Modality": "SR"})
            self.assertEqual(r.status, 200, r.body[:300])
            sr_series = {s["0020000E"]["Value"][0] for s in r.json()}
        finally:
            client.close()
        self.assertIn(final["sr_series_uid"], sr_series)
        sr_file = wado_instance(server, uid, final["sr_series_uid"], final["sr_sop_uid"],
                                os.path.join(self.tmp, "report-sr.dcm"))
        self.assertEqual(dciodvfy_errors(sr_file), [])
        sr = harness.read_dataset(sr_file)
        self.assertEqual(sr.SOPClassUID, COMPREHENSIVE_SR)
        self.assertEqual((sr.CompletionFlag, sr.VerificationFlag), ("COMPLETE", "VERIFIED"))
        predecessors = [i.ReferencedSOPInstanceUID for s in sr.PredecessorDocumentsSequence
                        for se in s.ReferencedSeriesSequence for i in se.ReferencedSOPSequence]
        self.assertEqual(predecessors, [prelim["sr_sop_uid"]])
        prelim_file = wado_instance(server, uid, prelim["sr_series_uid"], prelim["sr_sop_uid"],
                                    os.path.join(self.tmp, "report-sr-prelim.dcm"))
        self.assertEqual(dciodvfy_errors(prelim_file), [])

        # FHIR R4: DiagnosticReport, its Observations, the ImagingStudy, a searchset Bundle.
        resources = []
        status, dr, ctype = call(server, "/api/v1/fhir/DiagnosticReport/%d" % rid)
        self.assertEqual(status, 200, dr)
        self.assertIn("application/fhir+json", ctype)
        self.assertEqual((dr["resourceType"], dr["id"], dr["status"]), ("DiagnosticReport", str(rid), "final"))
        resources.append(dr)
        observations = [ref["reference"].split("/")[-1] for ref in dr.get("result", [])]
        self.assertTrue(observations, "the accepted mass's measurements are Observations")
        for oid in observations:
            status, obs, _ = call(server, "/api/v1/fhir/Observation/%s" % oid)
            self.assertEqual((status, obs["resourceType"]), (200, "Observation"), obs)
            resources.append(obs)
        status, study, _ = call(server, "/api/v1/fhir/ImagingStudy/%s" % uid)
        self.assertEqual((status, study["resourceType"]), (200, "ImagingStudy"), study)
        resources.append(study)
        status, bundle, _ = call(server, "/api/v1/fhir/DiagnosticReport?study=%s" % uid)
        self.assertEqual((status, bundle["resourceType"], bundle["type"]), (200, "Bundle", "searchset"), bundle)
        modes = sorted(e["search"]["mode"] for e in bundle["entry"])
        self.assertEqual(modes.count("match"), 1, modes)
        resources.append(bundle)
        status, missing, _ = call(server, "/api/v1/fhir/DiagnosticReport/987654")
        self.assertEqual((status, missing["resourceType"]), (404, "OperationOutcome"))
        resources.append(missing)
        if peers.fhir_validator_installed():
            report, rc = peers.validate_fhir(resources, self.tmp)
            self.assertEqual(rc, 0, report)
            print("\nFHIR R4 schema: %d resources valid" % len(resources))
        else:
            self.fail("tests/fhir/node_modules missing: run scripts/setup_web.sh (npm ci in tests/fhir)")

        # An addendum: a new version; signed final it is a corrected report (C). A QA error
        # can be acknowledged by the radiologist and the report signed anyway.
        status, add, _ = call(server, "/api/v1/reports/%d/addendum" % rid, "POST", {}, reader="dr.ann")
        self.assertEqual(status, 201, add)
        self.assertEqual((add["version"], add["status"], add["content"]), (2, "draft", content))
        status, saved, _ = call(server, "/api/v1/reports/%d" % add["id"], "PUT",
                                {"revision": 0, "findings_text": wrong_side,
                                 "impression_text": draft["impression_text"] + " Addendum: compared with outside CT."},
                                reader="dr.ann")
        self.assertEqual(status, 200, saved)
        status, refused, _ = call(server, "/api/v1/reports/%d/sign" % add["id"], "POST", {"status": "final"},
                                  reader="dr.ann")
        self.assertEqual(status, 409, refused)
        ack = [i["id"] for i in refused["issues"]]
        status, corrected, _ = call(server, "/api/v1/reports/%d/sign" % add["id"], "POST",
                                    {"status": "final", "acknowledged": ack}, reader="dr.ann")
        self.assertEqual(status, 200, corrected)
        self.assertEqual([d["result_status"] for d in corrected["delivery"]], ["C"])
        messages = receiver.wait_for(3)
        status, versions, _ = call(server, "/api/v1/studies/%s/reports" % uid)
        self.assertEqual([(r["version"], r["superseded"]) for r in versions["reports"]], [(2, False), (1, True)])
        add_file = wado_instance(server, uid, corrected["sr_series_uid"], corrected["sr_sop_uid"],
                                 os.path.join(self.tmp, "report-sr-addendum.dcm"))
        self.assertEqual(dciodvfy_errors(add_file), [])
        status, amended, _ = call(server, "/api/v1/fhir/DiagnosticReport/%d" % add["id"])
        self.assertEqual((status, amended["status"]), (200, "amended"), amended)

        # The three messages, read by python-hl7: PID-3, OBR-25 P / F / C, the text in OBX.
        self.assertEqual(len(receiver.received()), 3, "one message per signature (at-least-once, no retry needed)")
        statuses = []
        for m in messages:
            self.assertEqual(str(m.segment("MSH")[9]), "ORU^R01^ORU_R01")
            self.assertEqual(peers.field(m.segment("PID"), 3, 1), "RPT-1")
            statuses.append(str(m.segment("OBR")[25]))
            obx = peers.segment_values(m, "OBX")
            text = " ".join(str(s[5]) for s in obx if str(s[2]) in ("TX", "FT", "ST"))
            self.assertIn("Recommend CT chest in 3 months", text)
            self.assertTrue(any(str(s[2]) == "NM" for s in obx), "measurements as NM observations")
            self.assertTrue(all(str(s[11]) == statuses[-1] for s in obx if str(s[2]) != "HD"))
        self.assertEqual(statuses, ["P", "F", "C"])
        self.assertIn(uid, [str(s[5]) for s in peers.segment_values(messages[0], "OBX")])

        # Follow-up: "CT chest in 3 months" is pending, due 90 days after the study. (The
        # Lung-RADS management the template filled in recommends a PET/CT, conditionally:
        # another follow-up, of its own.)
        status, fus, _ = call(server, "/api/v1/followups?patient_id=RPT-1")
        self.assertEqual(status, 200, fus)
        pending = [f for f in fus["followups"] if f["state"] == "pending" and f["modality"] == "CT"]
        self.assertEqual(len(pending), 1, fus)
        fu = pending[0]
        self.assertEqual((fu["modality"], fu["body_region"], fu["interval_days"]), ("CT", "chest", 90), fu)
        self.assertEqual(fu["report_id"], add["id"])  # the addendum's replaces version 1's
        self.assertEqual(fu["base_date"], iso(study_date))
        self.assertEqual(fu["due_date"], iso(day(-10 + 90)))
        self.assertEqual(fu["patient_name"], "Report^Ann")
        status, closed_v1, _ = call(server, "/api/v1/followups?state=closed&patient_id=RPT-1")
        self.assertEqual({f["closed_reason"] for f in closed_v1["followups"]}, {"superseded by version 2"})
        self.assertEqual({f["report_id"] for f in closed_v1["followups"]}, {rid})

        # A later CT chest of the patient satisfies it.
        later_uid, later = wd.write_study(os.path.join(self.tmp, "later"), wd.CHEST_CT, "RPT-1", "Report^Ann",
                                          day(0), description="CT CHEST", accession="ACC-LATER", max_slices=12)
        self.store(server, later)
        done = wait_for(lambda: call(server, "/api/v1/followups/%d" % fu["id"])[1]["state"] == "satisfied"
                        and call(server, "/api/v1/followups/%d" % fu["id"])[1], 60, "the follow-up satisfied")
        self.assertEqual(done["satisfied_by"], later_uid)

    # ---------------------------------------------------------------- the durable outbox

    def test_outbox_receiver_down_and_restart(self):
        data = os.path.join(self.tmp, "outbox-data")
        receiver = self.receiver(start=False)
        server = self.start(self.server(data, [receiver], apps=False))
        uids = []
        for i in range(2):
            uid, files = wd.write_study(os.path.join(self.tmp, "outbox-%d" % i), wd.CHEST_CT, "RPT-OUT",
                                        "Outbox^Otto", day(-3), description="CT CHEST", max_slices=6)
            self.store(server, files)
            uids.append(uid)

        def sign(uid):
            status, draft, _ = call(server, "/api/v1/studies/%s/reports" % uid, "POST", {}, reader="dr.o")
            self.assertEqual(status, 201, draft)
            status, saved, _ = call(server, "/api/v1/reports/%d" % draft["id"], "PUT",
                                    {"revision": 0, "findings_text": "No nodule.", "impression_text": "Normal."})
            self.assertEqual(status, 200, saved)
            status, signed, _ = call(server, "/api/v1/reports/%d/sign" % draft["id"], "POST", {"status": "final"},
                                     reader="dr.o")
            self.assertEqual(status, 200, signed)
            return signed

        # The receiver is down at signing: the message waits in the outbox, retried.
        first = sign(uids[0])
        rows = wait_for(lambda: [d for d in self.delivery(server, first["id"]) if d["attempts"] >= 2], 30,
                        "two failed attempts")
        self.assertEqual(rows[0]["state"], "pending")
        self.assertTrue(rows[0]["last_error"], rows[0])
        receiver.start()
        wait_for(lambda: self.delivery(server, first["id"])[0]["state"] == "sent", 60, "delivery once it is up")
        self.assertEqual(len(receiver.received()), 1)

        # Down again, signed, radflow stopped before any attempt could succeed; the receiver
        # comes back while radflow is down; the restarted radflow delivers from its outbox.
        receiver.stop()
        second = sign(uids[1])
        wait_for(lambda: self.delivery(server, second["id"])[0]["attempts"] >= 1, 30, "a failed attempt")
        server.stop()
        receiver = peers.Hl7Receiver(port=receiver.port)
        self.addCleanup(receiver.stop)
        receiver.start()
        server.start()
        wait_for(lambda: self.delivery(server, second["id"])[0]["state"] == "sent", 90, "delivery after the restart")
        messages = receiver.wait_for(1)
        control_ids = [str(m.segment("MSH")[10]) for m in messages]
        self.assertEqual(control_ids, [self.delivery(server, second["id"])[0]["control_id"]])
        self.assertEqual(str(messages[0].segment("OBR")[25]), "F")

    # -------------------------------------------------------- inbound reports, follow-ups

    def test_inbound_reports_and_followups(self):
        data = os.path.join(self.tmp, "inbound-data")
        hl7_port = harness.free_port()
        server = self.start(self.server(data, [], hl7_port, apps=False))
        prior_uid, prior = wd.write_study(os.path.join(self.tmp, "prior"), wd.CHEST_CT, "RPT-2", "Prior^Pat",
                                          "20250110", description="CT CHEST", accession="PRIOR-ACC", max_slices=6)
        self.store(server, prior)

        # An ORU^R01 of the prior from another RIS, by python-hl7's MLLP client.
        message = oru("EXT0001", "RPT-2", "PRIOR-ACC", "F",
                      [("59776-5^Findings^LN", "Stable 6 mm nodule in the right upper lobe."),
                       ("19005-8^Impressions^LN", "Recommend CT chest in 1 year.")])
        ack = peers.mllp_send(hl7_port, message)
        self.assertEqual(str(ack.segment("MSA")[1]), "AA", str(ack))
        self.assertEqual(str(ack.segment("MSA")[2]), "EXT0001")
        status, reports, _ = call(server, "/api/v1/studies/%s/reports" % prior_uid)
        self.assertEqual(status, 200, reports)
        self.assertEqual(len(reports["reports"]), 1, reports)
        ext = reports["reports"][0]
        self.assertEqual((ext["origin"], ext["status"], ext["patient_id"]), ("hl7", "final", "RPT-2"))
        text = ext["findings_text"] + "\n" + ext["impression_text"]
        self.assertIn("6 mm nodule", text)
        self.assertIn("Recommend CT chest in 1 year.", text)
        # Sent again (a sender that lost our ACK): stored once.
        ack = peers.mllp_send(hl7_port, message)
        self.assertEqual(str(ack.segment("MSA")[1]), "AA")
        self.assertEqual(len(call(server, "/api/v1/studies/%s/reports" % prior_uid)[1]["reports"]), 1)
        status, by_patient, _ = call(server, "/api/v1/patients/RPT-2/reports")
        self.assertEqual([r["id"] for r in by_patient["reports"]], [ext["id"]])

        # Bad messages: AE naming PID-3; AR for a message type nobody here takes (SIU: scheduling; ADT goes to the orders).
        ack = peers.mllp_send(hl7_port, oru("EXT0002", "RPT-2", "PRIOR-ACC", "F",
                                            [("59776-5^Findings^LN", "x")], pid3=False))
        self.assertEqual(str(ack.segment("MSA")[1]), "AE", str(ack))
        self.assertIn("PID", str(ack.segment("ERR")))
        siu = "MSH|^~\\&|OUTSIDE_RIS|OUTSIDE|RADFLOW|RADFLOW|20250110||SIU^S12|EXT0003|P|2.5.1\rPID|1||RPT-2\r"
        ack = peers.mllp_send(hl7_port, siu)
        self.assertEqual(str(ack.segment("MSA")[1]), "AR", str(ack))
        self.assertIn("MSH", str(ack.segment("ERR")))

        # By REST; a missing field is named.
        status, body, _ = call(server, "/api/v1/reports/external", "POST", {"status": "final", "text": "x"})
        self.assertEqual(status, 400, body)
        self.assertIn("patient_id", body["error"])
        old = day(-400)
        status, rest, _ = call(server, "/api/v1/reports/external", "POST",
                               {"patient_id": "RPT-3", "status": "final", "author": "Dr Outside",
                                "observed_at": old + "101500",
                                "text": "Small lesion in the left frontal lobe. Recommend MRI of the brain in 3 months."})
        self.assertEqual(status, 201, rest)
        self.assertEqual((rest["origin"], rest["study_uid"]), ("rest", ""))

        # Follow-ups of received reports: the prior's CT chest in 1 year (due a year after it), the
        # MRI brain of 400 days ago (overdue), closed with a reason.
        status, fus, _ = call(server, "/api/v1/followups?patient_id=RPT-2")
        self.assertEqual(len(fus["followups"]), 1, fus)
        self.assertEqual((fus["followups"][0]["modality"], fus["followups"][0]["interval_days"],
                          fus["followups"][0]["due_date"]), ("CT", 365, "2026-01-10"), fus)
        status, overdue, _ = call(server, "/api/v1/followups?state=overdue")
        mri = [f for f in overdue["followups"] if f["patient_id"] == "RPT-3"]
        self.assertEqual(len(mri), 1, overdue)
        self.assertEqual((mri[0]["modality"], mri[0]["state"], mri[0]["base_date"]), ("MR", "overdue", iso(old)))
        status, body, _ = call(server, "/api/v1/followups/%d/close" % mri[0]["id"], "POST", {}, reader="dr.c")
        self.assertEqual(status, 400, body)
        self.assertIn("reason", body["error"])
        status, closed, _ = call(server, "/api/v1/followups/%d/close" % mri[0]["id"], "POST",
                                 {"reason": "MRI done at another hospital"}, reader="dr.c")
        self.assertEqual(status, 200, closed)
        self.assertEqual((closed["state"], closed["closed_reason"], closed["closed_by"]),
                         ("closed", "MRI done at another hospital", "dr.c"))
        status, again, _ = call(server, "/api/v1/followups/%d/close" % mri[0]["id"], "POST", {"reason": "x"})
        self.assertEqual(status, 409, again)
        status, overdue, _ = call(server, "/api/v1/followups?state=overdue")
        self.assertNotIn(mri[0]["id"], [f["id"] for f in overdue["followups"]])
        status, body, _ = call(server, "/api/v1/followups?state=someday")
        self.assertEqual(status, 400, body)


if __name__ == "__main__":
    unittest.main()
