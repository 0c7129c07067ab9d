#!/usr/bin/python3
"""QIDO-RS /studies query plans and in-database times, before/after migration 014 (issue 15).

  /usr/bin/python3 bench/qido_plans.py DATA/index.db   (an index filled by bench/qido_fill)
  /usr/bin/python3 bench/qido_plans.py --postgres STUDIES   (EXPLAIN ANALYZE on PostgreSQL: a
      cluster of its own, filled with `qido_fill --index postgresql://…`, after 014 only)
  /usr/bin/python3 bench/qido_plans.py --postgres-uri postgresql://…   (the same on a database
      filled already: bench/dicomweb_bench.py --plans runs it on radflow-pg-big's)

"before": the SQL storage::Index built until issue 15 (one join, LIMIT/OFFSET on it) on the
indexes of migrations 001-013 (a copy of the database with 014's indexes dropped and
studies_date / studies_patient back). "after": the SQL it builds now (a page of study ids
first; patient constraints as a set of patient ids) on the 014 indexes. Times are the best
of 5 runs inside SQLite (no HTTP, no JSON); docs/query-plans.md has the output.
"""
import os
import shutil
import sqlite3
import sys
import tempfile
import time

COLS = ("p.patient_id, p.patient_name, p.birth_date, p.sex, p.num_studies, p.num_series, p.num_instances,"
        " s.study_uid, s.study_date, s.study_time, s.accession_number, s.study_id, s.study_description,"
        " s.referring_physician, s.modalities, s.num_series, s.num_instances")
FROM = "studies s JOIN patients p ON p.id = s.patient_fk"
ORDER = " ORDER BY s.study_date, s.study_time, s.id"
NAME = "p.patient_name LIKE ? ESCAPE '\\'"
DATE = "(s.study_date <> '' AND s.study_date >= ? AND s.study_date <= ?)"

# kind: (study condition, patient condition, params, offset)
KINDS = {
    "ohif": ("", "", (), 0),
    "patient_id": ("", "p.patient_id = ?", ("PID0012345",), 0),
    "name_prefix": ("", NAME, ("SMITH%",), 0),
    "name_infix": ("", NAME, ("%SMITH%",), 0),
    "name_infix_none": ("", NAME, ("%ZZZ%",), 0),
    "date_range": (DATE, "", ("20200101", "20201231\x7f"), 0),
    "offset_15000": ("", "", (), 15000),
    "offset_90000": ("", "", (), 90000),
}


def before_sql(study, patient, offset):
    conds = [c for c in (patient, study) if c]
    where = (" WHERE " + " AND ".join(conds)) if conds else ""
    return "SELECT %s FROM %s%s%s LIMIT 101 OFFSET %d" % (COLS, FROM, where, ORDER, offset)


def after_sql(study, patient, offset):
    inner = study
    if patient:
        inner += (" AND " if inner else "") + "s.patient_fk IN (SELECT p.id FROM patients p WHERE %s)" % patient
    return "SELECT %s FROM %s WHERE s.id IN (SELECT s.id FROM studies s%s%s LIMIT 101 OFFSET %d)%s" % (
        COLS, FROM, (" WHERE " + inner) if inner else "", ORDER, offset, ORDER)


def measure(db, sql, params):
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        n = len(db.execute(sql, params).fetchall())
        best = min(best, time.perf_counter() - t)
    plan = db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return n, best * 1e3, plan


def show_plan(plan):
    depth = {0: 0}
    lines = []
    for node, parent, _, detail in plan:
        depth[node] = depth.get(parent, 0) + 1
        lines.append("    " + "  " * (depth[node] - 1) + detail)
    return "\n".join(lines)


def postgres(studies):
    import subprocess
    import psycopg2
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
    import harness
    with harness.PostgresServer() as pg:
        uri = pg.new_database("qido_plans")
        work = tempfile.mkdtemp(prefix="qido-plans-pg-")
        try:
            t = time.time()
            out = subprocess.run([os.path.join(here, "..", "build", "bench", "qido_fill"), "--data", work,
                                  "--index", uri, "--studies", str(studies)],
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
            print("fill: %s (%.0f s)" % (out.strip(), time.time() - t))
        finally:
            shutil.rmtree(work)
        postgres_plans(uri)


def postgres_plans(uri, vacuum=True):
    import psycopg2
    db = psycopg2.connect(uri)
    db.autocommit = True
    cur = db.cursor()
    if vacuum:
        cur.execute("VACUUM ANALYZE")  # the visibility map an index-only scan needs
    cur.execute("SHOW server_version")
    version = cur.fetchone()[0]
    cur.execute("SELECT (SELECT COUNT(*) FROM studies), (SELECT COUNT(*) FROM instances), (SELECT COUNT(*) FROM patients)")
    print("PostgreSQL %s; %d studies, %d instances, %d patients\n" % ((version,) + cur.fetchone()))
    for kind, (study, patient, params, offset) in KINDS.items():
        # The SQL storage::Index builds on PostgreSQL (sql_dialect: ILIKE, %s placeholders).
        patient = patient.replace("LIKE ?", "ILIKE ?")
        sql = after_sql(study, patient, offset).replace("?", "%s")
        best = 1e9
        for _ in range(5):
            t = time.perf_counter()
            cur.execute(sql, params)
            n = len(cur.fetchall())
            best = min(best, time.perf_counter() - t)
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, params)
        plan = "\n".join("    " + r[0] for r in cur.fetchall())
        print("%s: %d rows, best of 5 %.1f ms\n%s\n" % (kind, n, best * 1e3, plan))
    db.close()


def main():
    if sys.argv[1] == "--postgres":
        return postgres(int(sys.argv[2]))
    if sys.argv[1] == "--postgres-uri":
        return postgres_plans(sys.argv[2])
    src = sys.argv[1]
    work = tempfile.mkdtemp(prefix="qido-plans-")
    try:
        old = os.path.join(work, "before.db")
        shutil.copy(src, old)
        b = sqlite3.connect(old)
        b.executescript("DROP INDEX IF EXISTS studies_date_time; DROP INDEX IF EXISTS patients_name_nocase;"
                        " DROP INDEX IF EXISTS studies_patient_date;"
                        " CREATE INDEX IF NOT EXISTS studies_date ON studies(study_date);"
                        " CREATE INDEX IF NOT EXISTS studies_patient ON studies(patient_fk);")
        a = sqlite3.connect(src)
        counts = a.execute("SELECT (SELECT COUNT(*) FROM studies), (SELECT COUNT(*) FROM instances),"
                           " (SELECT COUNT(*) FROM patients)").fetchone()
        print("index: %d studies, %d instances, %d patients; SQLite %s\n" % (counts + (sqlite3.sqlite_version,)))
        print("| kind | rows | before ms | after ms |\n|---|---|---|---|")
        detail = []
        for kind, (study, patient, params, offset) in KINDS.items():
            nb, tb, pb = measure(b, before_sql(study, patient, offset), params)
            na, ta, pa = measure(a, after_sql(study, patient, offset), params)
            assert nb == na, (kind, nb, na)
            print("| %s | %d | %.1f | %.1f |" % (kind, na, tb, ta))
            detail.append("%s\n  before:\n%s\n  after:\n%s\n" % (kind, show_plan(pb), show_plan(pa)))
        print()
        print("\n".join(detail))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
