#!/usr/bin/python3
"""No-show model benchmark (docs/noshow.md, docs/benchmarks.md "No-show model").

Runs `radflow noshow evaluate --format json --features-out F.csv` on the Kaggle no-show
table (temporal split at the 75th percentile of AppointmentDay), then, in the same run, the
scikit-learn peer (HistGradientBoostingClassifier) fitted on exactly the same feature
matrix and split that radflow wrote to F.csv. Prints both sets of figures, the ratio, and
checks radflow's own metrics against scikit-learn's on radflow's test scores.

Usage: /usr/bin/python3 bench/noshow_bench.py [--table CSV] [--radflow BIN] [--json OUT]
"""
import argparse, csv, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
TABLE = "/work/shared/data/tables/noshow_appointments/KaggleV2-May-2016.csv"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def read_features(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        rows = list(r)
    names = header[2:-1]
    split = np.array([x[0] for x in rows])
    y = np.array([int(x[1]) for x in rows])
    X = np.array([[float(v) if v != "" else np.nan for v in x[2:-1]] for x in rows], dtype=np.float64)
    risk = np.array([float(x[-1]) if x[-1] != "" else np.nan for x in rows])
    return names, split, y, X, risk


def calibration(p, y, bins=10):
    out = []
    idx = np.minimum((np.clip(p, 0, 1) * bins).astype(int), bins - 1)
    for b in range(bins):
        m = idx == b
        out.append({"lo": b / bins, "hi": (b + 1) / bins, "count": int(m.sum()),
                    "mean_predicted": float(p[m].mean()) if m.any() else 0.0,
                    "observed_rate": float(y[m].mean()) if m.any() else 0.0})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", default=TABLE)
    ap.add_argument("--radflow", default=str(ROOT / "build" / "radflow"))
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        feat = os.path.join(tmp, "features.csv")
        t0 = time.monotonic()
        p = subprocess.run([a.radflow, "noshow", "evaluate", "--table", a.table, "--format", "json",
                            "--features-out", feat], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        radflow_s = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit("radflow noshow evaluate failed: " + p.stderr)
        rf = json.loads(p.stdout)
        names, split, y, X, risk = read_features(feat)

    tr, te = split == "train", split == "test"
    assert tr.sum() == rf["train_rows"] and te.sum() == rf["test_rows"], "split differs"
    # radflow's metrics recomputed by scikit-learn on radflow's own test scores.
    check = {"roc_auc": roc_auc_score(y[te], risk[te]), "pr_auc": average_precision_score(y[te], risk[te]),
             "brier": brier_score_loss(y[te], risk[te])}
    for k, v in check.items():
        if abs(v - rf[k]) > 1e-6:
            sys.exit("radflow's %s %.6f differs from scikit-learn's %.6f on the same scores" % (k, rf[k], v))

    t0 = time.monotonic()
    peer = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=31,
                                          min_samples_leaf=50, random_state=0)
    peer.fit(X[tr], y[tr])
    pp = peer.predict_proba(X[te])[:, 1]
    peer_s = time.monotonic() - t0
    sk = {"roc_auc": roc_auc_score(y[te], pp), "pr_auc": average_precision_score(y[te], pp),
          "brier": brier_score_loss(y[te], pp), "seconds": peer_s, "calibration": calibration(pp, y[te])}

    machine = {"nproc": os.cpu_count(), "cpu": cpu_model(), "sklearn": sklearn.__version__,
               "python": platform.python_version()}
    print("machine: %d CPUs, %s; scikit-learn %s" % (machine["nproc"], machine["cpu"], machine["sklearn"]))
    print("split: cut %s, %d train / %d test appointments, %d features"
          % (rf["cut_date"], rf["train_rows"], rf["test_rows"], len(names)))
    print("%-38s %8s %8s %8s %8s" % ("peer", "ROC AUC", "PR AUC", "Brier", "seconds"))
    print("%-38s %8.4f %8.4f %8.4f %8.1f" % ("radflow (XGBoost C API, %d rounds)" % rf["rounds"],
                                            rf["roc_auc"], rf["pr_auc"], rf["brier"], rf["seconds"]))
    print("%-38s %8.4f %8.4f %8.4f %8.1f" % ("scikit-learn HistGradientBoosting", sk["roc_auc"], sk["pr_auc"],
                                            sk["brier"], peer_s))
    print("(seconds: radflow's own read + features + train + predict, %.1f s wall with the feature dump; "
          "the peer's fit + predict on the ready matrix)" % radflow_s)
    print("ratio radflow/peer: ROC AUC %.3f, PR AUC %.3f, Brier %.3f"
          % (rf["roc_auc"] / sk["roc_auc"], rf["pr_auc"] / sk["pr_auc"], rf["brier"] / sk["brier"]))
    print("calibration (test; bin: n, radflow mean predicted / observed, peer n, mean predicted / observed)")
    for b, c in zip(rf["calibration"], sk["calibration"]):
        print("  %.1f-%.1f  %6d  %.3f / %.3f   %6d  %.3f / %.3f" % (b["lo"], b["hi"], b["count"],
              b["mean_predicted"], b["observed_rate"], c["count"], c["mean_predicted"], c["observed_rate"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": machine, "radflow": rf, "radflow_wall_seconds": radflow_s, "sklearn": sk,
                       "metric_check": check}, f, indent=2)


if __name__ == "__main__":
    main()
