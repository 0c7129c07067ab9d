"""scripts/ibsi_compliance.py against docs/ibsi-compliance.md: the document's IBSI table is
what the released command line measures, and every value with a reference is within the rule
(src/radiomics/ibsi_reference.h; the CLI's `within` column)."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SCRIPT = os.path.join(h.REPO, "scripts", "ibsi_compliance.py")
DOC = os.path.join(h.REPO, "docs", "ibsi-compliance.md")


def table_rows(stdout):
    """The data rows of the printed table, as lists of cells."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in stdout.splitlines() if line.startswith("| ")]
    return rows[1:]  # after the header


class IbsiComplianceTests(unittest.TestCase):
    def test_document_table_is_what_radflow_measures_and_nothing_misses(self):
        h.require_binary()
        p = subprocess.run([sys.executable, SCRIPT, "--radflow", h.RADFLOW_BIN, "--data",
                            h.DATA_ROOT, "--check", DOC], capture_output=True, text=True,
                           timeout=900)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rows = table_rows(p.stdout)
        self.assertEqual([r[0] for r in rows],
                         ["digital phantom"] + ["PAT1, configuration " + c for c in "ABCDE"])
        for label, features, within, diagnostics, diag_within, misses in rows:
            self.assertGreater(int(features), 0, label)
            self.assertEqual(within, features, label)
            self.assertEqual(diag_within, diagnostics, label)
            self.assertEqual(misses, "none", label)
        # Configurations A-E report every IBSI diagnostic value (the phantom's table has none).
        for label, _, _, diagnostics, _, _ in rows[1:]:
            self.assertEqual(diagnostics, "60", label)
        self.assertIn("gives the same output for A–E", p.stdout)


if __name__ == "__main__":
    unittest.main()
