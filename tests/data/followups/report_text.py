#!/usr/bin/python3
"""Writes the plain-text report of each sampled IU chest radiograph report (the text the
labels of docs/followups-labelling.md refer to), one file per report: <out>/<uid>.txt.

usage: report_text.py OUT_DIR [--csv PATH] [--sample PATH] [--split dev|test|all]
"""
import argparse
import csv
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CSV = os.path.join(HERE, "../../../../shared/data/reports/iu_cxr/indiana_reports.csv")


def report_text(row):
    parts = []
    for key, title in (("indication", "INDICATION"), ("comparison", "COMPARISON"),
                       ("findings", "FINDINGS"), ("impression", "IMPRESSION")):
        value = (row.get(key) or "").strip()
        if value:
            parts.append(f"{title}: {value}")
    return "\n".join(parts) + "\n"


def sample(path):
    with open(path) as f:
        next(f)
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--csv", default=os.environ.get("RADFLOW_IU_CSV", DEFAULT_CSV))
    ap.add_argument("--sample", default=os.path.join(HERE, "sample.tsv"))
    ap.add_argument("--split", default="all", choices=["dev", "test", "all"])
    args = ap.parse_args()
    rows = {r["uid"]: r for r in csv.DictReader(open(args.csv, newline=""))}
    os.makedirs(args.out, exist_ok=True)
    n = 0
    for uid, split in sample(args.sample):
        if args.split != "all" and split != args.split:
            continue
        with open(os.path.join(args.out, f"{uid}.txt"), "w") as f:
            f.write(report_text(rows[uid]))
        n += 1
    print(n)


if __name__ == "__main__":
    main()
