#!/usr/bin/python3
"""WADO-RS series retrieval (MB/s) and STOW-RS ingest (instances/s), radflow vs Orthanc (issue 15).

Peers, each a fresh process on this machine, all in the same run:
  radflow        `radflow serve`, SQLite index, default configuration (bearer token auth)
  radflow-pg     radflow with --index postgresql://... on a PostgreSQL cluster the bench starts
                 (harness.PostgresServer: initdb in a temporary folder, a free port)
  orthanc        Orthanc + libOrthancDicomWeb.so (SQLite index)
  orthanc-pg     Orthanc + DICOMweb + libOrthancPostgreSQLIndex.so on the same cluster (files on disk)

Data: a 300-slice CT series made from the 64 real slices of /work/shared/data/dicom/
ct_chest_lung_dx (512x512, 16-bit, Implicit VR Little Endian, about 527 kB each): slice i is
source slice i mod 64 (sorted by InstanceNumber) with a new Study/Series/SOP Instance UID,
InstanceNumber i+1, ImagePositionPatient z and SliceLocation moved to i * SliceThickness, written
by pydicom in the source's transfer syntax. Every peer gets the same bytes.

WADO-RS: GET /dicom-web/studies/{s}/series/{se} with the default Accept (multipart/related;
type="application/dicom"), by curl --output /dev/null (libcurl reading into a sink). The
client's ceiling, "client-ceiling": the same bytes as one file from a sendfile(2) server in
this process, fetched the same way in the same rounds.
  1 conn   one curl fetching the whole series, MB/s = body bytes / curl's time_total
  4 conn   four curls fetching the whole series at once, MB/s = all body bytes / wall time
  metadata GET .../series/{se}/metadata (application/dicom+json) latency over one keep-alive
           http.client connection
Rounds interleave the peers (a shuffled order per round); medians over --rounds.

STOW-RS: POST /dicom-web/studies, multipart/related; type="application/dicom" of the 300
instances, each round with new Study/Series/SOP UIDs (the store grows by one series per round):
  one request  all 300 instances in one request, one connection
  batches      30 requests of 10 instances over 4 keep-alive connections (http.client threads)
instances/s = 300 / wall time from the first byte sent to the last response read; the
peer's next request waits until the server's CPU time stops advancing (its background work
after the acknowledgement, if any, is not billed to the next peer).

The timed parts run under `flock /tmp/radflow-bench.lock` (the script takes it itself).

  /usr/bin/python3 bench/wado_stow_bench.py [--rounds 5] [--stow-rounds 5] [--json out.json]
      [--no-postgres]
"""
import argparse
import concurrent.futures
import fcntl
import glob
import http.client
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from dicomweb_bench import OrthancDicomWeb  # noqa: E402  (Orthanc + DICOMweb [+ PostgreSQL index])

SOURCE = os.path.join(os.environ.get("RADFLOW_DATA", "/work/shared/data"), "dicom", "ct_chest_lung_dx")
SLICES = 300
LOCK = "/tmp/radflow-bench.lock"


def new_uid():
    return "2.25.%d" % uuid.uuid4().int


def load_sources():
    import pydicom
    files = sorted(glob.glob(os.path.join(SOURCE, "**", "*.dcm"), recursive=True))
    ds = [pydicom.dcmread(f) for f in files]
    ds = [d for d in ds if getattr(d, "Modality", "") == "CT" and "PixelData" in d]
    ds.sort(key=lambda d: int(d.InstanceNumber))
    if not ds:
        raise SystemExit("no CT slices under " + SOURCE)
    return ds


def make_series(sources, n=SLICES):
    """n Part-10 files' bytes: one new study and series; see the module docstring."""
    import pydicom
    study, series = new_uid(), new_uid()
    thickness = float(getattr(sources[0], "SliceThickness", 5) or 5)
    out, sops = [], []
    for i in range(n):
        d = sources[i % len(sources)]
        sop = new_uid()
        d.StudyInstanceUID, d.SeriesInstanceUID, d.SOPInstanceUID = study, series, sop
        d.file_meta.MediaStorageSOPInstanceUID = sop
        d.InstanceNumber = i + 1
        if "ImagePositionPatient" in d:
            x, y = d.ImagePositionPatient[0], d.ImagePositionPatient[1]
            d.ImagePositionPatient = [x, y, round(-i * thickness, 3)]
        d.SliceLocation = round(-i * thickness, 3)
        buf = io.BytesIO()
        pydicom.dcmwrite(buf, d, write_like_original=True)
        out.append(buf.getvalue())
        sops.append(sop)
    return study, series, sops, out


