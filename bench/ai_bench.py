#!/usr/bin/env python3
"""AI engine and app benchmarks (numbers go to docs/benchmarks.md).

  python3 bench/ai_bench.py engine [--rounds 10]
      Engine overhead, through a real server: a fresh-UID copy of a real CT series is sent by
      storescu; the job's recorded timings give (a) SeriesStable → job started (routing,
      queueing, scheduling, worker process start) and (b) the app's return → results stored
      (writing SEG + SR, ingest through IngestService::Store, findings rows). The app is the
      self-test threshold app, so its own run time does not hide the overhead.
  python3 bench/ai_bench.py apps [--rounds 3]
      Each clinical app (`radflow app run`, one process, 2 threads) on the 64-slice chest CT
      and on a 300-slice CT generated from it (linear interpolation along z, 1.07 mm), then all
      of them through the server on the 300-slice study (2 workers): first job start → last
      job stored.
Run from the repository root after `make build`.
"""
import argparse, copy, json, os, random, shutil, socket, statistics, subprocess, sys, tempfile, time
import urllib.request
from pathlib import Path

sys.path.append("/usr/lib/python3/dist-packages")  # Debian's pydicom and numpy
import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("RADFLOW_BIN", str(ROOT / "build" / "radflow"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import harness  # noqa: E402  (its requests to the server carry an administrator's token)
DATA = Path(os.environ.get("RADFLOW_DATA", ROOT.parent / "shared" / "data"))
CHEST = DATA / "dicom" / "ct_chest_lung_dx" / "Lung_Dx-A0001"
PAT1 = DATA / "dicom" / "ct_lung_ibsi_pat1" / "dicom"
CLINICAL = ["ct-lung-lesions", "ct-emphysema", "ct-head-bleed", "ct-quality", "ct-denoise"]
HEAD = DATA / "dicom" / "ct_head_ge_tilt"
CHEST_APPS = ["ct-lung-lesions", "ct-emphysema", "ct-quality", "ct-denoise"]  # what routes to a chest CT
ENV = dict(os.environ, TCP_NODELAY="1")


def new_uid():
    return "2.25.%d" % random.randrange(10**37, 10**38)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ct_slices(folder):
    out = []
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file():
            try:
                ds = pydicom.dcmread(p)
            except Exception:
                continue
            if getattr(ds, "Modality", "") == "CT" and "PixelData" in ds:
                out.append(ds)
    return sorted(out, key=lambda d: float(d.ImagePositionPatient[2]))


def write_copy(slices, dest):
    """The series with fresh Study/Series/SOP UIDs (a new study each time)."""
    dest.mkdir(parents=True, exist_ok=True)
    study, series, frame = new_uid(), new_uid(), new_uid()
    for i, ds in enumerate(slices):
        ds = copy.deepcopy(ds)  # Dataset.copy() is shallow: it would rename the source
        sop = new_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.save_as(dest / ("%04d.dcm" % i))
    return series


def thin_series(slices, count, dest):
    """`count` slices spanning the same z range, linearly interpolated (a thin-slice CT)."""
    dest.mkdir(parents=True, exist_ok=True)
    z = np.array([float(d.ImagePositionPatient[2]) for d in slices])
    vol = np.stack([d.pixel_array.astype(np.float32) for d in slices])
    study, series, frame = new_uid(), new_uid(), new_uid()
    zs = np.linspace(z[0], z[-1], count)
    spacing = (z[-1] - z[0]) / (count - 1)
    for n, zz in enumerate(zs):
        k = min(np.searchsorted(z, zz, side="right") - 1, len(z) - 2)
        t = (zz - z[k]) / (z[k + 1] - z[k])
        img = (1 - t) * vol[k] + t * vol[k + 1]
        ds = copy.deepcopy(slices[k])
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = np.round(img).astype(slices[k].pixel_array.dtype).tobytes()
        ds.ImagePositionPatient = [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1], round(float(zz), 4)]
        ds.SliceLocation = round(float(zz), 4)
        ds.SliceThickness = round(float(spacing), 4)
        ds.InstanceNumber = n + 1
        sop = new_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.save_as(dest / ("%04d.dcm" % n), write_like_original=False)
    return series


class Server:
    def __init__(self, work, apps_dirs, builtin_dir, workers=2):
        self.http = free_port()
        self.dicom = free_port()
        while self.dicom == self.http:
            self.dicom = free_port()
        env = dict(ENV, RADFLOW_ENABLE_TEST_APPS="1", RADFLOW_APPS_DIR=str(builtin_dir))
        args = [BIN, "serve", "--data", str(work / "data"), "--dicom-port", str(self.dicom),
                "--http-port", str(self.http), "--stable-seconds", "1", "--ai-workers", str(workers)]
        for d in apps_dirs:
            args += ["--apps", str(d)]
        self.log = open(work / "server.log", "wb")
        harness.RADFLOW_BIN = BIN
        harness.authenticate_port(self.http, harness.provision(str(work / "data")))
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.http, timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("server did not start:\n" + (work / "server.log").read_text()[-3000:])

    def jobs(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/jobs?limit=1000" % self.http) as r:
            return json.loads(r.read())

    def send(self, folder):
        files = sorted(str(p) for p in Path(folder).glob("*.dcm"))
        subprocess.run(["storescu", "-aec", "RADFLOW", "127.0.0.1", str(self.dicom), *files],
                       env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def wait(self, series, count, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            mine = [j for j in self.jobs() if j["series_uid"] == series]
            if len(mine) >= count and all(j["state"] in ("succeeded", "failed") for j in mine):
                return mine
            time.sleep(0.1)
        raise SystemExit("jobs did not finish")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def engine(args, work):
    slices = ct_slices(PAT1)
    empty = work / "no-builtin-apps"
    empty.mkdir()
    srv = Server(work, [ROOT / "tests" / "fixtures" / "engine_apps_bench"], empty)
    rows = []
    try:
        for r in range(args.rounds):
            series = write_copy(slices, work / ("copy%d" % r))
            srv.send(work / ("copy%d" % r))
            job, = srv.wait(series, 1)
            assert job["state"] == "succeeded", job
            t = job["results"]["timings"]
            rows.append(t)
            print("round %d: stable→job started %d ms, stable→app called %d ms (worker start + series "
                  "load %.0f ms), app return→stored %d ms (of which writing SEG+SR %.0f ms); app %.0f ms"
                  % (r + 1, t["stable_to_start_ms"], t["stable_to_app_call_ms"], t["load_ms"],
                     t["app_return_to_stored_ms"], t["write_ms"], t["app_ms"]), flush=True)
    finally:
        srv.stop()
    a0 = median([t["stable_to_start_ms"] for t in rows])
    a = median([t["stable_to_app_call_ms"] for t in rows])
    b = median([t["app_return_to_stored_ms"] for t in rows])
    print("\nmedian over %d rounds: SeriesStable → job started %.0f ms, → app called %.0f ms (incl. worker "
          "process start and series load); app return → results stored %.0f ms; together %.0f ms "
          "(target < 1000 ms)" % (len(rows), a0, a, b, a + b))


def app_run(app, folder, out):
    t0 = time.time()
    p = subprocess.run([BIN, "app", "run", app, "--series", str(folder), "--out", str(out), "--format", "json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    wall = time.time() - t0
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (app, p.stderr[-2000:]))
    return wall, json.loads(p.stdout)


def apps(args, work):
    chest = ct_slices(CHEST)
    head = ct_slices(HEAD)
    print("generating 300-slice CTs from the %d-slice chest CT and the %d-slice head CT ..."
          % (len(chest), len(head)), flush=True)
    c64, c300 = work / "chest64", work / "chest300"
    h28, h300 = work / "head28", work / "head300"
    write_copy(chest, c64)
    c300_series = thin_series(chest, 300, c300)
    write_copy(head, h28)
    thin_series(head, 300, h300)
    print("\n| app | series | few slices: wall s (app s) | 300 slices: wall s (app s) |\n|---|---|---|---|")
    for app in CLINICAL:
        cells = []
        folders = (h28, h300) if app == "ct-head-bleed" else (c64, c300)
        for folder in folders:
            walls, apps_ms = [], []
            for _ in range(args.rounds):
                wall, res = app_run(app, folder, work / "out")
                walls.append(wall)
                apps_ms.append(res["app_ms"] / 1000)
            cells.append("%.2f (%.2f)" % (median(walls), median(apps_ms)))
        print("| %s | %s | %s | %s |" % (app, "head CT (28 → 300)" if app == "ct-head-bleed" else "chest CT (64 → 300)",
                                         cells[0], cells[1]), flush=True)
    # All apps on one 300-slice study through the server (the shipped manifests route them);
    # the offline runs above stored nothing, so the same files are new to it.
    srv = Server(work, [], ROOT / "apps", workers=2)
    try:
        # ct-denoise is opt-in (it adds a series per CT): enable it for this measurement.
        urllib.request.urlopen(urllib.request.Request(
            "http://127.0.0.1:%d/api/v1/apps/ct-denoise/enable" % srv.http, method="POST"), timeout=10)
        srv.send(c300)
        mine = srv.wait(c300_series, len(CHEST_APPS), timeout=900)
    finally:
        srv.stop()
    start = min(j["started_at"] for j in mine)
    end = max(j["finished_at"] for j in mine)
    for j in sorted(mine, key=lambda j: j["app_id"]):
        print("  %-16s %-9s %6.2f s  %s" % (j["app_id"], j["state"], (j["finished_at"] - j["started_at"]) / 1000,
                                          j["summary"] or j["error"]))
    print("all %d apps routed to the 300-slice chest study, through the server (2 workers): %.2f s, first start → "
          "last stored (target < 20 s)" % (len(mine), (end - start) / 1000))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["engine", "apps"])
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    args.rounds = args.rounds or (10 if args.mode == "engine" else 3)
    print("machine: %d CPUs, %s" % (os.cpu_count(), next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                                            if l.startswith("model name")), "?")))
    work = Path(tempfile.mkdtemp(prefix="radflow-ai-bench-"))
    try:
        (engine if args.mode == "engine" else apps)(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
