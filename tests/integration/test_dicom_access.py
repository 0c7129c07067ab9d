"""DICOM access rules (docs/dicom-access.md), seen from the peers: the loopback default, a
call to this machine's own non-loopback address refused by default and accepted with
--dicom-accept, --modality peers from their host, --dicom-accept any, the JSON rules file
(store allowed, query and retrieve refused with 0x0124), C-MOVE to an unknown destination."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CHEST = h.series_dir("ct_chest_lung_dx")
REJECTED = "Reason: Calling AE Title Not Recognized"


def own_address():
    """This machine's first non-loopback IPv4 address (`hostname -I`)."""
    out = subprocess.run(["hostname", "-I"], stdout=subprocess.PIPE, text=True).stdout.split()
    for a in out:
        if "." in a and not a.startswith("127."):
            return a
    raise unittest.SkipTest("no non-loopback IPv4 address on this machine")


def echo(port, aet, host="127.0.0.1"):
    return h.run_dcmtk(["echoscu", "-v", "-aet", aet, "-aec", "RADFLOW", host, port], timeout=30)


def store(port, files, aet, host="127.0.0.1"):
    proc = h.run_dcmtk(["storescu", "-v", "-aet", aet, "-aec", "RADFLOW", host, port, *files],
                       timeout=120)
    return proc, h.parse_store_log(proc.stdout)


def find(port, aet, host="127.0.0.1", keys=("StudyInstanceUID",)):
    args = ["findscu", "-v", "-aet", aet, "-aec", "RADFLOW", "-S", "-k", "QueryRetrieveLevel=STUDY"]
    for k in keys:
        args += ["-k", k]
    return h.run_dcmtk(args + [host, port], timeout=60)


def move(port, aet, dest, study, host="127.0.0.1"):
    return h.run_dcmtk(["movescu", "-v", "-aet", aet, "-aec", "RADFLOW", "-aem", dest, "-S",
                        "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + study,
                        host, port], timeout=120)