def multipart(parts):
    boundary = "radflowbench" + uuid.uuid4().hex
    chunks = []
    for p in parts:
        chunks.append(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n")
        chunks.append(p)
        chunks.append(b"\r\n")
    chunks.append(b"--" + boundary.encode() + b"--\r\n")
    return 'multipart/related; type="application/dicom"; boundary=' + boundary, b"".join(chunks)


class Peer:
    def __init__(self, name, server, token=None):
        self.name, self.server, self.port = name, server, server.http_port
        self.headers = {"Authorization": "Bearer " + token} if token else {}
        self.pid = server.proc.pid

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def settle(self, quiet=0.5, timeout=120):
        """Returns once the server used no CPU for `quiet` seconds (background work done)."""
        deadline = time.time() + timeout
        last = self.cpu_seconds()
        while time.time() < deadline:
            time.sleep(quiet)
            now = self.cpu_seconds()
            if now - last < 0.02:
                return
            last = now

    def url(self, path):
        return "http://127.0.0.1:%d/dicom-web%s" % (self.port, path)

    def curl_args(self, path):
        args = ["curl", "-sS", "--fail", "--output", "/dev/null", "-w", "%{size_download} %{time_total}\n"]
        for k, v in self.headers.items():
            args += ["-H", "%s: %s" % (k, v)]
        return args + [self.url(path)]

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def stow(self, conn, body_type, body):
        conn.request("POST", "/dicom-web/studies", body, dict(self.headers, **{"Content-Type": body_type,
                                                                                "Accept": "application/dicom+json"}))
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise AssertionError("%s STOW-RS: HTTP %d %s" % (self.name, r.status, data[:300]))
        stored = json.loads(data).get("00081199", {}).get("Value", [])
        return len(stored)


def curl_once(args):
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True, timeout=600).stdout.split()
    return int(out[0]), float(out[1])


def curl_parallel(args, n):
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        res = list(pool.map(curl_once, [args] * n))
    return sum(b for b, _ in res), time.perf_counter() - t


