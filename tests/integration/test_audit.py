"""The audit trail end to end (docs/audit.md): radflow with --audit-syslog against Debian's
rsyslogd (imtcp over TLS with the gtls driver, RFC 5425), started here with certificates made
by the openssl CLI. A sign-in failure, a sign-in, a QIDO query, a WADO retrieve and a report
draft are each recorded as a DICOM audit message (valid against the PS3.15 A.5.1 schema) in
the local hash-chained log, found by GET /api/v1/audit with the user, role, source, patient
and study, received by rsyslog as the same XML, and `radflow audit verify` passes until the
log is tampered with, then names the record.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

REPO = harness.REPO
SCHEMA = os.path.join(REPO, "tests", "data", "audit", "audit-message.rng")
RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
PASSWORD = "correct horse battery staple"
SERIES = harness.series_dir("mr_brain_t1_siemens")


def run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120, **kw)


def make_certificates(d):
    """A CA and a server certificate for 127.0.0.1 signed by it (the openssl CLI)."""
    def ok(args):
        p = run(["openssl"] + args, cwd=d)
        if p.returncode != 0:
            raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr))
    ok(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=radflow audit test CA"])
    ok(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1"])
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    ok(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"])
    # A second CA that did not sign the receiver's certificate.
    ok(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
        "other-ca.pem", "-days", "2", "-subj", "/CN=some other CA"])


class Rsyslog:
    """rsyslogd -n with imtcp over TLS (gtls, anonymous client auth: RFC 5425 server
    authentication only), writing each message's MSGID and MSG to received.log. The
    certificates are in cert_dir (default d)."""

    def __init__(self, d, port=None, cert_dir=None):
        self.dir, self.port = d, port or harness.free_port()
        certs = cert_dir or d
        self.received = os.path.join(d, "received.log")
        self.conf, self.pidfile = os.path.join(d, "rsyslog.conf"), os.path.join(d, "rsyslog.pid")
        os.makedirs(os.path.join(d, "work"), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write("""global(workDirectory="{d}/work" maxMessageSize="64k"
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile="{c}/ca.pem"
  DefaultNetstreamDriverCertFile="{c}/server.pem"
  DefaultNetstreamDriverKeyFile="{c}/server.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" port="{port}")
