"""An archive created before the worklist (index schema version 4) keeps its studies out of
the reading list when radflow with migration 005 opens it: they become final items,
audited as "migrated" (src/storage/schema/005_worklist.sql)."""
import glob
import json
import os
import sqlite3
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SCHEMA = os.path.join(harness.REPO, "src", "storage", "schema")


class WorklistUpgradeTest(unittest.TestCase):
    def test_studies_of_an_older_archive_are_final_not_unread(self):
        with tempfile.TemporaryDirectory(prefix="radflow-upgrade-") as tmp:
            data = os.path.join(tmp, "data")
            os.makedirs(data)
            db = sqlite3.connect(os.path.join(data, "index.db"))
            for f in sorted(glob.glob(os.path.join(SCHEMA, "00[1-4]_*.sql"))):
                with open(f) as sql:
                    db.executescript(sql.read())
            db.execute("PRAGMA user_version = 4")
            db.execute("INSERT INTO patients (id, patient_id, patient_name, num_studies) VALUES (1, 'OLD1', 'Old^Ann', 1)")
            db.execute("INSERT INTO studies (id, patient_fk, study_uid, study_date, modalities, num_series, num_instances)"
                       " VALUES (1, 1, '1.2.826.0.1.99.1', '20190105', 'CT', 1, 1)")
            db.execute("INSERT INTO series (id, study_fk, series_uid, modality, body_part, num_instances, updated_at)"
                       " VALUES (1, 1, '1.2.826.0.1.99.1.1', 'CT', 'CHEST', 1, 1546700000000)")
            db.execute("INSERT INTO instances (series_fk, sop_uid, sop_class_uid, transfer_syntax_uid, blob_path,"
                       " blob_size, stored_at) VALUES (1, '1.2.826.0.1.99.1.1.1', '1.2.840.10008.5.1.4.1.1.2',"
                       " '1.2.840.10008.1.2.1', 'ab/old.dcm', 10, 1546690000000)")
            db.commit()
            db.close()
            # A clean stop before the upgrade (no start-up recovery of interrupted stores).
            open(os.path.join(data, "clean-shutdown"), "w").close()
            with harness.RadflowServer(data_dir=data) as server:
                base = "http://127.0.0.1:%d/api/v1/worklist" % server.http_port
                open_items = json.loads(urllib.request.urlopen(base).read())
                self.assertEqual(open_items["total"], 0, "an archived study is not for reading")
                item = json.loads(urllib.request.urlopen(base + "/1.2.826.0.1.99.1").read())
                self.assertEqual(item["state"], "final")
                self.assertEqual(item["patient_id"], "OLD1")
                self.assertEqual(item["body_part"], "CHEST")
                self.assertEqual(item["arrived_at"], 1546690000000)
                self.assertEqual([(a["action"], a["to"]) for a in item["audit"]], [("migrated", "final")])
                # New studies still arrive unread.
                files = harness.dicom_files(harness.series_dir(os.path.join("ct_head_ge_tilt", "dicom")))
                harness.storescu(server.dicom_port, files)
                deadline = time.time() + 20
                new = {"total": 0}
                while new["total"] == 0 and time.time() < deadline:
                    time.sleep(0.1)
                    new = json.loads(urllib.request.urlopen(base).read())
                self.assertEqual(new["total"], 1)
                self.assertEqual(new["items"][0]["state"], "unread")


if __name__ == "__main__":
    unittest.main()
