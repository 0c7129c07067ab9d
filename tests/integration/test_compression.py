"""Lossless compression at rest (issue 15, docs/compression.md): `serve --compress CT=jpeg-ls
--compress MR=jpeg-ls` re-encodes the stored chest CT and brain MR after their
acknowledgement; blobs get smaller, every retrieval in the original syntax (WADO-RS
instances, frames, DIMSE to a peer without JPEG-LS) returns the original pixel bytes, the
metadata is unchanged, `radflow check` stays clean and dciodvfy finds nothing new."""
import io
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import dicomweb_client as dw  # noqa: E402

pydicom = h._pydicom()

CHEST = h.series_dir("ct_chest_lung_dx")
MR = h.series_dir("mr_brain_t1_siemens")
JPEG_LS = "1.2.840.10008.1.2.4.80"
EXPLICIT = "1.2.840.10008.1.2.1"
NATIVE = ("1.2.840.10008.1.2", EXPLICIT)


class ExplicitOnlySCP(h.StoreSCP):
    """storescp that accepts the uncompressed syntaxes only (+xe): no JPEG-LS."""

    def start(self, timeout=10):
        self.port = h.free_port()
        self._spawn(["storescp", "-v", "-aet", self.aet, "+xe", "+B", "-od", self.out_dir, str(self.port)])
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with h.socket.create_connection(("127.0.0.1", self.port), 1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("storescp did not start:\n" + self.log_tail())


def dataset_of(part_bytes):
    return pydicom.dcmread(io.BytesIO(part_bytes), force=True)


class CompressionTests(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.scp_dir = tempfile.mkdtemp(prefix="compress-dest-")
        cls.addClassCleanup(shutil.rmtree, cls.scp_dir, True)
        cls.scp = cls.start_class(ExplicitOnlySCP(cls.scp_dir, aet="NATIVEONLY"))
        cls.srv = cls.start_class(h.RadflowServer(
            modalities={"NATIVEONLY": ("127.0.0.1", cls.scp.port)},
            extra_args=["--compress", "CT=jpeg-ls", "--compress", "MR=jpeg-ls"]))
        cls.originals = {}
        cls.series = {}
        for name, folder in (("CT", CHEST), ("MR", MR)):
            files = h.index_by_sop_uid(h.dicom_files(folder))
            proc, status = h.storescu(cls.srv.dicom_port, sorted(files.values()))
            bad = {p: s for p, s in status.items() if s != "Success"}
            if proc.returncode != 0 or bad or len(status) != len(files):
                raise AssertionError("C-STORE failed: %s\n%s" % (bad, proc.stdout[-2000:]))
            first = h.read_dataset(next(iter(files.values())), stop_before_pixels=True)
            cls.series[name] = (first.StudyInstanceUID, first.SeriesInstanceUID, files)
            cls.originals.update(files)
        cls.web = dw.Client(cls.srv.http_port)
        cls.addClassCleanup(cls.web.close)
        cls.wait_compacted()

    @classmethod
    def stored_syntaxes(cls, name):
        study, series, _ = cls.series[name]
        r = cls.web.qido("studies/%s/series/%s/instances" % (study, series),
                         query={"includefield": "00083002"})
        assert r.status == 200, r
        return {row["00080018"]["Value"][0]: row["00083002"]["Value"][0] for row in r.json()}

    @classmethod
    def wait_compacted(cls, timeout=240):
        deadline = time.time() + timeout
        while time.time() < deadline:
            done = all(set(cls.stored_syntaxes(n).values()) == {JPEG_LS} for n in cls.series)
            # Old blobs go a few seconds after their row moved (a reader's grace period).
            if done and len(h.blob_files(cls.srv.data_dir)) == len(cls.originals):
                return
            time.sleep(0.5)
        raise AssertionError("not compacted in %ds: %s\n%s" % (
            timeout, {n: sorted(set(cls.stored_syntaxes(n).values())) for n in cls.series},
            cls.srv.log_tail()))

    def instance_path(self, uid):
        for study, series, files in self.series.values():
            if uid in files:
                return "studies/%s/series/%s/instances/%s" % (study, series, uid)
        raise KeyError(uid)

    def test_blobs_are_smaller_ct_at_least_twice(self):
        stored = sum(os.path.getsize(p) for p in h.blob_files(self.srv.data_dir))
        original = sum(os.path.getsize(p) for p in self.originals.values())
        ct_original = sum(os.path.getsize(p) for p in self.series["CT"][2].values())
        self.assertLess(stored, original)
        # Per series from the index: the CT at least 2x fewer bytes (the target).
        ct_uids = set(self.series["CT"][2])
        ct_stored = 0
        with h.IndexDb(self.srv.data_dir, readonly=True) as db:
            for uid, size, orig_ts in db.execute(
                    "SELECT sop_uid, blob_size, original_transfer_syntax_uid FROM instances"):
                self.assertIn(orig_ts, NATIVE)
                if uid in ct_uids:
                    ct_stored += size
        self.assertGreaterEqual(ct_original / ct_stored, 2.0, (ct_original, ct_stored))

    def test_wado_original_syntax_gives_original_pixels(self):
        for name in ("CT", "MR"):
            study, series, files = self.series[name]
            r = self.web.get("studies/%s/series/%s" % (study, series),
                             accept='multipart/related; type="application/dicom"; transfer-syntax=%s' % EXPLICIT)
            self.assertEqual(r.status, 200, r)
            parts = r.parts()
            self.assertEqual(len(parts), len(files))
            for headers, body in parts:
                ds = dataset_of(body)
                self.assertEqual(ds.file_meta.TransferSyntaxUID, EXPLICIT)
                self.assertEqual(bytes(ds.PixelData), h.pixel_data(files[ds.SOPInstanceUID]))

    def test_default_retrieval_is_the_arrival_syntax_and_star_the_stored_one(self):
        uid, path = next(iter(self.series["CT"][2].items()))
        arrived = h.file_meta(path)["ts"]
        r = self.web.get(self.instance_path(uid), accept='multipart/related; type="application/dicom"')
        self.assertEqual(r.status, 200, r)
        (headers, body), = r.parts()
        ds = dataset_of(body)
        self.assertEqual(ds.file_meta.TransferSyntaxUID, arrived)
        self.assertEqual(bytes(ds.PixelData), h.pixel_data(path))
        r = self.web.get(self.instance_path(uid),
                         accept='multipart/related; type="application/dicom"; transfer-syntax=*')
        (headers, body), = r.parts()
        self.assertIn(JPEG_LS, headers.get("content-type", ""))
        self.assertEqual(dataset_of(body).file_meta.TransferSyntaxUID, JPEG_LS)

    def test_frames_decoded_and_as_stored(self):
        for name in ("CT", "MR"):
            uid, path = sorted(self.series[name][2].items())[0]
            original = h.pixel_data(path)
            for accept in ('multipart/related; type="application/octet-stream"',
                           'multipart/related; type="application/octet-stream"; transfer-syntax=%s'
                           % h.file_meta(path)["ts"]):
                r = self.web.get(self.instance_path(uid) + "/frames/1", accept=accept)
                self.assertEqual(r.status, 200, (accept, r))
                (headers, body), = r.parts()
                self.assertEqual(body, original, accept)
            r = self.web.get(self.instance_path(uid) + "/frames/1",
                             accept='multipart/related; type="image/jls"')
            self.assertEqual(r.status, 200, r)
            (headers, body), = r.parts()
            self.assertEqual(body[:2], b"\xff\xd8")  # a JPEG-LS bitstream

    def test_metadata_unchanged(self):
        uid, path = sorted(self.series["MR"][2].items())[0]
        r = self.web.get(self.instance_path(uid) + "/metadata", accept="application/dicom+json")
        self.assertEqual(r.status, 200, r)
        meta = r.json()[0]
        orig = h.read_dataset(path, stop_before_pixels=True)
        for tag, kw in (("00280010", "Rows"), ("00280100", "BitsAllocated"), ("00280101", "BitsStored"),
                        ("00280103", "PixelRepresentation")):
            self.assertEqual(meta[tag]["Value"][0], int(getattr(orig, kw)), kw)
        self.assertEqual(meta["00080018"]["Value"][0], uid)
        self.assertIn("BulkDataURI", meta["7FE00010"])

    def test_resending_the_original_is_already_stored(self):
        files = self.series["MR"][2]
        blobs = h.blob_files(self.srv.data_dir)
        proc, status = h.storescu(self.srv.dicom_port, sorted(files.values()))
        self.assertEqual(set(status.values()), {"Success"}, proc.stdout[-2000:])
        self.assertEqual(h.blob_files(self.srv.data_dir), blobs, "nothing written")
        self.assertNotIn("a different object with the same SOP Instance UID", self.srv.log_tail(400))

    def test_check_is_clean(self):
        proc = h.radflow_cli("check", "--data", self.srv.data_dir)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_dciodvfy_finds_nothing_new_in_a_compressed_blob(self):
        with h.IndexDb(self.srv.data_dir, readonly=True) as db:
            rows = list(db.execute("SELECT sop_uid, blob_path FROM instances"))
        checked = 0
        for uid, blob in rows[:1] + rows[-1:]:  # one CT and one MR
            compressed = os.path.join(self.srv.data_dir, "blobs", blob)
            self.assertEqual(h.file_meta(compressed)["ts"], JPEG_LS)

            def errors(p):
                out = h.run_dcmtk(["dciodvfy", p]).stdout
                return {line for line in out.splitlines() if line.startswith("Error")}
            new = errors(compressed) - errors(self.originals[uid])
            self.assertEqual(new, set(), "dciodvfy errors only in the compressed file")
            checked += 1
        self.assertEqual(checked, 2)

    def test_move_to_peer_without_jpeg_ls_gets_original_pixels(self):
        study, series, files = self.series["MR"]
        out = self.scp.out_dir
        for f in os.listdir(out):
            os.unlink(os.path.join(out, f))
        proc = h.movescu(self.srv.dicom_port, "NATIVEONLY", "SERIES",
                         [("StudyInstanceUID", study), ("SeriesInstanceUID", series)])
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        received = h.received_files(out)
        self.assertEqual(len(received), len(files), proc.stdout[-3000:])
        for p in received:
            self.assertIn(h.file_meta(p)["ts"], NATIVE)
            uid = h.file_meta(p)["sop_uid"]
            self.assertEqual(h.pixel_data(p), h.pixel_data(files[uid]))

    def test_get_uncompressed_only_gets_original_pixels(self):
        study, series, files = self.series["CT"]
        out = tempfile.mkdtemp(prefix="compress-get-")
        self.addCleanup(shutil.rmtree, out, True)
        proc = h.getscu(self.srv.dicom_port, out, "SERIES",
                        [("StudyInstanceUID", study), ("SeriesInstanceUID", series)], prefer="+x=")
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        received = h.received_files(out)
        self.assertEqual(len(received), len(files), proc.stdout[-3000:])
        for p in received:
            self.assertIn(h.file_meta(p)["ts"], NATIVE)
            self.assertEqual(h.pixel_data(p), h.pixel_data(files[h.file_meta(p)["sop_uid"]]))


if __name__ == "__main__":
    unittest.main()
