#!/usr/bin/env python3
"""Whole-slide tile serving: radflow vs Orthanc (DICOMweb + WSI plugins), same run, same slide.

The slide: CMU-1-Small-Region.svs converted by Debian's OrthancWSIDicomizer (5 levels, JPEG
baseline tiles copied from the SVS, 240x240; level 0 has 130 frames), stored in both servers.

Requests (keep-alive HTTP/1.1), driven by wrk (Debian `wrk`, a native load generator: a Python
client costs more per request than either server, and more for a chunked multipart body than for
a bare JPEG, which hid the servers' difference):
  radflow        GET /dicom-web/.../frames/{n}  Accept: multipart/related; type="image/jpeg"
                 (bearer token: radflow's default configuration)
  orthanc-dw     GET /dicom-web/.../frames/{n}  (Orthanc DICOMweb plugin), same Accept
  orthanc-wsi    GET /wsi/tiles/{series}/{level}/{x}/{y}  (Orthanc WSI plugin's tile route,
                 what its own viewer uses: the stored JPEG tile)
and two floors, what each HTTP stack costs with nothing to do on this machine:
  floor-radflow  GET /healthz (no authentication, empty body)
  floor-orthanc  GET /system  (a small JSON body)
Frames are drawn at random (fixed seed, same sequence for every server) from all levels; each
connection cycles through them from its own random start. 1 connection (1 wrk thread) and 8
connections (2 wrk threads); each configuration runs ROUNDS times, servers interleaved;
reported: the median over rounds of tiles/s and of p50, and the worst round's p99 (wrk gives
percentiles per run). See docs/wsi.md.

Usage: python3 bench/wsi_tile_bench.py [--seconds 3] [--rounds 3] [--json out.json]
"""
import argparse
import http.client
import json
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


WRK_SCRIPT = ROOT / "bench" / "wrk_paths.lua"


def run_wrk(port, paths, headers, connections, seconds, work):
    """One wrk run: {"rate", "p50_ms", "p99_ms", "requests"}; exits on any error or non-2xx."""
    pf, hf = os.path.join(work, "paths.txt"), os.path.join(work, "headers.txt")
    with open(pf, "w") as f:
        f.write("\n".join(paths) + "\n")
    with open(hf, "w") as f:
        f.write("".join("%s: %s\n" % kv for kv in headers.items()))
    threads = min(connections, os.cpu_count() or 1, 2)
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%gs" % seconds, "--latency",
                          "-s", str(WRK_SCRIPT), "http://127.0.0.1:%d" % port],
                         env=dict(os.environ, PATHS_FILE=pf, HDR_FILE=hf), capture_output=True, text=True,
                         timeout=seconds + 60)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit("wrk failed: %s %s" % (out.stdout, out.stderr))
    r = dict(kv.split("=") for kv in line.split()[1:])
    if int(r["errors"]) or int(r["non2xx"]):
        raise SystemExit("wrk saw errors on port %d: %s" % (port, line))
    return {"rate": int(r["requests"]) / float(r["seconds"]), "p50_ms": int(r["p50_us"]) / 1000.0,
            "p99_ms": int(r["p99_us"]) / 1000.0, "requests": int(r["requests"])}


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
        auth = {"Authorization": "Bearer " + radflow.token_for()}
        peers = [("radflow", radflow.http_port, dict(auth, Accept=ACCEPT)),
                 ("orthanc-dw", orthanc.http_port, {"Accept": ACCEPT}),
                 ("orthanc-wsi", orthanc.http_port, {}),
                 ("floor-radflow", radflow.http_port, {}),
                 ("floor-orthanc", orthanc.http_port, {})]
        fixed = {"floor-radflow": ["/healthz"], "floor-orthanc": ["/system"]}
        results = {}
        for clients in (1, 8):
            for rnd in range(args.rounds):
                for kind, port, headers in peers:
                    paths = fixed.get(kind) or request_paths(kind, targets, series, 4000, 1000 * rnd + clients)
                    r = run_wrk(port, paths, headers, clients, args.seconds, work)
                    acc = results.setdefault((kind, clients), {"runs": []})
                    acc["runs"].append(r)
        rows = []
        for (kind, clients), acc in results.items():
            runs = acc["runs"]
            rows.append({"peer": kind, "clients": clients, "requests": sum(r["requests"] for r in runs),
                         "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 3),
                         "p99_ms": round(max(r["p99_ms"] for r in runs), 3),
                         "tiles_per_s": round(statistics.median(r["rate"] for r in runs), 1),
                         "tiles_per_s_rounds": [round(r["rate"], 1) for r in runs]})
        print("slide: CMU-1-Small-Region via OrthancWSIDicomizer, %d levels, %d frames; %s s x %d rounds"
              % (len(targets), sum(t["frames"] for t in targets), args.seconds, args.rounds))
        print("%-12s %7s %9s %8s %8s %11s" % ("peer", "clients", "requests", "p50 ms", "p99 ms", "tiles/s"))
        for row in rows:
            print("%-12s %7d %9d %8.2f %8.2f %11.1f" % (row["peer"], row["clients"], row["requests"], row["p50_ms"],
                                                        row["p99_ms"], row["tiles_per_s"]))
        by = {(r["peer"], r["clients"]): r for r in rows}
        for clients in (1, 8):
            for other in ("orthanc-dw", "orthanc-wsi", "floor-radflow"):
                print("radflow / %s tiles/s, %d client(s): %.2fx" % (
                    other, clients, by[("radflow", clients)]["tiles_per_s"] / by[(other, clients)]["tiles_per_s"]))
            print("floor-radflow / orthanc-wsi, %d client(s): %.2fx (the most any radflow route can reach here)" % (
                clients, by[("floor-radflow", clients)]["tiles_per_s"] / by[("orthanc-wsi", clients)]["tiles_per_s"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": rows, "cpus": os.cpu_count()}, f, indent=1)
    finally:
        radflow.stop()
        orthanc.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
