#!/usr/bin/env python3
"""Whole-slide tile serving: radflow vs Orthanc (DICOMweb + WSI plugins), same run, same slide.

The slide: CMU-1-Small-Region.svs converted by Debian's OrthancWSIDicomizer (5 levels, JPEG
baseline tiles copied from the SVS, 240x240; level 0 has 130 frames), stored in both servers.

Requests (keep-alive HTTP/1.1, one connection per client process):
  radflow        GET /dicom-web/.../frames/{n}  Accept: multipart/related; type="image/jpeg"
  orthanc-dw     GET /dicom-web/.../frames/{n}  (Orthanc DICOMweb plugin), same Accept
  orthanc-wsi    GET /wsi/tiles/{series}/{level}/{x}/{y}  (Orthanc WSI plugin's tile route,
                 what its own viewer uses: the stored JPEG tile)
Frames are drawn at random (fixed seed, same sequence for every server) from all levels.
1 and 8 concurrent clients (processes, so the client is not serialised by the GIL); each
configuration runs ROUNDS times, servers interleaved; reported: p50/p99 latency over all
requests of all rounds and the median of the rounds' tiles/s. See docs/wsi.md.

Usage: python3 bench/wsi_tile_bench.py [--seconds 3] [--rounds 3] [--json out.json]
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import harness  # noqa: E402  (its requests to radflow carry an administrator's token)

SVS = Path(harness.DATA_ROOT) / "wsi" / "cmu1_small_region_svs" / "CMU-1-Small-Region.svs"
PLUGINS = ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so", "/usr/share/orthanc/plugins/libOrthancWSI.so"]
ACCEPT = 'multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50'


class OrthancWithPlugins(harness.OrthancServer):
    """harness.OrthancServer with the DICOMweb and WSI plugins loaded."""

    def start(self, timeout=60):
        self.dicom_port, self.http_port = harness.free_port(), harness.free_port()
        storage = os.path.join(self.workdir, "storage")
        os.makedirs(storage, exist_ok=True)
        config = {"Name": "bench", "StorageDirectory": storage, "IndexDirectory": storage,
                  "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": self.aet,
                  "RemoteAccessAllowed": True, "AuthenticationEnabled": False, "Plugins": PLUGINS,
                  "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}, "HttpThreadsCount": 50}
        cfg = os.path.join(self.workdir, "orthanc.json")
        with open(cfg, "w") as f:
            json.dump(config, f)
        self._spawn([harness.ORTHANC_BIN, cfg])
        self._wait_http(self.url("/system"), timeout)
        return self


def convert(out_dir):
    dataset = os.path.join(out_dir, "dataset.json")
    with open(dataset, "w") as f:
        json.dump({"PatientID": "BENCH-WSI", "PatientName": "BENCH^WSI", "ContainerIdentifier": "CMU-1-SR",
                   "Manufacturer": "Orthanc", "ManufacturerModelName": "WSI", "DeviceSerialNumber": "1",
                   "SoftwareVersions": "1.1"}, f)
    subprocess.run(["OrthancWSIDicomizer", "--folder", out_dir, "--pyramid", "1", "--dataset", dataset,
                    "--openslide", "/usr/lib/x86_64-linux-gnu/libopenslide.so.0", str(SVS)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    os.remove(dataset)
    return sorted(os.path.join(out_dir, f) for f in os.listdir(out_dir) if f.endswith(".dcm"))


def slide_targets(files):
    """[(path-suffix of the instance, frame count, level index, tiles across)] from the files."""
    import pydicom
    out = []
    for f in files:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        across = -(-int(ds.TotalPixelMatrixColumns) // int(ds.Columns))
        out.append({"study": ds.StudyInstanceUID, "series": ds.SeriesInstanceUID, "sop": ds.SOPInstanceUID,
                    "frames": int(ds.NumberOfFrames), "across": across,
                    "width": int(ds.TotalPixelMatrixColumns)})
    out.sort(key=lambda t: -t["width"])  # level 0 first, as the WSI plugin numbers them
    for level, t in enumerate(out):
        t["level"] = level
    return out


def request_paths(kind, targets, orthanc_series, count, seed):
    rng = random.Random(seed)
    weights = [t["frames"] for t in targets]
    paths = []
    for _ in range(count):
        t = rng.choices(targets, weights)[0]
        n = rng.randrange(t["frames"]) + 1
        if kind == "orthanc-wsi":
            y, x = divmod(n - 1, t["across"])
            paths.append("/wsi/tiles/%s/%d/%d/%d" % (orthanc_series, t["level"], x, y))
        else:
            paths.append("/dicom-web/studies/%s/series/%s/instances/%s/frames/%d"
                         % (t["study"], t["series"], t["sop"], n))
    return paths


def client(port, kind, paths, seconds, queue):
    headers = {} if kind == "orthanc-wsi" else {"Accept": ACCEPT}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat, done, i = [], 0, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        path = paths[i % len(paths)]
        i += 1
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        t1 = time.perf_counter()
        if r.status != 200 or len(body) < 100:
            queue.put(("error", "%s %s -> %d %r" % (kind, path, r.status, body[:200])))
            return
        lat.append(t1 - t0)
        done += 1
    conn.close()
    queue.put(("ok", lat))


def run(port, kind, paths_per_client, seconds):
    ctx = mp.get_context("fork")  # the children inherit the harness's authenticated http.client
    queue = ctx.Queue()
    procs = [ctx.Process(target=client, args=(port, kind, p, seconds, queue)) for p in paths_per_client]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 60) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    lat = []
    for status, value in results:
        if status != "ok":
            raise SystemExit(value)
        lat += value
    # Rate over the clients' measuring window (process start-up excluded).
    return lat, len(lat) / seconds, wall


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="measuring window per run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    harness.require_binary()
    work = tempfile.mkdtemp(prefix="wsi-bench-")
    files = convert(work)
    targets = slide_targets(files)
    radflow = harness.RadflowServer().start()
    orthanc = OrthancWithPlugins().start()
    try:
        harness.storescu(radflow.dicom_port, files)
        for f in files:
            with open(f, "rb") as fh:
                orthanc.post("/instances", fh.read())
        series = orthanc.post("/tools/lookup", targets[0]["series"].encode())[0]["ID"]
        # Same bytes from both DICOMweb servers (the stored tiles), checked on a few frames.
        import dicomweb_client as dw
        for path in request_paths("radflow", targets, series, 5, 1):
            a = dw.Client(radflow.http_port).get(path, accept=ACCEPT)
            c = http.client.HTTPConnection("127.0.0.1", orthanc.http_port, timeout=30)
            c.request("GET", path, headers={"Accept": ACCEPT})
            rb = c.getresponse()
            b = dw.Response(rb.status, {k.lower(): v for k, v in rb.getheaders()}, rb.read())
            assert a.status == 200 and b.status == 200, (a, b)
            assert a.parts()[0][1].rstrip(b"\0") == b.parts()[0][1].rstrip(b"\0"), "frames differ: " + path
        peers = [("radflow", radflow.http_port), ("orthanc-dw", orthanc.http_port), ("orthanc-wsi", orthanc.http_port)]
        results = {}
        for clients in (1, 8):
            for rnd in range(args.rounds):
                for kind, port in peers:
                    paths = [request_paths(kind, targets, series, 4000, 1000 * rnd + k) for k in range(clients)]
                    lat, rate, _ = run(port, kind, paths, args.seconds)
                    r = results.setdefault((kind, clients), {"lat": [], "rates": []})
                    r["lat"] += lat
                    r["rates"].append(rate)
        rows = []
        for (kind, clients), r in results.items():
            rows.append({"peer": kind, "clients": clients, "requests": len(r["lat"]),
                         "p50_ms": round(1000 * pct(r["lat"], 0.50), 2), "p99_ms": round(1000 * pct(r["lat"], 0.99), 2),
                         "tiles_per_s": round(statistics.median(r["rates"]), 1),
                         "tiles_per_s_rounds": [round(x, 1) for x in r["rates"]]})
        print("slide: CMU-1-Small-Region via OrthancWSIDicomizer, %d levels, %d frames; %s s x %d rounds"
              % (len(targets), sum(t["frames"] for t in targets), args.seconds, args.rounds))
        print("%-12s %7s %9s %8s %8s %11s" % ("peer", "clients", "requests", "p50 ms", "p99 ms", "tiles/s"))
        for row in rows:
            print("%-12s %7d %9d %8.2f %8.2f %11.1f" % (row["peer"], row["clients"], row["requests"], row["p50_ms"],
                                                        row["p99_ms"], row["tiles_per_s"]))
        by = {(r["peer"], r["clients"]): r for r in rows}
        for clients in (1, 8):
            for other in ("orthanc-dw", "orthanc-wsi"):
                print("radflow / %s tiles/s, %d client(s): %.2fx" % (
                    other, clients, by[("radflow", clients)]["tiles_per_s"] / by[(other, clients)]["tiles_per_s"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": rows, "cpus": os.cpu_count()}, f, indent=1)
    finally:
        radflow.stop()
        orthanc.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
