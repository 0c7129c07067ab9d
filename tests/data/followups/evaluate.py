#!/usr/bin/python3
"""Precision, recall and F1 of `radflow followups` on the labelled IU chest-radiograph set
(docs/followups-labelling.md, docs/followups.md).

A predicted recommendation matches a labelled one when uid, modality and body_region are
equal (one recommendation per (modality, body region) per report, as the guideline labels
them). Over the matched pairs: how often interval_days and conditional agree.

usage: evaluate.py [--split dev|test|all] [--labels labels.jsonl] [--bin build/radflow]
                   [--min-f1 F | --claim docs/followups.md] [--check-cli] [--errors] [--json OUT]

--claim reads the minimum F1 from the line "Documented claim: test-split F1 ≥ 0.NN" of the
docs, so that the test asserts what the documentation states. --check-cli first checks the
CLI's output shapes and its errors (missing file, bad --format).

--errors lists the false positives and negatives with their sentences; it is refused on the
test split, which is evaluated once and never used to write rules.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "../../.."))
sys.path.insert(0, HERE)
import report_text  # noqa: E402


def load_labels(path):
    with open(path) as f:
        return {r["uid"]: r["recommendations"] for r in map(json.loads, filter(str.strip, f))}


def split_uids(sample_path, split):
    return [uid for uid, s in report_text.sample(sample_path) if split == "all" or s == split]


def run_cli(binary, files):
    """{file: [recommendation…]} from `radflow followups FILE… --format json`."""
    out = {}
    for i in range(0, len(files), 100):
        chunk = files[i:i + 100]
        p = subprocess.run([binary, "followups", *chunk, "--format", "json"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"radflow followups failed ({p.returncode}): {p.stderr.strip()}")
        doc = json.loads(p.stdout)
        if len(chunk) == 1:
            doc = {chunk[0]: doc}
        for f in chunk:
            out[f] = doc[f]["recommendations"]
    return out


def check_cli(binary, tmp):
    """The CLI's shapes and errors (docs/followups.md "CLI")."""
    a, b = os.path.join(tmp, "a.txt"), os.path.join(tmp, "b.txt")
    with open(a, "w") as f:
        f.write("FINDINGS: Nodule.\nIMPRESSION: Recommend CT chest in 3 to 6 months.\n")
    with open(b, "w") as f:
        f.write("IMPRESSION: No acute disease.\n")
    def run(*args):
        return subprocess.run([binary, "followups", *args], capture_output=True, text=True)
    p = run(a)
    assert p.returncode == 0, p.stderr
    one = json.loads(p.stdout)
    assert list(one) == ["recommendations"], one
    r = one["recommendations"][0]
    assert set(r) == {"finding", "modality", "body_region", "interval_days", "conditional", "text"}, r
    assert (r["modality"], r["body_region"], r["interval_days"], r["conditional"]) == ("CT", "chest", [90, 180], False), r
    p = run(a, b, "--format", "json")
    two = json.loads(p.stdout)
    assert list(two) == [a, b] and two[b] == {"recommendations": []}, two
    p = run(a, b, "--format", "text")
    assert p.returncode == 0 and "CT chest [90-180 d]" in p.stdout, p.stdout
    missing = os.path.join(tmp, "missing.txt")
    p = run(a, missing)
    assert p.returncode != 0 and missing in p.stderr and p.stdout == "", (p.returncode, p.stderr, p.stdout)
    p = run(a, "--format", "xml")
    assert p.returncode != 0 and "--format" in p.stderr, p.stderr
    p = run(tmp)
    assert p.returncode != 0 and "directory" in p.stderr, p.stderr
    print("CLI: shapes (one file, several files, text) and errors (missing file, directory, bad --format) as documented")


def documented_claim(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"Documented claim: test-split F1 ≥ ([0-9.]+)", text)
    if not m:
        sys.exit(f"{path}: no line 'Documented claim: test-split F1 ≥ N'")
    return float(m.group(1))


def key(r):
    return (r["modality"], r["body_region"])


def by_key(recs):
    d = {}
    for r in recs:
        d.setdefault(key(r), r)
    return d


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def compare(gold, pred, uids):
    """Counts over uids: gold and pred map uid -> [recommendation]."""
    total = collections.Counter()
    per_mod = collections.defaultdict(collections.Counter)
    interval_ok = conditional_ok = finding_ok = matched = 0
    errors = []
    for uid in uids:
        g, p = by_key(gold.get(uid, [])), by_key(pred.get(uid, []))
        for k in g.keys() | p.keys():
            mod = k[0]
            if k in g and k in p:
                total["tp"] += 1
                per_mod[mod]["tp"] += 1
                matched += 1
                interval_ok += g[k]["interval_days"] == p[k]["interval_days"]
                conditional_ok += g[k]["conditional"] == p[k]["conditional"]
                gf, pf = g[k]["finding"].lower(), p[k]["finding"].lower()
                finding_ok += bool(gf and pf and (gf in pf or pf in gf)) or gf == pf
                if g[k]["interval_days"] != p[k]["interval_days"] or g[k]["conditional"] != p[k]["conditional"]:
                    errors.append(("field", uid, k, g[k], p[k]))
            elif k in p:
                total["fp"] += 1
                per_mod[mod]["fp"] += 1
                errors.append(("FP", uid, k, None, p[k]))
            else:
                total["fn"] += 1
                per_mod[mod]["fn"] += 1
                errors.append(("FN", uid, k, g[k], None))
    return total, per_mod, matched, (interval_ok, conditional_ok, finding_ok), errors


