#!/usr/bin/python3
"""HL7 v2.5.1 orders and patients through the real server (docs/orders.md): messages built
with Debian's python3-hl7 and sent by its MLLP client (hl7.client.MLLPClient) to
`radflow serve --hl7-port`. ADT^A04 registers, ORM^O01 NW/XO/SC/CA and OMI^O23 create and
change orders; every AA is checked against the database at once (acknowledged = durable);
malformed messages get AR naming segment and field and the listener keeps answering; ADT^A40
moves the patient's orders, worklist items and index studies; a study arriving with the
order's accession is linked to it and its priority and reason reach the reading worklist; a
study without an order is listed for reconciliation. Real sample messages found on this
machine (*.hl7 holding ADT/ORM/OMI under the shared data and python3-hl7's package) are sent
too and must each get an acknowledgment."""
import glob
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import worklist_data as wd  # noqa: E402
from dicomweb_client import Client as DicomWebClient  # noqa: E402

import hl7  # noqa: E402  (python3-hl7)
import hl7.client  # noqa: E402

MSH = "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20260310083000+0000||{type}|{control}|P|2.5.1"


def message(msg_type, control_id, segments):
    """An hl7.Message: MSH, then each (segment id, {"F.R.C" or "F": value}) set through
    python-hl7's accessors."""
    text = "\r".join([MSH.format(type=msg_type, control=control_id)] + [s for s, _ in segments])
    msg = hl7.parse(text)
    counts = {}
    for template, values in segments:
        seg_id = template[:3]
        counts[seg_id] = counts.get(seg_id, 0) + 1
        for key, value in values.items():
            msg["%s%d.F%s" % (seg_id, counts[seg_id], key)] = value
    return msg


def pid(patient_id, family, given, birth="19700401", sex="F"):
    return ("PID|1", {"3.R1.C1": patient_id, "3.R1.C4": "HOSP", "5.R1.C1": family, "5.R1.C2": given,
                      "7": birth, "8": sex})


def orm(control_id, control, placer, accession="", procedure=("CTHEAD", "CT head without contrast"),
        priority="", reason="", station="", start="", patient=("MRN-OLD", "Doe", "Jane")):
    obr = {"2": placer, "4.R1.C1": procedure[0], "4.R1.C2": procedure[1], "4.R1.C3": "L"}
    if accession:
        obr["18"] = accession
    if station:
        obr["21"] = station
    if priority or start:
        obr["27.R1.C6"] = priority
        obr["27.R1.C4"] = start
        obr["27.R1.C3"] = "M30"
    if reason:
        obr["31.R1.C2"] = reason
    return message("ORM^O01^ORM_O01", control_id,
                   [pid(*patient), ("ORC|" + control, {"2": placer}), ("OBR|1", obr)])


