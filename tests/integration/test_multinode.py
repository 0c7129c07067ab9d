"""Three `radflow serve` nodes on one PostgreSQL index and one shared --storage folder
(docs/scaling.md), each with its own --data, --node-id and ports, and the engine's test-threshold
app (a SEG and an SR per CT series of at least 20 slices) on every node.

Four DCMTK storescu associations of real series are started together, spread over the nodes;
one CT series is split over two associations on two nodes. Node 3 is killed with SIGKILL while
its association is mid-transfer (after it has acknowledged some instances). Then:
- every instance storescu reports acknowledged (for node 3: before the kill) is found by QIDO-RS
  and retrieved by WADO-RS from each survivor, the same dataset as the file sent (byte for
  byte after the File Meta, or element by element where storescu re-encoded it);
- node 3's series (no survivor received an instance of it) is made stable by the survivors'
  sweep, once, and its one AI job is routed and run while node 3 is still down;
- node 3 restarted: it rejoins, its own stale temporary files are swept, not another node's;
- each AI job ran once: per (app, series) one succeeded job and one SEG and one SR series, across
  the three nodes; each series was stable once across the nodes (series_stable, migration 017),
  the split one and node 3's included;
- last (node 3 stopped), `radflow check` finds nothing but the killed store's orphan blob, if it
  left one (at most one: storescu has one C-STORE in flight); --repair indexes it and check is
  clean.
Always on PostgreSQL (its own cluster), whatever RADFLOW_TEST_INDEX says."""
import io
import json
import re
import struct
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ai_harness import FIXTURES, ai_server, api, jobs, wait_jobs  # noqa: E402
from dicomweb_client import Client as DicomWebClient  # noqa: E402

