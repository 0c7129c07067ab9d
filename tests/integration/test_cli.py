"""The offline CLI: radflow import / ls / stats / check [--repair]."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

MR = os.path.join(h.series_dir("mr_brain_t1_siemens"), "dicom_HFS_t1_fl2d_sag")  # 35 files
STS = os.path.join(h.series_dir("sts_042_ct_mr_pet"), "dicom", "STS_042")  # 143 files
SUMMARY = re.compile(r"stored (\d+), already present (\d+), rejected (\d+)")


def summary(proc):
    found = SUMMARY.findall(proc.stdout + proc.stderr)
    if len(found) != 1:
        raise AssertionError("expected one summary line:\n" + proc.stdout + proc.stderr)
    return tuple(map(int, found[0]))


class CliTests(h.ServerTestCase):
    def setUp(self):
        super().setUp()
        self.data = os.path.join(self.tmpdir(), "data")

    def cli(self, *args):
        return h.radflow_cli(args[0], "--data", self.data, *args[1:])

    def import_ok(self, *paths):
        proc = self.cli("import", *paths)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return summary(proc)

    def test_import_files_and_folders_then_rerun(self):
        pet = sorted(h.dicom_files(os.path.join(STS, "PET", "image")))[:5]
        self.assertEqual(self.import_ok(MR, *pet), (40, 0, 0))
        self.assertEqual(self.import_ok(MR, *pet), (0, 40, 0))
        self.assertEqual(self.import_ok(STS), (138, 5, 0))  # recursive
        st = h.cli_stats(self.data)
        self.assertEqual((st["patients"], st["studies"], st["series"], st["instances"]),
                         (2, 2, 7, 35 + 143), st)
        self.assertGreater(st["bytes"], 0)

    def test_stats_matches_http_api(self):
        self.import_ok(MR)
        offline = h.cli_stats(self.data)
        srv = self.start(h.RadflowServer(data_dir=self.data))
        self.assertEqual(srv.stats(), offline)
        self.assertEqual(offline["instances"], 35)

    def ls(self, *args):
        proc = self.cli("ls", *args)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertTrue(proc.stdout.strip(), "ls printed nothing (not even a header)")
        return h.parse_table(proc.stdout)

    def test_ls_levels_and_filters(self):
        self.import_ok(MR, STS)
        sts_study = h.read_dataset(h.dicom_files(STS)[0], True).StudyInstanceUID
        self.assertEqual(len(self.ls("--level", "patient")), 2)
        studies = self.ls("--level", "study")
        self.assertEqual(len(studies), 2)
        self.assertTrue(any(sts_study in row.values() for row in studies), studies)
        self.assertEqual(len(self.ls("--level", "series")), 7)
        self.assertEqual(len(self.ls("--level", "instance")), 35 + 143)
        self.assertEqual(len(self.ls("--level", "series", "--filter", "PatientID=STS_042")), 6)
        self.assertEqual(len(self.ls("--level", "series", "--filter", "Modality=RTSTRUCT")), 3)
        pet = self.ls("--level", "instance", "--filter", "PatientID=STS_042",
                      "--filter", "Modality=PT")
        self.assertEqual(len(pet), 49)
        self.assertEqual(self.ls("--level", "study", "--filter", "PatientID=NOBODY"), [])
        header = self.cli("ls", "--level", "study").stdout.splitlines()[0]
        self.assertIn("\t", header)

    def test_check_missing_blob_and_repair(self):
        self.import_ok(MR)
        self.assertEqual(self.cli("check").returncode, 0)
        blobs = h.blob_files(self.data)
        self.assertEqual(len(blobs), 35, blobs[:3])
        os.unlink(blobs[0])
        proc = self.cli("check")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertTrue((proc.stdout + proc.stderr).strip(), "inconsistency not printed")
        proc = self.cli("check", "--repair")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(self.cli("check").returncode, 0)
        self.assertEqual(h.cli_stats(self.data)["instances"], 34)
        self.assertEqual(self.import_ok(MR), (1, 34, 0))  # the lost one can be re-imported

    def stray_is_detected_and_repaired(self, name, content, instances_after=(35,)):
        self.import_ok(MR)
        blob_dir = os.path.dirname(h.blob_files(self.data)[0])
        with open(os.path.join(blob_dir, name), "wb") as f:
            f.write(content)
        proc = self.cli("check")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn(name, proc.stdout + proc.stderr)
        proc = self.cli("check", "--repair")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(self.cli("check").returncode, 0)
        self.assertIn(h.cli_stats(self.data)["instances"], instances_after)

    def test_check_stray_blob(self):
        self.stray_is_detected_and_repaired("0123456789abcdef0123456789abcdef.dcm",
                                            os.urandom(4096))

    def test_check_stray_dicom_blob(self):
        """A valid DICOM file dropped into blobs/ without an index row is also a stray."""
        with open(h.dicom_files(os.path.join(STS, "PET", "image"))[0], "rb") as f:
            # repair may either delete it or adopt it into the index
            self.stray_is_detected_and_repaired("fedcba9876543210fedcba9876543210.dcm", f.read(),
                                                instances_after=(35, 36))

    def test_check_stray_file_without_dcm_suffix(self):
        """Any file in blobs/ outside blobs/tmp/ without an index row is an inconsistency."""
        self.stray_is_detected_and_repaired("stray-0123456789abcdef", os.urandom(4096))

    def test_stats_output_is_json(self):
        self.import_ok(MR)
        proc = self.cli("stats")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        st = json.loads(proc.stdout)
        self.assertEqual(set(st), {"patients", "studies", "series", "instances", "bytes"})
        self.assertEqual(st["instances"], 35)


if __name__ == "__main__":
    unittest.main()
