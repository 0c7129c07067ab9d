#!/usr/bin/env python3
"""Per-request overhead, A/B: the same requests against servers of several radflow binaries.

Usage: TCP_NODELAY=1 /usr/bin/python3 bench/request_overhead_ab.py BIN_A BIN_B [...]
(copy each build's radflow binary aside first). One server per binary, started in the same
run; the highdicom sm_image*.dcm files stored in each by storescu. Rows: GET /healthz (no
auth), GET /api/v1/auth/me (token, no audit), a WADO-RS frame as the administrator and as a
referring user (the study scope lookup runs); N sequential requests per row and round on one
keep-alive connection (N=2000), ROUNDS=5 rounds, binaries interleaved; p50 over all rounds.
Then 8 client processes on frames for SECS=3 s x ROUNDS8=3 rounds: frames/s (median of the
rounds), p50 and p99. Numbers: docs/benchmarks.md ("The per-request work").
"""
import sys, time, http.client, statistics, glob, os, json, contextlib
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import harness  # noqa: E402
bins = sys.argv[1:]
N = int(os.environ.get("N", "2000")); ROUNDS = int(os.environ.get("ROUNDS", "5"))
files = sorted(glob.glob(os.path.join(harness.DATA_ROOT, "wsi", "highdicom", "sm_image*.dcm")))
acc = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
with contextlib.ExitStack() as stack:
    peers = []
    PORTS = []
    for b in bins:
        harness.RADFLOW_BIN = b
        srv = stack.enter_context(harness.RadflowServer())
        harness.storescu(srv.dicom_port, files)
        h = srv.auth_headers()
        c = http.client.HTTPConnection("127.0.0.1", srv.http_port)
        c.request("GET", "/dicom-web/instances", headers=h); js = json.loads(c.getresponse().read())
        inst = [i for i in js if i["00080016"]["Value"][0].endswith("77.1.6")][0]
        st = inst["0020000D"]["Value"][0]; se = inst["0020000E"]["Value"][0]; sop = inst["00080018"]["Value"][0]
        srv.ensure_user("ref1", "referring", referring_name="Test^Physician")
        hr = srv.auth_headers("ref1")
        peers.append((os.path.basename(b), c, st, se, sop, h, hr)); PORTS.append(srv.http_port)
    res = {}
    def t(c, path, hdr, n):
        ts = []
        for i in range(n):
            t0 = time.perf_counter(); c.request("GET", path, headers=hdr); r = c.getresponse(); r.read(); ts.append(time.perf_counter() - t0)
        return ts, r.status
    for k in range(ROUNDS):
        for name, c, st, se, sop, h, hr in peers:
            frame = f"/dicom-web/studies/{st}/series/{se}/instances/{sop}/frames/1"
            for label, path, hdr in [("healthz (no auth)", "/healthz", {}),
                                     ("auth/me (token, no audit)", "/api/v1/auth/me", h),
                                     ("frame admin", frame, dict(h, Accept=acc)),
                                     ("frame referring (scope lookup)", frame, dict(hr, Accept=acc))]:
                with (harness.anonymous() if not hdr else contextlib.nullcontext()):
                    ts, status = t(c, path, hdr, N)
                res.setdefault((label, name), []).extend(ts)
                res[(label, name, "status")] = status
    labels = []
    for key in res:
        if len(key) == 2 and key[0] not in labels: labels.append(key[0])
    print("| request | " + " | ".join(p[0] + " p50 ms" for p in peers) + " |")
    print("|---|" + "---|" * len(peers))
    for l in labels:
        print("| %s | %s |" % (l, " | ".join("%.3f (HTTP %s)" % (statistics.median(res[(l, p[0])]) * 1e3, res[(l, p[0], "status")]) for p in peers)))
    # 8 clients (processes, one keep-alive connection each), 3 s per round, interleaved.
    import multiprocessing as mp
    SECS = float(os.environ.get("SECS", "3"))
    def worker(port, path, hdr, secs, q):
        c = http.client.HTTPConnection("127.0.0.1", port)
        ts = []; end = time.perf_counter() + secs
        while time.perf_counter() < end:
            t0 = time.perf_counter(); c.request("GET", path, headers=hdr); r = c.getresponse(); r.read(); ts.append(time.perf_counter() - t0)
        q.put(ts)
    tput = {}
    for k in range(int(os.environ.get("ROUNDS8", "3"))):
        for (name, c, st, se, sop, h, hr), port in zip(peers, PORTS):
            frame = f"/dicom-web/studies/{st}/series/{se}/instances/{sop}/frames/1"
            q = mp.Queue(); ps = [mp.Process(target=worker, args=(port, frame, dict(h, Accept=acc), SECS, q)) for _ in range(8)]
            for p in ps: p.start()
            all_ts = []
            for _ in ps: all_ts.extend(q.get())
            for p in ps: p.join()
            tput.setdefault(name, []).append((len(all_ts) / SECS, all_ts))
    print()
    print("| 8 clients, frame admin | " + " | ".join(p[0] for p in peers) + " |")
    print("|---|" + "---|" * len(peers))
    print("| frames/s (median of rounds) | " + " | ".join("%.0f" % statistics.median([x[0] for x in tput[p[0]]]) for p in peers) + " |")
    for label, q in (("p50 ms", 0.5), ("p99 ms", 0.99)):
        row = []
        for p in peers:
            allt = sorted(t for x in tput[p[0]] for t in x[1]); row.append("%.3f" % (allt[int(q * (len(allt) - 1))] * 1e3))
        print("| %s | %s |" % (label, " | ".join(row)))
