"""Two `radflow serve` nodes on one shared blob folder (--storage DIR, as an NFS mount would
be) and one PostgreSQL index, each with its own --data and node id (docs/storage-backends.md).

- storescu of a real series to node A; QIDO-RS and WADO-RS of it from node B, the pixels of
  the files sent; nothing in either node's DATA/blobs;
- each node's temporary files in DIR/tmp/<node id>/; node B restarted sweeps its own stale
  temporary file and leaves node A's in-flight one alone;
- node B takes its storage and node id from a configuration file ([serve] section);
- `radflow check` on the shared folder is clean.
Always on PostgreSQL (its own cluster), whatever RADFLOW_TEST_INDEX says."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from dicomweb_client import Client as DicomWebClient, parse_multipart  # noqa: E402

DICOM_PARTS = 'multipart/related; type="application/dicom"; transfer-syntax=*'


class SharedStorageTest(h.ServerTestCase):
    def test_two_nodes_on_one_shared_folder(self):
        work = tempfile.mkdtemp(prefix="radflow-shared-")
        self.addCleanup(shutil.rmtree, work, True)
        shared = os.path.join(work, "shared-blobs")
        pg = h.PostgresServer().start()
        self.addCleanup(pg.stop)
        index = pg.new_database("shared_storage")

        for node in ("a", "b"):  # the harness' CLI calls (users, tokens) on the same index
            h.set_index_location(os.path.join(work, node), index)
        a = h.RadflowServer(data_dir=os.path.join(work, "a"), extra_args=["--storage", shared, "--node-id", "node-a"])
        self.start(a)
        # Node B: storage and node id from the configuration file.
        config = os.path.join(work, "b.toml")
        with open(config, "w") as f:
            f.write('[serve]\nstorage = "%s"\nnode-id = "node-b"\n' % shared)
        b = h.RadflowServer(data_dir=os.path.join(work, "b"), extra_args=["--config", config])
        self.start(b)
        self.assertTrue(os.path.isdir(os.path.join(shared, "tmp", "node-a")))
        self.assertTrue(os.path.isdir(os.path.join(shared, "tmp", "node-b")))

        files = h.dicom_files(h.series_dir("mr_brain_t1_siemens"))
        uids = {h.read_dataset(p, stop_before_pixels=True).SOPInstanceUID: p for p in files}
        first = h.read_dataset(files[0], stop_before_pixels=True)
        study, series = first.StudyInstanceUID, first.SeriesInstanceUID
        proc, status = h.storescu(a.dicom_port, files)
        self.assertEqual(set(status.values()), {"Success"}, proc.stdout[-3000:])
        self.assertEqual(len(status), len(files))
        self.assertEqual(h.blob_files(a.data_dir), [])
        self.assertEqual(h.blob_files(b.data_dir), [])
        stored = [os.path.join(d, n) for d, dirs, names in os.walk(shared) for n in names
                  if not os.path.relpath(d, shared).startswith("tmp")]
        self.assertEqual(len(stored), len(uids))

        web = DicomWebClient(b.http_port)
        self.addCleanup(web.close)
        r = web.qido("studies/%s/series/%s/instances" % (study, series))
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual({i["00080018"]["Value"][0] for i in json.loads(r.body)}, set(uids))
        r = web.get("studies/%s/series/%s" % (study, series), accept=DICOM_PARTS)
        self.assertEqual(r.status, 200, r.body[:300])
        got = {}
        for _, part in parse_multipart(r.body, r.headers["content-type"]):
            path = os.path.join(work, "part.dcm")
            with open(path, "wb") as f:
                f.write(part)
            ds = h.read_dataset(path)
            got[ds.SOPInstanceUID] = bytes(ds.PixelData)
        self.assertEqual(set(got), set(uids))
        for uid, pixels in got.items():
            self.assertEqual(pixels, h.pixel_data(uids[uid]), uid)

        # Node B restarted: its own stale temporary file goes, node A's in-flight one stays.
        a_in_flight = os.path.join(shared, "tmp", "node-a", "in-flight.part")
        b_stale = os.path.join(shared, "tmp", "node-b", "stale.part")
        for p in (a_in_flight, b_stale):
            with open(p, "wb") as f:
                f.write(b"half of a C-STORE")
        b.stop()
        b.start()
        self.assertFalse(os.path.exists(b_stale))
        self.assertTrue(os.path.exists(a_in_flight))
        os.unlink(a_in_flight)
        web.port = b.http_port
        web.close()
        r = web.get("studies/%s/series/%s/instances/%s" % (study, series, sorted(uids)[0]), accept=DICOM_PARTS)
        self.assertEqual(r.status, 200)

        a.stop()
        b.stop()
        check = h.radflow_cli("check", "--data", a.data_dir, "--index", index, "--storage", shared)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("checked %d index rows and %d blobs" % (len(uids), len(uids)), check.stdout)
        self.assertIn("0 problem(s)", check.stdout)


if __name__ == "__main__":
    unittest.main()
