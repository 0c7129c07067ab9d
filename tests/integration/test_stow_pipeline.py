"""STOW-RS stores a request's parts concurrently (src/api/stow_rs.cpp: up to four parts being
stored while the next is received, each announced by its file meta's Media Storage SOP
Instance UID). These tests pin what must not change with that: the response lists the parts
in request order, parts naming the same UID are stored one after the other (the duplicate
policy applies as if sequential), a meta UID that is not the dataset's changes nothing, and
a client gone mid-request leaves the parts received whole stored and the server serving.
"""
import io
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import dicomweb_client as dw  # noqa: E402

CHEST = h.series_dir("ct_chest_lung_dx")


def seq_uids(doc, tag):
    return [item["00081155"]["Value"][0] for item in doc.get(tag, {}).get("Value", [])]


class StowPipelineTests(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_class(h.RadflowServer())
        cls.client = dw.Client(cls.srv.http_port)
        cls.addClassCleanup(cls.client.close)
        pydicom = h._pydicom()
        cls.sources = [pydicom.dcmread(p) for p in sorted(h.dicom_files(CHEST))[:12]]

    def instances(self, n, study=None, series=None):
        """n chest slices as new instances of one new series: [(sop uid, bytes)]."""
        study, series = study or h.new_uid(), series or h.new_uid()
        out = []
        for i in range(n):
            d = self.sources[i % len(self.sources)]
            sop = h.new_uid()
            d.StudyInstanceUID, d.SeriesInstanceUID, d.SOPInstanceUID = study, series, sop
            d.file_meta.MediaStorageSOPInstanceUID = sop
            d.InstanceNumber = i + 1
            out.append((sop, self.write(d)))
        return out

    @staticmethod
    def write(d):
        buf = io.BytesIO()
        d.save_as(buf, write_like_original=True)
        return buf.getvalue()

    def retrieve(self, sop):
        r = self.client.qido("instances", {"SOPInstanceUID": sop})
        self.assertEqual(r.status, 200, r)
        found = r.json()
        self.assertEqual(len(found), 1, found)
        study, series = found[0]["0020000D"]["Value"][0], found[0]["0020000E"]["Value"][0]
        r = self.client.get("studies/%s/series/%s/instances/%s" % (study, series, sop))
        self.assertEqual(r.status, 200, r)
        parts = r.parts()
        self.assertEqual(len(parts), 1)
        return parts[0][1]

    def test_response_keeps_request_order_around_a_refused_part(self):
        good = self.instances(11)
        parts = [b for _, b in good[:5]] + [b"this is not a DICOM file at all" * 10] + [b for _, b in good[5:]]
        r = self.client.stow(parts)
        self.assertEqual(r.status, 202, r)
        doc = r.json()
        self.assertEqual(seq_uids(doc, "00081199"), [u for u, _ in good])
        self.assertEqual(len(doc["00081198"]["Value"]), 1, doc)
        self.assertIn("part 6:", r.header("warning", ""))
        self.assertEqual(self.retrieve(good[7][0]), good[7][1])

    def test_same_uid_twice_in_one_request_keeps_the_first(self):
        # Default duplicate policy `keep`: the second, different object is not stored, as
        # when the two parts came in two requests.
        (sop, first), = self.instances(1)
        d = h._pydicom().dcmread(io.BytesIO(first))
        d.SeriesDescription = "second copy, different bytes"
        second = self.write(d)
        self.assertNotEqual(first, second)
        others = self.instances(6)
        r = self.client.stow([b for _, b in others[:3]] + [first, second] + [b for _, b in others[3:]])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seq_uids(r.json(), "00081199"),
                         [u for u, _ in others[:3]] + [sop, sop] + [u for u, _ in others[3:]])
        self.assertEqual(self.retrieve(sop), first)

    def test_meta_uid_other_than_the_dataset_uid(self):
        # The meta announces an instance stored already; the dataset is a new one: stored
        # under the dataset's UID. And one announcing a new UID for a stored dataset: kept.
        (stored, stored_bytes), = self.instances(1)
        self.assertEqual(self.client.stow([stored_bytes]).status, 200)
        (fresh, fresh_bytes), = self.instances(1)
        d = h._pydicom().dcmread(io.BytesIO(fresh_bytes))
        d.file_meta.MediaStorageSOPInstanceUID = stored
        lying = self.write(d)
        d = h._pydicom().dcmread(io.BytesIO(stored_bytes))
        d.file_meta.MediaStorageSOPInstanceUID = h.new_uid()
        d.SeriesDescription = "resent with another meta UID"
        resent = self.write(d)
        r = self.client.stow([lying, resent])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seq_uids(r.json(), "00081199"), [fresh, stored])
        self.assertEqual(self.retrieve(fresh), lying)
        self.assertEqual(self.retrieve(stored), stored_bytes)

    def test_client_gone_mid_request_keeps_the_parts_received(self):
        # The connection closes in the middle of part 6: the five parts received whole are
        # stored (settled although no one reads the answer), part 6 is dropped, and the
        # server goes on serving.
        good = self.instances(6)
        boundary = dw.new_boundary()
        body = dw.multipart_body(boundary, [b for _, b in good])
        cut = body.index(good[5][1]) + len(good[5][1]) // 2
        head = ("POST /dicom-web/studies HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
                "Content-Length: %d\r\nAuthorization: %s\r\n\r\n"
                % (dw.stow_content_type(boundary), len(body),
                   self.srv.auth_headers()["Authorization"])).encode()
        with socket.create_connection(("127.0.0.1", self.srv.http_port)) as s:
            s.sendall(head + body[:cut])

        def stored(sop):
            r = self.client.qido("instances", {"SOPInstanceUID": sop})
            self.assertEqual(r.status, 200, r)
            return len(r.json())
        deadline = time.monotonic() + 30
        while sum(stored(u) for u, _ in good[:5]) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual([stored(u) for u, _ in good], [1, 1, 1, 1, 1, 0])
        self.assertEqual(self.retrieve(good[4][0]), good[4][1])


if __name__ == "__main__":
    unittest.main()
