#!/usr/bin/python3
"""The orders REST and FHIR ServiceRequest API through the real server (docs/orders.md, "REST
and FHIR"): create, list with filters, read with the change log, patch, the desk's marks
(arrived, no-show), protocol accept/change, reminder, cancel; FHIR ServiceRequest POST (create,
then update by placer identifier), PUT, GET, search Bundle; 4xx with their messages; the roles
(technologist and administrator change, the radiologist reads, referring and researcher get
403); and the wiring: a study stored with an order's accession links to it and takes its
priority and reason into the reading worklist, a study without one is listed for
reconciliation and linked by POST /api/v1/reconciliation; the serve flags refuse bad files.
"""
import http.client
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import report_peers as peers  # noqa: E402  (the FHIR R4 JSON schema validator)
from dicomweb_client import Client as DicomWebClient  # noqa: E402

DAY_MS = 86400000


def call(server, path, method="GET", body=None, reader=None, raw=None, content_type="application/json"):
    """(status, JSON body) of one request; `reader` picks that user's token."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    if reader:
        headers["X-Radflow-Reader"] = reader
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(text)
    except ValueError:
        return resp.status, text.decode(errors="replace")


def wait_for(predicate, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + what)


def service_request(placer, accession, patient="FHIR-1", status="active", priority="urgent", **extra):
    sr = {
        "resourceType": "ServiceRequest",
        "status": status,
        "intent": "order",
        "priority": priority,
        "identifier": [
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PLAC"}]},
             "value": placer},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]},
             "value": accession}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2", "display": "CT Chest"},
                            {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
                 "text": "CT chest with contrast"},
        "contained": [{"resourceType": "Patient", "id": "pat", "identifier": [{"value": patient}],
                       "name": [{"family": "Fhir", "given": ["Frida"]}], "birthDate": "1961-02-03",
                       "gender": "female"}],
        "subject": {"reference": "#pat"},
        "requester": {"display": "Referrer^Rita"},
        "reasonCode": [{"text": "lung mass, staging"}],
        "occurrencePeriod": {"start": "2030-05-06T09:00:00Z", "end": "2030-05-06T09:20:00Z"},
        "locationCode": [{"coding": [{"code": "CT2"}], "text": "CT room 2"}],
    }
    sr.update(extra)
    return sr


class OrdersApiTest(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.tempfile.mkdtemp(prefix="radflow-orders-api-")
        cls.addClassCleanup(harness.shutil.rmtree, cls.tmp, True)
        hours = os.path.join(cls.tmp, "hours.json")
        with open(hours, "w") as f:
            json.dump([{"station_ae": "CT1", "open": "07:00", "close": "19:00"}], f)
        cls.hl7_port = harness.free_port()
        cls.server = cls.start_class(harness.RadflowServer(extra_args=[
            "--stable-seconds", "1", "--station-hours", hours, "--no-show-grace-minutes", "60",
            "--hl7-port", str(cls.hl7_port)]))
        for name, role in (("tech1", "technologist"), ("rad1", "radiologist"), ("res1", "researcher"),
                           ("ai1", "ai-service")):
            cls.server.ensure_user(name, role)
        cls.server.ensure_user("ref1", "referring", referring_name="REFERRER^RITA")
        cls.now = int(time.time() * 1000)

    def create(self, **fields):
        body = {"patient_id": "MRN-1", "patient_name": "Doe^Jane", "procedure_text": "CT head",
                "procedure_code": "CTHEAD", "procedure_scheme": "L", "modality": "CT", "station_ae": "CT1",
                "scheduled_at": self.now + DAY_MS, "duration_minutes": 15, "reader": "tech1"}
        body.update(fields)
        status, order = call(self.server, "/api/v1/orders", "POST", body, reader="tech1")
        self.assertEqual(status, 201, order)
        return order

    def test_rest_lifecycle(self):
        order = self.create(accession_number="REST-1", priority="STAT", reason="sudden headache, suspected stroke")
        oid = order["id"]
        self.assertEqual(order["status"], "scheduled")
        self.assertEqual(order["priority"], "STAT")
        self.assertEqual(order["source"], "rest")
        self.assertTrue(order["study_uid"].startswith("1.2."), order)
        # The built-in rules propose a protocol with their reason.
        self.assertEqual(order["protocol_state"], "proposed", order)
        self.assertTrue(order["protocol_code"] and order["protocol_reason"], order)
        # Read (any clinical role) with the change log.
        status, one = call(self.server, "/api/v1/orders/%d" % oid, reader="rad1")
        self.assertEqual(status, 200, one)
        self.assertEqual(one["audit"][0]["action"], "created")
        self.assertEqual(one["audit"][0]["user"], "tech1")
        # List with filters.
        self.create(accession_number="REST-2", station_ae="MR1", modality="MR", procedure_text="MR knee",
                    scheduled_at=self.now + 2 * DAY_MS)
        status, page = call(self.server, "/api/v1/orders?station=CT1&accession=REST-1")
        self.assertEqual(status, 200, page)
        self.assertEqual([o["accession_number"] for o in page["items"]], ["REST-1"])
        status, page = call(self.server, "/api/v1/orders?modality=MR&from=%d&to=%d"
                            % (self.now + 2 * DAY_MS - 1, self.now + 2 * DAY_MS + 1))
        self.assertEqual([o["accession_number"] for o in page["items"]], ["REST-2"])
        status, page = call(self.server, "/api/v1/orders?status=scheduled&patient=MRN-1&limit=1")
        self.assertEqual(status, 200, page)
        self.assertGreaterEqual(page["total"], 2)
        self.assertEqual(len(page["items"]), 1)
        # Patch: the fields given replace, the rest stays.
        status, patched = call(self.server, "/api/v1/orders/%d" % oid, "PATCH",
                               {"station_ae": "CT2", "duration_minutes": 25}, reader="tech1")
        self.assertEqual(status, 200, patched)
        self.assertEqual((patched["station_ae"], patched["duration_minutes"], patched["patient_id"]),
                         ("CT2", 25, "MRN-1"))
        # The desk's marks, the protocol, the reminder, cancel.
        base = "/api/v1/orders/%d" % oid
        status, o = call(self.server, base + "/status", "POST", {"status": "arrived"}, reader="tech1")
        self.assertEqual((status, o["status"]), (200, "arrived"), o)
        status, o = call(self.server, base + "/protocol", "POST", {"action": "accept"}, reader="tech1")
        self.assertEqual((status, o["protocol_state"], o["protocol_by"]), (200, "accepted", "tech1"), o)
        status, protocols = call(self.server, "/api/v1/protocols", reader="tech1")
        self.assertEqual(status, 200, protocols)
        self.assertGreater(len(protocols["rules"]), 10)
        other = next(r for r in protocols["rules"] if r["protocol_code"] != o["protocol_code"])
        status, o = call(self.server, base + "/protocol", "POST",
                         {"action": "change", "protocol_code": other["protocol_code"]}, reader="tech1")
        self.assertEqual(status, 200, o)
        self.assertEqual((o["protocol_code"], o["protocol_name"], o["protocol_state"]),
                         (other["protocol_code"], other["protocol_name"], "changed"))
        status, o = call(self.server, base + "/reminder", "POST", {"sent": True}, reader="tech1")
        self.assertEqual((status, o["reminder_sent"]), (200, True), o)
        status, o = call(self.server, base + "/status", "POST", {"status": "no_show"}, reader="tech1")
        self.assertEqual((status, o["status"]), (200, "no_show"), o)
        status, o = call(self.server, base + "/status", "POST", {"status": "scheduled"}, reader="tech1")
        self.assertEqual((status, o["status"]), (200, "scheduled"), o)
        status, o = call(self.server, base + "/cancel", "POST", {"reason": "patient moved away"}, reader="tech1")
        self.assertEqual((status, o["status"]), (200, "cancelled"), o)
        status, audit = call(self.server, base + "/audit", reader="tech1")
        self.assertEqual(status, 200, audit)
        self.assertEqual([a["action"] for a in audit["audit"]],
                         ["created", "updated", "status", "protocol", "protocol", "updated", "status", "status",
                          "cancelled"])
        self.assertIn("patient moved away", audit["audit"][-1]["note"])
        # A cancelled order cannot change.
        status, body = call(self.server, base, "PATCH", {"reason": "x"}, reader="tech1")
        self.assertEqual(status, 409, body)
        self.assertIn("is cancelled", body["error"])

    def test_fhir_service_request(self):
        sr = service_request("PL-100", "FHIR-100")
        resources = [dict(sr)]  # what we send and everything radflow answers: valid R4
        status, created = call(self.server, "/api/v1/fhir/ServiceRequest", "POST", sr, reader="tech1",
                               content_type="application/fhir+json")
        self.assertEqual(status, 201, created)
        self.assertEqual(created["resourceType"], "ServiceRequest")
        sid = created["id"]
        resources.append(created)
        self.assertTrue(sid.startswith("order-"), sid)
        self.assertEqual((created["status"], created["priority"]), ("active", "urgent"))
        self.assertEqual(created["occurrencePeriod"]["start"], "2030-05-06T09:00:00Z")
        # The order behind it, in REST.
        oid = int(sid[len("order-"):])
        status, order = call(self.server, "/api/v1/orders/%d" % oid)
        self.assertEqual(status, 200, order)
        self.assertEqual((order["accession_number"], order["placer_order_number"], order["priority"],
                          order["patient_id"], order["patient_name"], order["birth_date"], order["sex"],
                          order["modality"], order["station_ae"], order["reason"], order["referring_physician"],
                          order["duration_minutes"], order["source"]),
                         ("FHIR-100", "PL-100", "HIGH", "FHIR-1", "Fhir^Frida", "19610203", "F", "CT", "CT2",
                          "lung mass, staging", "Referrer^Rita", 20, "fhir"))
        # POST again with the same placer number: the order changes (200), no second order.
        sr["reasonCode"] = [{"text": "lung mass, restaging"}]
        status, again = call(self.server, "/api/v1/fhir/ServiceRequest", "POST", sr, reader="tech1")
        self.assertEqual(status, 200, again)
        self.assertEqual(again["id"], sid)
        self.assertEqual(again["reasonCode"][0]["text"], "lung mass, restaging")
        resources.append(again)
        # PUT by id; read; search by patient, status, identifier.
        sr["id"] = sid
        sr["priority"] = "stat"
        status, put = call(self.server, "/api/v1/fhir/ServiceRequest/" + sid, "PUT", sr, reader="tech1")
        self.assertEqual((status, put.get("priority")), (200, "stat"), put)
        status, read = call(self.server, "/api/v1/fhir/ServiceRequest/" + sid, reader="rad1")
        self.assertEqual(status, 200, read)
        self.assertEqual(read["contained"][0]["birthDate"], "1961-02-03")
        resources += [put, read]
        for query in ("patient=FHIR-1", "patient=Patient/FHIR-1&status=active", "identifier=FHIR-100",
                      "identifier=urn:any|PL-100"):
            status, bundle = call(self.server, "/api/v1/fhir/ServiceRequest?" + query)
            self.assertEqual(status, 200, (query, bundle))
            self.assertEqual((bundle["resourceType"], bundle["type"]), ("Bundle", "searchset"))
            self.assertEqual([e["resource"]["id"] for e in bundle["entry"]], [sid], query)
            self.assertTrue(bundle["entry"][0]["fullUrl"].endswith("/api/v1/fhir/ServiceRequest/" + sid))
            resources.append(bundle)
        status, bundle = call(self.server, "/api/v1/fhir/ServiceRequest?patient=FHIR-1&status=completed")
        self.assertEqual((status, bundle["total"]), (200, 0), bundle)
        # revoked cancels.
        sr["status"] = "revoked"
        status, revoked = call(self.server, "/api/v1/fhir/ServiceRequest/" + sid, "PUT", sr, reader="tech1")
        self.assertEqual((status, revoked["status"]), (200, "revoked"), revoked)
        resources.append(revoked)
        status, order = call(self.server, "/api/v1/orders/%d" % oid)
        self.assertEqual(order["status"], "cancelled")
        # Errors: an OperationOutcome naming the path.
        bad = service_request("PL-101", "FHIR-101")
        del bad["code"]
        for body, want_status, want in (
                (bad, 400, "ServiceRequest.code: missing"),
                (dict(service_request("PL-102", "FHIR-102"), intent="plan"), 400, "ServiceRequest.intent: 'plan'"),
                (dict(service_request("PL-103", "FHIR-103"), occurrenceDateTime="next tuesday",
                      occurrencePeriod=None), 400, "ServiceRequest.occurrenceDateTime:"),
                (service_request("PL-104", "FHIR-104", status="revoked"), 404, "ServiceRequest.status: revoked")):
            status, oo = call(self.server, "/api/v1/fhir/ServiceRequest", "POST", body, reader="tech1")
            self.assertEqual(status, want_status, oo)
            self.assertEqual(oo["resourceType"], "OperationOutcome")
            self.assertTrue(oo["issue"][0]["diagnostics"].startswith(want), oo)
            resources.append(oo)
        status, oo = call(self.server, "/api/v1/fhir/ServiceRequest", "POST", raw=b"{nope", reader="tech1")
        self.assertEqual(status, 400, oo)
        status, oo = call(self.server, "/api/v1/fhir/ServiceRequest/order-999999")
        self.assertEqual((status, oo["issue"][0]["code"]), (404, "not-found"), oo)
        status, oo = call(self.server, "/api/v1/fhir/ServiceRequest?colour=red")
        self.assertEqual(status, 400, oo)
        self.assertIn("'colour' is not supported", oo["issue"][0]["diagnostics"])
        if peers.fhir_validator_installed():
            report, rc = peers.validate_fhir(resources, self.tmp)
            self.assertEqual(rc, 0, report)
            print("\nFHIR R4 schema: %d resources valid" % len(resources))
        sr["id"] = "order-1"
        sr["status"] = "active"
        status, oo = call(self.server, "/api/v1/fhir/ServiceRequest/" + sid, "PUT", sr, reader="tech1")
        if sid != "order-1":
            self.assertEqual(status, 400, oo)
            self.assertIn("is not the id of the URL", oo["issue"][0]["diagnostics"])

    def test_errors_are_named(self):
        oid = self.create(accession_number="ERR-1")["id"]
        cases = [
            ("POST", "/api/v1/orders", {"procedure_text": "CT head"}, 400, "patient_id: an order needs the patient"),
            ("POST", "/api/v1/orders", {"patient_id": "P"}, 400, "procedure_code: an order needs the requested procedure"),
            ("POST", "/api/v1/orders", {"patient_id": "P", "procedure_text": "x", "priority": "XYZ"}, 400, "priority: 'XYZ'"),
            ("POST", "/api/v1/orders", {"patient_id": "P", "procedure_text": "x", "scheduled_at": "monday"}, 400,
             "scheduled_at: expected an integer"),
            ("POST", "/api/v1/orders", {"patient_id": "P", "procedure_text": "x", "accession_number": "ERR-1"}, 409, ""),
            ("POST", "/api/v1/orders", {"patient_id": "P", "procedure_text": "x", "status": "completed"}, 400,
             "status: a new order is scheduled or arrived"),
            ("PATCH", "/api/v1/orders/%d" % oid, {"status": "completed"}, 400, "status: change it with POST"),
            ("PATCH", "/api/v1/orders/999999", {"reason": "x"}, 404, ""),
            ("GET", "/api/v1/orders/xyz", None, 400, "order id: expected a positive integer"),
            ("GET", "/api/v1/orders?status=finished", None, 400, "status: 'finished'"),
            ("GET", "/api/v1/orders?from=yesterday", None, 400, "from: expected a non-negative integer"),
            ("POST", "/api/v1/orders/%d/status" % oid, {"status": "completed"}, 400, "status: 'completed' is not arrived"),
            ("POST", "/api/v1/orders/%d/protocol" % oid, {"action": "change"}, 400, "protocol_code: required"),
            ("POST", "/api/v1/orders/%d/protocol" % oid, {"action": "change", "protocol_code": "NO-SUCH"}, 400,
             "protocol_code: 'NO-SUCH' is not in the rule set"),
            ("POST", "/api/v1/orders/%d/reminder" % oid, {"sent": "yes"}, 400, "sent: required, true or false"),
            ("POST", "/api/v1/reconciliation", {"study_uid": "1.2.3"}, 400, "order_id: required"),
            ("GET", "/api/v1/mpps/1.2.3.4", None, 404, "no performed procedure step 1.2.3.4"),
        ]
        for method, path, body, want_status, want in cases:
            with self.subTest(path="%s %s" % (method, path)):
                status, got = call(self.server, path, method, body, reader="tech1")
                self.assertEqual(status, want_status, got)
                self.assertTrue(got["error"].startswith(want), got)
        status, got = call(self.server, "/api/v1/orders", "POST", raw=b"not json", reader="tech1")
        self.assertEqual((status, got["error"]), (400, "the body is not valid JSON"))

    def test_roles(self):
        oid = self.create(accession_number="ROLE-1")["id"]
        reads = ["/api/v1/orders", "/api/v1/orders/%d" % oid, "/api/v1/orders/%d/audit" % oid, "/api/v1/protocols",
                 "/api/v1/reconciliation", "/api/v1/fhir/ServiceRequest/order-%d" % oid,
                 "/api/v1/fhir/ServiceRequest?patient=MRN-1", "/api/v1/scheduling/stations"]
        for path in reads:
            for reader in ("tech1", "rad1", None):  # None: the administrator
                with self.subTest(path=path, reader=reader):
                    status, body = call(self.server, path, reader=reader)
                    self.assertEqual(status, 200, body)
            for reader in ("ref1", "res1", "ai1"):
                with self.subTest(path=path, reader=reader):
                    status, body = call(self.server, path, reader=reader)
                    self.assertEqual((status, body.get("code")), (403, "forbidden"), body)
        changes = [("POST", "/api/v1/orders", {"patient_id": "P", "procedure_text": "XR chest"}),
                   ("PATCH", "/api/v1/orders/%d" % oid, {"reason": "x"}),
                   ("POST", "/api/v1/orders/%d/status" % oid, {"status": "arrived"}),
                   ("POST", "/api/v1/orders/%d/cancel" % oid, {}),
                   ("POST", "/api/v1/fhir/ServiceRequest", service_request("PL-R", "ROLE-R")),
                   ("POST", "/api/v1/reconciliation", {"study_uid": "1.2", "order_id": 0})]
        for method, path, body in changes:
            for reader in ("rad1", "ref1", "res1", "ai1"):
                with self.subTest(path=path, reader=reader):
                    status, got = call(self.server, path, method, body, reader=reader)
                    self.assertEqual((status, got.get("code")), (403, "forbidden"), got)
        status, got = call(self.server, "/api/v1/orders/%d/status" % oid, "POST", {"status": "arrived"})
        self.assertEqual(status, 200, got)  # the administrator

    def stow(self, accession, referring="REFERRER^RITA"):
        """Stores 2 CT instances as a new study with this accession; returns its StudyInstanceUID."""
        files = harness.dicom_files(harness.series_dir("ct_head_ge_tilt"))[:2]
        self.assertTrue(files, "no files in ct_head_ge_tilt")
        study, series = harness.new_uid(), harness.new_uid()
        out = []
        for i, path in enumerate(files):
            ds = harness.read_dataset(path)
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.SOPInstanceUID = harness.new_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.AccessionNumber = accession
            ds.ReferringPhysicianName = referring
            p = os.path.join(self.tmp, "%s-%d.dcm" % (accession, i))
            ds.save_as(p)
            out.append(p)
        client = DicomWebClient(self.server.http_port)
        r = client.stow_files(out)
        client.close()
        self.assertEqual(r.status, 200, r.body[:400])
        return study

    def test_study_arrival_links_and_feeds_the_worklist(self):
        order = self.create(accession_number="ARR-1", priority="STAT", reason="thunderclap headache")
        study = self.stow("ARR-1")

        def linked():
            status, o = call(self.server, "/api/v1/orders/%d" % order["id"])
            return o if status == 200 and o["linked_study_uid"] == study else None
        o = wait_for(linked, what="the order linked to its study")
        self.assertEqual(o["status"], "arrived")
        self.assertIn("linked", [a["action"] for a in o["audit"]])

        def item():
            status, page = call(self.server, "/api/v1/worklist?limit=200", reader="rad1")
            if status != 200:
                return None
            items = [i for i in page["items"] if i["study_uid"] == study]
            return items[0] if items and items[0]["reason_for_exam"] else None
        w = wait_for(item, what="the worklist item with the order's reason")
        self.assertEqual(w["reason_for_exam"], "thunderclap headache")
        self.assertEqual(w["order_priority"], "STAT")
        # A study with an accession no order has: listed, then linked by hand.
        stray = self.stow("NOORDER-1")

        def listed():
            status, body = call(self.server, "/api/v1/reconciliation", reader="tech1")
            return [u for u in body["items"] if u["study_uid"] == stray] if status == 200 else None
        u = wait_for(listed, what="the study without an order in the reconciliation list")[0]
        self.assertEqual(u["accession_number"], "NOORDER-1")
        target = self.create(accession_number="", procedure_text="CT head", reason="fall")
        status, body = call(self.server, "/api/v1/reconciliation", "POST",
                            {"study_uid": stray, "order_id": target["id"], "reader": "tech1"}, reader="tech1")
        self.assertEqual(status, 200, body)
        status, o = call(self.server, "/api/v1/orders/%d" % target["id"])
        self.assertEqual(o["linked_study_uid"], stray, o)
        status, body = call(self.server, "/api/v1/reconciliation")
        self.assertNotIn(stray, [x["study_uid"] for x in body["items"]])
        status, body = call(self.server, "/api/v1/reconciliation?all=1")
        done = [x for x in body["items"] if x["study_uid"] == stray]
        self.assertEqual((done[0]["resolved_by"], done[0]["resolved_order_id"]), ("tech1", target["id"]), done)

    def test_hl7_orders_reach_the_same_api(self):
        """The wiring of --hl7-port: an ORM^O01 (python3-hl7's MLLP client) is acknowledged AA and
        the order is then in the REST and FHIR answers; a type nobody takes gets AR naming MSH-9."""
        orm = ("MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20300506080000+0000||ORM^O01|ORM-F1|P|2.5.1\r"
               "PID|1||HL7-PAT^^^HOSP||Seven^Hella||19800101|F\r"
               "ORC|NW|HL7-PL-1\r"
               "OBR|1|HL7-PL-1||CTCHEST^CT chest^L||||||||||||||HL7-ACC-1|||CT1|||CT|||^^M20^203005061000+0000^^S"
               "||||^lung screening\r")
        ack = peers.mllp_send(self.hl7_port, orm)
        self.assertEqual(str(ack.segment("MSA")[1]), "AA", str(ack))
        status, page = call(self.server, "/api/v1/orders?accession=HL7-ACC-1")
        self.assertEqual((status, page["total"]), (200, 1), page)
        o = page["items"][0]
        self.assertEqual((o["source"], o["placer_order_number"], o["patient_id"], o["reason"]),
                         ("hl7", "HL7-PL-1", "HL7-PAT", "lung screening"), o)
        status, bundle = call(self.server, "/api/v1/fhir/ServiceRequest?identifier=HL7-PL-1")
        self.assertEqual([e["resource"]["id"] for e in bundle["entry"]], ["order-%d" % o["id"]])
        siu = "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20300506080000||SIU^S12|SIU-F1|P|2.5.1\rPID|1||HL7-PAT\r"
        ack = peers.mllp_send(self.hl7_port, siu)
        self.assertEqual(str(ack.segment("MSA")[1]), "AR", str(ack))
        self.assertIn("MSH", str(ack.segment("ERR")))

    def test_serve_refuses_bad_files(self):
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            f.write("{not json")
        for flag in ("--station-hours", "--protocol-rules", "--noshow-model"):
            with self.subTest(flag=flag):
                data = os.path.join(self.tmp, "data" + flag)
                proc = subprocess.run([harness.RADFLOW_BIN, "serve", "--data", data, "--dicom-port",
                                       str(harness.free_port()), "--http-port", str(harness.free_port()),
                                       flag, bad], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      timeout=60, errors="replace")
                self.assertNotEqual(proc.returncode, 0, proc.stdout[-2000:])
                self.assertIn(flag + ":", proc.stdout)
        proc = subprocess.run([harness.RADFLOW_BIN, "serve", "--data", os.path.join(self.tmp, "data-grace"),
                               "--dicom-port", str(harness.free_port()), "--http-port", str(harness.free_port()),
                               "--no-show-grace-minutes", "-5"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60, errors="replace")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--no-show-grace-minutes must be 0 or more", proc.stdout)


if __name__ == "__main__":
    unittest.main()
