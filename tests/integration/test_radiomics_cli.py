"""`radflow radiomics` from the command line: real PAT1 data, every mask kind, bad input."""
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
            r = radiomics("--image", NIFTI, "--mask", RTSTRUCT, "--config", cfg, "--format", "json")
            self.assertEqual(r.returncode, 0, r.stderr)
            out = json.loads(r.stdout)
            self.assertEqual(out["diagnostics"]["int_mask_vox_count_interp_roi"], 45985)
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
            r = radiomics("--image", ct, "--mask", seg, *roi, "--config", "A", "--format", "json")
            self.assertEqual(r.returncode, 0, r.stderr)
            out = json.loads(r.stdout)
            self.assertEqual(out["diagnostics"]["int_mask_vox_count_interp_roi"], 107098)
        r = radiomics("--image", ct, "--mask", seg, "--roi", "Spleen")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no segment 'Spleen'", r.stderr)
        r = radiomics("--image", ct, "--mask", DCMQI_SEG / "partial_overlaps.dcm")
        self.assertEqual(r.returncode, 1)
        self.assertIn("a segment must be named", r.stderr)

    def test_bad_input_is_a_clear_error(self):
        cases = [
            (["--mask", RTSTRUCT, "--roi", "Liver"], "no ROI 'Liver'"),
            (["--mask", Path(h.DATA_ROOT) / "ibsi" / "ibsi1_digital_phantom" / "mask.nii.gz"], "not on the image grid"),
            (["--mask", RTSTRUCT, "--config", "Z"], "no IBSI configuration 'Z'"),
            (["--mask", NIFTI.parent], "must be a NIfTI file or an RTSTRUCT"),
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


if __name__ == "__main__":
    unittest.main()