def check_series(peer, study, series, sops):
    """The series answer holds every instance (parts parsed, SOP Instance UIDs compared)."""
    import pydicom
    c = peer.conn()
    c.request("GET", "/dicom-web/studies/%s/series/%s" % (study, series), headers=peer.headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise AssertionError("%s WADO-RS: HTTP %d" % (peer.name, r.status))
    ctype = r.getheader("Content-Type")
    boundary = [p.split("=", 1)[1].strip('"') for p in ctype.split(";") if p.strip().startswith("boundary=")][0]
    got = set()
    for part in body.split(b"--" + boundary.encode())[1:-1]:
        payload = part.split(b"\r\n\r\n", 1)[1][:-2]
        got.add(pydicom.dcmread(io.BytesIO(payload), stop_before_pixels=True).SOPInstanceUID)
    if got != set(sops):
        raise AssertionError("%s returned %d of %d instances" % (peer.name, len(got & set(sops)), len(sops)))
    return len(body)


class StaticServer(threading.Thread):
    """One file over HTTP/1.1 by sendfile(2): the ceiling of the curl client on loopback."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.size = path, os.path.getsize(path)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def run(self):
        while True:
            c, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        with c, open(self.path, "rb") as f:
            data = b""
            while b"\r\n\r\n" not in data:
                got = c.recv(4096)
                if not got:
                    return
                data += got
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % self.size)
            c.sendfile(f)


class StaticPeer:
    """The client alone: the same bytes from StaticServer, fetched like a peer's series."""
    name = "client-ceiling"

    def __init__(self, port):
        self.port = port

    def curl_args(self, path):
        return ["curl", "-sS", "--fail", "--output", "/dev/null", "-w", "%{size_download} %{time_total}\n",
                "http://127.0.0.1:%d/static.bin" % self.port]


def median(v):
    return harness.percentile(v, 50)


def mbps(nbytes, seconds):
    return nbytes / seconds / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="WADO-RS rounds (median)")
    ap.add_argument("--metadata-requests", type=int, default=5, help="metadata requests per peer per round")
    ap.add_argument("--stow-rounds", type=int, default=5, help="STOW-RS rounds per mode (median)")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite peers only")
    ap.add_argument("--only", help="comma-separated peer names to run (default: all)")
    ap.add_argument("--skip-stow", action="store_true")
    ap.add_argument("--skip-wado", action="store_true")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    harness.require_binary()
    work = tempfile.mkdtemp(prefix="wado-stow-bench-")
    info = {"nproc": os.cpu_count(), "cpu": subprocess.run("lscpu | sed -n 's/^Model name: *//p'", shell=True,
                                                         stdout=subprocess.PIPE, text=True).stdout.strip()}
    servers = []
    try:
        sources = load_sources()
        study, series, sops, files = make_series(sources)
        info["series"] = {"instances": len(files), "bytes": sum(map(len, files)), "source_slices": len(sources)}
        print("series: %d instances, %.1f MB" % (len(files), info["series"]["bytes"] / 1e6), flush=True)

        # --- peers
        peers = []
        want = set(args.only.split(",")) if args.only else None
        rf = harness.RadflowServer(data_dir=os.path.join(work, "radflow")).start(timeout=120)
        servers.append(rf)
        peers.append(Peer("radflow", rf, rf.token_for()))
        orthanc = OrthancDicomWeb().start()
        servers.append(orthanc)
        peers.append(Peer("orthanc", orthanc))
        if not args.no_postgres:
            pg = harness.PostgresServer().start()
            servers.append(pg)
            pg_dir = os.path.join(work, "radflow-pg")
            os.makedirs(pg_dir)
            harness.set_index_location(pg_dir, pg.new_database("radflow"))
            rf_pg = harness.RadflowServer(data_dir=pg_dir).start(timeout=120)
            servers.append(rf_pg)
            peers.append(Peer("radflow-pg", rf_pg, rf_pg.token_for()))
            pg.new_database("orthanc")
            orthanc_pg = OrthancDicomWeb(pg.port, "orthanc").start()
            servers.append(orthanc_pg)
            peers.append(Peer("orthanc-pg", orthanc_pg))
        if want:
            peers = [p for p in peers if p.name in want]

        # --- load the WADO series into every peer (one STOW request each, untimed)
        ctype, body = multipart(files)
        for p in peers:
            c = p.conn()
            n = p.stow(c, ctype, body)
            c.close()
            if n != len(files):
                raise AssertionError("%s stored %d of %d" % (p.name, n, len(files)))
        del body
        for p in peers:
            p.settle()
            info.setdefault("wado_body_bytes", {})[p.name] = check_series(p, study, series, sops)

        lock = open(LOCK, "w")
        t = time.time()
        fcntl.flock(lock, fcntl.LOCK_EX)
        info["lock_wait_s"] = round(time.time() - t, 1)
        rng = random.Random(15)
        results = {}

        def add(peer, key, value):
            results.setdefault(peer, {}).setdefault(key, []).append(value)

        if not args.skip_wado:
            # Client ceiling: the same number of bytes from a sendfile server.
            blob = os.path.join(work, "static.bin")
            with open(blob, "wb") as f:
                for b in files:
                    f.write(b)
            static = StaticServer(blob)
            static.start()
            ceiling = StaticPeer(static.port)
            path = "/studies/%s/series/%s" % (study, series)
            for p in peers + [ceiling]:  # warm-up (page cache, prepared statements)
                curl_once(p.curl_args(path))
            for _ in range(args.rounds):
                order = list(peers) + [ceiling]  # the client's ceiling measured in the same rounds
                rng.shuffle(order)
                for p in order:
                    n, s = curl_once(p.curl_args(path))
                    add(p.name, "wado_1conn_MBps", mbps(n, s))
                rng.shuffle(order)
                for p in order:
                    n, s = curl_parallel(p.curl_args(path), 4)
                    add(p.name, "wado_4conn_MBps", mbps(n, s))
                order = list(peers)
                rng.shuffle(order)
                for p in order:
                    c = p.conn()
                    for _ in range(args.metadata_requests):
                        t = time.perf_counter()
                        c.request("GET", "/dicom-web" + path + "/metadata",
                                  headers=dict(p.headers, Accept="application/dicom+json"))
                        r = c.getresponse()
                        data = r.read()
                        if r.status != 200 or len(json.loads(data)) != len(files):
                            raise AssertionError("%s metadata: HTTP %d" % (p.name, r.status))
                        add(p.name, "metadata_ms", (time.perf_counter() - t) * 1e3)
                    c.close()
                print("wado round done", flush=True)
            os.remove(blob)

        if not args.skip_stow:
            for _ in range(args.stow_rounds):
                # New UIDs every round: the same bytes to every peer within a round.
                _, _, _, fresh = make_series(sources)
                one_type, one_body = multipart(fresh)
                order = list(peers)
                rng.shuffle(order)
                for p in order:
                    p.settle()
                    c = p.conn()
                    t = time.perf_counter()
                    n = p.stow(c, one_type, one_body)
                    dt = time.perf_counter() - t
                    c.close()
                    if n != len(fresh):
                        raise AssertionError("%s stored %d of %d" % (p.name, n, len(fresh)))
                    add(p.name, "stow_one_request_inst_per_s", len(fresh) / dt)
                # The batched mode gets its own UIDs (the one-request copies are stored now).
                _, _, _, fresh = make_series(sources)
                batches = [multipart(fresh[i:i + 10]) for i in range(0, len(fresh), 10)]
                rng.shuffle(order)
                for p in order:
                    p.settle()
                    queue = list(batches)
                    qlock = threading.Lock()
                    stored = []

                    def worker():
                        c = p.conn()
                        while True:
                            with qlock:
                                if not queue:
                                    break
                                bt, bb = queue.pop()
                            stored.append(p.stow(c, bt, bb))
                        c.close()
                    t = time.perf_counter()
                    threads = [threading.Thread(target=worker) for _ in range(4)]
                    for th in threads:
                        th.start()
                    for th in threads:
                        th.join()
                    dt = time.perf_counter() - t
                    if sum(stored) != len(fresh):
                        raise AssertionError("%s stored %d of %d" % (p.name, sum(stored), len(fresh)))
                    add(p.name, "stow_batches10_4conn_inst_per_s", len(fresh) / dt)
                print("stow round done", flush=True)
        fcntl.flock(lock, fcntl.LOCK_UN)

        summary = {peer: {k: round(median(v), 2) for k, v in kv.items()} for peer, kv in results.items()}
        info["raw"] = {peer: {k: [round(x, 2) for x in v] for k, v in kv.items()} for peer, kv in results.items()}
        info["median"] = summary
        print(json.dumps(info, indent=1))
        keys = ["wado_1conn_MBps", "wado_4conn_MBps", "metadata_ms", "stow_one_request_inst_per_s",
                "stow_batches10_4conn_inst_per_s"]
        print("\n%-15s" % "peer" + "".join("%14s" % k.split("_")[0] + "" for k in keys))
        print("%-15s" % "" + "".join("%14s" % "_".join(k.split("_")[1:])[:13] for k in keys))
        for peer, kv in summary.items():
            print("%-15s" % peer + "".join("%14s" % (kv[k] if k in kv else "-") for k in keys))
        for a, b in (("radflow", "orthanc"), ("radflow-pg", "orthanc-pg")):
            if a in summary and b in summary:
                print("\n%s / %s:" % (a, b))
                for k in keys:
                    if k in summary[a] and k in summary[b]:
                        ratio = summary[b][k] / summary[a][k] if k == "metadata_ms" else summary[a][k] / summary[b][k]
                        print("  %-34s %6.2fx%s" % (k, ratio, " (Orthanc ms / radflow ms)" if k == "metadata_ms" else ""))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(info, f, indent=1)
    finally:
        for s in reversed(servers):
            s.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
