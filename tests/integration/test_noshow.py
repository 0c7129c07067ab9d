#!/usr/bin/python3
"""`radflow noshow evaluate --format json` on the real Kaggle no-show table (docs/noshow.md):
the temporal split (cut, row counts), the ROC AUC the doc states, and no future information
in the features: the history columns radflow wrote are recomputed here from the raw CSV,
independently, with outcomes counted only from strictly earlier appointment days.
Also `radflow noshow train` writes a model file."""
import csv
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TABLE = os.path.join(harness.DATA_ROOT, "tables", "noshow_appointments", "KaggleV2-May-2016.csv")
# docs/noshow.md: measured ROC AUC 0.7326 on the test quarter; the training is deterministic
# (XGBoost hist, fixed seed, the same figure with 1 or 2 threads), so the tolerance 0.005
# covers only a different XGBoost/compiler build, not a change of features or split.
STATED_AUC = 0.7326
AUC_TOLERANCE = 0.005


class NoshowEvaluate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.features = os.path.join(cls.tmp.name, "features.csv")
        t0 = time.monotonic()
        p = subprocess.run([harness.RADFLOW_BIN, "noshow", "evaluate", "--table", TABLE, "--format", "json",
                            "--features-out", cls.features], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=300)
        cls.seconds = time.monotonic() - t0
        if p.returncode != 0:
            raise AssertionError("radflow noshow evaluate failed: " + p.stderr)
        cls.result = json.loads(p.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_split_and_figures(self):
        r = self.result
        self.assertEqual(r["cut_date"], "2016-05-31")
        self.assertEqual(r["train_rows"], 79797)
        self.assertEqual(r["test_rows"], 30730)
        self.assertAlmostEqual(r["roc_auc"], STATED_AUC, delta=AUC_TOLERANCE)
        self.assertGreater(r["pr_auc"], r["test_no_show_rate"])  # better than chance (= prevalence)
        self.assertLess(r["brier"], r["test_no_show_rate"] * (1 - r["test_no_show_rate"]))  # beats the base rate
        self.assertEqual(sum(b["count"] for b in r["calibration"]), r["test_rows"])
        # A hang guard, not the speed figure (docs/noshow.md: about 3 s quiet, under 25 s while
        # other builds ran; bench/noshow_bench.py measures it).
        self.assertLess(self.seconds, 120, "hang guard: the evaluation took %.0f s" % self.seconds)

    def test_history_features_use_only_earlier_days(self):
        with open(TABLE, newline="") as f:
            raw = list(csv.DictReader(f))  # PatientId stays a string
        with open(self.features, newline="") as f:
            rd = csv.reader(f)
            header = next(rd)
            feats = list(rd)
        self.assertEqual(len(raw), len(feats))
        col = {n: i for i, n in enumerate(header)}
        by_patient = collections.defaultdict(list)
        for i, x in enumerate(raw):
            by_patient[x["PatientId"]].append(i)
        checked = 0
        for idx in by_patient.values():
            for i in idx:
                day = raw[i]["AppointmentDay"][:10]
                earlier = [j for j in idx if raw[j]["AppointmentDay"][:10] < day]
                ns = sum(raw[j]["No-show"] == "Yes" for j in earlier)
                row = feats[i]
                self.assertEqual(float(row[col["prior_no_shows"]]), ns, raw[i]["AppointmentID"])
                self.assertEqual(float(row[col["prior_attended"]]), len(earlier) - ns, raw[i]["AppointmentID"])
                booked = [j for j in idx if j != i and raw[j]["ScheduledDay"] <= raw[i]["ScheduledDay"]]
                self.assertEqual(float(row[col["booked_so_far"]]), len(booked), raw[i]["AppointmentID"])
                self.assertEqual(row[col["split"]], "train" if day < "2016-05-31" else "test")
                checked += 1
        self.assertEqual(checked, len(raw))

    def test_train_writes_a_model(self):
        out = os.path.join(self.tmp.name, "noshow.model")
        p = subprocess.run([harness.RADFLOW_BIN, "noshow", "train", "--table", TABLE, "--out", out, "--rounds", "50"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            model = json.load(f)  # XGBoost's JSON model
        self.assertIn("radflow_noshow", json.dumps(model["learner"]["attributes"]))

    def test_bad_table_is_refused_with_the_reason(self):
        bad = os.path.join(self.tmp.name, "bad.csv")
        with open(bad, "w") as f:
            f.write("PatientId,Gender\n1,F\n")
        p = subprocess.run([harness.RADFLOW_BIN, "noshow", "evaluate", "--table", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no column 'AppointmentID'", p.stderr)


if __name__ == "__main__":
    unittest.main()
