"""`radflow radiomics` from the command line: real PAT1 data, every mask kind, bad input, and the
IBSI comparison (--reference, --diagnostics) by the rule of src/radiomics/ibsi_reference.h."""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

PAT1 = Path(h.DATA_ROOT) / "dicom" / "ct_lung_ibsi_pat1"
NIFTI = PAT1 / "nifti" / "image" / "phantom.nii.gz"
RTSTRUCT = PAT1 / "dicom" / "mask" / "DCM_RS_00060.dcm"
DCMQI_SEG = Path(h.DATA_ROOT) / "seg_sr" / "dcmqi" / "data" / "segmentations"
IBSI = Path(h.DATA_ROOT) / "ibsi"
PHANTOM_IMAGE = IBSI / "ibsi1_digital_phantom" / "image.nii.gz"
PHANTOM_MASK = IBSI / "ibsi1_digital_phantom" / "mask.nii.gz"
ZRAD = IBSI / "ibsi1_reference_values" / "zrad"


def zrad(data_set):
    name = "digital_phantom" if data_set == "phantom" else "config_" + data_set
    return ZRAD / ("ibsi_1_reference_values_%s.csv" % name)


def reference_rows(data_set):
    with open(zrad(data_set), encoding="utf-8-sig", newline="") as f:
        return [r for r in csv.DictReader(f) if r["reference value"] != ""]