template(name="audit" type="string" string="%msgid% %app-name% %msg%\\n")
action(type="omfile" file="{d}/received.log" template="audit")
""".format(d=d, c=certs, port=self.port))
        self.log = open(os.path.join(d, "rsyslogd.out"), "wb")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        harness._live_procs.append(self.proc)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("rsyslogd exited: " + self.output())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("rsyslogd not listening: " + self.output())

    def output(self):
        with open(os.path.join(self.dir, "rsyslogd.out"), errors="replace") as f:
            return f.read()

    def messages(self):
        """[(msgid, app, xml)] received so far."""
        try:
            with open(self.received, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            parts = line.split(" ", 2)
            if len(parts) == 3:
                out.append((parts[0], parts[1], parts[2].strip()))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def schema_errors(xml, d):
    path = os.path.join(d, "message.xml")
    with open(path, "w") as f:
        f.write(xml)
    p = run(["xmllint", "--noout", "--relaxng", SCHEMA, path])
    return "" if p.returncode == 0 else p.stderr


def log_records(data_dir):
    with open(os.path.join(data_dir, "audit", "audit.log")) as f:
        return [json.loads(line[65:]) for line in f.read().splitlines()]


class AuditTrailTest(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        harness.require_binary()
        cls.dir = tempfile.mkdtemp(prefix="radflow-audit-it-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        make_certificates(cls.dir)
        cls.rsyslog = Rsyslog(cls.dir)
        cls.addClassCleanup(cls.rsyslog.stop)
        cls.server = cls.start_class(harness.RadflowServer(extra_args=[
            "--audit-syslog", "127.0.0.1:%d" % cls.rsyslog.port,
            "--audit-syslog-ca", os.path.join(cls.dir, "ca.pem")]))
        cls.first_server_seq = len(log_records(cls.server.data_dir)) + 1
        cls.server.ensure_user("reader1", "radiologist", password=PASSWORD)
        harness.storescu(cls.server.dicom_port, harness.dicom_files(SERIES))
        meta = harness.read_dataset(harness.dicom_files(SERIES)[0], stop_before_pixels=True)
        cls.study_uid = str(meta.StudyInstanceUID)
        cls.series_uid = str(meta.SeriesInstanceUID)
        cls.patient_id = str(meta.PatientID)
        cls.patient_name = str(meta.PatientName)

    # ------------------------------------------------------------- helpers

    def request(self, method, path, body=None, headers=None, anonymous=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.http_port, timeout=60)
        data = json.dumps(body).encode() if body is not None else None
        hdrs = dict(headers or {})
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if anonymous:
            with harness.anonymous():
                conn.request(method, path, body=data, headers=hdrs)
        else:
            conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        out = (resp.status, payload, resp.getheader("Set-Cookie") or "", resp.getheader("Content-Type"))
        conn.close()
        return out

    def audit(self, **params):
        status, body, _, _ = self.request("GET", "/api/v1/audit?" + urllib.parse.urlencode(params))
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def sign_in(self):
        status, body, cookie, _ = self.request(
            "POST", "/api/v1/auth/login", {"username": "reader1", "password": PASSWORD}, anonymous=True)
        self.assertEqual(status, 200, body)
        self.assertIn("radflow_session=", cookie)
        return cookie.split(";")[0]

    # ------------------------------------------------------------- the test

    def test_events_are_logged_searchable_sent_to_syslog_and_chained(self):
        # 1. A sign-in failure and a sign-in.
        status, body, _, _ = self.request(
            "POST", "/api/v1/auth/login", {"username": "reader1", "password": "wrong password!"},
            anonymous=True)
        self.assertEqual(status, 401, body)
        session = {"Cookie": self.sign_in()}

        # 2. A QIDO query, a WADO retrieve and a report draft, by the signed-in radiologist.
        status, body, _, _ = self.request(
            "GET", "/dicom-web/studies?PatientID=%s" % urllib.parse.quote(self.patient_id), headers=session)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)[0]["0020000D"]["Value"][0], self.study_uid)
        status, body, _, _ = self.request(
            "GET", "/dicom-web/studies/%s/series/%s/metadata" % (self.study_uid, self.series_uid),
            headers=session)
        self.assertEqual(status, 200, body)
        status, body, _, _ = self.request(
            "POST", "/api/v1/studies/%s/reports" % self.study_uid, {}, headers=session)
        self.assertIn(status, (200, 201), body)

        # 3. The search API: who, in which role, from where, on which patient and study.
        failed = self.audit(user="reader1", event="login-failed")
        self.assertEqual(failed["total"], 1, failed)
        rec = failed["records"][0]
        self.assertEqual((rec["event_id"], rec["action"], rec["outcome"]), ("110114", "E", "failure"))
        self.assertEqual(rec["source"], "127.0.0.1")
        self.assertTrue(rec["failure_reason"], rec)
        login = self.audit(user="reader1", event="login")["records"]
        self.assertEqual(len(login), 1, login)
        self.assertEqual((login[0]["role"], login[0]["outcome"]), ("radiologist", "success"))

        query = self.audit(user="reader1", event="query")["records"]
        self.assertEqual(len(query), 1, query)
        self.assertEqual((query[0]["event_id"], query[0]["role"], query[0]["source"], query[0]["interface"]),
                         ("110112", "radiologist", "127.0.0.1", "http"))

        by_study = self.audit(study=self.study_uid, user="reader1")["records"]
        events = {r["event"]: r for r in by_study}
        self.assertIn("retrieve", events, by_study)
        self.assertIn("report-changed", events, by_study)
        for name in ("retrieve", "report-changed"):
            r = events[name]
            self.assertEqual((r["user"], r["role"], r["source"]), ("reader1", "radiologist", "127.0.0.1"), r)
            self.assertEqual((r["patient_id"], r["patient_name"], r["study_uid"]),
                             (self.patient_id, self.patient_name, self.study_uid), r)
        self.assertEqual(events["retrieve"]["event_id"], "110104")
        self.assertEqual(events["report-changed"]["event_id"], "110111")
        by_patient = self.audit(patient=self.patient_id, user="reader1")
        self.assertEqual(by_patient["total"], len(by_study))

        # One record's DICOM audit message: schema-valid, naming the patient and the study.
        status, xml, _, ctype = self.request("GET", "/api/v1/audit/%d" % events["retrieve"]["seq"])
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("application/xml"), ctype)
        xml = xml.decode()
        self.assertEqual(schema_errors(xml, self.dir), "")
        self.assertIn('ParticipantObjectID="%s" ParticipantObjectTypeCode="1"' % self.patient_id, xml)
        self.assertIn('ParticipantObjectID="%s" ParticipantObjectTypeCode="2"' % self.study_uid, xml)
        self.assertIn('UserID="reader1"', xml)

        # 4. The local log and syslog: every record since the server started arrives as the
        #    same XML (the CLI's records too, forwarded by the server), each schema-valid.
        local = [r for r in log_records(self.server.data_dir) if r["seq"] >= self.first_server_seq]
        wanted = {r["xml"]: r for r in local}
        self.assertGreaterEqual(len(wanted), 6)
        deadline = time.time() + 20
        while time.time() < deadline:
            got = {xml: (msgid, app) for msgid, app, xml in self.rsyslog.messages()}
            if all(x in got for x in wanted):
                break
            time.sleep(0.2)
        missing = [r["event"] for x, r in wanted.items() if x not in got]
        self.assertEqual(missing, [], "not received by rsyslog:\n" + self.rsyslog.output())
        for x, r in wanted.items():
            self.assertEqual(got[x], (r["event"], "radflow"))
            self.assertEqual(schema_errors(x, self.dir), "", r["event"])

        # 5. verify: intact over the API and the CLI.
        status, body, _, _ = self.request("GET", "/api/v1/audit/verify")
        v = json.loads(body)
        self.assertTrue(v["ok"], v)
        p = harness.radflow_cli("audit", "verify", "--data", self.server.data_dir)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("intact", p.stdout)
        p = harness.radflow_cli("audit", "search", "--data", self.server.data_dir, "--user", "reader1",
                                "--event", "login-failed", "--format", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["total"], 1)

        # 6. Tamper with one record (the retrieve's patient name): verify names it.
        self.server.stop()
        path = os.path.join(self.server.data_dir, "audit", "audit.log")
        with open(path) as f:
            lines = f.read().splitlines()
        seq = events["retrieve"]["seq"]
        line = lines[seq - 1]
        self.assertIn('"seq":%d,' % seq, line)
        lines[seq - 1] = line.replace('"patient_id":"%s"' % self.patient_id, '"patient_id":"SOMEONE-ELSE"', 1)
        self.assertNotEqual(lines[seq - 1], line)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = harness.radflow_cli("audit", "verify", "--data", self.server.data_dir)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("record %d" % seq, p.stdout)
        self.assertIn("edited", p.stdout)
        p = harness.radflow_cli("audit", "verify", "--data", self.server.data_dir, "--format", "json")
        self.assertEqual(json.loads(p.stdout)["first_bad_seq"], seq)

    def test_a_receiver_with_an_untrusted_certificate_gets_nothing(self):
        # The same receiver, but the server trusts another CA: the handshake fails, the
        # local log keeps every record, the receiver gets none of them.
        server = self.start(harness.RadflowServer(extra_args=[
            "--audit-syslog", "127.0.0.1:%d" % self.rsyslog.port,
            "--audit-syslog-ca", os.path.join(self.dir, "other-ca.pem")]))
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=30)
        conn.request("GET", "/dicom-web/studies?PatientID=NOBODY")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        deadline = time.time() + 10
        log = ""
        while time.time() < deadline:
            log = server.log_tail(200)
            if "TLS handshake" in log:
                break
            time.sleep(0.2)
        self.assertIn("TLS handshake with 127.0.0.1:%d failed" % self.rsyslog.port, log)
        local = log_records(server.data_dir)
        self.assertTrue(any(r["event"] == "query" and r["detail"].startswith("GET /dicom-web/studies")
                            for r in local), local)
        received = {x for _, _, x in self.rsyslog.messages()}
        self.assertFalse(any(r["xml"] in received for r in local))

    def test_records_made_while_the_receiver_is_down_arrive_after_it_returns(self):
        d = os.path.join(self.dir, "restart")
        os.makedirs(d)
        receiver = Rsyslog(d, cert_dir=self.dir)
        self.addCleanup(lambda: receiver.stop())
        server = self.start(harness.RadflowServer(extra_args=[
            "--audit-syslog", "127.0.0.1:%d" % receiver.port,
            "--audit-syslog-ca", os.path.join(self.dir, "ca.pem")]))

        def query(patient):
            conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=30)
            conn.request("GET", "/dicom-web/studies?PatientID=" + patient)
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()

        def received(pred, timeout=30):
            deadline = time.time() + timeout
            while time.time() < deadline:
                if pred({x for _, _, x in receiver.messages()}):
                    return True
                time.sleep(0.2)
            return False

        query("BEFORE")  # the coalescer keys on user+event+study: one query record
        self.assertTrue(received(lambda got: len(got) >= 1), receiver.output())
        port = receiver.port
        receiver.stop()
        # While it is down: the server answers at once, the local log has the records.
        t0 = time.time()
        server.ensure_user("while-down", "technologist")  # a CLI record, forwarded later
        query("DOWN")
        self.assertLess(time.time() - t0, 10)  # hang guard: the sender never blocks (docs/audit.md)
        p = harness.radflow_cli("audit", "verify", "--data", server.data_dir)
        self.assertEqual(p.returncode, 0, p.stdout)
        down = [r for r in log_records(server.data_dir) if r["event"] == "user-changed"
                and "while-down" in r["detail"]]
        self.assertEqual(len(down), 1)
        time.sleep(3)  # a few failed reconnects (backoff)
        receiver = Rsyslog(d, port=port, cert_dir=self.dir)
        self.assertTrue(received(lambda got: down[0]["xml"] in got), server.log_tail(40))
        self.assertIn("audit syslog", server.log_tail(200))


if __name__ == "__main__":
    unittest.main()
