#!/usr/bin/python3
"""IBSI chapter 1 compliance of radflow's radiomics, from the released command line.

Runs `radflow radiomics --reference <z-rad table> --diagnostics --format csv` on the IBSI
digital phantom (`--config phantom`) and on the lung CT PAT1 (configurations A-E) and prints
the table of docs/ibsi-compliance.md. Whether a value is within the IBSI rule is the CLI's
`within` column: the rule lives in one place (src/radiomics/ibsi_reference.cpp) and this
script only counts.

  /usr/bin/python3 scripts/ibsi_compliance.py [--radflow build/radflow] [--data ../shared/data]
                                              [--check docs/ibsi-compliance.md] [--list]

--check DOC  exit 1, with a diff, when the table between the ibsi-table markers of DOC
             differs from the one printed.
--list       also print every row that is not within the rule (ours, reference, allowed).
Exit status: 0 done (and, with --check, the document agrees), 1 the document differs,
2 radflow or the data is missing or radflow failed.
"""
import argparse
import csv
import difflib
import io
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- ibsi-table:begin -->", "<!-- ibsi-table:end -->"
HEADER = ["tag", "value", "reference", "tolerance", "allowed", "deviation", "within"]
SUMMARY = re.compile(r"(\d+) of (\d+) features within tolerance, (\d+) of (\d+) diagnostic "
                     r"values within tolerance, (\d+) missing")
PAT1 = os.path.join("dicom", "ct_lung_ibsi_pat1")
PAT1_IMAGE = os.path.join(PAT1, "nifti", "image", "phantom.nii.gz")
PAT1_MASK = os.path.join(PAT1, "nifti", "mask", "mask.nii.gz")   # the IBSI's own mask
PAT1_RTSTRUCT = os.path.join(PAT1, "dicom", "mask", "DCM_RS_00060.dcm")
PAT1_ROI = "GTV-1"


class Failure(Exception):
    pass


def reference_table(data, name):
    """The z-rad export for "phantom" or "A".."E" (the path IbsiReferencePath builds)."""
    zrad = os.path.join(data, "ibsi", "ibsi1_reference_values", "zrad")
    leaf = "digital_phantom" if name == "phantom" else "config_" + name
    return os.path.join(zrad, "ibsi_1_reference_values_%s.csv" % leaf)


def data_sets(data):
    """(label, --config, image, [mask arguments], reference table)."""
    out = [("digital phantom", "phantom",
            os.path.join(data, "ibsi", "ibsi1_digital_phantom", "image.nii.gz"),
            [os.path.join(data, "ibsi", "ibsi1_digital_phantom", "mask.nii.gz")],
            reference_table(data, "phantom"))]
    for c in "ABCDE":
        out.append(("PAT1, configuration " + c, c, os.path.join(data, PAT1_IMAGE),
                    [os.path.join(data, PAT1_MASK)], reference_table(data, c)))
    return out


def diagnostic_tags(table):
    """Tags of the table's "Diagnostics-*" rows: the split of the counts into feature and
    diagnostic values (the family column, which the CLI's CSV does not carry)."""
    with open(table, encoding="utf-8-sig", newline="") as f:
        return {r["tag"] for r in csv.DictReader(f) if r["family"].startswith("Diagnostics")}


