"""DICOMweb (PS3.18) of `radflow serve` at /dicom-web: STOW-RS, QIDO-RS and WADO-RS with
real series, cross-protocol checks against DIMSE (storescu/findscu/getscu), bad input, a
large streamed STOW with bounded server memory, character sets and keep-alive.

Data: the chest CT (64 slices, implicit VR), the MR stored in nine lossless transfer
syntaxes (same pixels), pydicom's charset files, a 10-frame JPEG-LS MR (emri_small) and
the Siemens brain MR (35 slices, sent by C-STORE).

Run:  python3 -m unittest tests/integration/test_dicomweb.py -v      (from the repo root)
Frames, transcoding and rendered images need the pixel module (src/pixel)."""
import hashlib
import io
import os
import shutil
import struct
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import dicomweb_client as dw  # noqa: E402

pydicom = h._pydicom()
from pydicom import encaps  # noqa: E402

CHEST = h.series_dir("ct_chest_lung_dx")
TS_MR = os.path.join(h.series_dir("transfer_syntaxes_mr"), "dicom")
MR_BRAIN = h.series_dir("mr_brain_t1_siemens")
CHARSETS = os.path.join(h.DICOM_ROOT, "edgecases_pydicom", "charset_files")
CODECS = os.path.join(h.DICOM_ROOT, "codecs", "files")
EMRI_JLS = os.path.join(CODECS, "emri_small_jpeg_ls_lossless.dcm")  # 10 frames, JPEG-LS
EMRI_NATIVE = os.path.join(CODECS, "emri_small.dcm")               # its uncompressed twin
CHARSET_FILES = ["chrFren.dcm", "chrGerm.dcm", "chrGreek.dcm", "chrRuss.dcm", "chrArab.dcm",
                 "chrX1.dcm", "chrH31.dcm"]

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT, IMPLICIT = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"
DICOM_ACCEPT = 'multipart/related; type="application/dicom"'
OCTET_ACCEPT = 'multipart/related; type="application/octet-stream"'
STORED_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
# PS3.18 Table 8.7.3-5: media type of a frame in its stored (compressed) syntax
FRAME_MEDIA = {"1.2.840.10008.1.2.5": {"image/dicom-rle"},
               "1.2.840.10008.1.2.4.70": {"image/jpeg"},
               "1.2.840.10008.1.2.4.80": {"image/jls"},
               "1.2.840.10008.1.2.4.90": {"image/jp2", "image/j2c"}}
GETSCU_PREFER = {EXPLICIT: "+xe", "1.2.840.10008.1.2.2": "+xb", "1.2.840.10008.1.2.5": "+xr",
                 "1.2.840.10008.1.2.4.70": "+xs", "1.2.840.10008.1.2.4.80": "+xt",
                 "1.2.840.10008.1.2.4.90": "+xv"}
FAILURE_STUDY_MISMATCH = 0xA900  # PS3.4 B.2.3 / PS3.18 10.5.3: 43264
PEAK_RSS_LIMIT_KB = 100 * 1024


def read(path):
    with open(path, "rb") as f:
        return f.read()


def header_info(path):
    return h.read_dataset(path, stop_before_pixels=True)


def variant(path, **changes):
    """Part-10 bytes of a file with some attributes changed (a new SOPInstanceUID unless
    given), written by pydicom in the file's own transfer syntax."""
    ds = h.read_dataset(path)
    changes.setdefault("SOPInstanceUID", h.new_uid())
    for k, v in changes.items():
        setattr(ds, k, v)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, write_like_original=True)
    return out.getvalue()


def value(obj, tag, index=0):
    """First (or index-th) Value of a DICOM JSON attribute, None when absent/empty."""
    attr = obj.get(tag)
    if not attr or "Value" not in attr or len(attr["Value"]) <= index:
        return None
    return attr["Value"][index]


def values(obj, tag):
    attr = obj.get(tag) or {}
    return attr.get("Value", [])


def seq_items(obj, tag):
    return values(obj, tag)


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return struct.unpack(">II", data[16:24])


def part_media(headers):
    return dw.media_params(headers.get("content-type", ""))


def frame_bitstreams(path):
    """The stored (encapsulated) bitstream of each frame: fragments joined per frame."""
    ds = h.read_dataset(path)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    return list(encaps.generate_pixel_data_frame(ds.PixelData, n))


def native_frames(path):
    ds = h.read_dataset(path)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    size = len(ds.PixelData) // n
    return [bytes(ds.PixelData[i * size:(i + 1) * size]) for i in range(n)]


class DicomWebBase(h.ServerTestCase):
    client = None

    def assert_json_error(self, resp, status, *words):
        """A failure answer: the status, a JSON body with a non-empty 'error' message that
        names the given words."""
        self.assertEqual(resp.status, status, resp)
        ctype = resp.header("content-type", "")
        self.assertTrue(ctype.startswith("application/json") or
                        ctype.startswith("application/dicom+json"), resp)
        body = resp.json()
        self.assertIsInstance(body, dict, resp)
        message = body.get("error")
        self.assertTrue(isinstance(message, str) and message, resp)
        for w in words:
            self.assertIn(w.lower(), message.lower(), resp)
        return message

    def qido_ok(self, path, query=None, client=None):
        r = (client or self.client).qido(path, query=query)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type", "").startswith("application/dicom+json"), r)
        out = r.json()
        self.assertIsInstance(out, list, r)
        return out

    def uids(self, path, query=None, tag="0020000D"):
        return sorted(value(o, tag) for o in self.qido_ok(path, query))


