#!/usr/bin/env python3
"""A simulated reading day through the real server (docs/benchmarks.md, "Worklist").

300 studies arrive over 10 hours (Poisson, busier 08–12 h), each a real series re-identified
with fresh UIDs: head CTs (28 slices, ct_head_ge_tilt), chest CTs (first 12 slices of
Lung_Dx-A0001) and brain MRs (mr_brain_t1_siemens); 5 % carry a STAT order; 12 head CTs
carry a synthetic acute haemorrhage (10 mL, 60 HU) that the real ct-head-bleed app finds.
Every study is sent by storescu at its arrival time; the AI engine runs ct-head-bleed on
every head CT as it would in a department.

Three simulated readers loop: GET /api/v1/worklist (unread items), claim the first one
nobody holds (POST .../claim; a 409 means another reader was faster: next item), read it
for a realistic time (log-normal: CT head median 3 min, CT chest 6 min, MR brain 7 min,
σ = 0.35), then POST .../state final. Two policies, on the same arrivals and read times:

  fifo      sort=waiting: the oldest first, whatever the AI found (the list without radflow)
  radflow   sort=priority: radflow's priority rule (critical finding, then order priority)

Time is compressed: --speed 120 runs the 10-hour day in 5 minutes; every real delay of the
server (storage, series stability 1 s, the AI job) is multiplied by the same factor in
simulated time, which makes radflow's numbers conservative (an AI result 6 s after the
series is stable counts as 12 simulated minutes).

The wait of a study is read_started_at − arrived_at from the server's own worklist item.
Prints the mean and 90th percentile for critical studies and for all, per policy, and
the ratio of the critical means.
Usage: python3 bench/reading_day.py [--studies 300] [--speed 120] [--readers 3]
"""
import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness  # noqa: E402
import worklist_data as wd  # noqa: E402

MR_BRAIN = "mr_brain_t1_siemens"
KINDS = {  # source, slices, median read minutes, share
    "ct_head": (wd.HEAD_CT, None, 3.0, 0.30),
    "ct_chest": (wd.CHEST_CT, 12, 6.0, 0.45),
    "mr_brain": (MR_BRAIN, None, 7.0, 0.25),
}


def plan_day(n, critical, seed):
    """Arrival minute, kind, STAT flag, bleed flag and read minutes of each study."""
    rng = random.Random(seed)
    # Arrival density over 600 minutes: 1.6× between 08:00 and 12:00 (minutes 0–240).
    times = []
    while len(times) < n:
        t = rng.uniform(0, 600)
        if rng.random() < (1.0 if t < 240 else 0.625):
            times.append(t)
    times.sort()
    kinds = rng.choices(list(KINDS), weights=[k[3] for k in KINDS.values()], k=n)
    heads = [i for i, k in enumerate(kinds) if k == "ct_head"]
    bleeds = set(rng.sample(heads, min(critical, len(heads))))
    studies = []
    for i in range(n):
        median = KINDS[kinds[i]][2]
        studies.append({"i": i, "arrival_min": times[i], "kind": kinds[i], "stat": rng.random() < 0.05,
                        "bleed": i in bleeds, "read_min": median * math.exp(rng.gauss(0, 0.35))})
    return studies


def build(studies, out_dir):
    for s in studies:
        source, slices, _, _ = KINDS[s["kind"]]
        uid, files = wd.write_study(os.path.join(out_dir, "s%03d" % s["i"]), source, "RD%04d" % s["i"],
                                    "Day^Patient%d" % s["i"], "20261206",
                                    priority="STAT" if s["stat"] else "ROUTINE",
                                    site="North Hospital", bleed_ml=10 if s["bleed"] else 0,
                                    max_slices=slices)
        s["uid"], s["files"] = uid, files