def summary(total, per_mod, matched, fields):
    interval_ok, conditional_ok, finding_ok = fields
    p, r, f = prf(total["tp"], total["fp"], total["fn"])
    out = {"tp": total["tp"], "fp": total["fp"], "fn": total["fn"],
           "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
           "matched": matched,
           "interval_accuracy": round(interval_ok / matched, 4) if matched else None,
           "conditional_accuracy": round(conditional_ok / matched, 4) if matched else None,
           # lenient: one finding contains the other ("nodular opacity" ⊂ "7 mm nodular opacity")
           "finding_overlap": round(finding_ok / matched, 4) if matched else None,
           "per_modality": {}}
    for mod in sorted(per_mod):
        c = per_mod[mod]
        mp, mr, mf = prf(c["tp"], c["fp"], c["fn"])
        out["per_modality"][mod] = {"tp": c["tp"], "fp": c["fp"], "fn": c["fn"],
                                    "precision": round(mp, 4), "recall": round(mr, 4),
                                    "f1": round(mf, 4)}
    return out


def print_summary(title, s):
    print(f"{title}: TP {s['tp']}  FP {s['fp']}  FN {s['fn']}  "
          f"precision {s['precision']:.3f}  recall {s['recall']:.3f}  F1 {s['f1']:.3f}")
    if s["matched"]:
        print(f"  over {s['matched']} matched: interval_days agrees {s['interval_accuracy']:.3f}, "
              f"conditional agrees {s['conditional_accuracy']:.3f}, "
              f"finding overlaps {s['finding_overlap']:.3f}")
    for mod, c in s["per_modality"].items():
        print(f"  {mod:2}: TP {c['tp']:3}  FP {c['fp']:3}  FN {c['fn']:3}  "
              f"P {c['precision']:.3f}  R {c['recall']:.3f}  F1 {c['f1']:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    ap.add_argument("--labels", default=os.path.join(HERE, "labels.jsonl"))
    ap.add_argument("--sample", default=os.path.join(HERE, "sample.tsv"))
    ap.add_argument("--csv", default=os.environ.get("RADFLOW_IU_CSV", report_text.DEFAULT_CSV))
    ap.add_argument("--bin", default=os.environ.get("RADFLOW_BIN", os.path.join(ROOT, "build/radflow")))
    ap.add_argument("--min-f1", type=float, default=None)
    ap.add_argument("--claim", default=None, help="docs file stating the minimum F1")
    ap.add_argument("--check-cli", action="store_true")
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--json", default=None, help="write the numbers as JSON here")
    ap.add_argument("--bootstrap", type=int, default=0,
                    help="resample the reports N times (seed 13): 95%% interval of F1")
    args = ap.parse_args()
    if args.errors and args.split != "dev":
        sys.exit("--errors is for the dev split only (the test split is not used to write rules)")
    if not os.path.exists(args.csv):
        sys.exit(f"the IU reports are missing: {args.csv}")
    if args.claim:
        args.min_f1 = documented_claim(args.claim)
    if args.check_cli:
        with tempfile.TemporaryDirectory() as tmp:
            check_cli(args.bin, tmp)

    import csv
    rows = {r["uid"]: r for r in csv.DictReader(open(args.csv, newline=""))}
    gold = load_labels(args.labels)
    uids = split_uids(args.sample, args.split)
    with tempfile.TemporaryDirectory() as tmp:
        files, texts = [], {}
        for uid in uids:
            path = os.path.join(tmp, f"{uid}.txt")
            texts[uid] = report_text.report_text(rows[uid])
            with open(path, "w") as f:
                f.write(texts[uid])
            files.append(path)
        out = run_cli(args.bin, files)
    pred = {uid: out[f] for uid, f in zip(uids, files)}
    total, per_mod, matched, fields, errors = compare(gold, pred, uids)
    s = summary(total, per_mod, matched, fields)
    s["split"], s["reports"] = args.split, len(uids)
    print_summary(f"{args.split} split, {len(uids)} reports", s)
    if args.bootstrap:
        import random
        rng = random.Random(13)
        per_uid = {u: compare(gold, pred, [u])[0] for u in uids}
        f1s = []
        for _ in range(args.bootstrap):
            c = collections.Counter()
            for u in rng.choices(uids, k=len(uids)):
                c.update(per_uid[u])
            f1s.append(prf(c["tp"], c["fp"], c["fn"])[2])
        f1s.sort()
        lo, hi = f1s[int(0.025 * len(f1s))], f1s[int(0.975 * len(f1s)) - 1]
        s["f1_bootstrap_95"] = [round(lo, 4), round(hi, 4)]
        print(f"  F1 95% bootstrap interval over reports ({args.bootstrap} resamples): {lo:.3f}-{hi:.3f}")
    if args.errors:
        for kind, uid, k, g, p in errors:
            print(f"--- {kind} {uid} {k[0]} {k[1]}")
            if g:
                print(f"    label: interval {g['interval_days']} conditional {g['conditional']}: {g['text']}")
            if p:
                print(f"    rules: interval {p['interval_days']} conditional {p['conditional']}: {p['text']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(s, f, indent=2)
    if args.min_f1 is not None and s["f1"] < args.min_f1:
        print(f"F1 {s['f1']:.4f} is below the documented {args.min_f1}")
        return 1
    if args.min_f1 is not None:
        print(f"F1 {s['f1']:.4f} ≥ the documented {args.min_f1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