def run_radiomics(radflow, config, image, mask, reference=None):
    args = [radflow, "radiomics", "--image", image, "--mask", *mask, "--config", config,
            "--diagnostics", "--format", "csv"]
    if reference:
        args += ["--reference", reference]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace", timeout=600)
    if p.returncode != 0:
        raise Failure("%s exited %d:\n%s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p


def compare(radflow, label, config, image, mask, table):
    p = run_radiomics(radflow, config, image, mask, table)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    if not rows or list(rows[0].keys()) != HEADER:
        raise Failure("radflow radiomics --reference: expected the columns %s, got %s"
                      % (",".join(HEADER), ",".join(rows[0].keys()) if rows else "no rows"))
    diag = diagnostic_tags(table)
    compared = [r for r in rows if r["within"] in ("yes", "no", "missing")]
    unknown = {r["within"] for r in rows} - {"yes", "no", "missing", ""}
    if unknown:
        raise Failure("%s: unexpected 'within' values %s" % (label, sorted(unknown)))
    feats = [r for r in compared if r["tag"] not in diag]
    diags = [r for r in compared if r["tag"] in diag]
    res = {"label": label,
           "features": len(feats), "features_within": sum(r["within"] == "yes" for r in feats),
           "diagnostics": len(diags), "diagnostics_within": sum(r["within"] == "yes" for r in diags),
           "misses": [r for r in compared if r["within"] != "yes"]}
    # The CLI's own summary line must say the same: a cross-check of the split, not a rule.
    m = SUMMARY.search(p.stderr)
    if not m:
        raise Failure("%s: no summary line on radflow's stderr:\n%s" % (label, p.stderr.strip()))
    said = tuple(int(x) for x in m.groups())
    counted = (res["features_within"], res["features"], res["diagnostics_within"],
               res["diagnostics"], sum(r["within"] == "missing" for r in compared))
    if said != counted:
        raise Failure("%s: radflow says %s, its CSV counts %s" % (label, said, counted))
    return res


def table(results, masks_agree):
    def na(n, total):
        return str(n) if total else "—"   # the phantom's table has no diagnostic rows

    lines = ["| data set | features with a reference value | within the rule | "
             "diagnostic values | within the rule | not within (tags) |",
             "|---|---:|---:|---:|---:|---|"]
    for r in results:
        misses = ", ".join("`%s`%s" % (m["tag"], " (missing)" if m["within"] == "missing" else "")
                           for m in r["misses"]) or "none"
        lines.append("| %s | %d | %d | %s | %s | %s |" % (
            r["label"], r["features"], r["features_within"], na(r["diagnostics"], r["diagnostics"]),
            na(r["diagnostics_within"], r["diagnostics"]), misses))
    lines.append("")
    lines.append("PAT1's ROI: the IBSI NIfTI mask; the RTSTRUCT's ROI `%s` gives %s output for "
                 "A–E." % (PAT1_ROI, "the same" if masks_agree else "**a different**"))
    return "\n".join(lines) + "\n"


def listing(results):
    out = ["", "| data set | tag | ours | reference | allowed | deviation | within |",
           "|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        for m in r["misses"]:
            out.append("| %s | `%s` | %s | %s | %s | %s | %s |" % (
                r["label"], m["tag"], m["value"] or "—", m["reference"], m["allowed"],
                m["deviation"] or "—", m["within"]))
    if len(out) == 3:
        out.append("| (every row is within the rule) | | | | | | |")
    return "\n".join(out) + "\n"


def doc_table(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise Failure("%s has no %s ... %s markers" % (path, BEGIN, END))
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--radflow", default=os.environ.get("RADFLOW_BIN",
                                                        os.path.join(REPO, "build", "radflow")))
    ap.add_argument("--data", default=os.environ.get(
        "RADFLOW_DATA", os.path.join(os.path.dirname(REPO), "shared", "data")))
    ap.add_argument("--check", metavar="DOC")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    try:
        if not os.access(a.radflow, os.X_OK):
            raise Failure("radflow not found at %s (build it: cmake --build build --target "
                          "radflow, or pass --radflow)" % a.radflow)
        sets = data_sets(a.data)
        needed = [p for s in sets for p in (s[2], *s[3], s[4])] + [
            os.path.join(a.data, PAT1_RTSTRUCT)]
        missing = sorted({p for p in needed if not os.path.isfile(p)})
        if missing:
            raise Failure("IBSI data missing under %s (pass --data):\n  %s"
                          % (a.data, "\n  ".join(missing)))
        results = [compare(a.radflow, *s) for s in sets]
        # The mask: the IBSI's NIfTI mask, checked against the RTSTRUCT it was made from.
        image = os.path.join(a.data, PAT1_IMAGE)
        masks_agree = all(
            run_radiomics(a.radflow, c, image, [os.path.join(a.data, PAT1_MASK)]).stdout ==
            run_radiomics(a.radflow, c, image, [os.path.join(a.data, PAT1_RTSTRUCT), "--roi",
                                                PAT1_ROI]).stdout for c in "ABCDE")
        printed = table(results, masks_agree)
        sys.stdout.write(printed)
        if a.list:
            sys.stdout.write(listing(results))
        if a.check:
            documented = doc_table(a.check)
            if documented != printed:
                sys.stdout.writelines(difflib.unified_diff(
                    documented.splitlines(True), printed.splitlines(True),
                    a.check + " (documented)", "scripts/ibsi_compliance.py (measured)"))
                print("ibsi_compliance: the table in %s differs from radflow's output"
                      % a.check, file=sys.stderr)
                return 1
    except (Failure, OSError, subprocess.TimeoutExpired) as e:
        print("ibsi_compliance: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
