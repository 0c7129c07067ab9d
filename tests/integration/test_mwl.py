#!/usr/bin/python3
"""Modality Worklist C-FIND of `radflow serve` against DCMTK's own worklist SCP.

The same worklist data — DCMTK's sample items (Debian dcmtk, wlistdb/OFFIS/wklist*.dump,
turned into .wl files with dump2dcm) — is served by `wlmscpfs` and, after
`radflow orders import`, by radflow. Every query is sent with DCMTK's `findscu -W` to both:
DCMTK's sample queries (wlistqry*.dump) and queries of our own on each matching key. Same
answer = the same set of responses, each with the same attribute values (responses sorted;
a zero-length value counts as absent, PS3.4 C.2.2.1.2; docs/orders.md "MWL/MPPS").
Known, documented differences, checked as such: radflow reports ScheduledProcedureStepStatus
(SCHEDULED: it tracks the step; the sample items have none) and matches PN case-insensitively.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SAMPLES = os.path.join(h.DATA_ROOT, "worklist", "debian_samples", "dcmtk_worklist_examples")
ITEMS = os.path.join(SAMPLES, "wlistdb", "OFFIS")
QUERIES = os.path.join(SAMPLES, "wlistqry")
# The sample items are scheduled in 1993-1996: no no-show marking during the test.
NO_SHOW_GRACE = "60000000"
# Attributes where radflow knows more than the sample files say (see the module docstring).
KNOWN_DIFFERENT = {"(0040,0100)[].(0040,0020)", "(0008,0005)"}

# Queries of our own: (name, findscu -k keys). SPS return keys are listed so that the item
# is not a universal match.
RETURN_KEYS = ["AccessionNumber", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
               "StudyInstanceUID", "RequestedProcedureID", "RequestedProcedurePriority",
               "RequestedProcedureDescription", "RequestingPhysician", "MedicalAlerts"]
SPS = "ScheduledProcedureStepSequence[0]."
SPS_RETURN = [SPS + k for k in ("Modality", "ScheduledStationAETitle", "ScheduledProcedureStepStartDate",
                                "ScheduledProcedureStepStartTime", "ScheduledProcedureStepID",
                                "ScheduledStationName", "ScheduledProcedureStepDescription",
                                "ScheduledPerformingPhysicianName")]


def own(name, **match):
    keys = []
    sps_match = {k: v for k, v in match.items() if k.startswith("sps_")}
    top = {k: v for k, v in match.items() if not k.startswith("sps_")}
    for k in RETURN_KEYS:
        keys.append("%s=%s" % (k, top.pop(k, "")) if k in top else k)
    keys += ["%s=%s" % (k, v) for k, v in top.items()]
    for k in SPS_RETURN:
        short = k[len(SPS):]
        keys.append("%s=%s" % (k, sps_match.pop("sps_" + short)) if "sps_" + short in sps_match else k)
    return name, keys


OWN_QUERIES = [
    own("station_aa32", sps_ScheduledStationAETitle="AA32"),       # one of a multi-valued AE
    own("station_nn77", sps_ScheduledStationAETitle="NN77"),
    own("modality_ct", sps_Modality="CT"),
    own("modality_mr_1995", sps_Modality="MR", sps_ScheduledProcedureStepStartDate="19950101-19951231"),
    own("date_1996", sps_ScheduledProcedureStepStartDate="19960101-19961231"),
    own("date_open_upper", sps_ScheduledProcedureStepStartDate="-19951231"),
    own("date_single", sps_ScheduledProcedureStepStartDate="19960406"),
    own("time_morning", sps_ScheduledProcedureStepStartTime="-120000"),
    own("time_afternoon", sps_ScheduledProcedureStepStartTime="140000-180000"),
    own("name_wildcard", PatientName="VIVALDI*"),
    own("name_question_mark", PatientName="MOZART^WOLFGANG^AMADEU?"),
    own("patient_id", PatientID="AV35674"),
    own("accession", AccessionNumber="00005"),
    own("requested_procedure_id", RequestedProcedureID="RP4474"),
    own("performing_physician", sps_ScheduledPerformingPhysicianName="JOHNSON"),
    own("no_match", PatientName="NOBODY*"),
]

# Matching wlmscpfs does not do, radflow does (PS3.4 C.2.2.2): wildcards in an AE title (C.2.2.2.4
# lists AE among the wildcard VRs; wlmscpfs matches nothing), and the optional matching keys
# StudyInstanceUID (UID list) and ScheduledProcedureStepID of Table K.6-1, which wlmscpfs
# treats as return keys (every item matches). radflow's answer: the accessions listed.
RADFLOW_ONLY = [
    (own("station_wildcard", sps_ScheduledStationAETitle="A*"),
     ["00000", "00002", "00004", "00005", "00007", "00009"], "none"),
    (own("study_uid_list", StudyInstanceUID="1.2.276.0.7230010.3.2.103\\1.2.276.0.7230010.3.2.108"),
     ["00003", "00008"], "all"),
    (own("step_id", sps_ScheduledProcedureStepID="SPD1342"), ["00002"], "all"),
]


def flatten(ds, prefix=""):
    """{path: value} of a pydicom dataset; sequence items as '[]' (one item per SPS here),
    zero-length values left out."""
    out = {}
    for el in ds:
        if el.tag.group == 0x0002:
            continue
        tag = "(%04X,%04X)" % (el.tag.group, el.tag.element)
        if el.VR == "SQ":
            for i, item in enumerate(el.value):
                for k, v in flatten(item, prefix + tag + "[%s]." % ("" if i == 0 else i)).items():
                    out[k] = v
            continue
        if el.value is None or el.value == "" or el.value == b"":
            continue
        v = el.value
        if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
            v = "\\".join(str(x) for x in v)
        out[prefix + tag] = str(v)
    return out


def wait_port(port, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("wlmscpfs exited: %s" % proc.returncode)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("wlmscpfs not listening on %d" % port)


def findscu_w(port, called_ae, args, out_dir):
    """`findscu -W` with the responses written as files; returns the flattened responses."""
    os.makedirs(out_dir, exist_ok=True)
    keys = [a for a in args if not os.path.isfile(a)]
    files = [a for a in args if os.path.isfile(a)]  # query files go after host and port
    proc = h.run_dcmtk(["findscu", "-W", "-aec", called_ae, "-X", "-od", out_dir, *keys,
                        "127.0.0.1", port, *files], timeout=60)
    if proc.returncode != 0:
        raise AssertionError("findscu failed (%d):\n%s" % (proc.returncode, proc.stdout[-3000:]))
    rows = []
    for n in sorted(os.listdir(out_dir)):
        rows.append(flatten(h.read_dataset(os.path.join(out_dir, n))))
    return rows, proc.stdout


def normalise(rows, drop=()):
    return sorted(json.dumps({k: v for k, v in r.items() if k.replace("[1]", "[]") not in drop},
                             sort_keys=True) for r in rows)


class MwlAgainstWlmscpfs(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(ITEMS):
            raise unittest.SkipTest("no DCMTK worklist samples at %s" % SAMPLES)
        cls.tmp = tempfile.mkdtemp(prefix="radflow-mwl-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        # The sample items and queries as DICOM files (dump2dcm, as the samples' README says).
        db = os.path.join(cls.tmp, "wlistdb", "OFFIS")
        os.makedirs(db)
        open(os.path.join(db, "lockfile"), "w").close()
        cls.items = []
        for n in sorted(os.listdir(ITEMS)):
            if n.endswith(".dump"):
                out = os.path.join(db, n[:-5] + ".wl")
                h.run_dcmtk(["dump2dcm", "-g", "+te", os.path.join(ITEMS, n), out], check=True)
                cls.items.append(out)
        cls.queries = {}
        qdir = os.path.join(cls.tmp, "queries")
        os.makedirs(qdir)
        for n in sorted(os.listdir(QUERIES)):
            if n.endswith(".dump"):
                out = os.path.join(qdir, n[:-5] + ".dcm")
                h.run_dcmtk(["dump2dcm", os.path.join(QUERIES, n), out], check=True)
                cls.queries[n[:-5]] = out
        # DCMTK's worklist SCP on those files.
        cls.wlm_port = h.free_port()
        cls.wlm_log = open(os.path.join(cls.tmp, "wlmscpfs.log"), "w")
        cls.wlm = subprocess.Popen(["wlmscpfs", "-dfp", os.path.join(cls.tmp, "wlistdb"), "-dfr",
                                    str(cls.wlm_port)], stdout=cls.wlm_log, stderr=subprocess.STDOUT,
                                   env=h.DCMTK_ENV)
        h._live_procs.append(cls.wlm)
        cls.addClassCleanup(cls.wlm_log.close)
        cls.addClassCleanup(cls.wlm.wait, 10)
        cls.addClassCleanup(cls.wlm.terminate)
        wait_port(cls.wlm_port, cls.wlm)
        # The same files into radflow's orders, then radflow serves them.
        data = os.path.join(cls.tmp, "radflow-data")
        os.makedirs(data)
        imp = subprocess.run([h.RADFLOW_BIN, *h.with_index(["orders", "import", "--data", data, db])],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=h.DCMTK_ENV)
        cls.import_output = imp.stdout
        if imp.returncode != 0:
            raise AssertionError("radflow orders import failed (%d):\n%s" % (imp.returncode, imp.stdout))
        cls.srv = cls.start_class(h.RadflowServer(
            data_dir=data, extra_args=["--no-show-grace-minutes", NO_SHOW_GRACE]))

    def both(self, name, args):
        ours, log_ours = findscu_w(self.srv.dicom_port, "RADFLOW", args, os.path.join(self.tmp, "r", name))
        theirs, log_theirs = findscu_w(self.wlm_port, "OFFIS", args, os.path.join(self.tmp, "w", name))
        return ours, theirs

    def assert_same(self, name, args):
        ours, theirs = self.both(name, args)
        self.assertEqual(normalise(ours, KNOWN_DIFFERENT), normalise(theirs, KNOWN_DIFFERENT),
                         "query %s: radflow and wlmscpfs answer differently" % name)
        return ours, theirs

    def test_import_took_every_item(self):
        self.assertIn("%d of %d worklist items imported" % (len(self.items), len(self.items)),
                      self.import_output)

    def test_dcmtk_sample_queries(self):
        matched = 0
        for name, path in sorted(self.queries.items()):
            with self.subTest(query=name):
                ours, theirs = self.assert_same(name, [path])
                matched += len(theirs)
        # The samples' queries are answered at all (not only "no match" on both sides).
        self.assertGreaterEqual(matched, 40)

    def test_own_queries_on_each_matching_key(self):
        counts = {}
        for name, keys in OWN_QUERIES:
            with self.subTest(query=name):
                args = []
                for k in keys:
                    args += ["-k", k]
                ours, theirs = self.assert_same(name, args)
                counts[name] = len(theirs)
        # The keys select: neither everything nor nothing (except the query made to match nothing).
        for name, n in counts.items():
            if name == "no_match":
                self.assertEqual(n, 0)
            else:
                self.assertTrue(0 < n < len(self.items), "%s matched %d of %d" % (name, n, len(self.items)))

    def test_matching_radflow_does_and_wlmscpfs_does_not(self):
        for (name, keys), accessions, theirs_expected in RADFLOW_ONLY:
            with self.subTest(query=name):
                args = []
                for k in keys:
                    args += ["-k", k]
                ours, theirs = self.both(name, args)
                self.assertEqual(sorted(r["(0008,0050)"] for r in ours), accessions)
                self.assertEqual(len(theirs), 0 if theirs_expected == "none" else len(self.items))
                # What radflow returns is what wlmscpfs returns for those items.
                theirs = [r for r in theirs if r["(0008,0050)"] in accessions]
                if theirs:
                    self.assertEqual(normalise(ours, KNOWN_DIFFERENT), normalise(theirs, KNOWN_DIFFERENT))

    def test_step_status_is_the_known_difference(self):
        args = ["-k", "PatientName", "-k", SPS + "ScheduledProcedureStepStatus"]
        ours, theirs = self.both("status", args)
        self.assertEqual(len(ours), len(theirs))
        self.assertEqual({r.get("(0040,0100)[].(0040,0020)") for r in ours}, {"SCHEDULED"})
        self.assertEqual({r.get("(0040,0100)[].(0040,0020)") for r in theirs}, {None})

    def test_patient_name_case_insensitive_in_radflow_only(self):
        ours, theirs = self.both("lowercase", ["-k", "PatientName=vivaldi*", "-k", "AccessionNumber"])
        self.assertEqual(len(theirs), 0)
        self.assertEqual(sorted(r["(0008,0050)"] for r in ours),
                         sorted(r["(0008,0050)"] for r in self.both(
                             "uppercase", ["-k", "PatientName=VIVALDI*", "-k", "AccessionNumber"])[1]))
        self.assertGreater(len(ours), 0)

    def test_malformed_key_is_refused_with_reason(self):
        proc = h.run_dcmtk(["findscu", "-d", "-W", "-aec", "RADFLOW", "-k", "PatientName",
                            "-k", SPS + "ScheduledProcedureStepStartDate=1995x", "127.0.0.1",
                            self.srv.dicom_port], timeout=60)
        out = proc.stdout
        # 0xA900 Identifier does not match SOP class, the reason in ErrorComment (status detail).
        self.assertIn("0xa900", out)
        comment = [l for l in out.splitlines() if "ErrorComment" in l]
        self.assertTrue(comment and "(0040,0002)" in comment[0] and "1995x" in comment[0], out[-3000:])


if __name__ == "__main__":
    unittest.main()
