#!/usr/bin/env python3
"""C-STORE ingest benchmark: radflow vs Orthanc vs DCMTK storescp.

Scenario A: one storescu association sending N slices.
Scenario B: 4 concurrent storescu associations of N slices each.
Scenario C: A and B again against a radflow index pre-filled with 100k
instances (`radflow bench-fill`), reported as ratio to the empty index.

Every server run gets a fresh data dir and fresh UIDs. Time is measured from
the start of the first client to the exit of the last one. See bench/README.md.
"""
import argparse, contextlib, json, os, platform, random, resource, shlex, shutil, signal
import socket, statistics, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import harness  # noqa: E402  (its requests to radflow carry an administrator's token)
OUT = ROOT / "bench" / "out"
# Every run's directory lives under RUNS, which carries ext4's "top of directory
# hierarchy" flag (chattr +T): each run directory then gets an inode group of its own
# (the Orlov allocator spreads such directories). Without it, runs share groups with the
# files deleted by earlier runs and tests, and on ext4 without a journal each file
# creation scans the inodes deleted in the last 60-300 s (recently_deleted()): measured
# here, 13 us per create in a fresh group against 520 us after 3000 deletions nearby - a
# cost every peer pays per instance, and the largest source of noise between runs.
RUNS = OUT / "runs"
SRC = Path("/work/shared/data/dicom/ct_chest_lung_dx/Lung_Dx-A0001")
ORTHANC = "/usr/sbin/Orthanc"
N_SETS = 5            # set 0: scenario A, sets 1..4: scenario B
HEAD = 8192           # all UIDs live in the first 8 KiB of each file
DCMTK_ENV = dict(os.environ, TCP_NODELAY="1")
SCEN = {"A": "A: 1 assoc", "B": "B: 4 assoc"}


def new_uid():
    # Fixed length (43 chars, padded to 44) so UIDs can be re-patched in place.
    return "2.25." + str(random.randrange(10**37, 10**38))


# ---------------------------------------------------------------- data sets
def is_dicom(p):
    with open(p, "rb") as f:
        return f.read(132)[128:] == b"DICM"


def generate(slices, dest):
    try:
        import pydicom
    except ImportError:  # Debian's python3-pydicom when run from another python
        sys.path.append("/usr/lib/python3/dist-packages")
        import pydicom
    from pydicom.uid import ExplicitVRLittleEndian
    src = [p for p in sorted(SRC.rglob("*")) if p.is_file() and is_dicom(p)]
    tmpl = sorted((pydicom.dcmread(p) for p in src), key=lambda d: int(d.InstanceNumber))
    print(f"generating {N_SETS} x {slices} slices from {len(tmpl)} source slices -> {dest}", flush=True)
    shutil.rmtree(dest, ignore_errors=True)
    manifest = {"slices": slices, "sets": []}
    for s in range(N_SETS):
        d = dest / f"set{s}"
        d.mkdir(parents=True)
        st = {"dir": d.name, "study": new_uid(), "series": new_uid(), "for": new_uid(), "files": []}
        for i in range(slices):
            ds = tmpl[i % len(tmpl)]
            sop = new_uid()
            ds.StudyInstanceUID, ds.SeriesInstanceUID = st["study"], st["series"]
            ds.FrameOfReferenceUID, ds.SOPInstanceUID = st["for"], sop
            ds.file_meta.MediaStorageSOPInstanceUID = sop
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.is_implicit_VR, ds.is_little_endian = False, True
            ds.InstanceNumber = i + 1
            name = f"ct{i:04d}.dcm"
            ds.save_as(d / name, write_like_original=False)
            st["files"].append([name, sop])
        manifest["sets"].append(st)
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return manifest


class StaleCache(Exception):
    pass