# =========================================================================================
class DicomWebTests(DicomWebBase):
    """One server: chest CT, the nine MR encodings (STOW to /studies/{uid}), charset files
    and the 10-frame JPEG-LS MR by STOW-RS; the Siemens brain MR by C-STORE."""

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_class(h.RadflowServer())
        cls.client = dw.Client(cls.srv.http_port)
        cls.addClassCleanup(cls.client.close)

        cls.chest = h.index_by_sop_uid(h.dicom_files(CHEST))          # uid -> path
        first = header_info(next(iter(cls.chest.values())))
        cls.chest_study, cls.chest_series = first.StudyInstanceUID, first.SeriesInstanceUID
        cls.ts_files = [os.path.join(TS_MR, "%d.dcm" % i) for i in range(1, 10)]
        cls.ts_info = {p: header_info(p) for p in cls.ts_files}
        mr = cls.ts_info[cls.ts_files[0]]
        cls.mr_study, cls.mr_series = mr.StudyInstanceUID, mr.SeriesInstanceUID
        cls.charset = {n: os.path.join(CHARSETS, n) for n in CHARSET_FILES}
        cls.emri = header_info(EMRI_JLS)

        # STOW-RS: the chest CT in one request, the MR encodings to their study's URL
        cls.chest_stow = cls.client.stow_files(sorted(cls.chest.values()))
        cls.mr_stow = cls.client.stow_files(cls.ts_files, study=cls.mr_study)
        cls.other_stow = cls.client.stow_files(sorted(cls.charset.values()) + [EMRI_JLS])
        for name, r in (("chest", cls.chest_stow), ("mr", cls.mr_stow), ("other", cls.other_stow)):
            if r.status != 200:
                raise AssertionError("initial STOW-RS of %s failed: %r\n%s"
                                     % (name, r, cls.srv.log_tail()))

        # C-STORE: the brain MR, and a reference storescp fed by the same storescu command
        cls.brain = h.dicom_files(MR_BRAIN)
        ref_dir = tempfile.mkdtemp(prefix="ref-")
        cls.addClassCleanup(shutil.rmtree, ref_dir, True)
        with h.StoreSCP(ref_dir) as scp:
            proc, status = h.storescu(scp.port, cls.brain, aet="STORESCP")
        if set(status.values()) != {"Success"} or len(status) != len(cls.brain):
            raise AssertionError("reference storescp run failed:\n" + proc.stdout[-3000:])
        cls.brain_reference = h.index_by_sop_uid(h.received_files(ref_dir))
        proc, status = h.storescu(cls.srv.dicom_port, cls.brain)
        if set(status.values()) != {"Success"} or len(status) != len(cls.brain):
            raise AssertionError("C-STORE of the brain MR failed:\n" + proc.stdout[-3000:])
        b = header_info(cls.brain[0])
        cls.brain_study, cls.brain_series = b.StudyInstanceUID, b.SeriesInstanceUID

    def chest_instance(self, k=0):
        uid = sorted(self.chest)[k]
        return uid, "studies/%s/series/%s/instances/%s" % (self.chest_study, self.chest_series, uid)

    def mr_instance(self, path):
        return "studies/%s/series/%s/instances/%s" % (self.mr_study, self.mr_series,
                                                      self.ts_info[path].SOPInstanceUID)

    def emri_instance(self):
        e = self.emri
        return "studies/%s/series/%s/instances/%s" % (e.StudyInstanceUID, e.SeriesInstanceUID,
                                                      e.SOPInstanceUID)

    # ------------------------------------------------------------------ STOW-RS
    def test_stow_response_lists_every_stored_instance(self):
        r = self.chest_stow
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type", "").startswith("application/dicom+json"), r)
        body = r.json()
        self.assertNotIn("00081198", body, "FailedSOPSequence although all were stored")
        items = seq_items(body, "00081199")
        self.assertEqual(len(items), 64)
        self.assertEqual(sorted(value(i, "00081155") for i in items), sorted(self.chest))
        self.assertEqual({value(i, "00081150") for i in items}, {CT_STORAGE})
        for i in items:
            url = value(i, "00081190")
            self.assertTrue(url and "/studies/" + self.chest_study in url, i)

    def test_stow_retrieve_url_names_the_instance(self):
        """PS3.18 Table 10.5.3-3: an item's RetrieveURL is where that instance is retrieved."""
        problems = []
        for i in seq_items(self.chest_stow.json(), "00081199"):
            uid, url = value(i, "00081155"), value(i, "00081190") or ""
            expected = "/studies/%s/series/%s/instances/%s" % (self.chest_study,
                                                               self.chest_series, uid)
            if not url.endswith(expected):
                problems.append("%s: RetrieveURL %r, expected ...%s" % (uid, url, expected))
        self.assertEqual(problems, [], "\n".join(problems[:3]))

    def test_stow_to_study_url(self):
        r = self.mr_stow
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertTrue(value(body, "00081190").endswith("/studies/" + self.mr_study), body)
        items = seq_items(body, "00081199")
        self.assertEqual(sorted(value(i, "00081155") for i in items),
                         sorted(self.ts_info[p].SOPInstanceUID for p in self.ts_files))
        self.assertNotIn("00081198", body)

    def test_stats_count_everything_stored(self):
        st = self.srv.stats()
        expected = 64 + 9 + len(CHARSET_FILES) + 1 + len(self.brain)
        self.assertEqual(st["instances"], expected, st)
        # chest, MR-TS, 7 charset studies, emri, brain
        self.assertEqual(st["studies"], 3 + len(CHARSET_FILES) + 1, st)

    def test_stow_again_is_idempotent(self):
        before = self.srv.stats()
        r = self.client.stow_files([self.ts_files[0], self.chest[sorted(self.chest)[0]]])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(seq_items(r.json(), "00081199")), 2, r)
        self.assertEqual(self.srv.stats(), before)

    # ------------------------------------------------------------------ QIDO-RS
    def test_qido_studies(self):
        studies = {value(o, "0020000D"): o for o in self.qido_ok("studies")}
        self.assertIn(self.chest_study, studies)
        self.assertIn(self.mr_study, studies)
        self.assertIn(self.brain_study, studies)
        self.assertEqual(len(studies), 3 + len(CHARSET_FILES) + 1)
        chest = studies[self.chest_study]
        self.assertEqual(chest["00100010"], {"vr": "PN", "Value": [{"Alphabetic": "Lung_Dx-A0001"}]})
        self.assertEqual(value(chest, "00100020"), "Lung_Dx-A0001")
        self.assertEqual(value(chest, "00080020"), "20070404")
        self.assertEqual(value(chest, "00081030"), "Chest")
        self.assertEqual(values(chest, "00080061"), ["CT"])
        self.assertEqual(chest["00201206"], {"vr": "IS", "Value": [1]})
        self.assertEqual(chest["00201208"], {"vr": "IS", "Value": [64]})
        self.assertTrue(value(chest, "00081190").endswith("/studies/" + self.chest_study))
        mr = studies[self.mr_study]
        self.assertEqual((values(mr, "00080061"), value(mr, "00201206"), value(mr, "00201208")),
                         (["MR"], 1, 9))

    def test_qido_keyword_and_tag_forms(self):
        by_keyword = self.uids("studies", {"PatientID": "Lung_Dx-A0001"})
        by_tag = self.uids("studies", {"00100020": "Lung_Dx-A0001"})
        self.assertEqual(by_keyword, [self.chest_study])
        self.assertEqual(by_tag, by_keyword)
        self.assertEqual(self.uids("studies", {"PatientID": "NOBODY"}), [])

    def test_qido_wildcards(self):
        self.assertEqual(self.uids("studies", {"PatientName": "Lung*"}), [self.chest_study])
        self.assertEqual(self.uids("studies", {"PatientID": "Lung_Dx-A000?"}), [self.chest_study])
        self.assertEqual(self.uids("studies?PatientName=Lung*"), [self.chest_study])  # raw '*'
        self.assertEqual(sorted(self.uids("studies", {"PatientID": "crla?"})),
                         sorted([self.mr_study, self.brain_study]))
        self.assertEqual(len(self.uids("studies", {"PatientID": "*"})), 3 + len(CHARSET_FILES) + 1)

    def test_qido_date_ranges(self):
        self.assertEqual(self.uids("studies", {"StudyDate": "20070101-20071231"}), [self.chest_study])
        self.assertEqual(self.uids("studies", {"StudyDate": "20140310"}), [self.mr_study])
        self.assertEqual(self.uids("studies", {"StudyDate": "-20050101"}),
                         [self.emri.StudyInstanceUID])  # 20000101
        self.assertEqual(self.uids("studies", {"StudyDate": "20200101-"}), [self.brain_study])
        self.assertEqual(self.uids("studies", {"StudyDate": "20070404-20140310"}),
                         sorted([self.chest_study, self.mr_study]))
        self.assertEqual(self.uids("studies", {"StudyDate": "19900101-19901231"}), [])

    def test_qido_uid_list(self):
        both = sorted([self.chest_study, self.mr_study])
        self.assertEqual(self.uids("studies", {"StudyInstanceUID": "\\".join(both)}), both)
        raw = "studies?StudyInstanceUID=%s%%5C%s" % tuple(both)
        self.assertEqual(self.uids(raw), both)
        uids = sorted(self.chest)[:3]
        got = self.uids("studies/%s/instances" % self.chest_study,
                        {"SOPInstanceUID": "\\".join(uids)}, tag="00080018")
        self.assertEqual(got, uids)

    def test_qido_series_of_study(self):
        rsp = self.qido_ok("studies/%s/series" % self.chest_study)
        self.assertEqual(len(rsp), 1, rsp)
        s = rsp[0]
        self.assertEqual(value(s, "0020000E"), self.chest_series)
        self.assertEqual(value(s, "00080060"), "CT")
        self.assertEqual(s["00201209"], {"vr": "IS", "Value": [64]})
        self.assertTrue(value(s, "00081190").endswith(
            "/studies/%s/series/%s" % (self.chest_study, self.chest_series)), s)

    def test_qido_all_series_by_modality(self):
        rsp = self.qido_ok("series", {"Modality": "MR"})
        got = {value(s, "0020000E"): value(s, "00201209") for s in rsp}
        self.assertEqual(got, {self.mr_series: 9, self.brain_series: len(self.brain),
                               self.emri.SeriesInstanceUID: 1})
        self.assertEqual(len(self.qido_ok("series", {"Modality": "CT"})), 1)

    def test_qido_instances_of_series(self):
        rsp = self.qido_ok("studies/%s/series/%s/instances" % (self.chest_study, self.chest_series))
        self.assertEqual(sorted(value(i, "00080018") for i in rsp), sorted(self.chest))
        self.assertEqual({value(i, "00080016") for i in rsp}, {CT_STORAGE})
        numbers = [value(i, "00200013") for i in rsp]
        self.assertTrue(all(isinstance(n, int) for n in numbers), numbers[:5])  # IS as numbers
        self.assertEqual(sorted(numbers), list(range(1, 65)))
        for i in rsp:
            self.assertTrue(value(i, "00081190").endswith("/instances/" + value(i, "00080018")))
            self.assertEqual((value(i, "00280010"), value(i, "00280011")), (512, 512))

    def test_qido_instances_of_study_and_all(self):
        rsp = self.qido_ok("studies/%s/instances" % self.mr_study)
        self.assertEqual(len(rsp), 9)
        uid = self.ts_info[self.ts_files[6]].SOPInstanceUID
        rsp = self.qido_ok("instances", {"SOPInstanceUID": uid})
        self.assertEqual([value(i, "00080018") for i in rsp], [uid])
        self.assertEqual(value(rsp[0], "0020000D"), self.mr_study)
        self.assertEqual(value(rsp[0], "0020000E"), self.mr_series)
        self.assertEqual(len(self.qido_ok("instances")), 64 + 9 + len(CHARSET_FILES) + 1 + len(self.brain))

    def test_qido_limit_offset(self):
        path = "studies/%s/instances" % self.chest_study
        pages = [self.uids(path, {"limit": 20, "offset": off}, tag="00080018")
                 for off in (0, 20, 40, 60)]
        self.assertEqual([len(p) for p in pages], [20, 20, 20, 4])
        seen = [u for p in pages for u in p]
        self.assertEqual(sorted(seen), sorted(self.chest), "pages overlap or miss instances")
        self.assertEqual(self.uids(path, {"offset": 64}), [])
        self.assertEqual(len(self.qido_ok("studies", {"limit": 2})), 2)

    def test_qido_includefield(self):
        path = "studies/%s/series/%s/instances" % (self.chest_study, self.chest_series)
        plain = self.qido_ok(path, {"limit": 1})[0]
        self.assertNotIn("00100010", plain)
        self.assertNotIn("00081030", plain)
        listed = self.qido_ok(path, {"limit": 1, "includefield": "PatientName,StudyDescription"})[0]
        self.assertEqual(value(listed, "00100010"), {"Alphabetic": "Lung_Dx-A0001"})
        self.assertEqual(value(listed, "00081030"), "Chest")
        repeated = self.qido_ok(path, [("limit", 1), ("includefield", "00100010"),
                                       ("includefield", "00081030")])[0]
        self.assertEqual((value(repeated, "00100010"), value(repeated, "00081030")),
                         (value(listed, "00100010"), value(listed, "00081030")))
        everything = self.qido_ok(path, {"limit": 1, "includefield": "all"})[0]
        self.assertTrue({"00100010", "00100020", "00081030", "00080060"} <= set(everything),
                        sorted(everything))
        r = self.client.qido(path, {"includefield": "NoSuchAttribute"})
        self.assert_json_error(r, 400, "NoSuchAttribute")

    def test_qido_fuzzy_matching(self):
        germ = header_info(self.charset["chrGerm.dcm"]).StudyInstanceUID
        fren = header_info(self.charset["chrFren.dcm"]).StudyInstanceUID
        self.assertEqual(self.uids("studies", {"PatientName": "aneas", "fuzzymatching": "true"}), [germ])
        self.assertEqual(self.uids("studies", {"PatientName": "RUDI", "fuzzymatching": "true"}), [germ])
        self.assertEqual(self.uids("studies", {"PatientName": "jerome", "fuzzymatching": "true"}), [fren])
        self.assertEqual(self.uids("studies", {"PatientName": "lung", "fuzzymatching": "true"}),
                         [self.chest_study])
        # without fuzzymatching: neither accent- nor prefix-insensitive
        self.assertEqual(self.uids("studies", {"PatientName": "aneas"}), [])
        self.assertEqual(self.uids("studies", {"PatientName": "aneas", "fuzzymatching": "false"}), [])

    def test_qido_unsupported_attribute_is_ignored_with_warning(self):
        r = self.client.qido("studies", {"PatientWeight": "70"})
        self.assertEqual(r.status, 200, r)
        warning = r.header("warning") or ""
        self.assertTrue(warning.startswith("299"), "Warning header: %r" % warning)
        self.assertIn("PatientWeight", warning)
        self.assertEqual(len(r.json()), 3 + len(CHARSET_FILES) + 1, "the key must be ignored")

    def test_qido_bad_parameters(self):
        self.assert_json_error(self.client.qido("studies", {"NoSuchKeyword": "x"}), 400, "NoSuchKeyword")
        self.assert_json_error(self.client.qido("studies", {"StudyDate": "2007ABCD-20071231"}), 400,
                               "range")
        self.assert_json_error(self.client.qido("studies", {"StudyDate": "20071231-20070101"}), 400)
        self.assert_json_error(self.client.qido("studies", {"limit": "ten"}), 400, "limit")
        self.assert_json_error(self.client.qido("studies", {"offset": "-1"}), 400, "offset")
        self.assert_json_error(self.client.qido("studies", {"fuzzymatching": "maybe"}), 400,
                               "fuzzymatching")
        r = self.client.qido("studies/%s/nonsense" % self.chest_study)
        self.assertEqual(r.status, 404, r)

    def test_qido_gzip(self):
        path = "studies/%s/instances" % self.chest_study
        plain = self.client.qido(path)
        zipped = self.client.qido(path, headers={"Accept-Encoding": "gzip"})
        self.assertEqual(zipped.status, 200, zipped)
        self.assertEqual(zipped.header("content-encoding"), "gzip")
        self.assertLess(zipped.raw_length, len(plain.body) / 3)
        self.assertEqual(zipped.json(), plain.json())
        self.assertIsNone(plain.header("content-encoding"))

    def test_cors(self):
        r = self.client.qido("studies", headers={"Origin": "http://viewer.example"})
        self.assertEqual(r.header("access-control-allow-origin"), "*")
        r = self.client.request("OPTIONS", "studies", headers={
            "Origin": "http://viewer.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("access-control-allow-origin"), "*")
        methods = r.header("access-control-allow-methods") or ""
        self.assertIn("GET", methods)
        self.assertIn("POST", methods)
        self.assertTrue(r.header("access-control-allow-headers"), r.headers)

    # ------------------------------------------------------------------ character sets
    def test_charset_patient_names_as_utf8(self):
        expected = {"SCSGERM": "Äneas^Rüdiger", "SCSFREN": "Buc^Jérôme",
                    "SCSGREEK": "Διονυσιος", "SCSRUSS": "Люкceмбypг",
                    "SCSARAB": "قباني^لنزار"}
        got = {}
        for pid in expected:
            r = self.client.qido("studies", {"PatientID": pid})
            self.assertEqual(r.status, 200, r)
            body = r.body.decode("utf-8")  # must be UTF-8
            rsp = r.json()
            self.assertEqual(len(rsp), 1, body)
            pn = value(rsp[0], "00100010") or {}
            got[pid] = pn.get("Alphabetic")
        self.assertEqual(got, expected)

    def test_charset_pn_component_groups(self):
        """PS3.18 F.2.2: a PN's '=' groups are Alphabetic, Ideographic, Phonetic."""
        r = self.qido_ok("studies", {"PatientID": "X1EXAMPLE"})
        self.assertEqual(value(r[0], "00100010"),
                         {"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小東"})
        r = self.qido_ok("studies", {"PatientID": "H31EXAMPLE"})
        self.assertEqual(value(r[0], "00100010"),
                         {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎",
                          "Phonetic": "やまだ^たろう"})

    # ------------------------------------------------------------------ WADO-RS instances
    def check_dicom_parts(self, resp, originals, ts_param=True):
        """Every part is application/dicom and byte-identical to the original file."""
        self.assertEqual(resp.status, 200, resp)
        mtype, params = dw.media_params(resp.header("content-type"))
        self.assertEqual((mtype, params.get("type")), ("multipart/related", "application/dicom"))
        parts = resp.parts()
        got = {}
        for headers, data in parts:
            ptype, pparams = part_media(headers)
            self.assertEqual(ptype, "application/dicom", headers)
            self.assertEqual(data[128:132], b"DICM")
            uid = h.read_dataset(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID
            got[uid] = data
            if ts_param and "transfer-syntax" in pparams:
                self.assertEqual(pparams["transfer-syntax"], h.file_meta(originals[uid])["ts"])
        self.assertEqual(sorted(got), sorted(originals))
        differ = [u for u, data in got.items() if data != read(originals[u])]
        self.assertEqual(differ, [], "parts not byte-identical to the stored files")

    def test_wado_study_is_streamed_and_byte_identical(self):
        r = self.client.get("studies/" + self.chest_study, accept=DICOM_ACCEPT)
        self.assertEqual(r.header("transfer-encoding"), "chunked", r.headers)
        self.check_dicom_parts(r, self.chest)

    def test_wado_series_and_instance(self):
        r = self.client.get("studies/%s/series/%s" % (self.chest_study, self.chest_series),
                            accept=DICOM_ACCEPT + "; transfer-syntax=*")
        self.check_dicom_parts(r, self.chest)
        uid, path = self.chest_instance(5)
        self.check_dicom_parts(self.client.get(path, accept=DICOM_ACCEPT), {uid: self.chest[uid]})
        # no Accept at all: the default is multipart/related; type="application/dicom"
        self.check_dicom_parts(self.client.get(path), {uid: self.chest[uid]})

    def test_wado_every_stored_syntax_as_is(self):
        originals = {self.ts_info[p].SOPInstanceUID: p for p in self.ts_files}
        r = self.client.get("studies/%s/series/%s" % (self.mr_study, self.mr_series),
                            accept=DICOM_ACCEPT + "; transfer-syntax=*")
        self.check_dicom_parts(r, originals)

    def test_wado_transcodes_compressed_to_explicit_le(self):
        reference = bytes(h.read_dataset(self.ts_files[0]).PixelData)
        problems = []
        for p in self.ts_files[3:]:  # RLE, JPEG lossless x2, JPEG-LS x2, J2K
            try:
                r = self.client.get(self.mr_instance(p),
                                    accept=DICOM_ACCEPT + "; transfer-syntax=" + EXPLICIT)
            except dw.TruncatedAnswer as e:
                problems.append("%s: %s" % (os.path.basename(p), e))
                continue
            if r.status != 200:
                problems.append("%s: %r" % (os.path.basename(p), r))
                continue
            parts = r.parts()
            ds = h.read_dataset(io.BytesIO(parts[0][1]))
            ptype, pparams = part_media(parts[0][0])
            if (len(parts), ptype, pparams.get("transfer-syntax")) != (1, "application/dicom", EXPLICIT):
                problems.append("%s: parts %s" % (os.path.basename(p), [x[0] for x in parts]))
            if ds.file_meta.TransferSyntaxUID != EXPLICIT:
                problems.append("%s: meta says %s" % (os.path.basename(p), ds.file_meta.TransferSyntaxUID))
            if ds.SOPInstanceUID != self.ts_info[p].SOPInstanceUID:
                problems.append("%s: SOP Instance UID changed" % os.path.basename(p))
            if bytes(ds.PixelData) != reference:
                problems.append("%s: decoded pixels differ from 1.dcm" % os.path.basename(p))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_wado_unsupported_syntax_is_406(self):
        _, path = self.chest_instance(0)
        r = self.client.get(path, accept=DICOM_ACCEPT + "; transfer-syntax=1.2.840.10008.1.2.4.50")
        self.assert_json_error(r, 406)
        r = self.client.get("studies/" + self.chest_study, accept="text/html")
        self.assert_json_error(r, 406)

    def test_wado_unknown_and_malformed(self):
        self.assert_json_error(self.client.get("studies/2.25.1", accept=DICOM_ACCEPT), 404, "2.25.1")
        self.assert_json_error(self.client.get("studies/2.25.1/metadata"), 404)
        self.assert_json_error(self.client.get("studies/%s/series/2.25.2" % self.chest_study), 404)
        self.assert_json_error(self.client.get("studies/%s/series/%s/instances/2.25.3"
                                               % (self.chest_study, self.chest_series)), 404)
        self.assert_json_error(self.client.get("studies/%s/series/%s/instances/2.25.3/frames/1"
                                               % (self.chest_study, self.chest_series),
                                               accept=OCTET_ACCEPT), 404)
        self.assert_json_error(self.client.get("studies/1.2.abc"), 400, "1.2.abc")
        self.assert_json_error(self.client.get("studies/%s/series/x.y" % self.chest_study), 400)

    # ------------------------------------------------------------------ metadata / bulk
    def fetch_bulk(self, uri):
        url = urllib.parse.urljoin(self.client.url("/dicom-web/"), uri)
        r = self.client.get(urllib.parse.urlsplit(url).path, accept="multipart/related; "
                            'type="application/octet-stream"')
        self.assertEqual(r.status, 200, r)
        if r.header("content-type", "").startswith("multipart/"):
            parts = r.parts()
            self.assertEqual(len(parts), 1, [p[0] for p in parts])
            return parts[0][1]
        return r.body

    def test_metadata_levels(self):
        study = self.client.get("studies/%s/metadata" % self.chest_study)
        self.assertEqual(study.status, 200, study)
        self.assertTrue(study.header("content-type", "").startswith("application/dicom+json"))
        study = study.json()
        self.assertEqual(sorted(value(o, "00080018") for o in study), sorted(self.chest))
        series = self.client.get("studies/%s/series/%s/metadata" % (self.chest_study, self.chest_series))
        self.assertEqual(len(series.json()), 64)
        uid, path = self.chest_instance(3)
        inst = self.client.get(path + "/metadata").json()
        self.assertEqual(len(inst), 1)
        o = inst[0]
        self.assertEqual(value(o, "00080018"), uid)
        self.assertEqual(value(o, "00100010"), {"Alphabetic": "Lung_Dx-A0001"})
        self.assertEqual((value(o, "00280010"), value(o, "00280011")), (512, 512))
        pixel = o.get("7FE00010", {})
        self.assertNotIn("Value", pixel)
        self.assertNotIn("InlineBinary", pixel)
        uri = pixel.get("BulkDataURI", "")
        self.assertTrue(uri.endswith("/bulk/7FE00010") and uid in uri, pixel)
        self.assertEqual(self.fetch_bulk(uri), bytes(h.read_dataset(self.chest[uid]).PixelData))

    def test_metadata_values_and_large_binary_bulk(self):
        p = self.ts_files[0]
        ds = h.read_dataset(p)
        o = self.client.get(self.mr_instance(p) + "/metadata").json()[0]
        self.assertEqual(value(o, "00100020"), ds.PatientID)
        self.assertEqual(value(o, "00080020"), ds.StudyDate)
        self.assertEqual(value(o, "0008103E"), ds.SeriesDescription)
        self.assertEqual(value(o, "00280100"), 16)
        self.assertEqual(o["00280010"]["vr"], "US")
        for tag in ("00291010", "00291020"):  # Siemens CSA headers, OB, 10932 / 74352 bytes
            attr = o.get(tag, {})
            self.assertIn("BulkDataURI", attr, (tag, attr))
            self.assertTrue(attr["BulkDataURI"].endswith("/bulk/" + tag), attr)
            want = bytes(ds[int(tag, 16)].value)
            self.assertEqual(self.fetch_bulk(attr["BulkDataURI"]), want, tag)

    def test_bulk_pixel_data_native(self):
        uid, path = self.chest_instance(7)
        self.assertEqual(self.fetch_bulk(path + "/bulk/7FE00010"),
                         bytes(h.read_dataset(self.chest[uid]).PixelData))
        self.assert_json_error(self.client.get(path + "/bulk/00291010"), 404)  # absent
        self.assert_json_error(self.client.get(path + "/bulk/zz"), 400)

    def test_bulk_of_a_non_binary_element_is_a_client_error(self):
        """PatientName or a sequence is no bulk data value: 400 or 404. (415 Unsupported
        Media Type is about a request body, and a GET has none.)"""
        _, path = self.chest_instance(7)
        for tag in ("00100010", "00081110"):
            r = self.client.get(path + "/bulk/" + tag)
            self.assertIn(r.status, (400, 404), r)
            self.assert_json_error(r, r.status)

    # ------------------------------------------------------------------ frames
    def test_frames_decoded_identical_for_all_nine_encodings(self):
        reference = native_frames(self.ts_files[0])[0]
        problems = []
        for p in self.ts_files:
            r = self.client.get(self.mr_instance(p) + "/frames/1", accept=OCTET_ACCEPT)
            if r.status != 200:
                problems.append("%s: %r" % (os.path.basename(p), r))
                continue
            parts = r.parts()
            ptype, pparams = part_media(parts[0][0])
            if (len(parts), ptype, pparams.get("transfer-syntax")) != (
                    1, "application/octet-stream", EXPLICIT):
                problems.append("%s: parts %s" % (os.path.basename(p), [x[0] for x in parts]))
            if parts[0][1] != reference:
                problems.append("%s: decoded frame differs from 1.dcm (%d vs %d bytes)"
                                % (os.path.basename(p), len(parts[0][1]), len(reference)))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_frames_in_stored_syntax_have_the_right_media_types(self):
        problems = []
        for p in self.ts_files:
            ts = h.file_meta(p)["ts"]
            r = self.client.get(self.mr_instance(p) + "/frames/1", accept=STORED_ACCEPT)
            if r.status != 200:
                problems.append("%s: %r" % (os.path.basename(p), r))
                continue
            parts = r.parts()
            ptype, pparams = part_media(parts[0][0])
            if ts in FRAME_MEDIA:
                if ptype not in FRAME_MEDIA[ts] or pparams.get("transfer-syntax") != ts:
                    problems.append("%s (%s): part type %r" % (os.path.basename(p), ts,
                                                               parts[0][0].get("content-type")))
                want = frame_bitstreams(p)[0]
                got = parts[0][1]
                if got != want and not (want.endswith(b"\0") and got == want[:-1]):
                    problems.append("%s: bitstream differs from the stored fragments" % os.path.basename(p))
            else:  # native: served as uncompressed bytes
                if ptype != "application/octet-stream":
                    problems.append("%s (%s): part type %r" % (os.path.basename(p), ts,
                                                               parts[0][0].get("content-type")))
                if parts[0][1] != native_frames(self.ts_files[0])[0]:
                    problems.append("%s: native frame differs" % os.path.basename(p))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_frames_multiframe_lists_and_bounds(self):
        path = self.emri_instance() + "/frames/"
        reference = native_frames(EMRI_NATIVE)
        r = self.client.get(path + "1,2", accept=OCTET_ACCEPT)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([d for _, d in r.parts()], reference[:2])
        r = self.client.get(path + "10,3", accept=OCTET_ACCEPT)
        self.assertEqual([d for _, d in r.parts()], [reference[9], reference[2]])
        r = self.client.get(path + "2", accept=STORED_ACCEPT)
        self.assertEqual(r.status, 200, r)
        headers, data = r.parts()[0]
        self.assertEqual(part_media(headers), ("image/jls", {"transfer-syntax": "1.2.840.10008.1.2.4.80"}))
        self.assertEqual(data.rstrip(b"\0"), frame_bitstreams(EMRI_JLS)[1].rstrip(b"\0"))
        # bare application/octet-stream (no multipart wrapper requested): decoded pixels
        r = self.client.get(path + "4", accept="application/octet-stream")
        self.assertEqual(r.status, 200, r)
        data = r.parts()[0][1] if r.header("content-type", "").startswith("multipart/") else r.body
        self.assertEqual(data, reference[3])
        self.assert_json_error(self.client.get(path + "11", accept=OCTET_ACCEPT), 404)
        self.assert_json_error(self.client.get(path + "1,11", accept=OCTET_ACCEPT), 404)
        self.assert_json_error(self.client.get(path + "0", accept=OCTET_ACCEPT), 400)
        self.assert_json_error(self.client.get(path + "x", accept=OCTET_ACCEPT), 400)

    # ------------------------------------------------------------------ rendered / thumbnail
    def test_rendered_instance(self):
        _, path = self.chest_instance(30)
        jpeg = self.client.get(path + "/rendered", accept="image/jpeg")
        self.assertEqual(jpeg.status, 200, jpeg)
        self.assertEqual(jpeg.header("content-type"), "image/jpeg")
        self.assertEqual(jpeg.body[:3], b"\xff\xd8\xff")
        png = self.client.get(path + "/rendered", accept="image/png")
        self.assertEqual(png.header("content-type"), "image/png", png)
        self.assertEqual(png_size(png.body), (512, 512))
        small = self.client.get(path + "/rendered", accept="image/png", query={"viewport": "64,64"})
        self.assertEqual(png_size(small.body), (64, 64))
        lung = self.client.get(path + "/rendered", accept="image/png", query={"window": "-600,1500"})
        soft = self.client.get(path + "/rendered", accept="image/png", query={"window": "40,400"})
        self.assertEqual((lung.status, soft.status), (200, 200))
        self.assertNotEqual(lung.body, soft.body, "window has no effect")
        q10 = self.client.get(path + "/rendered", accept="image/jpeg", query={"quality": "10"})
        q95 = self.client.get(path + "/rendered", accept="image/jpeg", query={"quality": "95"})
        self.assertLess(len(q10.body), len(q95.body), "quality has no effect")
        self.assert_json_error(self.client.get(path + "/rendered", accept="image/png",
                                               query={"window": "abc"}), 400, "window")
        self.assert_json_error(self.client.get(path + "/rendered", query={"viewport": "0,0"}), 400)

    def test_rendered_and_thumbnail_at_every_level(self):
        _, inst = self.chest_instance(10)
        series = "studies/%s/series/%s" % (self.chest_study, self.chest_series)
        urls = [inst + "/rendered", inst + "/frames/1/rendered", series + "/rendered",
                "studies/%s/rendered" % self.chest_study,
                inst + "/thumbnail", inst + "/frames/1/thumbnail", series + "/thumbnail",
                "studies/%s/thumbnail" % self.chest_study,
                self.emri_instance() + "/frames/7/rendered"]
        problems = []
        for u in urls:
            r = self.client.get(u, accept="image/png")
            if r.status != 200 or r.header("content-type") != "image/png":
                problems.append("%s: %r" % (u, r))
                continue
            w, hgt = png_size(r.body)
            if not (0 < w <= 512 and 0 < hgt <= 512):
                problems.append("%s: %dx%d" % (u, w, hgt))
        thumb = self.client.get(inst + "/thumbnail", accept="image/jpeg")
        if thumb.body[:3] != b"\xff\xd8\xff":
            problems.append("thumbnail as image/jpeg: %r" % thumb)
        self.assertEqual(problems, [], "\n".join(problems))

    # ------------------------------------------------------------------ keep-alive
    def test_keep_alive(self):
        c = dw.Client(self.srv.http_port)
        self.addCleanup(c.close)
        uid, inst = self.chest_instance(1)
        statuses = [
            c.qido("studies").status,
            c.get("studies/%s/metadata" % self.mr_study).status,
            c.get(inst, accept=DICOM_ACCEPT).status,           # chunked multipart
            c.get("studies/2.25.99").status,                    # an error answer
            c.qido("studies", {"NoSuchKeyword": "1"}).status,
            c.stow_files([self.chest[uid]]).status,             # STOW, already stored
            c.request("OPTIONS", "studies").status,
            c.request("GET", "/api/v1/stats").status,
            c.qido("series", {"Modality": "CT"}).status,
        ]
        self.assertEqual(statuses, [200, 200, 200, 404, 400, 200, 204, 200, 200])
        self.assertEqual(c.connects, 1, "the server closed the keep-alive connection")

    # ------------------------------------------------------------------ cross-protocol
    def test_stow_then_cfind_then_cget_byte_identical(self):
        rsp = h.findscu(self.srv.dicom_port, "IMAGE",
                        [("StudyInstanceUID", self.mr_study), ("SeriesInstanceUID", self.mr_series),
                         ("SOPInstanceUID", "")])
        self.assertEqual(sorted(r["SOPInstanceUID"] for r in rsp),
                         sorted(self.ts_info[p].SOPInstanceUID for p in self.ts_files))
        problems = []
        for p in self.ts_files:
            ts = h.file_meta(p)["ts"]
            if ts == IMPLICIT:  # getscu (DCMTK 3.6.7) cannot propose implicit VR first
                continue
            uid = self.ts_info[p].SOPInstanceUID
            out = self.tmpdir()
            proc = h.getscu(self.srv.dicom_port, out, "IMAGE",
                            [("StudyInstanceUID", self.mr_study),
                             ("SeriesInstanceUID", self.mr_series), ("SOPInstanceUID", uid)],
                            prefer=GETSCU_PREFER[ts])
            got = h.received_files(out)
            if len(got) != 1:
                problems.append("%s: getscu got %d files\n%s" % (os.path.basename(p), len(got),
                                                                 proc.stdout[-1500:]))
                continue
            meta, data = h.split_part10(got[0])
            posted_meta, posted = h.split_part10(p)
            if meta["ts"] != posted_meta["ts"] or data != posted:
                problems.append("%s: C-GET dataset differs from the STOW-RS body (%s -> %s)"
                                % (os.path.basename(p), posted_meta["ts"], meta["ts"]))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_cstore_then_wado_byte_identical(self):
        r = self.client.get("studies/%s/series/%s" % (self.brain_study, self.brain_series),
                            accept=DICOM_ACCEPT)
        self.assertEqual(r.status, 200, r)
        got = {}
        for _, data in r.parts():
            path = os.path.join(self.tmpdir(), "part.dcm")
            with open(path, "wb") as f:
                f.write(data)
            meta, ds = h.split_part10(path)
            got[meta["sop_uid"]] = (meta["ts"], ds)
        self.assertEqual(sorted(got), sorted(self.brain_reference))
        differ = []
        for uid, ref in self.brain_reference.items():
            ref_meta, ref_ds = h.split_part10(ref)
            if got[uid] != (ref_meta["ts"], ref_ds):
                differ.append(uid)
        self.assertEqual(differ, [], "WADO-RS datasets differ from what storescp received")


# =========================================================================================
class StowBadInputTests(DicomWebBase):
    """Malformed STOW-RS requests and bad parameters on a server that already holds five
    chest slices: clear statuses and JSON messages, and nothing stored is lost."""

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_class(h.RadflowServer())
        cls.client = dw.Client(cls.srv.http_port)
        cls.addClassCleanup(cls.client.close)
        cls.files = h.dicom_files(CHEST)[:5]
        first = header_info(cls.files[0])
        cls.study, cls.series = first.StudyInstanceUID, first.SeriesInstanceUID
        r = cls.client.stow_files(cls.files)
        if r.status != 200:
            raise AssertionError("initial STOW-RS failed: %r" % r)
        cls.mr = os.path.join(TS_MR, "1.dcm")

    def setUp(self):
        super().setUp()
        self.before = self.srv.stats()

    def tearDown(self):
        try:
            self.assertTrue(self.srv.alive(), "server died")
            st = self.srv.stats()
            for k in ("patients", "studies", "series", "instances"):
                self.assertGreaterEqual(st[k], self.before[k], "stored objects lost: %s" % st)
            have = self.uids("studies/%s/instances" % self.study, tag="00080018")
            for p in self.files:
                self.assertIn(h.file_meta(p)["sop_uid"], have, "a stored instance went missing")
        finally:
            super().tearDown()

    def new_instance(self, k=0):
        """(uid, bytes) of a new slice of the stored chest study."""
        uid = h.new_uid()
        return uid, variant(self.files[k], SOPInstanceUID=uid)

    def found(self, uid):
        return [value(o, "00080018") for o in self.qido_ok("instances", {"SOPInstanceUID": uid})] == [uid]

    def assert_stats_delta(self, instances):
        st = self.srv.stats()
        self.assertEqual(st["instances"], self.before["instances"] + instances, st)

    def post(self, body, content_type, study=None):
        return self.client.request("POST", "studies" + ("/" + study if study else ""), body=body,
                                   headers={"Content-Type": content_type})

    # --------------------------------------------------------------- request level
    def test_wrong_content_type_is_415(self):
        body = read(self.files[0])
        self.assert_json_error(self.post(body, "application/dicom"), 415, "multipart/related")
        self.assert_json_error(self.post(body, "application/json"), 415)
        b = dw.new_boundary()
        self.assert_json_error(self.post(dw.multipart_body(b, [body]),
                                         'multipart/related; type="application/json"; boundary=' + b), 415)
        self.assert_stats_delta(0)

    def test_no_boundary_is_400(self):
        b = dw.new_boundary()
        r = self.post(dw.multipart_body(b, [read(self.files[0])]),
                      'multipart/related; type="application/dicom"')
        self.assert_json_error(r, 400, "boundary")
        self.assert_stats_delta(0)

    def test_boundary_not_in_body_is_400(self):
        uid, data = self.new_instance()
        body = dw.multipart_body("the-real-one", [data])
        r = self.post(body, dw.stow_content_type("another-one"))
        self.assert_json_error(r, 400)
        self.assertFalse(self.found(uid))
        self.assert_stats_delta(0)

    def test_missing_close_delimiter_is_400_and_earlier_parts_stay(self):
        uid1, data1 = self.new_instance(1)
        uid2, data2 = self.new_instance(2)
        b = dw.new_boundary()
        body = dw.part_bytes(b, data1) + dw.part_bytes(b, data2)[:len(data2) // 2]
        r = self.post(body, dw.stow_content_type(b))
        self.assert_json_error(r, 400, "multipart")
        self.assertTrue(self.found(uid1), "the complete first part was not kept")
        self.assertFalse(self.found(uid2), "the truncated part was stored")
        self.assert_stats_delta(1)
        # the same with a complete last part but no close delimiter
        uid3, data3 = self.new_instance(3)
        r = self.post(dw.part_bytes(b, data3), dw.stow_content_type(b))
        self.assert_json_error(r, 400)
        self.assertFalse(self.found(uid3))

    def test_body_without_parts_is_400(self):
        b = dw.new_boundary()
        self.assert_json_error(self.post(dw.close_delimiter(b), dw.stow_content_type(b)), 400)
        self.assert_json_error(self.post(b"", dw.stow_content_type(b)), 400)
        self.assert_stats_delta(0)

    def test_malformed_study_uid_in_path_is_400(self):
        uid, data = self.new_instance()
        r = self.client.stow([data], study="not-a-uid")
        self.assert_json_error(r, 400, "not-a-uid")
        self.assertFalse(self.found(uid))

    # --------------------------------------------------------------- part level
    def test_non_dicom_part_fails_others_stored_202(self):
        uid, data = self.new_instance()
        r = self.client.stow([data, b"this is not a DICOM file at all" * 10])
        self.assertEqual(r.status, 202, r)
        body = r.json()
        self.assertEqual([value(i, "00081155") for i in seq_items(body, "00081199")], [uid])
        failed = seq_items(body, "00081198")
        self.assertEqual(len(failed), 1, body)
        self.assertTrue(value(failed[0], "00081197"), "no FailureReason: %s" % failed)
        self.assertTrue(self.found(uid))
        self.assert_stats_delta(1)

    def test_only_bad_parts_is_409(self):
        r = self.client.stow([b"\0" * 200, (read(self.files[0]), "text/plain")])
        self.assertEqual(r.status, 409, r)
        failed = seq_items(r.json(), "00081198")
        self.assertEqual(len(failed), 2, r)
        self.assertTrue(all(value(f, "00081197") for f in failed), failed)
        self.assertNotIn("00081199", r.json())
        self.assert_stats_delta(0)

    def test_truncated_dicom_part_fails(self):
        uid, data = self.new_instance()
        r = self.client.stow([data[:len(data) // 3]])
        self.assertEqual(r.status, 409, r)
        self.assertTrue(value(seq_items(r.json(), "00081198")[0], "00081197"))
        self.assertFalse(self.found(uid))
        self.assert_stats_delta(0)

    def test_instance_of_another_study_is_refused(self):
        mr_uid = header_info(self.mr).SOPInstanceUID
        r = self.client.stow([read(self.mr)], study=self.study)
        self.assertEqual(r.status, 409, r)
        failed = seq_items(r.json(), "00081198")
        self.assertEqual(len(failed), 1, r)
        self.assertEqual(value(failed[0], "00081197"), FAILURE_STUDY_MISMATCH)
        self.assertFalse(self.found(mr_uid), "an instance of another study was stored")
        self.assert_stats_delta(0)

    def test_failed_item_names_the_instance(self):
        """PS3.18 Table 10.5.3-3: a Failed SOP Sequence item carries the Referenced SOP
        Class and Instance UIDs whenever they could be read from the part."""
        ds = header_info(self.mr)
        r = self.client.stow([read(self.mr)], study=self.study)
        self.assertEqual(r.status, 409, r)
        item = seq_items(r.json(), "00081198")[0]
        self.assertEqual((value(item, "00081150"), value(item, "00081155")),
                         (ds.SOPClassUID, ds.SOPInstanceUID), item)
        self.assert_stats_delta(0)

    def test_mixed_study_mismatch_is_202(self):
        uid, data = self.new_instance(4)
        other = variant(self.mr, StudyInstanceUID=h.new_uid())
        other_uid = h.read_dataset(io.BytesIO(other), True).SOPInstanceUID
        r = self.client.stow([data, other], study=self.study)
        self.assertEqual(r.status, 202, r)
        body = r.json()
        self.assertEqual([value(i, "00081155") for i in seq_items(body, "00081199")], [uid])
        failed = seq_items(body, "00081198")
        self.assertEqual([value(f, "00081197") for f in failed], [FAILURE_STUDY_MISMATCH])
        self.assertTrue(self.found(uid))
        self.assertFalse(self.found(other_uid))
        self.assert_stats_delta(1)

    # --------------------------------------------------------------- retrieve / search
    def test_unknown_study_and_bad_query(self):
        self.assert_json_error(self.client.get("studies/2.25.12345"), 404, "2.25.12345")
        self.assert_json_error(self.client.get("studies/1.2.3.x"), 400)
        self.assert_json_error(self.client.get("studies/" + "1." * 70 + "1"), 400)  # > 128 chars
        self.assert_json_error(self.client.qido("studies", {"Bogus": "1"}), 400, "Bogus")
        self.assert_json_error(self.client.qido("series", {"SeriesDate": "2020-01-01"}), 400)
        self.assert_json_error(self.client.qido("instances", {"limit": "1.5"}), 400)
        self.assert_stats_delta(0)


# =========================================================================================
class LargeStowTests(DicomWebBase):
    """300 chest slices (≈160 MB) in one STOW-RS request, streamed by the client with
    chunked transfer encoding: the server must not hold the body (peak RSS < 100 MB), and
    retrieving them all back is streamed too."""
    COUNT = 300

    def generate(self, study, series, digests):
        templates = [h.read_dataset(p) for p in h.dicom_files(CHEST)]
        for i in range(self.COUNT):
            ds = templates[i % len(templates)]
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.SOPInstanceUID = h.new_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.InstanceNumber = i + 1
            out = io.BytesIO()
            pydicom.dcmwrite(out, ds, write_like_original=True)
            data = out.getvalue()
            digests[ds.SOPInstanceUID] = hashlib.sha1(data).hexdigest()
            self.total += len(data)
            yield data

    def test_large_streamed_stow_and_retrieve(self):
        srv = self.start(h.RadflowServer())
        self.client = dw.Client(srv.http_port)
        self.addCleanup(self.client.close)
        study, series = h.new_uid(), h.new_uid()
        digests = {}
        self.total = 0
        t0 = time.time()
        r = dw.stow_streamed(srv.http_port, self.generate(study, series, digests))
        stow_s = time.time() - t0
        self.assertEqual(r.status, 200, r)
        self.assertGreater(self.total, 150e6)
        items = seq_items(r.json(), "00081199")
        self.assertEqual(sorted(value(i, "00081155") for i in items), sorted(digests))
        peak_stow = srv.peak_rss_kb()
        self.assertEqual(srv.stats()["instances"], self.COUNT)
        rsp = self.qido_ok("studies/%s/series" % study)
        self.assertEqual([value(s, "00201209") for s in rsp], [self.COUNT])

        # WADO-RS of the whole study, read part by part
        t0 = time.time()
        stream = dw.stream_multipart_parts(srv.http_port, "studies/" + study, DICOM_ACCEPT)
        _, (status, headers) = next(stream)
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        got, size = {}, 0
        for _, data in stream:
            size += len(data)
            digest = hashlib.sha1(data).hexdigest()
            got[digest] = got.get(digest, 0) + 1
        wado_s = time.time() - t0
        self.assertEqual(sorted(got), sorted(digests.values()), "retrieved parts differ")
        self.assertEqual(size, self.total)
        peak = srv.peak_rss_kb()
        sys.stderr.write("\n[large STOW] %.0f MB: STOW %.1fs, WADO %.1fs, server peak RSS "
                         "%d MB after STOW, %d MB after WADO\n"
                         % (self.total / 1e6, stow_s, wado_s, peak_stow // 1024, peak // 1024))
        self.assertLess(peak_stow, PEAK_RSS_LIMIT_KB, "STOW-RS body held in memory?")
        self.assertLess(peak, PEAK_RSS_LIMIT_KB, "WADO-RS answer held in memory?")


if __name__ == "__main__":
    unittest.main()
