"""`radflow deid` (PS3.15 Annex E) on every DICOM file of ../shared/data (docs/deidentification.md).

The whole tree is de-identified twice: with the Basic Profile alone and with every option but
Clean Pixel Data (retain-dates, retain-patient-chars, retain-device, clean-descriptors,
clean-structured, clean-graphics). Checked on every written output:
  (a) no original value of an attribute the profile removes or replaces (X, Z, D, U after the
      run's options) is the value of any attribute of the output, unless the same value is
      also that of an attribute the profile keeps in the input (e.g. StudyID "1" and
      InstanceNumber "1");
  (b) no original PatientName (whole, and each component of 4+ characters), PatientID,
      PatientBirthDate (DA and YYYY-MM-DD) or AccessionNumber is anywhere in the output bytes.
      Not searched: values under 4 characters, and digit-only values under 8 digits (they
      occur by chance inside the 39-digit UIDs radflow writes); a hit is allowed only where the
      same bytes are also in a value the profile keeps (e.g. SeriesNumber 123456 equal to
      PatientID 123456) or a term radflow writes itself (LongitudinalTemporalInformationModified
      REMOVED equal to a PatientName REMOVED); allowed hits are counted and printed;
  (c) dciodvfy on a sample of both runs (DCIODVFY_SAMPLE files: the first two files of every
      folder that holds DICOM, sorted by path): no error in an output that its input does not
      have (errors compared with their values stripped);
  (d) every reference of a SEG, SR or RTSTRUCT (ReferencedSOPInstanceUID at any depth,
      SeriesInstanceUID in ReferencedSeriesSequence, FrameOfReferenceUID and
      ReferencedFrameOfReferenceUID) that resolved to an input object resolves to an output
      object.
Files radflow rejects as malformed are counted, and each must also be unreadable to
dcmdump or to pydicom (so only genuinely malformed input is skipped); DICOMDIRs are skipped
with their reason (a new one is built over the outputs).
(e) burned-in text: a bitmap-font text drawn into real CT and MR frames is masked by
    --options clean-pixels (every glyph pixel set to the frame minimum, pixels away from the
    text unchanged), and a second clean-pixels run on the output finds no text; the nine
    transfer syntaxes of one MR image come out as Explicit VR Little Endian with the pixels of
    the uncompressed original.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.datadict import keyword_for_tag

warnings.filterwarnings("ignore")

REPO = Path(__file__).resolve().parents[2]
RADFLOW_BIN = os.environ.get("RADFLOW_BIN", str(REPO / "build" / "radflow"))
DATA_ROOT = Path(os.environ.get("RADFLOW_DATA", str(REPO.parent / "shared" / "data")))
PROFILE_TSV = REPO / "src" / "deid" / "confidentiality_profile.tsv"
ALL_OPTIONS = ("retain-dates,retain-patient-chars,retain-device,clean-descriptors,"
               "clean-structured,clean-graphics")
DCIODVFY_SAMPLE = 2  # files per folder
# Values radflow writes itself (dummies, defined terms, the method's text and codes).
RADFLOW_TERMS = ["ANONYMIZED", "ANONYMOUS", "REMOVED", "MODIFIED", "YES", "NO", "19000101", "0",
                 "000000", "radflow PS3.15 E Basic Profile", "Basic Application Confidentiality Profile",
                 "Retain Safe Private Option", "Clean Descriptors Option", "Clean Structured Content Option",
                 "Clean Graphics Option", "Clean Pixel Data Option", "Retain Device Identity Option",
                 "Retain Patient Characteristics Option", *ALL_OPTIONS.split(","),
                 "Retain Longitudinal Temporal Information Modified Dates Option"]

OPTION_COLUMNS = {"safe_private": None, "uids": None, "device": "retain-device",
                  "institution": None, "patient_chars": "retain-patient-chars", "long_full": None,
                  "long_modified": "retain-dates", "clean_desc": "clean-descriptors",
                  "clean_struct": "clean-structured", "clean_graph": "clean-graphics"}


def load_profile():
    rows = {}
    header = None
    for line in PROFILE_TSV.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        f = line.split("\t")
        if header is None:
            header = f
            continue
        rows[f[0]] = dict(zip(header, f))
    return rows


PROFILE = load_profile()


def resolve(row, options):
    """The action of a Table E.1-1 row under the options (as profile_table.cpp resolves it)."""
    chosen = None
    for col, opt in OPTION_COLUMNS.items():
        code = row.get(col, "")
        if not code or (opt is None and col != "safe_private") or (opt and opt not in options):
            continue
        if code == "K":
            return "K"
        chosen = chosen or code
    if chosen:
        return chosen
    b = row["basic"]
    if b in ("U", "K", "C"):
        return b
    if "D" in b:
        return "D"
    if "U*" in b:
        return "K"
    if "Z" in b:
        return "Z"
    return "X"


def row_for(tag):
    g, e = tag >> 16, tag & 0xFFFF
    key = "(%04X,%04X)" % (g, e)
    if key in PROFILE:
        return PROFILE[key]
    if g % 2 == 0 and (g & 0xFF00) == 0x6000:
        return PROFILE.get("(60XX,%04X)" % e)
    if g % 2 == 0 and (g & 0xFF00) == 0x5000:
        return PROFILE.get("(50XX,XXXX)")
    return None


def values_of(elem):
    if elem.VR in ("SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN") or elem.value is None:
        return []
    v = elem.value
    items = list(v) if isinstance(v, (list, tuple, pydicom.multival.MultiValue)) else [v]
    out = []
    for x in items:
        s = str(x).strip()
        if s:
            out.append(s)
    return out


def walk(ds):
    for elem in ds:
        yield elem
        if elem.VR == "SQ" and elem.value:
            for item in elem.value:
                yield from walk(item)


def read(path, pixels=False):
    return pydicom.dcmread(str(path), force=True, stop_before_pixels=not pixels)


def radflow_deid(*args, timeout=600):
    return subprocess.run([RADFLOW_BIN, "deid", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def is_digits(s):
    return s.isdigit()


def identifiers(ds):
    """PatientName (whole and components), PatientID, birth date forms, accession."""
    out = set()
    name = ds.get("PatientName")
    if name is not None and str(name):
        s = str(name)
        out.add(s)
        out.update(c for c in re.split(r"[\^= ]", s) if len(c) >= 4)
    for kw in ("PatientID", "AccessionNumber"):
        v = ds.get(kw)
        if v is not None and str(v).strip():
            out.add(str(v).strip())
    bd = ds.get("PatientBirthDate")
    if bd and len(str(bd)) == 8:
        s = str(bd)
        out.update({s, "%s-%s-%s" % (s[:4], s[4:6], s[6:])})
    return {i for i in out if len(i) >= 4 and not (is_digits(i) and len(i) < 8)}


# 5x7 bitmap glyphs for the burned-in text (drawn here, no font library needed).
GLYPHS = {
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    "D": ["11110", "10001", "10001", "10001", "10001", "10001", "11110"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "H": ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
    "I": ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
    "J": ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "N": ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
    "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
    " ": ["00000"] * 7,
}
TEXT_LINES = ["JOHN SMITH", "19500101"]
SCALE = 3


def draw_text(frame, value, x0=16, y0=16):
    """Draws TEXT_LINES into frame (2-D array) at value; returns the glyph-pixel mask."""
    mask = np.zeros(frame.shape, dtype=bool)
    for li, line in enumerate(TEXT_LINES):
        for ci, ch in enumerate(line):
            for r, bits in enumerate(GLYPHS[ch]):
                for c, bit in enumerate(bits):
                    if bit == "1":
                        y = y0 + li * 12 * SCALE + r * SCALE
                        x = x0 + ci * 6 * SCALE + c * SCALE
                        mask[y:y + SCALE, x:x + SCALE] = True
    frame[mask] = value
    return mask


def dciodvfy_errors(path):
    r = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True, timeout=60)
    errors = set()
    for line in (r.stdout + r.stderr).splitlines():
        if line.startswith("Error"):
            errors.add(re.sub(r"=\s*<[^>]*>", "= <>", re.sub(r"\[\d+\]", "", line)).strip())
    return errors


class DeidAcceptanceTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore")  # pydicom's VR warnings on the edge-case inputs
        cls.tmp = tempfile.TemporaryDirectory()
        t = Path(cls.tmp.name)
        cls.secret = t / "secret"
        cls.secret.write_bytes(os.urandom(32))
        cls.runs = {}
        for name, options in (("basic", ""), ("options", ALL_OPTIONS)):
            out, report = t / name, t / (name + ".json")
            args = [DATA_ROOT, out, "--secret-file", cls.secret, "--report", report]
            if options:
                args += ["--options", options]
            r = radflow_deid(*args)
            cls.runs[name] = (options, r, json.loads(report.read_text()) if report.exists() else None)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def written(self, run):
        return [f for f in self.runs[run][2]["files"] if f["status"] == "written"]

    def test_whole_tree_is_processed_and_only_malformed_files_fail(self):
        for run, (options, r, report) in self.runs.items():
            self.assertIsNotNone(report, r.stderr)
            self.assertIn("written", r.stdout)
            self.assertGreater(report["written"], 600, run)
            # Only DICOMDIRs are skipped (rebuilt from the outputs instead; no object of the
            # data set has BurnedInAnnotation YES or an encapsulated document).
            skipped = [f for f in report["files"] if f["status"] == "skipped"]
            self.assertTrue(all(f["reason"].startswith("DICOMDIR") for f in skipped), skipped)
            failed = [f for f in report["files"] if f["status"] == "failed"]
            self.assertEqual(r.returncode, 1 if failed else 0)
            for f in failed:
                self.assertIn("InvalidDicom", f["reason"], f)
                dump = subprocess.run(["dcmdump", "-q", f["in"]], capture_output=True, timeout=60)
                try:
                    pydicom.dcmread(f["in"])
                    pydicom_ok = True
                except Exception:  # noqa: BLE001 - any failure means unreadable
                    pydicom_ok = False
                self.assertTrue(dump.returncode != 0 or not pydicom_ok, "rejected but readable: %s" % f)
            print("%s: %d written, %d not DICOM, %d malformed rejected" %
                  (run, report["written"], report["not_dicom"], len(failed)), file=sys.stderr)
            for f in report["files"]:
                if f["status"] == "not-dicom" and f["in"].lower().endswith(".dcm"):
                    with self.assertRaises(Exception, msg=f["in"]):
                        pydicom.dcmread(f["in"])

    def test_a_no_removed_or_replaced_value_in_output_attributes(self):
        for run in self.runs:
            options = self.runs[run][0]
            violations = []
            for f in self.written(run):
                src, out = read(f["in"]), read(f["out"])
                out_values = {v for e in walk(out) for v in values_of(e)}
                gone, kept = set(), set()
                for e in walk(src):
                    if e.tag.is_private or e.tag.group == 0x0002:
                        continue
                    row = row_for(int(e.tag))
                    action = resolve(row, options) if row else "K"
                    if row is None and e.VR in ("UI", "DA", "DT", "TM"):
                        continue  # not listed: handled by radflow's own rules, checked in (b)/(d)
                    (gone if action in ("X", "Z", "D", "U") else kept).update(values_of(e))
                for v in gone - kept:
                    if v in out_values and v not in RADFLOW_TERMS:
                        violations.append((f["in"], v))
            self.assertEqual(violations[:20], [], run)

    def test_b_no_patient_identifier_in_output_bytes(self):
        for run in self.runs:
            leaks, allowed = [], 0
            for f in self.written(run):
                src = read(f["in"])
                ids = identifiers(src)
                if not ids:
                    continue
                data = Path(f["out"]).read_bytes()
                kept_text = None
                for i in ids:
                    if i.encode("utf-8", "replace") not in data:
                        continue
                    if kept_text is None:
                        out = read(f["out"])
                        kept_text = [v for e in walk(out) if not e.tag.is_private
                                     and e.tag not in (0x00100010, 0x00100020)
                                     for v in values_of(e)]
                        src_values = {v for e in walk(src) for v in values_of(e)}
                        kept_text = [v for v in kept_text if v in src_values] + RADFLOW_TERMS
                    if any(i in v for v in kept_text):
                        allowed += 1
                    else:
                        leaks.append((f["in"], i))
            print("%s: identifier bytes in retained content: %d allowed" % (run, allowed), file=sys.stderr)
            self.assertEqual(leaks[:20], [], run)

    def test_c_dciodvfy_finds_no_new_errors(self):
        for run in self.runs:
            by_folder = {}
            for f in sorted(self.written(run), key=lambda f: f["in"]):
                by_folder.setdefault(str(Path(f["in"]).parent), []).append(f)
            sample = [f for files in by_folder.values() for f in files[:DCIODVFY_SAMPLE]]
            self.assertGreater(len(sample), 40)
            new = {}
            for f in sample:
                added = dciodvfy_errors(f["out"]) - dciodvfy_errors(f["in"])
                if added:
                    new[f["in"]] = sorted(added)
            print("dciodvfy (%s): %d sampled files" % (run, len(sample)), file=sys.stderr)
            self.maxDiff = None
            self.assertEqual(new, {}, run)

    def test_d_seg_sr_rtstruct_references_resolve(self):
        refs_checked = 0
        for run in self.runs:
            files = self.written(run)
            index = {"in": {"sop": set(), "series": set(), "for": set()},
                     "out": {"sop": set(), "series": set(), "for": set()}}
            referencing = []
            for f in files:
                for side in ("in", "out"):
                    ds = read(f[side])
                    for kw, key in (("SOPInstanceUID", "sop"), ("SeriesInstanceUID", "series"),
                                    ("FrameOfReferenceUID", "for")):
                        if ds.get(kw):
                            index[side][key].add(str(ds.get(kw)))
                    if side == "in" and str(ds.get("Modality", "")) in ("SEG", "SR", "RTSTRUCT"):
                        referencing.append(f)

            def references(ds):
                out = []
                for e in walk(ds):
                    kw = keyword_for_tag(e.tag)
                    if kw == "ReferencedSOPInstanceUID":
                        out.append(("sop", str(e.value)))
                    elif kw in ("FrameOfReferenceUID", "ReferencedFrameOfReferenceUID"):
                        out.append(("for", str(e.value)))
                    elif kw == "ReferencedSeriesSequence":
                        out += [("series", str(i.SeriesInstanceUID)) for i in e.value
                                if "SeriesInstanceUID" in i]
                return out

            for f in referencing:
                a, b = references(read(f["in"])), references(read(f["out"]))
                self.assertEqual(len(a), len(b), f["in"])
                for (kind, uid_in), (kind_out, uid_out) in zip(a, b):
                    self.assertEqual(kind, kind_out)
                    if uid_in in index["in"][kind]:
                        refs_checked += 1
                        self.assertIn(uid_out, index["out"][kind], "%s: %s %s" % (f["in"], kind, uid_in))
                        self.assertNotEqual(uid_in, uid_out)
        print("references resolved: %d" % refs_checked, file=sys.stderr)
        self.assertGreater(refs_checked, 100)

    def test_e_burned_in_text_is_masked(self):
        t = Path(self.tmp.name) / "burned"
        (t / "in").mkdir(parents=True)
        sources = [DATA_ROOT / "dicom" / "ct_head_ge_tilt" / "dicom" / "10.dcm",
                   sorted((DATA_ROOT / "dicom" / "mr_brain_t1_siemens").rglob("*.dcm"))[17]]
        masks = {}
        for i, src in enumerate(sources):
            ds = read(src, pixels=True)
            frame = ds.pixel_array.copy()
            masks[i] = (draw_text(frame, frame.max()), frame)
            ds.PixelData = frame.astype(ds.pixel_array.dtype).tobytes()
            ds.BurnedInAnnotation = "YES"
            ds.save_as(str(t / "in" / ("text%d.dcm" % i)))
        # Without clean-pixels the objects are skipped, never written half-done.
        r = radflow_deid(t / "in", t / "plain", "--secret-file", self.secret, "--report", t / "plain.json")
        plain = json.loads((t / "plain.json").read_text())
        self.assertTrue(all(f["status"] == "skipped" for f in plain["files"]), plain)
        self.assertFalse(any((t / "plain").rglob("*.dcm")))

        r = radflow_deid(t / "in", t / "out", "--secret-file", self.secret, "--options", "clean-pixels",
                         "--report", t / "out.json")
        self.assertEqual(r.returncode, 0, r.stderr)
        report = {Path(f["in"]).name: f for f in json.loads((t / "out.json").read_text())["files"]}
        for i in masks:
            name = "text%d.dcm" % i
            self.assertEqual(report[name]["status"], "written")
            self.assertGreaterEqual(report[name]["pixels_masked_regions"], 1)
            out = read(t / "out" / name, pixels=True)
            self.assertEqual(out.file_meta.TransferSyntaxUID, "1.2.840.10008.1.2.1")
            self.assertEqual(out.BurnedInAnnotation, "NO")
            self.assertIn("113101", [c.CodeValue for c in out.DeidentificationMethodCodeSequence])
            glyphs, original = masks[i]
            masked = out.pixel_array
            self.assertTrue((masked[glyphs] == original.min()).all(),
                            "%s: %d of %d glyph pixels not masked" %
                            (name, int((masked[glyphs] != original.min()).sum()), int(glyphs.sum())))
            ys, xs = np.nonzero(glyphs)
            away = np.ones(glyphs.shape, dtype=bool)
            away[max(0, ys.min() - 12):ys.max() + 13, max(0, xs.min() - 12):xs.max() + 13] = False
            # docs/deidentification.md: 0 pixels away from the text changed on these images.
            changed = int((masked[away] != original[away]).sum())
            self.assertEqual(changed, 0, "%s: %d pixels away from the text changed" % (name, changed))
        # A second OCR pass over the cleaned output finds nothing left to mask.
        r = radflow_deid(t / "out", t / "again", "--secret-file", self.secret, "--options", "clean-pixels",
                         "--report", t / "again.json")
        self.assertEqual(r.returncode, 0, r.stderr)
        again = json.loads((t / "again.json").read_text())
        self.assertEqual([f["pixels_masked_regions"] for f in again["files"]], [0] * len(masks))

    def test_e_compressed_pixels_are_decoded_and_written_uncompressed(self):
        t = Path(self.tmp.name) / "codecs"
        folder = DATA_ROOT / "dicom" / "transfer_syntaxes_mr"
        r = radflow_deid(folder, t, "--secret-file", self.secret, "--options", "clean-pixels",
                         "--report", t.with_suffix(".json"))
        report = json.loads(t.with_suffix(".json").read_text())
        written = [f for f in report["files"] if f["status"] == "written"]
        self.assertGreaterEqual(len(written), 9, r.stderr)
        reference = None
        for f in report["files"]:
            ds = read(f["in"], pixels=True) if f["status"] == "written" else None
            if ds is not None and ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1":
                reference = ds.pixel_array
        self.assertIsNotNone(reference)
        for f in written:
            out = read(f["out"], pixels=True)
            self.assertEqual(out.file_meta.TransferSyntaxUID, "1.2.840.10008.1.2.1", f["in"])
            if f["pixels_masked_regions"] == 0:
                self.assertTrue(np.array_equal(out.pixel_array, reference), f["in"])

    def test_command_line_errors_name_the_reason(self):
        t = Path(self.tmp.name)
        src = DATA_ROOT / "dicom" / "ct_head_ge_tilt" / "dicom" / "01.dcm"
        r = radflow_deid(src, t / "x.dcm", "--secret-file", self.secret, "--options", "retain-everything")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown de-identification option 'retain-everything'", r.stderr)
        r = radflow_deid(src, t / "x.dcm")
        self.assertEqual(r.returncode, 1)
        self.assertIn("site secret", r.stderr)
        r = radflow_deid(t / "missing", t / "y", "--secret-file", self.secret)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such file or folder", r.stderr)
        r = radflow_deid(src, src, "--secret-file", self.secret)
        self.assertEqual(r.returncode, 1)
        self.assertIn("OUT must differ from IN", r.stderr)
        # --data creates the site secret (32 bytes, mode 0600) and reuses it.
        data = t / "site"
        a = radflow_deid(src, t / "a.dcm", "--data", data)
        b = radflow_deid(src, t / "b.dcm", "--data", data)
        self.assertEqual((a.returncode, b.returncode), (0, 0), a.stderr + b.stderr)
        self.assertEqual(oct((data / "deid-secret").stat().st_mode & 0o777), "0o600")
        self.assertEqual(len((data / "deid-secret").read_bytes()), 32)
        self.assertEqual(read(t / "a.dcm").SOPInstanceUID, read(t / "b.dcm").SOPInstanceUID)


if __name__ == "__main__":
    unittest.main()
