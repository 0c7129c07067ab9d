#!/usr/bin/env python3
"""Ingest scaling (issue 15): C-STORE instances/s with 1, 2 and 3 `radflow serve` nodes on one
PostgreSQL index, and one node on SQLite against one node on PostgreSQL, under the same load.

Load: --assocs parallel storescu associations (default 6, so that 1, 2 and 3 nodes each get
the same number), each --slices CT slices, spread round-robin over the nodes. The slices are
the real chest CT of /work/shared/data (ct_chest_lung_dx, 64 slices, 512x512, cycled) written
by pydicom with new Study/Series/SOP UIDs per association (ingest_bench.py's generator, cached
in bench/out/scaling-sets-<slices>x<assocs>/, UIDs re-patched in place before every run).

Configurations, each round in a rotated order, --rounds rounds (default 3):
  sqlite-1  one node, SQLite index in its --data
  pg-1, pg-2, pg-3  1, 2, 3 nodes, one PostgreSQL 15 cluster (fsync=on, started here; a fresh
            database per run), one shared --storage folder when this radflow has the option
            (else every node's blobs in its own --data: said in the output)
Each run: fresh data folders, nodes started and ready, then the timed window from the first
storescu's start to the last one's exit; the index's instance count is checked afterwards.
CPU cores used in the window are split into radflow nodes, PostgreSQL (postmaster and its
children), storescu and the rest; PostgreSQL's WAL fsyncs are counted (pg_stat_wal with
track_wal_io_timing). The timed part holds /tmp/radflow-bench.lock (flock), the lock the other
benches take; builds are not stopped by it.
"""
import argparse, contextlib, fcntl, json, os, resource, shlex, shutil, statistics, subprocess
import sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
import harness  # noqa: E402
import ingest_bench  # noqa: E402  (the slice generator, the run folders, cpu_busy, machine)

OUT = ROOT / "bench" / "out"
LOCK = "/tmp/radflow-bench.lock"
TCK = os.sysconf("SC_CLK_TCK")


class Sets(ingest_bench.DataSets):
    def __init__(self, slices, count):
        ingest_bench.N_SETS = count
        self.dir = OUT / f"scaling-sets-{slices}x{count}"
        mf = self.dir / "manifest.json"
        self.m = json.loads(mf.read_text()) if mf.exists() else None
        if not self.m or self.m.get("dirty") or len(self.m["sets"]) != count:
            self.m = ingest_bench.generate(slices, self.dir)


def has_shared_storage(radflow):
    out = subprocess.run([radflow, "serve", "--help"], capture_output=True, text=True).stdout
    return "--storage" in out and "--node-id" in out


def proc_cpu(pid):
    try:
        st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(st[11]) + int(st[12])) / TCK  # utime + stime
    except OSError:
        return 0.0


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            with contextlib.suppress(OSError):
                if int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == ppid:
                    out.append(int(d))
    return out


def machine_busy():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / TCK


class Cluster:
    """The PostgreSQL cluster of the bench, with WAL I/O timing on."""

    def __init__(self):
        self.pg = harness.PostgresServer().start()
        self.pg.psql("ALTER SYSTEM SET track_wal_io_timing = on")
        self.pg.psql("SELECT pg_reload_conf()")
        pid_file = Path(self.pg.dir) / "cluster" / "postmaster.pid"
        self.postmaster = int(pid_file.read_text().split()[0])
        self.n = 0

    def database(self):
        self.n += 1
        return self.pg.new_database(f"scaling_{os.getpid()}_{self.n}")

    def cpu(self):
        return proc_cpu(self.postmaster) + sum(proc_cpu(c) for c in children(self.postmaster))

    def wal(self):
        """WAL fsyncs, their ms, WAL writes, and the cluster's commits (all databases)."""
        row = self.pg.psql("SELECT wal_sync, wal_sync_time, wal_write, (SELECT sum(xact_commit)"
                           " FROM pg_stat_database) FROM pg_stat_wal").strip().split("|")
        return int(row[0]), float(row[1]), int(row[2]), int(row[3])


