#!/usr/bin/python3
"""DICOMweb at scale (issue 15): QIDO-RS /studies, radflow vs Orthanc (DICOMweb plugin), same run.

Peers (each a fresh process on this machine):
  radflow-big    `radflow serve` on an index bulk-filled by build/bench/qido_fill
                 (--studies, default 100k studies / 1M instances; default auth: bearer token)
  radflow-eq     radflow on exactly the studies Orthanc holds (the same rows: qido_fill with
                 the same --pool-studies, cut at the count Orthanc reached)
  --postgres adds, on one PostgreSQL 15 cluster the bench starts (harness.PostgresServer:
  initdb as the postgres user in a temporary folder, a free port):
  radflow-pg-big radflow with --index postgresql://… (qido_fill --index), --studies like
                 radflow-big (1M instances: about 6 minutes at ~3 000 instances/s)
  radflow-pg-eq  the same on Orthanc-pg's studies
  orthanc-pg     Orthanc + DICOMweb + libOrthancPostgreSQLIndex.so, filled as orthanc is
  orthanc        Orthanc + libOrthancDicomWeb.so (SQLite index), filled by REST POST
                 /instances of small generated DICOM files (no pixel data) from qido_fill's
                 --tsv rows, for --orthanc-seconds (Orthanc loads slowly: its size is stated)

Query kinds (GET /dicom-web/studies?...), each with OHIF 3.13's list parameters
(limit=101, offset=0, fuzzymatching=false, includefield=00081030,00080060):
  ohif          the default study list (no matching key)
  patient_id    PatientID=<a random stored patient>
  name_prefix   PatientName=SMITH*
  name_infix    PatientName=*SMITH*
  date_range    StudyDate=20200101-20201231
  offset        offset=15000 (and offset=90000 at 1M instances; at Orthanc's size the offset is
                80% of its study count, so that a page is still returned)

Every PostgreSQL database (both radflow ones and Orthanc-pg's) gets VACUUM ANALYZE after
its fill, as autovacuum would give it in time (an index-only scan needs the visibility map).

Requests are interleaved: each round sends one request of every (peer, kind) in a shuffled
order, over one keep-alive connection per peer; p50/p99 over --requests rounds. The warm-up
and the timed rounds hold /tmp/radflow-bench.lock (flock), which the other benches take too;
the fills do not.

  /usr/bin/python3 bench/dicomweb_bench.py [--studies 100000] [--orthanc-seconds 240]
      [--orthanc-pg-seconds S] [--requests 200] [--postgres [--pg-fill-jobs N]] [--json out.json]
"""
import argparse
import concurrent.futures
import fcntl
import http.client
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
import harness  # noqa: E402

FILL = os.environ.get("QIDO_FILL_BIN", str(HERE.parent / "build" / "bench" / "qido_fill"))
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
PG_INDEX_PLUGIN = "/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so"

OHIF = [("limit", "101"), ("offset", "0"), ("fuzzymatching", "false"), ("includefield", "00081030,00080060")]
ORTHANC_POOL = 20000  # --pool-studies of the Orthanc-sized fill (its patients: 8000)


