#!/usr/bin/env python3
"""Worklist API latency at 100 000 studies (docs/benchmarks.md, "Worklist").

A fresh data dir is created by starting radflow once (the migrations), then 100 000
worklist items are written straight into index.db (the benchmark measures the query, not
the ingest of 100 000 studies): 85 % final, 5 % cancelled, 7 % unread, 2 % in progress,
1 % preliminary; order priorities 5 % STAT, 15 % HIGH, 80 % ROUTINE; AI flags 1 %
critical, 4 % high, 10 % moderate; 6 modalities, 8 body parts, 20 sites, study dates over
two years, arrivals over the last 30 days. Then the server is started and each query is
sent --repeat times over one keep-alive connection (http.client), after 20 warm-up calls:

  default   GET /api/v1/worklist                       (open items by priority, 100)
  filtered  GET /api/v1/worklist?modality=CT&body_part=HEAD&ai_flag=any&site=Site%2007
  patient   GET /api/v1/worklist?patient=doe%5Ep12&state=all
  page 10   GET /api/v1/worklist?offset=900&limit=100
  reference GET /dicom-web/studies?limit=100 (radflow's QIDO-RS on the same index, 1 000
            studies: a same-run yardstick of an HTTP JSON answer of this server)

Prints p50 / p90 / p99 / max in ms per query and a markdown table.
Usage: python3 bench/worklist_api_bench.py [--items 100000] [--repeat 500]
"""
import argparse
import http.client
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RADFLOW = os.environ.get("RADFLOW_BIN", os.path.join(REPO, "build", "radflow"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness  # noqa: E402


def start(data, extra=()):
    port = harness.free_port()
    harness.RADFLOW_BIN = RADFLOW
    harness.authenticate_port(port, harness.provision(data))
    proc = subprocess.Popen([RADFLOW, "serve", "--data", data, "--http-port", str(port),
                             "--dicom-port", str(harness.free_port()), *extra],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(os.path.dirname(data), "server.log"), "ab"),
                            env=dict(os.environ, RADFLOW_APPS_DIR=tempfile.mkdtemp()))
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2).status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("radflow did not start")


def fill(db_path, n, seed=1):
    rng = random.Random(seed)
    states = ["final"] * 85 + ["cancelled"] * 5 + ["unread"] * 7 + ["in_progress"] * 2 + ["preliminary"]
    prios = ["STAT"] * 5 + ["HIGH"] * 15 + ["ROUTINE"] * 80
    flags = [("critical", 5)] + [("high", 4)] * 4 + [("moderate", 3)] * 10 + [("none", 0)] * 85
    order_w = {"STAT": 500, "HIGH": 200, "ROUTINE": 0}
    ai_w = {"critical": 1000, "high": 300, "moderate": 100, "none": 0}
    mods = ["CT", "CT", "CT", "MR", "MR", "CR", "US", "PT\\CT", "MG"]
    parts = ["HEAD", "CHEST", "ABDOMEN", "PELVIS", "SPINE", "KNEE", "BREAST", "NECK"]
    now = int(time.time() * 1000)
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA synchronous=OFF")
    rows = []
    for i in range(n):
        state = rng.choice(states)
        prio = rng.choice(prios)
        flag, rank = rng.choice(flags)
        arrived = now - rng.randrange(30 * 86400 * 1000)
        reported = arrived + rng.randrange(3600 * 1000) if state in ("final", "preliminary") else 0
        reader = "dr-%d" % rng.randrange(20) if state == "in_progress" else ""
        name = "Doe^P%d" % rng.randrange(n // 3)
        rows.append(("2.25.%d%06d" % (10 ** 20 + i, i), "P%d" % i, "", name, name.lower(), "19600101", "F",
                     "ACC%d" % i, "2025%02d%02d" % (rng.randrange(1, 13), rng.randrange(1, 29)), "080000",
                     "study", rng.choice(mods), rng.choice(parts), "Site %02d" % rng.randrange(20), "",
                     prio, state, reader, arrived if reader else 0, now + 600000 if reader else 0, arrived,
                     arrived + 60000, arrived + 120000 if reader or reported else 0, reported,
                     flag, rank, "", 0, order_w[prio] + ai_w[flag], "", 3, 300))
    con.executemany(
        "INSERT INTO worklist (study_uid, patient_id, issuer_of_patient_id, patient_name, patient_name_key,"
        " birth_date, sex, accession_number, study_date, study_time, study_description, modalities, body_part,"
        " site, referring_physician, order_priority, state, reader, claimed_at, claim_expires_at, arrived_at,"
        " completed_at, read_started_at, reported_at, ai_flag, ai_rank, ai_reason, ai_pending, priority_score,"
        " priority_reasons, num_series, num_instances) VALUES (%s)" % ",".join("?" * 32), rows)
    con.commit()
    con.close()


def measure(port, path, repeat):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for i in range(20 + repeat):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        r = conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            raise SystemExit("%s: %d %s" % (path, r.status, body[:200]))
        if i >= 20:
            out.append(dt)
    conn.close()
    out.sort()
    pick = lambda q: out[min(len(out) - 1, int(q * len(out)))]
    return {"p50": statistics.median(out), "p90": pick(0.90), "p99": pick(0.99), "max": out[-1], "bytes": len(body)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=500)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="radflow-wl-bench-")
    data = os.path.join(work, "data")
    try:
        proc, _ = start(data)
        proc.terminate()
        proc.wait(30)
        # A small index for the QIDO-RS yardstick.
        subprocess.run([RADFLOW, "bench-fill", "--data", data, "--instances", "1000"], check=True,
                       stdout=subprocess.DEVNULL)
        t0 = time.time()
        fill(os.path.join(data, "index.db"), args.items)
        print("filled %d worklist items in %.1f s" % (args.items, time.time() - t0))
        proc, port = start(data)
        try:
            queries = [
                ("default", "/api/v1/worklist"),
                ("filtered", "/api/v1/worklist?modality=CT&body_part=HEAD&ai_flag=any&site=Site%2007"),
                ("patient", "/api/v1/worklist?patient=doe%5Ep12&state=all"),
                ("page 10", "/api/v1/worklist?offset=900&limit=100"),
                ("QIDO-RS studies (reference)", "/dicom-web/studies?limit=100"),
            ]
            results = []
            for name, path in queries:
                r = measure(port, path, args.repeat)
                results.append((name, path, r))
                print("%-28s p50 %6.2f  p90 %6.2f  p99 %6.2f  max %6.2f ms  (%d bytes)" %
                      (name, r["p50"], r["p90"], r["p99"], r["max"], r["bytes"]))
            print()
            print("| query | p50 ms | p90 ms | p99 ms | max ms | answer bytes |")
            print("|---|---|---|---|---|---|")
            for name, path, r in results:
                print("| %s `%s` | %.2f | %.2f | %.2f | %.2f | %d |" %
                      (name, path, r["p50"], r["p90"], r["p99"], r["max"], r["bytes"]))
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