def call(port, path, method="GET", body=None, reader=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method,
                                 headers={"Content-Type": "application/json", "X-Radflow-Reader": reader or ""})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def run_policy(policy, studies, speed, readers, apps_dir, work):
    by_uid = {s["uid"]: s for s in studies}
    empty = tempfile.mkdtemp(dir=work)
    harness.DCMTK_ENV["RADFLOW_APPS_DIR"] = empty
    server = harness.RadflowServer(extra_args=["--apps", apps_dir, "--stable-seconds", "1",
                                               "--ai-workers", "1"])
    sort = "waiting" if policy == "fifo" else "priority"
    with server:
        port = server.http_port
        t0 = time.time() + 1.0
        stop = threading.Event()
        sent = threading.Event()

        def sender():
            for s in studies:
                delay = t0 + s["arrival_min"] * 60 / speed - time.time()
                if delay > 0:
                    time.sleep(delay)
                harness.storescu(server.dicom_port, s["files"])
            sent.set()

        done = {}
        lock = threading.Lock()

        def reader(name):
            while not stop.is_set():
                status, page = call(port, "/api/v1/worklist?state=unread&sort=%s&limit=20" % sort)
                claimed = None
                for item in page["items"] if status == 200 else []:
                    st, body = call(port, "/api/v1/worklist/%s/claim" % item["study_uid"], "POST", {}, name)
                    if st == 200:
                        claimed = item["study_uid"]
                        break
                if claimed is None:
                    if sent.is_set() and status == 200 and page["total"] == 0:
                        with lock:
                            if len(done) >= len(studies):
                                return
                    time.sleep(0.05)
                    continue
                time.sleep(by_uid[claimed]["read_min"] * 60 / speed)
                st, body = call(port, "/api/v1/worklist/%s/state" % claimed, "POST", {"state": "final"}, name)
                if st != 200:
                    raise SystemExit("final %s: %s" % (claimed, body))
                with lock:
                    done[claimed] = name

        threads = [threading.Thread(target=sender, daemon=True)]
        threads += [threading.Thread(target=reader, args=("reader-%d" % r,), daemon=True) for r in range(readers)]
        for t in threads:
            t.start()
        deadline = time.time() + 3 * 600 * 60 / speed + 300
        while len(done) < len(studies) and time.time() < deadline:
            time.sleep(0.5)
        stop.set()
        if len(done) < len(studies):
            raise SystemExit("%s: only %d of %d studies read" % (policy, len(done), len(studies)))
        waits = {}
        for s in studies:
            st, item = call(port, "/api/v1/worklist/" + s["uid"])
            waits[s["uid"]] = (item["read_started_at"] - item["arrived_at"]) / 1000 * speed / 60  # sim minutes
            if s["bleed"] and item["ai_flag"] != "critical":
                raise SystemExit("%s: the bleed of study %d was not flagged (%s)" % (policy, s["i"], item["ai_flag"]))
        return waits


def summary(values):
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(math.ceil(0.9 * len(values))) - 1)]
    return statistics.mean(values), p90


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=300)
    ap.add_argument("--critical", type=int, default=12)
    ap.add_argument("--speed", type=float, default=120)
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="radflow-reading-day-")
    try:
        apps = os.path.join(work, "apps")
        os.makedirs(apps)
        shutil.copy(os.path.join(REPO, "apps", "ct-head-bleed.json"), apps)
        studies = plan_day(args.studies, args.critical, args.seed)
        t = time.time()
        build(studies, os.path.join(work, "studies"))
        print("built %d studies (%d critical, %d STAT) in %.0f s; mean read %.1f min, %d readers"
              % (len(studies), sum(s["bleed"] for s in studies), sum(s["stat"] for s in studies),
                 time.time() - t, statistics.mean(s["read_min"] for s in studies), args.readers))
        results = {}
        for policy in ("fifo", "radflow"):
            t = time.time()
            waits = run_policy(policy, studies, args.speed, args.readers, apps, work)
            crit = [waits[s["uid"]] for s in studies if s["bleed"]]
            stat = [waits[s["uid"]] for s in studies if s["stat"] and not s["bleed"]]
            rest = [waits[s["uid"]] for s in studies]
            results[policy] = (summary(crit), summary(stat), summary(rest))
            print("%-8s critical mean %5.1f p90 %5.1f | STAT mean %5.1f p90 %5.1f | all mean %5.1f p90 %5.1f min"
                  "  (%.0f s)" % ((policy,) + results[policy][0] + results[policy][1] + results[policy][2]
                                  + (time.time() - t,)))
        ratio = results["radflow"][0][0] / results["fifo"][0][0]
        print()
        print("| order | critical mean | critical p90 | STAT mean | STAT p90 | all mean | all p90 |")
        print("|---|---|---|---|---|---|---|")
        for policy in ("fifo", "radflow"):
            (cm, c9), (sm, s9), (am, a9) = results[policy]
            print("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |" % (policy, cm, c9, sm, s9, am, a9))
        print("\ncritical mean wait, radflow / FIFO: %.2f (target ≤ 0.33)" % ratio)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