class DataSets:
    """Cached slice sets under bench/out/sets-<N>/; UIDs re-patched per run."""

    def __init__(self, slices):
        self.dir = OUT / f"sets-{slices}"
        mf = self.dir / "manifest.json"
        self.m = json.loads(mf.read_text()) if mf.exists() else None
        if not self.m or self.m.get("dirty"):  # missing, or a refresh was interrupted
            self.m = generate(slices, self.dir)

    def _save(self):
        (self.dir / "manifest.json").write_text(json.dumps(self.m))

    def refresh(self, idx):
        """Give set idx a new study/series/FoR UID and new SOP UIDs, in place."""
        st = self.m["sets"][idx]
        self.m["dirty"] = True
        self._save()
        study, series, fr = new_uid(), new_uid(), new_uid()
        common = [(st["study"], study), (st["series"], series), (st["for"], fr)]
        for f in st["files"]:
            sop = new_uid()
            with open(self.dir / st["dir"] / f[0], "r+b") as fh:
                head = fh.read(HEAD)
                for old, new in common + [(f[1], sop)]:
                    if old.encode() not in head:
                        raise StaleCache(f[0])
                    head = head.replace(old.encode(), new.encode())
                fh.seek(0)
                fh.write(head)
            f[1] = sop
        st.update(study=study, series=series, **{"for": fr})
        self.m["dirty"] = False
        self._save()

    def files(self, idx):
        st = self.m["sets"][idx]
        return [self.dir / st["dir"] / f[0] for f in st["files"]]


# ---------------------------------------------------------------- servers
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return json.loads(r.read() or b"null") if r.status == 200 else None