APPS = os.path.join(FIXTURES, "worker_apps", "fast")  # test-threshold: CT, >= 20 slices
APP = "test-threshold"
KILL_AFTER_ACKS = 24    # of node 3's 64 slices: mid-association, and its series still >= 20 slices
ORPHAN_AGE_S = 120      # check treats a younger row-less blob as in flight on another node
DICOM_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def serve_has_shared_storage():
    out = subprocess.run([harness.RADFLOW_BIN, "serve", "--help"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, errors="replace").stdout
    return "--storage" in out and "--node-id" in out


def header(path):
    ds = harness.read_dataset(path, stop_before_pixels=True)
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, getattr(ds, "Modality", "")


def dataset_bytes(data):
    """A Part-10 file's bytes after its File Meta group (harness.split_part10, in memory)."""
    pos = 132
    while pos + 8 <= len(data) and struct.unpack_from("<H", data, pos)[0] == 2:
        if data[pos + 4:pos + 6] in harness._LONG_VRS:
            pos += 12 + struct.unpack_from("<I", data, pos + 8)[0]
        else:
            pos += 8 + struct.unpack_from("<H", data, pos + 6)[0]
    return data[pos:]


def same_dataset(sent_path, got_bytes):
    """The dataset WADO-RS returned is the one sent: byte for byte after the File Meta, or
    where storescu re-encoded it on the wire (it drops group lengths), every element equal
    but group lengths, pixel data included."""
    with open(sent_path, "rb") as f:
        if dataset_bytes(f.read()) == dataset_bytes(got_bytes):
            return None
    pyd = harness._pydicom()
    a = pyd.dcmread(sent_path, force=True)
    b = pyd.dcmread(io.BytesIO(got_bytes), force=True)
    strip = lambda ds: {e.tag: e for e in ds if e.tag.element != 0}
    ea, eb = strip(a), strip(b)
    if ea.keys() != eb.keys():
        return "elements differ: %s" % sorted(set(ea) ^ set(eb))[:5]
    for tag in ea:
        if ea[tag].value != eb[tag].value:
            return "element %s differs" % tag
    return None


class Association:
    """One storescu -v association to a node, started in the background; its output in a file
    that acked() parses as it grows."""

    def __init__(self, name, node, files, workdir):
        self.name, self.node, self.files = name, node, files
        self.log = os.path.join(workdir, name + ".log")
        cfg = os.path.join(workdir, name + ".cfg")
        harness.write_scu_config(files, cfg)
        self._out = open(self.log, "wb")
        self.proc = subprocess.Popen(["storescu", "-v", "-aet", name, "-aec", "RADFLOW", "-xf", cfg, "Default",
                                      "127.0.0.1", str(node.dicom_port), *files],
                                     stdout=self._out, stderr=subprocess.STDOUT, env=harness.DCMTK_ENV)
        harness._live_procs.append(self.proc)

    def statuses(self):
        with open(self.log, errors="replace") as f:
            return harness.parse_store_log(f.read())

    def output(self, tail=2000):
        with open(self.log, errors="replace") as f:
            return f.read()[-tail:]

    def acked(self):
        return [p for p, s in self.statuses().items() if s.startswith("Success")]

    def wait(self, timeout=180):
        rc = self.proc.wait(timeout)
        self._out.close()
        return rc


class MultiNode(harness.ServerTestCase):
    def setUp(self):
        super().setUp()
        harness.require_binary()
        if not serve_has_shared_storage():
            self.skipTest("this radflow has no `serve --storage/--node-id` (shared blob storage)")
        self.pg = harness.PostgresServer().start()
        self.addCleanup(self.pg.stop)
        self.uri = self.pg.new_database("multinode")
        self.root = self.tmpdir()
        self.storage = os.path.join(self.root, "storage")
        self.empty_apps = os.path.join(self.root, "no-apps")
        os.makedirs(self.empty_apps)
        self.nodes = [self.node(i) for i in (1, 2, 3)]

    def node(self, i):
        data = os.path.join(self.root, "node%d" % i)
        harness.set_index_location(data, self.uri)  # the harness' CLI calls (users, tokens) too
        server = ai_server([APPS], self.empty_apps, workers=1, data_dir=data, stable_seconds=1,
                           extra=["--storage", self.storage, "--node-id", "node%d" % i])
        return self.start(server)  # one after the other: the first one migrates the index

    def check(self, data_dir, *extra):
        proc = harness.radflow_cli("check", "--data", data_dir, "--index", self.uri,
                                   "--storage", self.storage, *extra)
        return proc.returncode, proc.stdout + proc.stderr

    def test_three_nodes_one_killed_mid_store(self):
        n1, n2, n3 = self.nodes
        sts = harness.series_dir("sts_042_ct_mr_pet")
        by_modality = {}
        for f in harness.dicom_files(sts):
            by_modality.setdefault(header(f)[3], []).append(f)
        split_ct = by_modality.pop("CT")  # one series, half through node 1, half through node 2
        chest = harness.dicom_files(harness.series_dir("ct_chest_lung_dx"))
        plan = [("SCU1", n1, split_ct[0::2] + by_modality.pop("MR")),
                ("SCU2", n2, split_ct[1::2] + sum(by_modality.values(), [])),
                ("SCU3", n3, chest),
                ("SCU4", n1, harness.dicom_files(harness.series_dir("ct_head_ge_tilt"))
                 + harness.dicom_files(harness.series_dir("mr_brain_t1_siemens")))]
        sent = {p: header(p) for _, _, files in plan for p in files}
        scu_dir = os.path.join(self.root, "scu")
        os.makedirs(scu_dir)
        assocs = [Association(name, node, files, scu_dir) for name, node, files in plan]
        killed = assocs[2]

        # SIGKILL node 3 once it has acknowledged KILL_AFTER_ACKS instances.
        deadline = time.time() + 120
        while len(killed.acked()) < KILL_AFTER_ACKS:
            self.assertIsNone(killed.proc.poll(), "storescu to node 3 ended early")
            self.assertLess(time.time(), deadline, "node 3 acknowledged too little")
            time.sleep(0.02)
        n3.kill()
        acked_at_kill = len(killed.acked())
        for a in assocs:
            rc = a.wait()
            if a is not killed:
                if rc != 0:
                    self.fail("%s exited %d:\n%s" % (a.name, rc, a.output()))
                self.assertEqual(len(a.acked()), len(a.files), a.name)
        acked = [p for a in assocs for p in a.acked()]
        killed_acked = killed.acked()
        self.assertLess(len(killed_acked), len(chest), "the kill came after the association's end")
        self.assertGreaterEqual(len(killed_acked), acked_at_kill)
        print("\nnode 3 killed after %d acknowledged instances (%d in all by the end of its association, of %d)"
              % (acked_at_kill, len(killed_acked), len(chest)))

        # Every acknowledged instance, found and retrieved from each survivor.
        acked_sops = {sent[p][2] for p in acked}
        sent_sops = {v[2]: p for p, v in sent.items()}
        series = sorted({(st, se) for st, se, _, _ in (sent[p] for p in acked)})
        identical = 0
        for survivor in (n1, n2):
            client = DicomWebClient(survivor.http_port)
            self.addCleanup(client.close)
            found = set()
            for st, se in series:
                status, rows = api(survivor, "/dicom-web/studies/%s/series/%s/instances?limit=1000" % (st, se))
                self.assertEqual(status, 200, rows)
                uids = {r["00080018"]["Value"][0] for r in rows}
                found |= uids
                r = client.get("studies/%s/series/%s" % (st, se), accept=DICOM_ACCEPT)
                self.assertEqual(r.status, 200, (survivor.http_port, st, se, r))
                parts = {}
                for _, data in r.parts():
                    parts[harness.read_dataset(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID] = data
                self.assertEqual(set(parts), uids, "WADO-RS and QIDO-RS disagree on %s" % se)
                for uid in uids & acked_sops:
                    with open(sent_sops[uid], "rb") as f:
                        if dataset_bytes(f.read()) == dataset_bytes(parts[uid]):
                            identical += 1
                            continue
                    why = same_dataset(sent_sops[uid], parts[uid])
                    self.assertIsNone(why, "%s from node %d: %s" % (uid, survivor.http_port, why))
            self.assertEqual(acked_sops - found, set(), "acknowledged instances missing")
            # Nothing but what was sent; of node 3's unacknowledged ones, at most the one in flight.
            self.assertEqual(found - set(sent_sops), set())
            self.assertLessEqual(len(found - acked_sops), 1, found - acked_sops)
        print("%d acknowledged instances read back from both survivors; %d of the %d reads byte-identical "
              "after the File Meta, the rest equal element by element (storescu re-encoded them)"
              % (len(acked_sops), identical, 2 * len(acked_sops)))

        # Node 3's series: no survivor received an instance of it, so no survivor had a timer;
        # their sweep (docs/scaling.md "A node that dies mid-series") makes it stable, once, and
        # routes its AI job before node 3 restarts.
        chest_series = header(chest[0])[1]
        deadline = time.time() + 60
        while self.stable_firings().get(chest_series) is None:
            self.assertLess(time.time(), deadline, "the survivors never made node 3's series stable")
            time.sleep(0.2)
        self.assertEqual(self.stable_firings()[chest_series], 1)
        js = wait_jobs(n1, lambda js: any(j["series_uid"] == chest_series and j["state"] in ("succeeded", "failed")
                                          for j in js),
                       timeout=120, what="the AI job of node 3's series, made by the survivors")
        print("node 3's series: stable once and its AI job %s, with node 3 still down"
              % [j["state"] for j in js if j["series_uid"] == chest_series])

        # Node 3 rejoins; its stale temporary files go, node 1's stay.
        tmp3 = os.path.join(self.storage, "tmp", "node3")
        tmp1 = os.path.join(self.storage, "tmp", "node1")
        for d in (tmp1, tmp3):
            os.makedirs(d, exist_ok=True)
        # the killed store's named temporary file, if it had begun one (folders: the node's own)
        left = [n for n in os.listdir(tmp3) if os.path.isfile(os.path.join(tmp3, n))] + ["stale-store.tmp"]
        stale, live = os.path.join(tmp3, "stale-store.tmp"), os.path.join(tmp1, "in-flight.tmp")
        for p in (stale, live):
            with open(p, "wb") as f:
                f.write(b"half a C-STORE")
        self.addCleanup(lambda: os.path.exists(live) and os.remove(live))
        n3.start()
        self.assertEqual([n for n in left if os.path.exists(os.path.join(tmp3, n))], [],
                         "node 3's stale temporary files were not swept")
        print("node 3 restarted: %d temporary file(s) of the killed store swept" % (len(left) - 1))
        self.assertTrue(os.path.exists(live), "node 3 swept node 1's temporary file")
        os.remove(live)

        # Each AI job once across the nodes: one per CT series of >= 20 instances in the index.
        counts = {}
        for st, se in series:
            status, rows = api(n3, "/dicom-web/studies/%s/series?SeriesInstanceUID=%s&includefield=00201209"
                               % (st, se))
            self.assertEqual((status, len(rows)), (200, 1), rows)
            value = lambda tag: rows[0].get(tag, {}).get("Value", [None])[0]
            counts[se] = (st, value("00080060"), int(value("00201209")))
        expected = {se for se, (_, m, n) in counts.items() if m == "CT" and n >= 20}
        self.assertIn(header(split_ct[0])[1], expected)
        # node 3's series: routed by the survivors' sweep above, not again by node 3's restart
        self.assertIn(chest_series, expected)
        js = wait_jobs(n1, lambda js: len(js) >= len(expected)
                       and all(j["state"] in ("succeeded", "failed") for j in js),
                       timeout=120, what="%d %s jobs" % (len(expected), APP))
        time.sleep(1.5)  # a second routing of a series would have made its job by now
        js = jobs(n2, limit=1000)
        self.assertEqual(sorted(j["series_uid"] for j in js), sorted(expected), json.dumps(js, indent=1))
        for j in js:
            self.assertEqual((j["app_id"], j["state"]), (APP, "succeeded"), json.dumps(j, indent=1))
        for modality in ("SEG", "SR"):
            status, rows = api(n2, "/dicom-web/series?Modality=%s&limit=1000" % modality)
            self.assertEqual(status, 200, rows)
            self.assertEqual(len(rows), len(expected), (modality, rows))
        print("AI jobs: %d, one per CT series of >= 20 slices, each with one SEG and one SR series; run by %s"
              % (len(js), sorted(j.get("lease_owner") or "?" for j in js)))

        # Each series stable once across the nodes (the split one included).
        fired = self.stable_firings()
        for se, (st, modality, n) in counts.items():
            if se in fired:
                self.assertEqual(fired[se], 1, (se, modality, fired))
        survivors_series = {sent[p][1] for a in assocs if a is not killed for p in a.files}
        self.assertEqual({se for se in survivors_series if se not in fired}, set(), fired)
        # The winner's log says "series stable: UID"; the others' "… (fired by node NAME)".
        won, told = {}, {}
        for node in self.nodes:
            with open(node.log_path, errors="replace") as f:
                for line in f:
                    m = re.search(r" series stable: (\S+)( \(fired by node (\S+)\))?$", line.rstrip())
                    if m:
                        d = told if m.group(2) else won
                        d[m.group(1)] = d.get(m.group(1), 0) + 1
        self.assertEqual(won, fired, "the nodes' logs and series_stable disagree")
        print("series stable once each: %d series (the split one included); %d relayed log lines"
              % (len(fired), sum(told.values())))

        # Node 3 stopped (check --repair wants its node stopped): the index and the shared
        # storage agree, but for the killed store's orphan blob (if it left one). Last, since a
        # repaired orphan is a new instance of node 3's series: stable and routed once more.
        n3.stop()
        # Aged past check's in-flight window, the orphan is reported, then indexed.
        now = time.time()
        for dirpath, _, names in os.walk(self.storage):
            for name in names:
                os.utime(os.path.join(dirpath, name), (now - ORPHAN_AGE_S, now - ORPHAN_AGE_S))
        rc, out = self.check(n3.data_dir)
        problems = [l for l in out.splitlines() if l.startswith("problem:")]
        self.assertLessEqual(len(problems), 1, out)
        self.assertTrue(all("orphan" in l and "never acknowledged" in l for l in problems), out)
        self.assertEqual(rc, 1 if problems else 0, out)
        if problems:
            rc, out = self.check(n3.data_dir, "--repair")
            self.assertEqual(rc, 0, out)
            rc, out = self.check(n3.data_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn(" 0 problem(s)", out)
        print("radflow check: %d orphan(s) from the killed store (repaired); then: %s"
              % (len(problems), out.strip().splitlines()[-1]))

        rc, out = self.check(n1.data_dir)
        self.assertEqual(rc, 0, out)

    def stable_firings(self):
        """{series UID: times fired} from the cluster's series_stable table (migration 017)."""
        out = self.pg.psql("SELECT series_uid, fired_count FROM series_stable", database="multinode")
        return {uid: int(n) for uid, n in (l.split("|") for l in out.splitlines() if l.strip())}


if __name__ == "__main__":
    unittest.main()
