#!/usr/bin/env python3
"""Lossless compression at rest (issue 15, docs/compression.md): bytes saved, compaction
throughput, and WADO-RS frame latency with and without compression, in the same run.

Two `radflow serve` instances on this machine, each with its own data directory:
  plain       no compression (today's default)
  compressed  --compress CT=jpeg-ls --compress MR=jpeg-ls
Both receive the same series by C-STORE (storescu, one association per series, each file in
its own transfer syntax): the real chest CT (64 slices) and brain MR (35) of ../shared/data,
and the CT and MR of STS_042.

Reported:
  * per series: bytes as stored by `plain` (= what arrived) and by `compressed` after the
    compactor finished (sum of the index's blob_size), and the ratio;
  * compaction throughput: instances/s and MB/s (of original bytes) between the first and the
    last instance the compactor switched to JPEG-LS (polled every 50 ms through QIDO-RS
    AvailableTransferSyntaxUID), single compactor thread at nice 10;
  * WADO-RS frame latency, p50 and p99 over ROUNDS passes of every frame of the chest CT and
    brain MR, sequential, one keep-alive connection (a Python client: its own cost, ~0.1 ms,
    is in every number alike):
      plain       application/octet-stream (the native frame as stored)
      compressed  image/jls (the stored JPEG-LS bitstream) and application/octet-stream with
                  the arrival syntax (decoded on request: what a client naming no codec gets)
  * WADO-RS series retrieval (application/dicom in the arrival syntax) wall time, median of
    ROUNDS: plain sends the files, compressed decodes every instance.

Usage: python3 bench/compression_bench.py [--rounds 5] [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import harness as h  # noqa: E402
import dicomweb_client as dw  # noqa: E402

JPEG_LS = "1.2.840.10008.1.2.4.80"
SERIES = [
    ("chest CT (Lung-PET-CT-Dx)", h.series_dir("ct_chest_lung_dx")),
    ("brain MR T1 (Siemens)", h.series_dir("mr_brain_t1_siemens")),
    ("STS_042 CT", os.path.join(h.series_dir("sts_042_ct_mr_pet"), "dicom", "STS_042", "CT", "image")),
    ("STS_042 MR T1", os.path.join(h.series_dir("sts_042_ct_mr_pet"), "dicom", "STS_042", "MR_T1", "image")),
]


def load_series():
    out = []
    for label, folder in SERIES:
        files = h.index_by_sop_uid(h.dicom_files(folder))
        first = h.read_dataset(next(iter(files.values())), stop_before_pixels=True)
        out.append({"label": label, "files": files, "study": first.StudyInstanceUID,
                    "series": first.SeriesInstanceUID, "modality": first.Modality})
    return out


def store(srv, series):
    for s in series:
        proc, status = h.storescu(srv.dicom_port, sorted(s["files"].values()))
        bad = [p for p, st in status.items() if st != "Success"]
        if proc.returncode != 0 or bad or len(status) != len(s["files"]):
            raise SystemExit("C-STORE of %s failed: %s" % (s["label"], proc.stdout[-2000:]))


def syntaxes(web, s):
    r = web.qido("studies/%s/series/%s/instances" % (s["study"], s["series"]),
                 query={"includefield": "00083002"})
    return {row["00080018"]["Value"][0]: row["00083002"]["Value"][0] for row in r.json()}


def series_bytes(srv, s):
    with h.IndexDb(srv.data_dir, readonly=True) as db:
        rows = list(db.execute(
            "SELECT COALESCE(SUM(i.blob_size), 0) FROM instances i JOIN series se ON se.id = i.series_fk"
            " WHERE se.series_uid = ?", (s["series"],)))
    return int(rows[0][0])


def frame_latencies(web, series, accept_of, rounds):
    lat = []
    for _ in range(rounds):
        for s in series:
            for uid, path in sorted(s["files"].items()):
                accept = accept_of(path)
                url = "studies/%s/series/%s/instances/%s/frames/1" % (s["study"], s["series"], uid)
                t = time.perf_counter()
                r = web.get(url, accept=accept)
                lat.append((time.perf_counter() - t) * 1000)
                if r.status != 200:
                    raise SystemExit("frame %s (%s): %r" % (uid, accept, r))
    return lat


def series_retrieval(web, s, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        r = web.get("studies/%s/series/%s" % (s["study"], s["series"]),
                    accept='multipart/related; type="application/dicom"')
        times.append((time.perf_counter() - t) * 1000)
        if r.status != 200 or len(r.parts()) != len(s["files"]):
            raise SystemExit("series retrieval: %r" % r)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    series = load_series()
    result = {"series": [], "latency_ms": {}, "series_retrieval_ms": {}}
    plain = h.RadflowServer().start()
    comp = h.RadflowServer(extra_args=["--compress", "CT=jpeg-ls", "--compress", "MR=jpeg-ls"]).start()
    try:
        store(plain, series)
        web_p, web_c = dw.Client(plain.http_port), dw.Client(comp.http_port)
        t0 = time.perf_counter()
        store(comp, series)
        t_stored = time.perf_counter()
        total = sum(len(s["files"]) for s in series)
        first = last = None
        while True:
            done = sum(1 for s in series for ts in syntaxes(web_c, s).values() if ts == JPEG_LS)
            now = time.perf_counter()
            if done and first is None:
                first = now
            if done == total:
                last = now
                break
            if now - t_stored > 600:
                raise SystemExit("not compacted after 600 s: %d/%d" % (done, total))
            time.sleep(0.05)
        original_bytes = sum(os.path.getsize(p) for s in series for p in s["files"].values())
        span = max(last - first, 1e-3)
        result["compaction"] = {
            "instances": total, "seconds_first_to_last": round(span, 2),
            "instances_per_s": round((total - 1) / span, 1),
            "mb_per_s": round(original_bytes * (total - 1) / total / span / 1e6, 1),
            "store_seconds": round(t_stored - t0, 2)}
        time.sleep(6)  # old blobs go after a 5 s grace period
        for s in series:
            before, after = series_bytes(plain, s), series_bytes(comp, s)
            result["series"].append({"series": s["label"], "instances": len(s["files"]),
                                     "bytes_plain": before, "bytes_compressed": after,
                                     "ratio": round(before / after, 2)})
        lat_series = series[:2]
        octet = 'multipart/related; type="application/octet-stream"'
        runs = {
            "plain, octet-stream (as stored)": (web_p, lambda p: octet),
            "compressed, image/jls (as stored)": (web_c, lambda p: 'multipart/related; type="image/jls"'),
            "compressed, octet-stream in the arrival syntax (decoded)":
                (web_c, lambda p: octet + "; transfer-syntax=" + h.file_meta(p)["ts"]),
        }
        for name, (web, accept_of) in runs.items():  # warm-up: frame offsets cached, files in page cache
            frame_latencies(web, lat_series, accept_of, 1)
        for name, (web, accept_of) in runs.items():
            lat = frame_latencies(web, lat_series, accept_of, args.rounds)
            result["latency_ms"][name] = {"n": len(lat), "p50": round(h.percentile(lat, 50), 2),
                                          "p99": round(h.percentile(lat, 99), 2)}
        for label, web in (("plain (files as stored)", web_p), ("compressed (decoded to the arrival syntax)", web_c)):
            result["series_retrieval_ms"][label] = round(series_retrieval(web, series[0], args.rounds), 1)
        web_p.close()
        web_c.close()
    finally:
        plain.stop()
        comp.stop()
    print("| series | instances | bytes as arrived | bytes compressed | ratio |")
    print("|---|---|---|---|---|")
    for r in result["series"]:
        print("| %s | %d | %d | %d | %.2f× |" % (r["series"], r["instances"], r["bytes_plain"],
                                                r["bytes_compressed"], r["ratio"]))
    c = result["compaction"]
    print("\ncompaction: %d instances, %.1f instances/s, %.1f MB/s (first to last: %.2f s)"
          % (c["instances"], c["instances_per_s"], c["mb_per_s"], c["seconds_first_to_last"]))
    print("\n| WADO-RS frame request | n | p50 ms | p99 ms |\n|---|---|---|---|")
    for name, v in result["latency_ms"].items():
        print("| %s | %d | %.2f | %.2f |" % (name, v["n"], v["p50"], v["p99"]))
    print("\nchest CT series retrieval (64 instances, application/dicom, arrival syntax), median ms:")
    for name, v in result["series_retrieval_ms"].items():
        print("  %s: %.1f" % (name, v))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