class Hl7OrdersTest(harness.ServerTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="radflow-hl7-orders-")
        self.hl7_port = harness.free_port()
        self.server = self.start(harness.RadflowServer(
            data_dir=os.path.join(self.tmp, "data"), extra_args=["--hl7-port", str(self.hl7_port)]))
        self.db = harness.IndexDb(self.server.data_dir, readonly=True)
        self.addCleanup(self.db.close)

    def send(self, msg):
        """The ACK of one message (an hl7.Message, or raw bytes), as an hl7.Message."""
        with hl7.client.MLLPClient("127.0.0.1", self.hl7_port) as client:
            raw = client.send_message(msg)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        return hl7.parse(raw.strip("\x0b\x1c\r\n"))

    def ack(self, msg, expect="AA"):
        ack = self.send(msg)
        self.assertEqual(str(ack.segment("MSA")[1]), expect, str(ack).replace("\r", "\n"))
        return ack

    def order(self, accession):
        row = self.db.execute("SELECT * FROM orders WHERE accession_number = ?", (accession,)).fetchone()
        self.assertIsNotNone(row, "no order " + accession)
        return row

    def wait(self, predicate, what, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        self.fail("timed out waiting for " + what)

    def test_orders_acks_merge_and_exam_tracking(self):
        # ADT^A04: the patient is registered.
        self.ack(message("ADT^A04^ADT_A01", "A1", [("EVN|A04", {}), pid("MRN-OLD", "Doe", "Jane")]))
        patient = self.db.execute("SELECT * FROM order_patients WHERE patient_id = 'MRN-OLD'").fetchone()
        self.assertEqual(patient["patient_name"], "Doe^Jane")

        # ORM^O01 NW: readable as soon as the AA came back (no waiting: the AA means durable).
        ack = self.ack(orm("O1", "NW", "PL-1", "ACC-1", priority="S", reason="suspected stroke",
                           station="CT1", start="202603111030+0100"))
        self.assertEqual(str(ack.segment("MSA")[2]), "O1")
        o = self.order("ACC-1")
        self.assertEqual((o["placer_order_number"], o["patient_id"], o["priority"], o["reason"], o["station_ae"]),
                         ("PL-1", "MRN-OLD", "STAT", "suspected stroke", "CT1"))
        self.assertEqual(o["scheduled_at"], 1773221400000)  # 10:30 +01:00
        self.assertEqual(o["duration_minutes"], 30)
        self.assertEqual(o["modality"], "CT")
        self.assertTrue(o["study_uid"].startswith("1.2.826.0.1.3680043.10.1170.%d." % o["id"]), o["study_uid"])
        self.assertLessEqual(len(o["study_uid"]), 64)

        # XO changes the priority; SC in process; a second order is cancelled.
        self.ack(orm("O2", "XO", "PL-1", priority="A"))
        self.assertEqual(self.order("ACC-1")["priority"], "HIGH")
        self.ack(orm("O3", "NW", "PL-2", "ACC-2", procedure=("XRCHEST", "XR chest 2 views")))
        self.ack(orm("O4", "CA", "PL-2"))
        self.assertEqual(self.order("ACC-2")["status"], "cancelled")
        self.ack(orm("O5", "XO", "PL-1", priority="S"))

        # OMI^O23: TQ1 timing and the IPC's StudyInstanceUID, station and modality.
        omi = message("OMI^O23^OMI_O23", "I1", [
            pid("MRN-9", "Roe", "Rick", "19811111", "M"),
            ("ORC|NW", {"2": "PL-9"}),
            ("TQ1|1", {"7": "202603120800+0000", "9": "R", "13.R1.C1": "20", "13.R1.C2": "min"}),
            ("OBR|1", {"2": "PL-9", "4.R1.C1": "MRKNEE", "4.R1.C2": "MR knee without contrast",
                       "31.R1.C2": "knee pain"}),
            ("IPC|ACC-9", {"2": "RP-9", "3": "1.2.826.0.1.3680043.10.1170.999.1", "4": "SPS-9", "5": "MR",
                           "9": "MR2"})])
        self.ack(omi)
        o9 = self.order("ACC-9")
        self.assertEqual((o9["study_uid"], o9["station_ae"], o9["modality"], o9["procedure_step_id"],
                          o9["duration_minutes"], o9["scheduled_at"]),
                         ("1.2.826.0.1.3680043.10.1170.999.1", "MR2", "MR", "SPS-9", 20, 1773302400000))

        # Malformed messages: AR naming segment and field; the listener keeps answering.
        no_pid3 = message("ORM^O01", "B1", [("PID|1", {"5.R1.C1": "Nobody"}), ("ORC|NW", {"2": "PL-B"}),
                                            ("OBR|1", {"2": "PL-B", "4.R1.C1": "CT"})])
        ack = self.ack(no_pid3, "AR")
        self.assertEqual(str(ack["ERR.F2.R1.C1"]), "PID")
        self.assertEqual(str(ack["ERR.F2.R1.C3"]), "3")
        ack = self.ack(orm("B2", "NW", "PL-B", "ACC-B", priority="S", start="2026-03-11"), "AR")
        self.assertEqual((str(ack["ERR.F2.R1.C1"]), str(ack["ERR.F2.R1.C3"])), ("OBR", "27"))
        ack = self.ack(orm("B3", "XO", "PL-UNKNOWN"), "AE")  # well formed, unknown order
        self.assertIn("PL-UNKNOWN", str(ack.segment("MSA")[3]))
        ack = self.send(b"this is not an HL7 message")
        self.assertEqual(str(ack.segment("MSA")[1]), "AR")
        ack = self.ack(message("SIU^S12", "B4", [("SCH|1", {})]), "AR")
        self.assertEqual(str(ack["ERR.F3.R1.C1"]), "200")
        self.assertEqual(self.db.execute("SELECT COUNT(*) FROM orders WHERE accession_number = 'ACC-B'").fetchone()[0], 0)

        # The study arrives with the order's accession: linked, and the reading worklist shows the
        # order's priority (STAT, over the images' none) and reason.
        study_uid, files = wd.write_study(os.path.join(self.tmp, "study"), wd.CHEST_CT, "MRN-OLD", "Doe^Jane",
                                          "20260311", description="CT HEAD", accession="ACC-1", max_slices=2)
        other_uid, other = wd.write_study(os.path.join(self.tmp, "other"), wd.CHEST_CT, "MRN-OLD", "Doe^Jane",
                                          "20260311", accession="NO-ORDER", max_slices=1)
        proc, statuses = harness.storescu(self.server.dicom_port, files + other)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        linked = self.wait(lambda: self.order("ACC-1")["linked_study_uid"] == study_uid and self.order("ACC-1"),
                           "the order linked to its study")
        self.assertEqual(linked["status"], "arrived")
        item = self.wait(lambda: self.db.execute(
            "SELECT * FROM worklist WHERE study_uid = ? AND reason_for_exam != ''", (study_uid,)).fetchone(),
            "the worklist item with the order's reason")
        self.assertEqual((item["order_priority"], item["reason_for_exam"]), ("STAT", "suspected stroke"))
        unmatched = self.wait(lambda: self.db.execute(
            "SELECT * FROM unmatched_studies WHERE study_uid = ?", (other_uid,)).fetchone(), "reconciliation")
        self.assertEqual(unmatched["accession_number"], "NO-ORDER")

        # ADT^A40: MRN-OLD merged into MRN-NEW moves the orders, the worklist items and the studies.
        self.ack(message("ADT^A40^ADT_A39", "M1", [("EVN|A40", {}), pid("MRN-NEW", "Doe", "Jane"),
                                                    ("MRG|MRN-OLD^^^HOSP", {})]))
        self.assertEqual(self.order("ACC-1")["patient_id"], "MRN-NEW")
        self.assertEqual(self.order("ACC-2")["patient_id"], "MRN-NEW")
        self.assertEqual(self.db.execute("SELECT merged_into FROM order_patients WHERE patient_id = 'MRN-OLD'")
                         .fetchone()[0], "MRN-NEW")
        self.assertEqual(self.db.execute("SELECT patient_id FROM worklist WHERE study_uid = ?", (study_uid,))
                         .fetchone()[0], "MRN-NEW")
        client = DicomWebClient(self.server.http_port)
        self.addCleanup(client.close)
        found = client.qido("studies", query={"PatientID": "MRN-NEW"}, headers={"Accept": "application/dicom+json"})
        self.assertEqual(found.status, 200, found)
        uids = sorted(s["0020000D"]["Value"][0] for s in found.json())
        self.assertEqual(uids, sorted([study_uid, other_uid]))
        gone = client.qido("studies", query={"PatientID": "MRN-OLD"}, headers={"Accept": "application/dicom+json"})
        self.assertIn(gone.status, (200, 204))
        self.assertEqual(gone.json() if gone.status == 200 and gone.body else [], [])
        audit = [r["action"] for r in self.db.execute(
            "SELECT action FROM order_audit WHERE order_id = ? ORDER BY id", (linked["id"],))]
        self.assertEqual(audit[0], "created")
        self.assertIn("linked", audit)
        self.assertEqual(audit[-1], "merged")

    def test_real_sample_messages_get_an_answer(self):
        """The ADT/ORM/OMI sample files this machine has (none when this was written: the only
        *.hl7 files were radflow's own ORU^R01 test artifacts)."""
        candidates = []
        roots = [harness.DATA_ROOT, os.path.dirname(hl7.__file__), "/usr/share/doc"]
        for root in roots:
            for path in glob.glob(os.path.join(root, "**", "*.hl7"), recursive=True):
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
                if text.startswith("MSH") and any(t in text[:300] for t in ("|ADT^", "|ORM^", "|OMI^")):
                    candidates.append((path, text))
        for path, text in candidates:
            with self.subTest(path=path):
                ack = self.send(hl7.parse(text.replace("\n", "\r")))
                self.assertIn(str(ack.segment("MSA")[1]), ("AA", "AE", "AR"))
        # Whatever the samples were, the listener still serves a good message afterwards.
        self.ack(message("ADT^A04", "S1", [pid("MRN-S", "Sample", "Sam")]))
        self.assertIsNotNone(self.db.execute("SELECT 1 FROM order_patients WHERE patient_id = 'MRN-S'").fetchone())


if __name__ == "__main__":
    unittest.main()