def OrthancDicomWeb(pg_port=None, pg_database=None):
    """harness.OrthancServer with the DICOMweb plugin; with pg_port, its index in PostgreSQL
    (the files on disk as before)."""
    config = {"Name": "bench", "Plugins": [DICOMWEB_PLUGIN], "HttpThreadsCount": 50,
              "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}}
    if pg_port:
        config["Plugins"].append(PG_INDEX_PLUGIN)
        config["PostgreSQL"] = {"EnableIndex": True, "EnableStorage": False, "Host": "127.0.0.1",
                                "Port": pg_port, "Database": pg_database,
                                "Username": "postgres", "Password": "", "Lock": False}
    return harness.OrthancServer(config=config)


def fill(data_dir, studies, pool=None, tsv=None, index=None, jobs=1):
    """qido_fill; with jobs > 1 (PostgreSQL only) that many processes on consecutive study
    ranges of the same sequence (--first-study), the same rows as one process."""
    def args_for(first, count):
        args = [FILL, "--data", data_dir, "--studies", str(count)]
        if index:
            args += ["--index", index]
        if pool or jobs > 1:
            args += ["--pool-studies", str(pool or studies)]
        if first:
            args += ["--first-study", str(first)]
        if tsv:
            args += ["--tsv", tsv]
        return args
    t = time.time()
    cuts = [studies * i // jobs for i in range(jobs + 1)]
    procs = [subprocess.Popen(args_for(a, b - a), stdout=subprocess.PIPE, text=True)
             for a, b in zip(cuts, cuts[1:]) if b > a]
    outs = [p.communicate(timeout=3600)[0] for p in procs]
    for p in procs:
        if p.returncode != 0:
            raise AssertionError("qido_fill exited %d" % p.returncode)
    if len(outs) == 1:
        return json.loads(outs[0].strip().splitlines()[-1])
    secs = time.time() - t
    return {"studies": studies, "instances": sum(json.loads(o.strip().splitlines()[-1])["instances"] for o in outs),
            "processes": len(outs), "seconds": round(secs, 1),
            "instances_per_s": round(sum(json.loads(o.strip().splitlines()[-1])["instances"] for o in outs) / secs)}


def vacuum(pg, database):
    t = time.time()
    pg.psql("VACUUM ANALYZE", database=database)
    return round(time.time() - t, 1)


def dicom_bytes(row):
    """A small Part-10 CT Image Storage instance (no pixel data) from one qido_fill TSV row."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    (pid, name, birth, sex, study, date, tm, acc, desc, referring, series, modality, series_no,
     sop, inst_no) = row
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, sop
    ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = pid, name, birth, sex
    ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime, ds.AccessionNumber = study, date, tm, acc
    ds.StudyDescription, ds.ReferringPhysicianName, ds.StudyID = desc, referring, acc[-6:]
    ds.SeriesInstanceUID, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = series, modality, series_no, inst_no
    ds.is_little_endian, ds.is_implicit_VR = True, False
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


def fill_orthanc(orthanc, tsv, seconds, workers=4):
    """POSTs the TSV's instances study by study until `seconds` pass; returns the studies
    and instances stored (whole studies only)."""
    by_study = []
    with open(tsv, encoding="utf-8") as f:
        for line in f:
            row = line.rstrip("\n").split("\t")
            if not by_study or by_study[-1][0][4] != row[4]:
                by_study.append([])
            by_study[-1].append(row)
    deadline = time.time() + seconds
    local = __import__("threading").local()

    def post(body):
        if not hasattr(local, "c"):
            local.c = http.client.HTTPConnection("127.0.0.1", orthanc.http_port, timeout=60)
        local.c.request("POST", "/instances", body, {"Content-Type": "application/dicom"})
        r = local.c.getresponse()
        r.read()
        if r.status != 200:
            raise AssertionError("Orthanc POST /instances: HTTP %d" % r.status)

    studies = instances = 0
    pids = set()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for rows in by_study:
            if time.time() > deadline:
                break
            list(pool.map(post, [dicom_bytes(r) for r in rows]))
            studies += 1
            instances += len(rows)
            pids.add(rows[0][0])
    return studies, instances, sorted(pids)


def kinds(studies, rng_pids):
    """(kind, params) with the OHIF list parameters; PatientID drawn per request."""
    offsets = [("offset", 15000), ("offset_90000", 90000)] if studies > 90000 else \
        [("offset", 15000)] if studies > 15000 else [("offset", int(studies * 0.8))]
    out = [("ohif", lambda: OHIF),
           ("patient_id", lambda: OHIF + [("PatientID", rng_pids())]),
           ("name_prefix", lambda: OHIF + [("PatientName", "SMITH*")]),
           ("name_infix", lambda: OHIF + [("PatientName", "*SMITH*")]),
           ("date_range", lambda: OHIF + [("StudyDate", "20200101-20201231")])]
    for name, off in offsets:
        out.append((name, (lambda o: lambda: [("limit", "101"), ("offset", str(o)), ("fuzzymatching", "false"),
                                              ("includefield", "00081030,00080060")])(off)))
    return out


class Peer:
    def __init__(self, name, port, headers, studies, pids):
        self.name, self.port, self.headers, self.studies = name, port, headers, studies
        rng = random.Random(15)
        self.kinds = kinds(studies, lambda: rng.choice(pids))
        self.conn = None

    def get(self, params):
        # "*" and "," as OHIF sends them (Orthanc matches a %2A as a literal "*").
        path = "/dicom-web/studies?" + urllib.parse.urlencode(params, safe="*,")
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                t = time.perf_counter()
                self.conn.request("GET", path, headers=dict(self.headers, Accept="application/dicom+json"))
                r = self.conn.getresponse()
                body = r.read()
                dt = time.perf_counter() - t
                if r.status not in (200, 204):
                    raise AssertionError("%s %s: HTTP %d %s" % (self.name, path, r.status, body[:200]))
                return dt, (len(json.loads(body)) if body else 0)
            except (http.client.HTTPException, ConnectionError):
                self.conn = None
                if attempt:
                    raise


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--studies", type=int, default=100000, help="radflow-big's studies (10 instances each)")
    ap.add_argument("--orthanc-seconds", type=float, default=240, help="time given to Orthanc's fill")
    ap.add_argument("--orthanc-pg-seconds", type=float, help="time given to Orthanc-pg's fill (default: --orthanc-seconds)")
    ap.add_argument("--pg-fill-jobs", type=int, default=1, help="qido_fill processes for radflow-pg-big")
    ap.add_argument("--orthanc-studies", type=int, default=ORTHANC_POOL, help="most studies offered to Orthanc")
    ap.add_argument("--requests", type=int, default=200, help="requests per (peer, kind)")
    ap.add_argument("--keep", help="reuse/keep fills in this folder (radflow-big is slow to make)")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--postgres", action="store_true", help="add radflow and Orthanc on PostgreSQL")
    ap.add_argument("--plans", help="with --postgres: bench/qido_plans.py's EXPLAIN ANALYZE of radflow-pg-big, to this file")
    args = ap.parse_args()
    harness.require_binary()
    work = args.keep or tempfile.mkdtemp(prefix="dicomweb-bench-")
    os.makedirs(work, exist_ok=True)
    info = {}
    servers = []
    try:
        big = os.path.join(work, "radflow-big")
        if not os.path.exists(os.path.join(big, "index.db")):
            info["radflow_big_fill"] = fill(big, args.studies)
        tsv = os.path.join(work, "orthanc.tsv")
        fill(os.path.join(work, "tsv-source"), min(args.orthanc_studies, ORTHANC_POOL), ORTHANC_POOL, tsv)
        orthanc = OrthancDicomWeb().start()
        servers.append(orthanc)
        t = time.time()
        o_studies, o_instances, o_pids = fill_orthanc(orthanc, tsv, args.orthanc_seconds)
        info["orthanc_fill"] = {"studies": o_studies, "instances": o_instances, "seconds": round(time.time() - t, 1),
                                "instances_per_s": round(o_instances / (time.time() - t), 1)}
        eq = os.path.join(work, "radflow-eq-%d" % o_studies)
        if not os.path.exists(os.path.join(eq, "index.db")):
            info["radflow_eq_fill"] = fill(eq, o_studies, ORTHANC_POOL)
        rf_big = harness.RadflowServer(data_dir=big).start(timeout=120)
        servers.append(rf_big)
        rf_eq = harness.RadflowServer(data_dir=eq).start(timeout=120)
        servers.append(rf_eq)
        # The equal-size peers draw PatientIDs from the patients of the studies both hold;
        # the big ones from all of their patient numbers (about 8% of them have no study).
        big_pids = ["PID%07d" % i for i in range(args.studies * 2 // 5)]
        pg_peers = []
        if args.postgres:
            pg = harness.PostgresServer().start()
            servers.append(pg)
            pg_big = os.path.join(work, "radflow-pg-big")
            pg_big_uri = uri = pg.new_database("radflow_big")
            harness.set_index_location(pg_big, uri)  # harness's serve and provisioning carry --index
            info["radflow_pg_big_fill"] = fill(pg_big, args.studies, index=uri, jobs=args.pg_fill_jobs)
            info["radflow_pg_big_fill"]["vacuum_analyze_s"] = vacuum(pg, "radflow_big")
            pg.new_database("orthanc")
            orthanc_pg = OrthancDicomWeb(pg.port, "orthanc").start()
            servers.append(orthanc_pg)
            t = time.time()
            p_studies, p_instances, p_pids = fill_orthanc(orthanc_pg, tsv, args.orthanc_pg_seconds or args.orthanc_seconds)
            info["orthanc_pg_fill"] = {"studies": p_studies, "instances": p_instances,
                                       "seconds": round(time.time() - t, 1),
                                       "instances_per_s": round(p_instances / (time.time() - t), 1),
                                       "vacuum_analyze_s": vacuum(pg, "orthanc")}
            pg_dir = os.path.join(work, "radflow-pg-eq-%d" % p_studies)
            uri = pg.new_database("radflow_eq")
            harness.set_index_location(pg_dir, uri)
            info["radflow_pg_eq_fill"] = fill(pg_dir, p_studies, ORTHANC_POOL, index=uri)
            info["radflow_pg_eq_fill"]["vacuum_analyze_s"] = vacuum(pg, "radflow_eq")
            # serve's start on 1M PostgreSQL rows takes minutes on the 2-core VM (stated).
            t = time.time()
            rf_pg_big = harness.RadflowServer(data_dir=pg_big)
            servers.append(rf_pg_big)
            rf_pg_big.start(timeout=1200)
            info["radflow_pg_big_start_s"] = round(time.time() - t, 1)
            rf_pg = harness.RadflowServer(data_dir=pg_dir).start(timeout=120)
            servers.append(rf_pg)
            pg_peers = [Peer("radflow-pg-big", rf_pg_big.http_port,
                             {"Authorization": "Bearer " + rf_pg_big.token_for()}, args.studies, big_pids),
                        Peer("radflow-pg-eq", rf_pg.http_port, {"Authorization": "Bearer " + rf_pg.token_for()},
                             p_studies, p_pids),
                        Peer("orthanc-pg", orthanc_pg.http_port, {}, p_studies, p_pids)]
        peers = [Peer("radflow-big", rf_big.http_port, {"Authorization": "Bearer " + rf_big.token_for()},
                      args.studies, big_pids),
                 Peer("radflow-eq", rf_eq.http_port, {"Authorization": "Bearer " + rf_eq.token_for()},
                      o_studies, o_pids),
                 Peer("orthanc", orthanc.http_port, {}, o_studies, o_pids)] + pg_peers
        # The timed part (warm-up included) under the bench lock the other benches take.
        lock = open("/tmp/radflow-bench.lock", "a")
        t = time.time()
        fcntl.flock(lock, fcntl.LOCK_EX)
        info["bench_lock_wait_s"] = round(time.time() - t, 1)
        # Same answers at equal size (row counts), and a warm-up round.
        for p in peers:
            for kind, params in p.kinds:
                p.get(params())
        counts = {}
        for p in peers:  # each equal-size pair: the same studies
            if p.name.endswith("-big"):
                continue
            for kind, params in p.kinds:
                if kind != "patient_id":
                    counts.setdefault(kind, {})[p.name] = p.get(params())[1]
        info["rows_at_equal_size"] = counts
        times = {}
        rng = random.Random(1)
        for _ in range(args.requests):
            order = [(p, k, f) for p in peers for k, f in p.kinds]
            rng.shuffle(order)
            for p, kind, params in order:
                times.setdefault((p.name, kind), []).append(p.get(params())[0])
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        if args.postgres and args.plans:
            with open(args.plans, "w") as f:
                subprocess.run([sys.executable, str(HERE / "qido_plans.py"), "--postgres-uri", pg_big_uri],
                               check=True, stdout=f, timeout=1800)
        results = []
        for (name, kind), ts in times.items():
            results.append({"peer": name, "kind": kind, "p50_ms": round(harness.percentile(ts, 50) * 1e3, 2),
                            "p99_ms": round(harness.percentile(ts, 99) * 1e3, 2), "n": len(ts)})
        info["qido"] = results
        print(json.dumps(info, indent=1))
        by = {(r["peer"], r["kind"]): r for r in results}
        print("\n%-14s %-12s %9s %9s" % ("peer", "kind", "p50 ms", "p99 ms"))
        for r in results:
            print("%-14s %-12s %9.2f %9.2f" % (r["peer"], r["kind"], r["p50_ms"], r["p99_ms"]))
        print("\nOrthanc p99 / radflow-eq p99 (same %d studies / %d instances):" % (o_studies, o_instances))
        for kind, _ in peers[2].kinds:
            a, b = by.get(("orthanc", kind)), by.get(("radflow-eq", kind))
            if a and b:
                print("  %-12s %6.1fx (p50 %6.1fx)" % (kind, a["p99_ms"] / b["p99_ms"], a["p50_ms"] / b["p50_ms"]))
        if pg_peers:
            print("\nOrthanc-pg p99 / radflow-pg-eq p99 (same %d studies / %d instances, PostgreSQL):"
                  % (p_studies, p_instances))
            for kind, _ in pg_peers[2].kinds:
                a, b = by.get(("orthanc-pg", kind)), by.get(("radflow-pg-eq", kind))
                if a and b:
                    print("  %-12s %6.1fx (p50 %6.1fx)" % (kind, a["p99_ms"] / b["p99_ms"], a["p50_ms"] / b["p50_ms"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(info, f, indent=1)
    finally:
        for s in reversed(servers):
            s.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