class AccessTests(h.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.ip = own_address()
        cls.files = h.dicom_files(CHEST)[:3]
        cls.study = h.read_dataset(cls.files[0], stop_before_pixels=True).StudyInstanceUID

    def serve(self, *args, modalities=None):
        return self.start(h.RadflowServer(extra_args=list(args), modalities=modalities))

    def assert_accepted(self, proc):
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        self.assertNotIn("Association Rejected", proc.stdout)

    def assert_rejected(self, proc):
        self.assertNotEqual(proc.returncode, 0, proc.stdout[-2000:])
        self.assertIn("Result: Rejected Permanent, Source: Service User", proc.stdout)
        self.assertIn(REJECTED, proc.stdout)

    def test_loopback_default(self):
        srv = self.serve()
        self.assert_accepted(echo(srv.dicom_port, "ANYONE"))
        proc, statuses = store(srv.dicom_port, self.files, "SOMEONE")
        self.assertEqual(set(statuses.values()), {"Success"}, proc.stdout[-2000:])
        # The server listens on every address; a caller at this machine's own non-loopback
        # address is not on the loopback address and is refused.
        self.assert_rejected(echo(srv.dicom_port, "CT1", self.ip))
        self.assertIn("refused: no access rule", srv.log_tail(200))

    def test_dicom_accept_names(self):
        srv = self.serve("--dicom-accept", "CT1,MR1")
        self.assert_accepted(echo(srv.dicom_port, "CT1", self.ip))
        self.assert_accepted(echo(srv.dicom_port, "MR1", self.ip))
        proc, statuses = store(srv.dicom_port, self.files, "CT1", self.ip)
        self.assertEqual(set(statuses.values()), {"Success"}, proc.stdout[-2000:])
        self.assert_rejected(echo(srv.dicom_port, "OTHER", self.ip))
        # The names replace the loopback default.
        self.assert_rejected(echo(srv.dicom_port, "OTHER", "127.0.0.1"))

    def test_modality_peer_from_its_host_only(self):
        srv = self.serve("--dicom-accept", "CT1", modalities={"PACS": (self.ip, 104)})
        self.assert_accepted(echo(srv.dicom_port, "PACS", self.ip))
        self.assert_rejected(echo(srv.dicom_port, "PACS", "127.0.0.1"))

    def test_dicom_accept_any(self):
        srv = self.serve("--dicom-accept", "any")
        self.assert_accepted(echo(srv.dicom_port, "WHOEVER", self.ip))
        self.assertIn("--dicom-accept any", srv.log_tail(400))

    def test_rules_file(self):
        rules = [{"ae": "CT1", "hosts": [self.ip + "/32"], "store": True, "query": False,
                  "retrieve": False},
                 {"ae": "QR1", "hosts": ["127.0.0.0/8"], "query": True, "retrieve": True}]
        path = os.path.join(self.tmpdir(), "rules.json")
        with open(path, "w") as f:
            json.dump(rules, f)
        scp = self.start(h.StoreSCP(self.tmpdir(), aet="DEST"))
        srv = self.serve("--dicom-access", path, modalities={"DEST": ("127.0.0.1", scp.port)})
        # CT1 may store from its address ...
        proc, statuses = store(srv.dicom_port, self.files, "CT1", self.ip)
        self.assertEqual(set(statuses.values()), {"Success"}, proc.stdout[-2000:])
        # ... but not query or retrieve: Refused - Not Authorized (0x0124).
        proc = find(srv.dicom_port, "CT1", self.ip)
        self.assertIn("Received Final Find Response (Unknown Status: 0x124)", proc.stdout)
        proc = move(srv.dicom_port, "CT1", "DEST", self.study, self.ip)
        self.assertIn("Unknown Status: 0x124", proc.stdout)
        # From another address CT1 is unknown.
        self.assert_rejected(echo(srv.dicom_port, "CT1", "127.0.0.1"))
        # QR1 queries and retrieves, but may not store.
        proc = find(srv.dicom_port, "QR1")
        self.assertIn("Received Final Find Response (Success)", proc.stdout)
        self.assertIn(self.study, proc.stdout)
        proc, statuses = store(srv.dicom_port, self.files[:1], "QR1")
        self.assertEqual(list(statuses.values()), ["Unknown Status: 0x124"], proc.stdout[-2000:])
        proc = move(srv.dicom_port, "QR1", "DEST", self.study)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        self.assertIn("Received Final Move Response (Success)", proc.stdout)
        self.assertEqual(len(h.received_files(scp.out_dir)), len(self.files))
        # Nothing the loopback default would have allowed: an unnamed local caller is refused.
        self.assert_rejected(echo(srv.dicom_port, "ANYONE"))

    def test_move_to_unknown_destination(self):
        srv = self.serve()
        proc, statuses = store(srv.dicom_port, self.files, "CT1")
        self.assertEqual(set(statuses.values()), {"Success"})
        proc = move(srv.dicom_port, "CT1", "NOWHERE", self.study)
        self.assertIn("Received Final Move Response (Refused: MoveDestinationUnknown)", proc.stdout)
        # Also when nothing matches: the destination is checked first.
        proc = move(srv.dicom_port, "CT1", "NOWHERE", "1.2.3.4")
        self.assertIn("Received Final Move Response (Refused: MoveDestinationUnknown)", proc.stdout)

    def test_bad_rules_file_stops_the_start(self):
        path = os.path.join(self.tmpdir(), "rules.json")
        with open(path, "w") as f:
            f.write('[{"ae": "CT1", "hosts": ["10.0.0.0/99"]}]')
        srv = h.RadflowServer(extra_args=["--dicom-access", path])
        with self.assertRaises(AssertionError) as ctx:
            srv.start(timeout=20)
        srv.stop()
        self.assertIn("rule 1", str(ctx.exception))
        self.assertIn(path, str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
