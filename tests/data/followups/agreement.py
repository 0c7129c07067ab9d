#!/usr/bin/python3
"""Agreement between the two blind labelling passes (docs/followups-labelling.md).

Recommendations are matched by (uid, modality, body_region), as evaluate.py matches the
rules' output. Prints: both, only in pass 1, only in pass 2, F1 between the passes (one pass
taken as the reference: F1 is symmetric), the reports with any disagreement, and over the
matched pairs how often interval_days and conditional agree.

usage: agreement.py [--a pass1.jsonl] [--b pass2.jsonl] [--split dev|test|all] [--list]

--list names the disagreeing reports (uids and keys only, not the texts).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from evaluate import by_key, load_labels, split_uids  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", default=os.path.join(HERE, "pass1.jsonl"))
    ap.add_argument("--b", default=os.path.join(HERE, "pass2.jsonl"))
    ap.add_argument("--sample", default=os.path.join(HERE, "sample.tsv"))
    ap.add_argument("--split", default="all", choices=["dev", "test", "all"])
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    a, b = load_labels(args.a), load_labels(args.b)
    uids = split_uids(args.sample, args.split)
    missing = [u for u in uids if u not in a or u not in b]
    if missing:
        print(f"note: {len(missing)} report(s) missing from a pass (counted as no recommendation)")
    both = only_a = only_b = interval_ok = conditional_ok = 0
    reports_a = reports_b = 0
    disagreements = []
    for uid in uids:
        ka, kb = by_key(a.get(uid, [])), by_key(b.get(uid, []))
        reports_a += bool(ka)
        reports_b += bool(kb)
        bad = []
        for k in ka.keys() | kb.keys():
            if k in ka and k in kb:
                both += 1
                same_interval = ka[k]["interval_days"] == kb[k]["interval_days"]
                same_conditional = ka[k]["conditional"] == kb[k]["conditional"]
                interval_ok += same_interval
                conditional_ok += same_conditional
                if not same_interval:
                    bad.append(f"{k[0]} {k[1]}: interval {ka[k]['interval_days']} vs {kb[k]['interval_days']}")
                if not same_conditional:
                    bad.append(f"{k[0]} {k[1]}: conditional {ka[k]['conditional']} vs {kb[k]['conditional']}")
            elif k in ka:
                only_a += 1
                bad.append(f"{k[0]} {k[1]}: only in {os.path.basename(args.a)}")
            else:
                only_b += 1
                bad.append(f"{k[0]} {k[1]}: only in {os.path.basename(args.b)}")
        if bad:
            disagreements.append((uid, bad))
    p = both / (both + only_b) if both + only_b else 1.0  # pass 1 as the reference
    r = both / (both + only_a) if both + only_a else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    na, nb = os.path.basename(args.a), os.path.basename(args.b)
    print(f"{args.split}: {len(uids)} reports; {na}: {both + only_a} recommendations in {reports_a} reports, "
          f"{nb}: {both + only_b} in {reports_b}")
    print(f"matched by (uid, modality, body_region): both {both}, only {na} {only_a}, only {nb} {only_b}; "
          f"F1 between passes {f1:.3f}")
    if both:
        print(f"over {both} matched: interval_days agrees {interval_ok / both:.3f}, "
              f"conditional agrees {conditional_ok / both:.3f}")
    print(f"reports with a disagreement: {len(disagreements)}")
    if args.list:
        for uid, bad in disagreements:
            print(f"  {uid}: " + "; ".join(bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