def one_run(config, sets, args, cluster, shared):
    backend, nodes = config.split("-")
    nodes = int(nodes)
    for i in range(len(sets.m["sets"])):
        sets.refresh(i)
    lists = [sets.files(i) for i in range(len(sets.m["sets"]))]
    n = sum(len(l) for l in lists)
    nbytes = sum(f.stat().st_size for l in lists for f in l)
    work = Path(tempfile.mkdtemp(prefix=f"scaling-{config}-", dir=ingest_bench.RUNS))
    ingest_bench.DEFERRED_CLEANUP.append(work)
    uri = cluster.database() if backend == "pg" else None
    servers = []
    try:
        for k in range(nodes):
            data = str(work / f"node{k + 1}")
            if uri:
                harness.set_index_location(data, uri)
            extra = (["--storage", str(work / "storage"), "--node-id", f"node{k + 1}"]
                     if uri and shared else [])
            s = harness.RadflowServer(data_dir=data, workdir=str(work), extra_args=extra)
            s.start(timeout=60)  # one after the other: the first one migrates the index
            servers.append(s)
        base = servers[0].stats()["instances"]
        logs = [open(work / f"storescu{k}.log", "wb") for k in range(len(lists))]
        os.sync()  # earlier runs' dirty pages are not flushed inside the window
        wal0 = cluster.wal() if uri else None
        cpu0 = (machine_busy(), sum(proc_cpu(s.pid) for s in servers), cluster.cpu() if uri else 0.0,
                resource.getrusage(resource.RUSAGE_CHILDREN))
        perf = None
        if args.perf:  # a profile of the window (such a run's rate is not comparable)
            pids = [s.pid for s in servers] + ([cluster.postmaster] + children(cluster.postmaster) if uri else [])
            perf = subprocess.Popen(["perf", "record", "-q", "-F", "499", "-g", "-o", str(OUT / f"perf-{config}.data"),
                                     "-p", ",".join(map(str, pids))], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        t0 = time.perf_counter()
        procs = [subprocess.Popen(["storescu", "-aet", f"SCU{k}", "-aec", "RADFLOW", "127.0.0.1",
                                   str(servers[k % nodes].dicom_port)] + [f.name for f in l],
                                  cwd=l[0].parent, env=harness.DCMTK_ENV, stdout=lg, stderr=subprocess.STDOUT)
                 for k, (l, lg) in enumerate(zip(lists, logs))]
        rcs = [p.wait(timeout=900) for p in procs]
        dt = time.perf_counter() - t0
        if perf:
            perf.send_signal(2)
            perf.wait(60)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy = machine_busy() - cpu0[0]
        srv = sum(proc_cpu(s.pid) for s in servers) - cpu0[1]
        pg = (cluster.cpu() - cpu0[2]) if uri else 0.0
        cli = (ru.ru_utime + ru.ru_stime) - (cpu0[3].ru_utime + cpu0[3].ru_stime)
        if uri:  # backends report their WAL counters at most once a second (PostgreSQL 15 pgstat)
            time.sleep(1.5)
        wal = [b - a for a, b in zip(wal0, cluster.wal())] if uri else None
        for lg in logs:
            lg.close()
        stored = servers[0].stats()["instances"] - base
        if any(rcs) or stored != n:
            raise RuntimeError(f"{config}: storescu rc={rcs}, stored {stored}/{n}: "
                               f"{ingest_bench.tail(work / 'storescu0.log', 400)!r}")
        r = {"config": config, "instances": n, "bytes": nbytes, "seconds": dt, "inst_s": n / dt,
             "mb_s": nbytes / dt / 1e6, "cpu_radflow": srv / dt, "cpu_postgres": pg / dt,
             "cpu_storescu": cli / dt, "cpu_other": (busy - srv - pg - cli) / dt}
        if wal:
            r.update(wal_syncs_per_inst=wal[0] / n, wal_sync_ms_per_inst=wal[1] / n,
                     wal_sync_ms_total=wal[1], commits_per_inst=wal[3] / n)
        return r
    finally:
        for s in servers:
            s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--assocs", type=int, default=6)
    ap.add_argument("--slices", type=int, default=80, help="slices per association")
    ap.add_argument("--configs", default="sqlite-1,pg-1,pg-2,pg-3")
    ap.add_argument("--radflow", default=str(ROOT / "build" / "radflow"))
    ap.add_argument("--json", default=str(OUT / "ingest_scaling.json"))
    ap.add_argument("--perf", action="store_true", help="perf record -g the nodes and PostgreSQL in each "
                    "run's window into bench/out/perf-CONFIG.data (a profile run: not for the table)")
    args = ap.parse_args()
    os.environ.pop("RADFLOW_TEST_INDEX", None)  # sqlite-1 is SQLite whatever the caller's setting
    harness.RADFLOW_BIN = args.radflow
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    command = shlex.join([sys.executable] + sys.argv)
    OUT.mkdir(parents=True, exist_ok=True)
    ingest_bench.RUNS.mkdir(exist_ok=True)
    subprocess.run(["chattr", "+T", str(ingest_bench.RUNS)], capture_output=True)
    info = ingest_bench.machine()
    shared = has_shared_storage(args.radflow)
    print(f"command: {command}\nmachine: nproc={info['nproc']}, CPU: {info['cpu']}, kernel {info['kernel']}, "
          f"{info['mem_gib']} GiB RAM, radflow {info['radflow_git']}")
    print("blobs: " + ("one shared --storage folder for all nodes" if shared else
                       "each node's own --data (this radflow has no --storage)"))
    sets = Sets(args.slices, args.assocs)
    cluster = Cluster()
    runs, failures = {}, []
    try:
        for rnd in range(args.rounds):
            order = configs[rnd % len(configs):] + configs[:rnd % len(configs)]
            for config in order:
                with open(LOCK, "w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    busy_before = ingest_bench.cpu_busy(0.5)
                    try:
                        r = one_run(config, sets, args, cluster, shared)
                    except Exception as e:
                        failures.append(f"round {rnd + 1} {config}: {e}")
                        print("FAILED " + failures[-1], flush=True)
                        continue
                r["busy_before"] = busy_before
                runs.setdefault(config, []).append(r)
                wal = (f" | WAL fsyncs/inst {r['wal_syncs_per_inst']:.2f}, {r['wal_sync_ms_per_inst']:.2f} ms/inst, "
                       f"commits/inst {r['commits_per_inst']:.2f}" if "wal_syncs_per_inst" in r else "")
                print(f"[{rnd + 1}/{args.rounds}] {config:8s} {r['instances']} inst in {r['seconds']:.2f} s = "
                      f"{r['inst_s']:.1f} inst/s | cores: radflow {r['cpu_radflow']:.2f} postgres "
                      f"{r['cpu_postgres']:.2f} storescu {r['cpu_storescu']:.2f} other {r['cpu_other']:.2f}"
                      f" (busy before {busy_before:.0%}){wal}", flush=True)
    finally:
        cluster.pg.stop()
        for work in ingest_bench.DEFERRED_CLEANUP:
            shutil.rmtree(work, ignore_errors=True)
    med = {c: statistics.median(r["inst_s"] for r in v) for c, v in runs.items()}
    rows = []
    print(f"\n{args.assocs} associations x {args.slices} slices (0.53 MB CT) per run, {args.rounds} rounds; "
          "median inst/s; ratios of medians")
    print("| configuration | median inst/s | MB/s | vs pg-1 | vs sqlite-1 | cores radflow / postgres / storescu / other "
          "| WAL fsync ms per inst | runs (inst/s) |")
    print("|---|---:|---:|---:|---:|---|---:|---|")
    for c in configs:
        v = runs.get(c)
        if not v:
            continue
        m = lambda k: statistics.median(r[k] for r in v)
        ratio = lambda o: f"{med[c] / med[o]:.2f}×" if o in med else "–"
        wal = f"{m('wal_sync_ms_per_inst'):.2f}" if "wal_sync_ms_per_inst" in v[0] else "–"
        print(f"| {c} | {med[c]:.1f} | {m('mb_s'):.1f} | {ratio('pg-1')} | {ratio('sqlite-1')} | "
              f"{m('cpu_radflow'):.2f} / {m('cpu_postgres'):.2f} / {m('cpu_storescu'):.2f} / {m('cpu_other'):.2f} "
              f"| {wal} | {', '.join('%.0f' % r['inst_s'] for r in v)} |")
        rows.append({"config": c, "median_inst_s": med[c], "runs": v})
    for f in failures:
        print("FAILED: " + f)
    Path(args.json).write_text(json.dumps({"command": command, "machine": info, "shared_storage": shared,
                                           "assocs": args.assocs, "slices": args.slices, "results": rows,
                                           "failures": failures}, indent=1))
    print(f"wrote {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
