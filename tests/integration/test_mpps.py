#!/usr/bin/python3
"""MPPS (PS3.4 F.7) N-CREATE / N-SET of `radflow serve`, and its effect on the order and the
Modality Worklist.

No MPPS SCU from outside this project is installed (DCMTK has no MPPS SCU tool; pynetdicom is
not packaged by Debian): the SCU is the small DICOM upper layer client below (PS3.8 9.3,
PS3.7 E) — associations, P-DATA fragments, implicit VR little endian command and data sets
encoded by pydicom. The same protocol from DCMTK's C++ API drives the SCP in
tests/unit/mwl/mwl_scp_test.cpp. The worklist side is checked with DCMTK's `findscu -W`.
"""
import os
import socket
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

MPPS_CLASS = "1.2.840.10008.3.1.2.3.3"
IMPLICIT_LE = "1.2.840.10008.1.2"
APP_CONTEXT = "1.2.840.10008.3.1.1.1"


def _pydicom():
    return h._pydicom()


def encode(ds):
    """A dataset in implicit VR little endian (PS3.5 7.1.3)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, True
    write_dataset(fp, ds)
    return fp.getvalue()


def decode(data):
    from pydicom.filebase import DicomBytesIO
    from pydicom.filereader import read_dataset
    return read_dataset(DicomBytesIO(data), is_implicit_VR=True, is_little_endian=True)


def command(**elements):
    """A command set (PS3.7 E.1) with its group length (0000,0000) first."""
    pydicom = _pydicom()
    ds = pydicom.Dataset()
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    body = encode(ds)
    return struct.pack("<HHII", 0, 0, 4, len(body)) + body


def item(kind, payload):
    return struct.pack(">BBH", kind, 0, len(payload)) + payload


class MppsScu:
    """One association proposing the MPPS SOP class in implicit VR little endian."""

    def __init__(self, port, calling="MODALITY", called="RADFLOW"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        pc = struct.pack(">BBBB", 1, 0, 0, 0) + item(0x30, MPPS_CLASS.encode()) + item(0x40, IMPLICIT_LE.encode())
        user = item(0x51, struct.pack(">I", 65536)) + item(0x52, b"1.2.826.0.1.3680043.10.1170.77")
        body = (struct.pack(">HH", 1, 0) + called.ljust(16).encode() + calling.ljust(16).encode() + bytes(32)
                + item(0x10, APP_CONTEXT.encode()) + item(0x20, pc) + item(0x50, user))
        self.sock.sendall(struct.pack(">BBI", 0x01, 0, len(body)) + body)
        kind, payload = self.read_pdu()
        if kind != 0x02:
            raise AssertionError("association not accepted: PDU type 0x%02x %r" % (kind, payload[:16]))
        # Presentation context items (0x21) of the A-ASSOCIATE-AC: result 0 = acceptance.
        pos, self.accepted = 68, False
        while pos + 4 <= len(payload):
            t, length = payload[pos], struct.unpack(">H", payload[pos + 2:pos + 4])[0]
            if t == 0x21 and payload[pos + 4] == 1:
                self.accepted = payload[pos + 6] == 0
            pos += 4 + length
        self.message_id = 1

    def read_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise AssertionError("connection closed by the SCP")
            out += chunk
        return out

    def read_pdu(self):
        kind, _, length = struct.unpack(">BBI", self.read_exact(6))
        return kind, self.read_exact(length)

    def send_pdv(self, data, is_command):
        # One fragment per PDV, marked last (PS3.8 E.2).
        header = 0x03 if is_command else 0x02
        pdv = struct.pack(">IBB", len(data) + 2, 1, header) + data
        self.sock.sendall(struct.pack(">BBI", 0x04, 0, len(pdv)) + pdv)

    def receive_command(self):
        data = b""
        while True:
            kind, payload = self.read_pdu()
            if kind != 0x04:
                raise AssertionError("expected P-DATA, got PDU type 0x%02x" % kind)
            pos = 0
            while pos < len(payload):
                length, _pc, header = struct.unpack(">IBB", payload[pos:pos + 6])
                data += payload[pos + 6:pos + 4 + length]
                pos += 4 + length
                if header & 0x01 and header & 0x02:
                    return decode(data)

    def request(self, cmd, dataset):
        self.send_pdv(cmd, True)
        self.send_pdv(encode(dataset), False)
        rsp = self.receive_command()
        self.message_id += 1
        return {"status": int(rsp.Status), "comment": str(rsp.get("ErrorComment", "")),
                "error_id": int(rsp.get("ErrorID", 0) or 0),
                "uid": str(rsp.get("AffectedSOPInstanceUID", ""))}

    def n_create(self, uid, dataset):
        return self.request(command(AffectedSOPClassUID=MPPS_CLASS, CommandField=0x0140,
                                    MessageID=self.message_id, CommandDataSetType=0x0000,
                                    AffectedSOPInstanceUID=uid), dataset)

    def n_set(self, uid, dataset):
        return self.request(command(RequestedSOPClassUID=MPPS_CLASS, CommandField=0x0120,
                                    MessageID=self.message_id, CommandDataSetType=0x0000,
                                    RequestedSOPInstanceUID=uid), dataset)

    def close(self):
        self.sock.close()

    def release(self):
        self.sock.sendall(struct.pack(">BBI", 0x05, 0, 4) + bytes(4))
        try:
            self.read_pdu()
        finally:
            self.sock.close()


def create_dataset(status, accession="", study_uid="", start=("20260311", "103500")):
    pydicom = _pydicom()
    ds = pydicom.Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedStationAETitle = "CT1"
    ds.Modality = "CT"
    ds.PerformedProcedureStepStartDate, ds.PerformedProcedureStepStartTime = start
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.PerformedProcedureStepID = "PPS1"
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "MRN1"
    step = pydicom.Dataset()
    step.AccessionNumber = accession
    step.StudyInstanceUID = study_uid
    ds.ScheduledStepAttributesSequence = [step]
    return ds


def set_dataset(status, end=("20260311", "105000")):
    pydicom = _pydicom()
    ds = pydicom.Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate, ds.PerformedProcedureStepEndTime = end
    return ds


WL_ITEM = """(0008,0050) SH [%(acc)s]
(0010,0010) PN [DOE^JANE]
(0010,0020) LO [MRN1]
(0020,000d) UI [%(uid)s]
(0032,1060) LO [CT head]
(0040,0100) SQ
(fffe,e000) -
(0008,0060) CS [CT]
(0040,0001) AE [CT1]
(0040,0002) DA [20260311]
(0040,0003) TM [103000]
(0040,0009) SH [SPS-%(acc)s]
(fffe,e00d) -
(fffe,e0dd) -
(0040,1001) SH [RP-%(acc)s]
"""


class MppsTests(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = h.tempfile.mkdtemp(prefix="radflow-mpps-")
        cls.addClassCleanup(h.shutil.rmtree, cls.tmp, True)
        data = os.path.join(cls.tmp, "data")
        os.makedirs(data)
        cls.orders = {}
        items = []
        for acc in ("MPPS1", "MPPS2", "MPPS3"):
            uid = "1.2.826.0.1.3680043.10.1170.88.%d" % (len(items) + 1)
            dump = os.path.join(cls.tmp, acc + ".dump")
            with open(dump, "w") as f:
                f.write(WL_ITEM % {"acc": acc, "uid": uid})
            wl = os.path.join(cls.tmp, acc + ".wl")
            h.run_dcmtk(["dump2dcm", "-g", "+te", dump, wl], check=True)
            items.append(wl)
            cls.orders[acc] = uid
        imp = subprocess.run([h.RADFLOW_BIN, *h.with_index(["orders", "import", "--data", data, *items])],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=h.DCMTK_ENV)
        if imp.returncode != 0:
            raise AssertionError("import failed:\n" + imp.stdout)
        cls.srv = cls.start_class(h.RadflowServer(data_dir=data, extra_args=["--no-show-grace-minutes", "600000"]))

    def order(self, accession):
        """The order row as stored (read-only; the REST API is test_orders_api.py's)."""
        db = h.IndexDb(self.srv.data_dir, readonly=True)
        try:
            rows = db.execute("SELECT * FROM orders WHERE accession_number = ?", (accession,)).fetchall()
        finally:
            db.close()
        self.assertEqual(len(rows), 1)
        return dict(rows[0])

    def worklist_status(self, accession):
        proc = h.run_dcmtk(["findscu", "-W", "-aec", "RADFLOW", "-k", "AccessionNumber=" + accession,
                            "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus",
                            "127.0.0.1", self.srv.dicom_port])
        self.assertEqual(proc.returncode, 0, proc.stdout)
        if "ScheduledProcedureStepStatus" not in proc.stdout:
            return None
        line = [l for l in proc.stdout.splitlines() if "ScheduledProcedureStepStatus" in l][0]
        return line[line.find("[") + 1:line.find("]")].strip() if "[" in line else ""

    def test_in_progress_then_completed(self):
        scu = MppsScu(self.srv.dicom_port)
        self.addCleanup(scu.close)
        self.assertTrue(scu.accepted, "MPPS presentation context refused")
        uid = "1.2.826.0.1.3680043.10.1170.99.11"
        r = scu.n_create(uid, create_dataset("IN PROGRESS", accession="MPPS1"))
        self.assertEqual(r["status"], 0x0000, r)
        self.assertEqual(self.order("MPPS1")["status"], "in_progress")
        self.assertEqual(self.worklist_status("MPPS1"), "STARTED")
        # A second N-CREATE of the same SOP Instance: 0x0111 (PS3.7 C.4.2).
        self.assertEqual(scu.n_create(uid, create_dataset("IN PROGRESS", accession="MPPS1"))["status"], 0x0111)
        r = scu.n_set(uid, set_dataset("COMPLETED"))
        self.assertEqual(r["status"], 0x0000, r)
        o = self.order("MPPS1")
        self.assertEqual(o["status"], "completed")
        self.assertGreater(o["performed_end"], o["performed_start"])
        self.assertEqual(o["mpps_uid"], uid)
        self.assertIsNone(self.worklist_status("MPPS1"))  # done: off the worklist
        # N-SET after COMPLETED: 0x0110 with ErrorID A710 and a comment (PS3.4 F.7.2.2.2).
        r = scu.n_set(uid, set_dataset("DISCONTINUED"))
        self.assertEqual(r["status"], 0x0110, r)
        self.assertEqual(r["error_id"], 0xA710)
        self.assertIn("no longer be updated", r["comment"])
        scu.release()

    def test_discontinued_by_study_uid_and_unknown_instance(self):
        scu = MppsScu(self.srv.dicom_port)
        self.addCleanup(scu.close)
        uid = "1.2.826.0.1.3680043.10.1170.99.12"
        r = scu.n_create(uid, create_dataset("IN PROGRESS", study_uid=self.orders["MPPS2"]))
        self.assertEqual(r["status"], 0x0000, r)
        self.assertEqual(scu.n_set(uid, set_dataset("DISCONTINUED"))["status"], 0x0000)
        self.assertEqual(self.order("MPPS2")["status"], "discontinued")
        # N-SET of an instance never created: 0x0112 (PS3.7 C.4.3).
        self.assertEqual(scu.n_set("1.2.826.0.1.3680043.10.1170.99.404", set_dataset("COMPLETED"))["status"], 0x0112)
        # N-CREATE not IN PROGRESS: 0x0106 invalid attribute value, naming it.
        r = scu.n_create("1.2.826.0.1.3680043.10.1170.99.13", create_dataset("COMPLETED", accession="MPPS3"))
        self.assertEqual(r["status"], 0x0106)
        self.assertIn("IN PROGRESS", r["comment"])
        self.assertEqual(self.order("MPPS3")["status"], "scheduled")
        scu.release()


if __name__ == "__main__":
    unittest.main()