def http_ok(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


class Server:
    pass


@contextlib.contextmanager
def server(peer, scen, work, args, fill_tmpl):
    """Start a peer in `work`; yields a Server with aet/port/count(); stops it on exit."""
    s, dport, hport = Server(), free_port(), free_port()
    s.port, s.rss_kib, env = dport, None, None
    if peer.startswith("radflow"):
        data = work / "data"
        if peer == "radflow@fill":
            shutil.copytree(fill_tmpl, data)
        cmd = [args.radflow, "serve", "--data", data, "--aet", "RADFLOW",
               "--dicom-port", dport, "--http-port", hport]
        harness.RADFLOW_BIN = str(args.radflow)
        harness.authenticate_port(hport, harness.provision(str(data)))
        s.aet = "RADFLOW"
        ready = lambda: http_ok(hport, "/healthz")
        s.count = lambda: http_json(hport, "/api/v1/stats")["instances"]
    elif peer == "orthanc":
        cfg = {"Name": "bench", "StorageDirectory": str(work / "storage"),
               "IndexDirectory": str(work / "index"), "DicomAet": "ORTHANC",
               "DicomPort": dport, "HttpPort": hport, "RemoteAccessAllowed": True,
               "AuthenticationEnabled": False, "Plugins": []}
        (work / "orthanc.json").write_text(json.dumps(cfg, indent=1))
        # Orthanc's DICOM stack is DCMTK: without TCP_NODELAY its C-STORE-RSP hits
        # Nagle + delayed ACK (~40 ms per instance, ~20 inst/s per association).
        cmd, s.aet, env = [ORTHANC, work / "orthanc.json"], "ORTHANC", DCMTK_ENV
        ready = lambda: http_ok(hport, "/system")
        s.count = lambda: http_json(hport, "/statistics")["CountInstances"]
    elif peer == "storescp":
        store = work / "store"
        store.mkdir()
        # --fork for B: without it storescp serves associations one at a time.
        cmd = ["storescp"] + (["--fork"] if scen == "B" else []) + \
              ["-aet", "STORESCP", "-od", store, dport]
        s.aet, env = "STORESCP", DCMTK_ENV
        ready = lambda: subprocess.run(["echoscu", "-aec", "STORESCP", "127.0.0.1", str(dport)],
                                       env=DCMTK_ENV, capture_output=True).returncode == 0
        s.count = lambda: sum(1 for _ in store.iterdir())
    else:
        raise ValueError(peer)
    log = open(work / "server.log", "wb")
    p = subprocess.Popen([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True)
    s.pid = p.pid
    try:
        deadline = time.monotonic() + 60
        while not ready():
            if p.poll() is not None:
                raise RuntimeError(f"{peer} exited rc={p.returncode}: {tail(work / 'server.log')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{peer} not ready after 60 s: {tail(work / 'server.log')}")
            time.sleep(0.1)
        yield s
        s.rss_kib = vm_hwm_kib(p.pid)   # just before stopping
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        with contextlib.suppress(ProcessLookupError):  # stray storescp --fork children
            os.killpg(p.pid, signal.SIGKILL)
        log.close()


def tail(path, n=600):
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


# ---------------------------------------------------------------- one run
TCK = os.sysconf("SC_CLK_TCK")


def cpu_snapshot(pid):
    """(machine busy s, server s incl. reaped children, our reaped children s)."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ((sum(v) - v[3] - v[4]) / TCK, sum(int(x) for x in st[11:15]) / TCK,
            ru.ru_utime + ru.ru_stime)


def one_run(peer, scen, sets, args, fill_tmpl):
    idx = [0] if scen == "A" else [1, 2, 3, 4]
    for i in idx:
        sets.refresh(i)
    lists = [sets.files(i) for i in idx]
    n = sum(len(l) for l in lists)
    nbytes = sum(f.stat().st_size for l in lists for f in l)
    work = Path(tempfile.mkdtemp(prefix=f"run-{peer}-{scen}-", dir=RUNS))
    try:
        with server(peer, scen, work, args, fill_tmpl) as s:
            base = s.count()
            logs = [open(work / f"storescu{k}.log", "wb") for k in range(len(lists))]
            os.sync()  # don't let earlier runs' dirty pages be flushed while timing
            c0 = cpu_snapshot(s.pid)
            t0 = time.perf_counter()
            procs = [subprocess.Popen(["storescu", "-aet", f"BENCH{k}", "-aec", s.aet,
                                       "127.0.0.1", str(s.port)] + [f.name for f in l],
                                      cwd=l[0].parent, env=DCMTK_ENV, stdout=lg, stderr=subprocess.STDOUT)
                     for k, (l, lg) in enumerate(zip(lists, logs))]
            try:
                rcs = [p.wait(timeout=900) for p in procs]
                dt = time.perf_counter() - t0
                busy, srv, cli = (b - a for a, b in zip(c0, cpu_snapshot(s.pid)))
            finally:
                for p in procs:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                for lg in logs:
                    lg.close()
            stored = s.count() - base
            if any(rcs) or stored != n:
                bad = next((k for k, rc in enumerate(rcs) if rc), 0)
                raise RuntimeError(f"storescu rc={rcs}, stored {stored}/{n}; storescu{bad}: "
                                   f"{tail(work / f'storescu{bad}.log', 400)!r}; server: "
                                   f"{tail(work / 'server.log', 400)!r}")
        return {"instances": n, "bytes": nbytes, "seconds": dt, "inst_s": n / dt,
                "mb_s": nbytes / dt / 1e6, "rss_kib": s.rss_kib, "index_base": base,
                # CPU cores used during the timed window: server, storescu clients, and the
                # rest of the machine (other jobs, plus kernel threads such as writeback)
                "cpu_server": srv / dt, "cpu_clients": cli / dt, "cpu_other": (busy - srv - cli) / dt}
    finally:
        # Deleted at the very end, not now: on ext4 a run that follows the deletion of
        # thousands of files pays for it when allocating inodes, which would penalise
        # whichever peer happens to run next.
        DEFERRED_CLEANUP.append(work)


DEFERRED_CLEANUP = []


def measured_run(peer, scen, sets, args, fill_tmpl, tries=3):
    """one_run after waiting for an idle machine; redone if other work took > --max-other cores."""
    for attempt in range(1, tries + 1):
        waited, before = wait_idle(args.idle) if args.idle < 1 else (0.0, cpu_busy(0.5))
        if waited > 1:
            print(f"  waited {waited:.0f} s for the machine to go idle (now {before:.0%} busy)", flush=True)
        r = one_run(peer, scen, sets, args, fill_tmpl)
        r.update(idle_wait_s=round(waited, 1), busy_before=round(before, 3), attempt=attempt)
        if r["cpu_other"] <= args.max_other or attempt == tries:
            return r
        print(f"  {scen} {peer}: other work used {r['cpu_other']:.2f} cores during the run "
              f"({r['inst_s']:.1f} inst/s); redoing", flush=True)


# ---------------------------------------------------------------- reporting
def cpu_busy(seconds=1.0):
    """Fraction of all CPUs busy over `seconds` (background load check)."""
    def snap():
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t1, i1 = snap()
    time.sleep(seconds)
    t2, i2 = snap()
    return 1 - (i2 - i1) / max(1, t2 - t1)


def wait_idle(limit, max_wait=120):
    """Wait (up to max_wait s) until the machine is < limit busy; returns (waited s, busy)."""
    t0 = time.monotonic()
    while True:
        b = cpu_busy(0.5)
        if b < limit or time.monotonic() - t0 > max_wait:
            return time.monotonic() - t0, b
        time.sleep(2)


def machine():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "?")
    ver = lambda c: (subprocess.run(c, capture_output=True, text=True).stdout.splitlines() or ["?"])[0]
    rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "storescu": ver(["storescu", "--version"]).strip(),
            "orthanc": ver([ORTHANC, "--version"]).strip(), "radflow_git": rev}


NAMES = {"radflow": "radflow", "radflow@fill": "radflow (100k index)",
         "orthanc": "Orthanc", "storescp": "storescp"}


def summarize(runs, fill_n):
    rows = []
    med = {k: statistics.median(r["inst_s"] for r in v) for k, v in runs.items() if v}
    for scen in ("A", "B"):
        for peer in ("radflow", "radflow@fill", "orthanc", "storescp"):
            v = runs.get((peer, scen))
            if not v:
                continue
            m = med[(peer, scen)]
            ratio = lambda other: round(m / med[(other, scen)], 2) if (other, scen) in med else None

            # Paired: the ratio within each repeat (the two runs minutes apart, so slow drift
            # of a shared machine cancels), then the median over the repeats.
            def paired(other):
                o = runs.get((other, scen))
                if not o or len(o) != len(v):
                    return None
                return round(statistics.median(a["inst_s"] / b["inst_s"] for a, b in zip(v, o)), 2)
            rows.append({
                "peer": NAMES[peer].replace("100k", f"{fill_n // 1000}k"), "scenario": SCEN[scen],
                "inst_s": round(m, 1), "mb_s": round(statistics.median(r["mb_s"] for r in v), 1),
                "vs_orthanc": ratio("orthanc"), "vs_storescp": ratio("storescp"),
                "vs_orthanc_paired": paired("orthanc"), "vs_storescp_paired": paired("storescp"),
                "vs_empty_index": ratio("radflow") if peer == "radflow@fill" else None,
                "peak_rss_mib": round(max(r["rss_kib"] or 0 for r in v) / 1024, 1),
                "max_other_cpu": round(max(0, max(r["cpu_other"] for r in v)), 2),
                "redone": sum(r["attempt"] - 1 for r in v),
                "runs_inst_s": [round(r["inst_s"], 1) for r in v]})
    return rows


def table(rows):
    f = lambda x: "–" if x is None else (f"{x:.2f}×" if isinstance(x, float) else str(x))
    out = ["| peer | scenario | median inst/s | MB/s | vs Orthanc | vs storescp "
           "| vs Orthanc, paired | vs storescp, paired | vs empty index "
           "| peak RSS (MiB) | runs (inst/s) | other CPU (max cores) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        out.append(f"| {r['peer']} | {r['scenario']} | {r['inst_s']:.1f} | {r['mb_s']:.1f} | "
                   f"{f(r['vs_orthanc'])} | {f(r['vs_storescp'])} | "
                   f"{f(r['vs_orthanc_paired'])} | {f(r['vs_storescp_paired'])} | {f(r['vs_empty_index'])} | "
                   f"{r['peak_rss_mib']:.1f} | {', '.join(map(str, r['runs_inst_s']))} | {r['max_other_cpu']:.2f} |")
    return "\n".join(out)


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, 100 slices per set")
    ap.add_argument("--peers", default="radflow,orthanc,storescp")
    ap.add_argument("--slices", type=int, default=300, help="slices per set (association)")
    ap.add_argument("--fill", type=int, default=100000, help="scenario C index size; 0 skips C")
    ap.add_argument("--radflow", default=str(ROOT / "build" / "radflow"))
    ap.add_argument("--idle", type=float, default=0.15,
                    help="before each run wait (max 120 s) until the machine is less busy than "
                         "this fraction; 1 disables")
    ap.add_argument("--max-other", type=float, default=0.5,
                    help="redo a run (up to twice) if other processes used more CPU cores than this")
    args = ap.parse_args()
    if args.quick:
        args.repeat, args.slices = 1, 100
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    command = shlex.join([sys.executable] + sys.argv)
    OUT.mkdir(parents=True, exist_ok=True)
    RUNS.mkdir(exist_ok=True)
    topdir = subprocess.run(["chattr", "+T", str(RUNS)], capture_output=True).returncode == 0
    info = machine()
    print(f"command: {command}")
    print(f"machine: nproc={info['nproc']}, CPU: {info['cpu']}, kernel {info['kernel']}, "
          f"{info['mem_gib']} GiB RAM")
    print(f"versions: {info['storescu']} | {info['orthanc']} | radflow {info['radflow_git']}")
    busy = [cpu_busy()]
    print(f"background CPU busy before start: {busy[0]:.0%}, loadavg {open('/proc/loadavg').read().strip()}")

    sets = DataSets(args.slices)
    notes, order, fill_root, fill_tmpl = [], list(peers), None, None
    notes.append("run directories " + ("in fresh inode groups (chattr +T on bench/out/runs)" if topdir
                 else "NOT spread (chattr +T failed: not ext4?)"))
    runs, failures = {}, []
    try:
        if "radflow" in peers and args.fill > 0:
            fill_root = Path(tempfile.mkdtemp(prefix="fill-", dir=OUT))
            t0 = time.perf_counter()
            try:
                r = subprocess.run([args.radflow, "bench-fill", "--data", str(fill_root / "data"),
                                    "--instances", str(args.fill)], capture_output=True, text=True)
                err = None if r.returncode == 0 else f"rc={r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}"
            except OSError as e:
                err = str(e)
            if err is None:
                fill_tmpl = fill_root / "data"
                notes.append(f"bench-fill {args.fill} instances took {time.perf_counter() - t0:.1f} s")
                order.insert(order.index("radflow") + 1, "radflow@fill")
            else:
                notes.append(f"scenario C skipped: `radflow bench-fill` failed: {err}")
            print(notes[-1], flush=True)

        for rep in range(args.repeat):
            # Rotate the order of the peers from one repeat to the next, so that no peer
            # always runs first (or right after the same one).
            rotated = order[rep % len(order):] + order[:rep % len(order)]
            for scen in ("A", "B"):
                for peer in rotated:
                    try:
                        r = measured_run(peer, scen, sets, args, fill_tmpl)
                    except Exception as e:  # record and continue with the other peers
                        failures.append(f"rep {rep + 1} {scen} {peer}: {e}")
                        print(f"FAILED {failures[-1]}", flush=True)
                        continue
                    runs.setdefault((peer, scen), []).append(r)
                    print(f"[{rep + 1}/{args.repeat}] {scen} {NAMES[peer]:22s} {r['instances']:5d} inst "
                          f"in {r['seconds']:6.2f} s = {r['inst_s']:7.1f} inst/s {r['mb_s']:6.1f} MB/s "
                          f"RSS {r['rss_kib'] / 1024 if r['rss_kib'] else 0:6.1f} MiB | CPU cores: server "
                          f"{r['cpu_server']:.2f} clients {r['cpu_clients']:.2f} other {r['cpu_other']:.2f}",
                          flush=True)
    finally:
        if fill_root:
            shutil.rmtree(fill_root, ignore_errors=True)
        for work in DEFERRED_CLEANUP:
            shutil.rmtree(work, ignore_errors=True)
    busy.append(cpu_busy())

    rows = summarize(runs, args.fill)
    print()
    print(f"machine: nproc={info['nproc']}, CPU: {info['cpu']}, kernel {info['kernel']}")
    print(f"command: {command}")
    print(f"slices per association: {args.slices} (512x512 CT, ~0.53 MB each); repeats: {args.repeat}; "
          f"MB = 10^6 bytes; peak RSS = VmHWM (storescp --fork in B: parent process only)")
    before = [r["busy_before"] for v in runs.values() for r in v] or [0]
    waits = sum(r["idle_wait_s"] for v in runs.values() for r in v)
    print(f"machine busy before start/end {busy[0]:.0%}/{busy[-1]:.0%}, just before each run: median "
          f"{statistics.median(before):.0%}, max {max(before):.0%}; waited {waits:.0f} s in all for idle; "
          f"{sum(r['attempt'] - 1 for v in runs.values() for r in v)} runs redone for load. "
          "'other CPU' = cores used during a timed run by anything but the server and storescu "
          "(other jobs, kernel threads such as writeback)")
    for n in notes + [f"FAILED: {f}" for f in failures]:
        print(f"note: {n}")
    print()
    print(table(rows))
    result = {"command": command, "machine": info, "slices": args.slices, "repeat": args.repeat,
              "background_cpu_busy": [round(b, 3) for b in busy], "notes": notes,
              "failures": failures, "results": rows,
              "runs": [{"peer": p, "scenario": s, **r} for (p, s), v in runs.items() for r in v]}
    (OUT / "ingest_results.json").write_text(json.dumps(result, indent=1))
    print(f"\nwrote {OUT / 'ingest_results.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