def radiomics(*args):
    return subprocess.run([h.RADFLOW_BIN, "radiomics", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def features(stdout):
    return {r["tag"]: float(r["value"]) for r in csv.DictReader(io.StringIO(stdout))}


class RadiomicsCliTests(unittest.TestCase):
    def test_dicom_series_and_nifti_give_the_same_features(self):
        a = radiomics("--image", NIFTI, "--mask", RTSTRUCT, "--config", "C")
        b = radiomics("--image", PAT1 / "dicom" / "image", "--mask", PAT1 / "dicom" / "mask",
                      "--roi", "GTV-1", "--config", "C")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(b.returncode, 0, b.stderr)
        fa, fb = features(a.stdout), features(b.stdout)
        self.assertGreater(len(fa), 400)
        self.assertEqual(fa.keys(), fb.keys())
        for tag in fa:
            self.assertAlmostEqual(fa[tag], fb[tag], delta=1e-6 * max(1.0, abs(fa[tag])), msg=tag)
        # IBSI configuration C reference: mesh volume 367,000 ± 6,000 mm^3 (zrad export).
        self.assertAlmostEqual(fa["morph_volume"], 367000, delta=6000)

    def test_json_format_and_a_settings_file(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "cfg.json"
            cfg.write_text(json.dumps({"new_spacing": 2, "resegment_range": [-1000, 400],
                                       "discretisation": "fbs", "bin_width": 25}))
            r = radiomics("--image", NIFTI, "--mask", RTSTRUCT, "--config", cfg, "--format", "json",
                          "--diagnostics")
            self.assertEqual(r.returncode, 0, r.stderr)
            out = json.loads(r.stdout)
            self.assertEqual(out["diagnostics"]["int_mask_vox_count_interp_roi"], 45985)
            self.assertNotIn("comparison", out)
            self.assertIn("cm_joint_max_3D_avg", out["features"])
            cfg.write_text(json.dumps({"bin_wdith": 25}))
            bad = radiomics("--image", NIFTI, "--mask", RTSTRUCT, "--config", cfg)
            self.assertEqual(bad.returncode, 1)
            self.assertIn("unknown configuration key 'bin_wdith'", bad.stderr)

    def test_dicom_seg_mask(self):
        # dcmqi liver SEG (1 segment) on its 3-slice source CT; 36233 + 35645 + 35220 set bits
        # (counted from the raw Pixel Data), configuration A keeps the native grid.
        ct, seg = DCMQI_SEG / "ct-3slice", DCMQI_SEG / "liver.dcm"
        for roi in ([], ["--roi", "Liver"], ["--roi", "1"]):
            r = radiomics("--image", ct, "--mask", seg, *roi, "--config", "A", "--format", "json",
                          "--diagnostics")
            self.assertEqual(r.returncode, 0, r.stderr)
            out = json.loads(r.stdout)
            self.assertEqual(out["diagnostics"]["int_mask_vox_count_interp_roi"], 107098)
        r = radiomics("--image", ct, "--mask", seg, "--roi", "Spleen", "--config", "A")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no segment 'Spleen'", r.stderr)
        r = radiomics("--image", ct, "--mask", DCMQI_SEG / "partial_overlaps.dcm", "--config", "A")
        self.assertEqual(r.returncode, 1)
        self.assertIn("a segment must be named", r.stderr)

    def test_bad_input_is_a_clear_error(self):
        cases = [
            (["--mask", RTSTRUCT, "--roi", "Liver", "--config", "C"], "no ROI 'Liver'"),
            (["--mask", PHANTOM_MASK, "--config", "C"], "not on the image grid"),
            (["--mask", RTSTRUCT, "--config", "Z"], "no IBSI configuration 'Z'"),
            (["--mask", NIFTI.parent, "--config", "C"], "must be a NIfTI file or an RTSTRUCT"),
        ]
        for extra, message in cases:
            r = radiomics("--image", NIFTI, *extra)
            self.assertEqual(r.returncode, 1, extra)
            self.assertIn(message, r.stderr, extra)
        # An ROI emptied by re-segmentation: a range no voxel falls in.
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "cfg.json"
            cfg.write_text(json.dumps({"resegment_range": [5000, 6000], "discretisation": "fbs"}))
            r = radiomics("--image", NIFTI, "--mask", RTSTRUCT, "--config", cfg)
            self.assertEqual(r.returncode, 1)
            self.assertIn("empty", r.stderr)

    def test_config_is_required(self):
        r = radiomics("--image", NIFTI, "--mask", RTSTRUCT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--config is required", r.stderr)  # CLI11's message

    def test_ct_configuration_on_the_phantom_is_an_error(self):
        # Configurations A-E need CT intensities: some voxel <= -100 HU, all in [-32768, 32767];
        # the digital phantom holds grey levels 1..9.
        r = radiomics("--image", PHANTOM_IMAGE, "--mask", PHANTOM_MASK, "--config", "C")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        for part in ("configuration C", "from 1 to 9", "-100 HU", "--config phantom", "JSON"):
            self.assertIn(part, r.stderr)

    def test_phantom_every_reference_row_within_the_rule(self):
        r = radiomics("--image", PHANTOM_IMAGE, "--mask", PHANTOM_MASK, "--config", "phantom",
                      "--diagnostics", "--reference", zrad("phantom"))
        self.assertEqual(r.returncode, 0, r.stderr)
        refs = reference_rows("phantom")
        self.assertEqual(len(refs), 482)
        self.assertIn("radflow radiomics: 482 of 482 features within tolerance, 0 of 0 diagnostic "
                      "values within tolerance, 0 missing", r.stderr)
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        self.assertEqual(list(rows[0].keys()),
                         ["tag", "value", "reference", "tolerance", "allowed", "deviation", "within"])
        by_tag = {row["tag"]: row for row in rows}
        for ref in refs:
            row = by_tag[ref["tag"]]
            self.assertEqual(row["within"], "yes", row)
            self.assertEqual(row["reference"], ref["reference value"])
            self.assertLessEqual(float(row["deviation"]), float(row["allowed"]), row)
        self.assertEqual([row for row in rows if row["within"] in ("no", "missing")], [])

    def test_pat1_config_c_diagnostics_equal_the_reference(self):
        r = radiomics("--image", NIFTI, "--mask", RTSTRUCT, "--config", "C", "--diagnostics",
                      "--reference", zrad("C"))
        self.assertEqual(r.returncode, 0, r.stderr)
        by_tag = {row["tag"]: row for row in csv.DictReader(io.StringIO(r.stdout))}
        diagnostics = [ref for ref in reference_rows("C") if ref["family"].startswith("Diagnostics")]
        self.assertEqual(len(diagnostics), 60)
        for ref in diagnostics:
            row = by_tag[ref["tag"]]
            self.assertEqual(row["within"], "yes", row)
            self.assertLessEqual(abs(float(row["value"]) - float(ref["reference value"])),
                                 float(row["allowed"]), row)
        self.assertIn("60 of 60 diagnostic values within tolerance, 0 missing", r.stderr)
        # Without --diagnostics there are no diagnostic rows, and none counts as missing.
        plain = radiomics("--image", NIFTI, "--mask", RTSTRUCT, "--config", "C", "--reference", zrad("C"))
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertNotIn("int_mask_vox_count_interp_roi", plain.stdout)
        self.assertIn("0 of 0 diagnostic values within tolerance, 0 missing", plain.stderr)

    def test_a_bad_reference_file_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            bad = Path(d) / "not_a_table.csv"
            bad.write_text("a,b\n1,2\n")
            for path in (bad, Path(d) / "absent.csv"):
                r = radiomics("--image", PHANTOM_IMAGE, "--mask", PHANTOM_MASK, "--config", "phantom",
                              "--reference", path)
                self.assertEqual(r.returncode, 1)
                self.assertIn(str(path), r.stderr)
                self.assertEqual(r.stdout, "")

    def test_another_configurations_table_is_refused(self):
        r = radiomics("--image", PHANTOM_IMAGE, "--mask", PHANTOM_MASK, "--config", "phantom",
                      "--reference", zrad("C"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("is for 'configuration C', not for --config phantom", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_json_with_a_reference_has_the_comparison(self):
        r = radiomics("--image", PHANTOM_IMAGE, "--mask", PHANTOM_MASK, "--config", "phantom",
                      "--reference", zrad("phantom"), "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertNotIn("diagnostics", out)
        self.assertEqual(len(out["comparison"]), len(out["features"]))  # every feature has a row
        for entry in out["comparison"]:
            self.assertEqual(list(entry.keys()),
                             ["tag", "value", "reference", "tolerance", "allowed", "deviation", "within"])
            self.assertEqual(entry["within"], "yes", entry)
            self.assertEqual(entry["value"], out["features"][entry["tag"]])


if __name__ == "__main__":
    unittest.main()
