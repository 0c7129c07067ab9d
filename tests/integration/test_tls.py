"""HTTPS and DICOM TLS (docs/tls.md): certificates made here with the openssl CLI (a CA, a
server certificate for 127.0.0.1/localhost, client certificates of that CA and of another);
curl over TLS 1.2 and 1.3, TLS 1.1 and weak suites refused; storescu/findscu +tls with a real
CT series; a plain client on the TLS port fails; with --http-port 0 and --dicom-port 0 only the
TLS ports listen (/proc/net/tcp)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CHEST = h.series_dir("ct_chest_lung_dx")


def _openssl(args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args[:2]), proc.stdout))


def make_certificates(folder):
    """CA, server (SAN IP:127.0.0.1, DNS:localhost), client of the CA, and a client of a
    second, untrusted CA. Returns {name: path}."""
    p = lambda n: os.path.join(folder, n)  # noqa: E731
    for ca in ("ca", "rogue-ca"):
        _openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p(ca + ".key"),
                  "-out", p(ca + ".pem"), "-days", "2", "-subj", "/CN=radflow test " + ca], folder)
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(p("client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, ca, ext in (("server", "ca", "server.ext"), ("client", "ca", "client.ext"),
                          ("rogue", "rogue-ca", "client.ext")):
        _openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", p(name + ".key"),
                  "-out", p(name + ".csr"), "-subj", "/CN=" + name], folder)
        _openssl(["x509", "-req", "-in", p(name + ".csr"), "-CA", p(ca + ".pem"),
                  "-CAkey", p(ca + ".key"), "-CAcreateserial", "-out", p(name + ".pem"),
                  "-days", "2", "-extfile", p(ext)], folder)
    return {n: p(n) for n in os.listdir(folder)}


class TlsServer(h._Process):
    """`radflow serve` with the given listeners; ready once its log says so."""
    name = "radflow"

    def __init__(self, args):
        super().__init__()
        self.args = args
        self.data_dir = os.path.join(self.workdir, "data")

    def start(self, timeout=30):
        h.require_binary()
        os.makedirs(self.data_dir, exist_ok=True)
        self.credentials = h.provision(self.data_dir)
        self._spawn([h.RADFLOW_BIN, "serve", "--data", self.data_dir, *h.index_args(self.data_dir)] + self.args)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("radflow exited %s:\n%s" % (self.proc.returncode, self.log_tail()))
            if "radflow ready" in self.log_tail(400):
                return self
            time.sleep(0.1)
        raise AssertionError("radflow not ready:\n" + self.log_tail())

    def listening_ports(self):
        """TCP ports this process listens on: its socket inodes (/proc/PID/fd) matched with
        the LISTEN rows (state 0A) of /proc/net/tcp and tcp6."""
        fd_dir = "/proc/%d/fd" % self.proc.pid
        inodes = set()
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
        ports = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for row in f.readlines()[1:]:
                    cols = row.split()
                    if cols[3] == "0A" and cols[9] in inodes:
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        return ports


def curl(url, *args):
    """(exit code, HTTP status or 0, verbose text)."""
    proc = subprocess.run(["curl", "-sS", "-v", "-o", "/dev/null", "-w", "%{http_code}",
                           "--max-time", "20", *args, url],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code = int(proc.stdout.strip() or "0")
    return proc.returncode, code, proc.stderr


class TlsOnlyTests(h.ServerTestCase):
    """HTTPS and DICOM TLS with both plain listeners off and client certificates required
    for DICOM (--tls-ca)."""

    @classmethod
    def setUpClass(cls):
        cls.cert_dir = tempfile.mkdtemp(prefix="radflow-certs-")
        cls.addClassCleanup(shutil.rmtree, cls.cert_dir, True)
        cls.c = make_certificates(cls.cert_dir)
        cls.https_port, cls.dicom_tls_port = h.free_port(), h.free_port()
        cls.srv = cls.start_class(TlsServer([
            "--http-port", "0", "--https-port", str(cls.https_port),
            "--dicom-port", "0", "--dicom-tls-port", str(cls.dicom_tls_port),
            "--tls-cert", cls.c["server.pem"], "--tls-key", cls.c["server.key"],
            "--tls-ca", cls.c["ca.pem"]]))
        cls.files = h.dicom_files(CHEST)

    def url(self, path, host="127.0.0.1"):
        return "https://%s:%d%s" % (host, self.https_port, path)

    def tls_args(self, key="client.key", cert="client.pem"):
        return ["+tls", self.c[key], self.c[cert], "+cf", self.c["ca.pem"]]

    # ---- HTTPS

    def test_https_tls13(self):
        rc, code, log = curl(self.url("/healthz"), "--cacert", self.c["ca.pem"], "--tlsv1.3")
        self.assertEqual((rc, code), (0, 200), log)
        self.assertIn("SSL connection using TLSv1.3", log)

    def test_https_tls12_ecdhe_aead(self):
        rc, code, log = curl(self.url("/healthz", "localhost"), "--cacert", self.c["ca.pem"],
                             "--tlsv1.2", "--tls-max", "1.2")
        self.assertEqual((rc, code), (0, 200), log)
        m = re.search(r"SSL connection using TLSv1\.2 / (\S+)", log)
        self.assertIsNotNone(m, log)
        self.assertRegex(m.group(1), r"^ECDHE-RSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$")

    def test_https_authenticated_route(self):
        auth = self.srv.credentials.auth_headers()["Authorization"]
        rc, code, log = curl(self.url("/api/v1/stats"), "--cacert", self.c["ca.pem"],
                             "-H", "Authorization: " + auth)
        self.assertEqual((rc, code), (0, 200), log)
        rc, code, log = curl(self.url("/api/v1/stats"), "--cacert", self.c["ca.pem"])
        self.assertEqual((rc, code), (0, 401), log)

    def test_tls11_refused(self):
        rc, code, log = curl(self.url("/healthz"), "--cacert", self.c["ca.pem"],
                             "--tlsv1.1", "--tls-max", "1.1")
        self.assertNotEqual(rc, 0, log)
        self.assertEqual(code, 0, log)

    def test_weak_tls12_suites_refused(self):
        for suite in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA256"):
            rc, code, log = curl(self.url("/healthz"), "--cacert", self.c["ca.pem"],
                                 "--tls-max", "1.2", "--ciphers", suite)
            self.assertNotEqual(rc, 0, suite + "\n" + log)
            self.assertEqual(code, 0, suite)

    def test_renegotiation_refused(self):
        # `R` on s_client's input asks for a TLS 1.2 renegotiation; the server answers with
        # the no_renegotiation alert (SSL_OP_NO_RENEGOTIATION).
        script = "(echo R; sleep 2) | openssl s_client -connect 127.0.0.1:%d -tls1_2 -CAfile '%s'" % (
            self.https_port, self.c["ca.pem"])
        out = subprocess.run(["sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=30).stdout
        self.assertIn("RENEGOTIATING", out)
        self.assertIn("no renegotiation", out)

    def test_untrusted_server_certificate_fails_for_curl(self):
        rc, code, _ = curl(self.url("/healthz"), "--cacert", self.c["rogue-ca.pem"])
        self.assertEqual(rc, 60)  # curl: peer certificate cannot be authenticated

    def test_plain_listeners_off(self):
        self.assertEqual(self.srv.listening_ports(), {self.https_port, self.dicom_tls_port})
        rc, code, _ = curl("http://127.0.0.1:%d/healthz" % self.https_port)
        self.assertNotEqual(code, 200)

    # ---- DICOM TLS

    def test_storescu_and_findscu_over_tls(self):
        self.assertGreater(len(self.files), 20)
        proc, statuses = h.storescu(self.dicom_tls_port, self.files, extra=self.tls_args())
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        self.assertEqual(len(statuses), len(self.files))
        self.assertEqual(set(statuses.values()), {"Success"}, proc.stdout[-3000:])
        study = h.read_dataset(self.files[0], stop_before_pixels=True).StudyInstanceUID
        with tempfile.TemporaryDirectory(prefix="find-") as tmp:
            xml = os.path.join(tmp, "r.xml")
            proc = h.run_dcmtk(["findscu", "-aec", "RADFLOW", "-S", *self.tls_args(), "-Xs", xml,
                                "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + study,
                                "-k", "NumberOfStudyRelatedInstances",
                                "127.0.0.1", self.dicom_tls_port])
            self.assertEqual(proc.returncode, 0, proc.stdout)
            with open(xml) as f:
                text = f.read()
        self.assertIn(study, text)
        self.assertRegex(text, r'name="NumberOfStudyRelatedInstances">%d<' % len(self.files))
        # The study back over HTTPS: WADO-RS, a chunked multipart response streamed through TLS.
        auth = self.srv.credentials.auth_headers()["Authorization"]
        with tempfile.TemporaryDirectory(prefix="wado-") as tmp:
            out = os.path.join(tmp, "study.multipart")
            proc = subprocess.run(["curl", "-sS", "--cacert", self.c["ca.pem"], "-H", "Authorization: " + auth,
                                   "-H", "Accept: multipart/related; type=\"application/dicom\"",
                                   "-o", out, "-w", "%{http_code}",
                                   self.url("/dicom-web/studies/" + study)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
            self.assertEqual(proc.stdout, "200", proc.stderr)
            with open(out, "rb") as f:
                body = f.read()
        sop_uids = {h.file_meta(p)["sop_uid"].encode() for p in self.files}
        self.assertEqual(body.count(b"DICM"), len(self.files))
        self.assertTrue(all(u in body for u in sop_uids))

    def test_plain_storescu_to_tls_port_fails(self):
        proc, statuses = h.storescu(self.dicom_tls_port, self.files[:1])
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn("Success", statuses.values())

    def test_dicom_client_certificate_required(self):
        # Anonymous TLS (no client certificate) and a certificate of another CA: refused.
        anon = h.run_dcmtk(["echoscu", "-aec", "RADFLOW", "+tla", "+cf", self.c["ca.pem"],
                            "127.0.0.1", self.dicom_tls_port])
        self.assertNotEqual(anon.returncode, 0, anon.stdout)
        rogue = h.run_dcmtk(["echoscu", "-aec", "RADFLOW", "+tls", self.c["rogue.key"],
                             self.c["rogue.pem"], "+cf", self.c["ca.pem"],
                             "127.0.0.1", self.dicom_tls_port])
        self.assertNotEqual(rogue.returncode, 0, rogue.stdout)
        good = h.run_dcmtk(["echoscu", "-aec", "RADFLOW", *self.tls_args(),
                            "127.0.0.1", self.dicom_tls_port])
        self.assertEqual(good.returncode, 0, good.stdout)


class TlsBesidePlainTests(h.ServerTestCase):
    """Plain and TLS listeners side by side, no --tls-ca: DICOM peers need no certificate."""

    @classmethod
    def setUpClass(cls):
        cls.cert_dir = tempfile.mkdtemp(prefix="radflow-certs-")
        cls.addClassCleanup(shutil.rmtree, cls.cert_dir, True)
        cls.c = make_certificates(cls.cert_dir)
        cls.ports = {k: h.free_port() for k in ("http", "https", "dicom", "dicom_tls")}
        cls.srv = cls.start_class(TlsServer([
            "--http-port", str(cls.ports["http"]), "--https-port", str(cls.ports["https"]),
            "--dicom-port", str(cls.ports["dicom"]), "--dicom-tls-port", str(cls.ports["dicom_tls"]),
            "--tls-cert", cls.c["server.pem"], "--tls-key", cls.c["server.key"]]))

    def test_all_four_listen(self):
        self.assertEqual(self.srv.listening_ports(), set(self.ports.values()))
        rc, code, log = curl("http://127.0.0.1:%d/healthz" % self.ports["http"])
        self.assertEqual((rc, code), (0, 200), log)
        rc, code, log = curl("https://127.0.0.1:%d/healthz" % self.ports["https"], "--cacert", self.c["ca.pem"])
        self.assertEqual((rc, code), (0, 200), log)

    def test_dicom_tls_without_client_certificate(self):
        anon = h.run_dcmtk(["echoscu", "-aec", "RADFLOW", "+tla", "+cf", self.c["ca.pem"],
                            "127.0.0.1", self.ports["dicom_tls"]])
        self.assertEqual(anon.returncode, 0, anon.stdout)
        plain = h.run_dcmtk(["echoscu", "-aec", "RADFLOW", "127.0.0.1", self.ports["dicom"]])
        self.assertEqual(plain.returncode, 0, plain.stdout)
        # The client still verifies the server: a CA that did not sign it fails.
        wrong = h.run_dcmtk(["echoscu", "-aec", "RADFLOW", "+tla", "+cf", self.c["rogue-ca.pem"],
                             "127.0.0.1", self.ports["dicom_tls"]])
        self.assertNotEqual(wrong.returncode, 0, wrong.stdout)


class TlsStartErrors(unittest.TestCase):
    """Unreadable or mismatched certificate files stop the start with a message naming them."""

    @classmethod
    def setUpClass(cls):
        cls.cert_dir = tempfile.mkdtemp(prefix="radflow-certs-")
        cls.addClassCleanup(shutil.rmtree, cls.cert_dir, True)
        cls.c = make_certificates(cls.cert_dir)

    def serve(self, *args):
        data = tempfile.mkdtemp(prefix="radflow-tls-data-")
        self.addCleanup(shutil.rmtree, data, True)
        return subprocess.run([h.RADFLOW_BIN, "serve", "--data", data,
                               "--dicom-port", str(h.free_port()), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=60, env=h.DCMTK_ENV)

    def test_https_missing_certificate(self):
        proc = self.serve("--http-port", "0", "--https-port", str(h.free_port()),
                          "--tls-cert", "/nonexistent/c.pem",
                          "--tls-key", self.c["server.key"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("/nonexistent/c.pem", proc.stdout)

    def test_https_mismatched_key(self):
        proc = self.serve("--http-port", "0", "--https-port", str(h.free_port()),
                          "--tls-cert", self.c["server.pem"],
                          "--tls-key", self.c["client.key"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("does not match the certificate", proc.stdout)
        self.assertIn(self.c["client.key"], proc.stdout)

    def test_dicom_tls_mismatched_key(self):
        proc = self.serve("--http-port", str(h.free_port()), "--dicom-tls-port", str(h.free_port()),
                          "--tls-cert", self.c["server.pem"], "--tls-key", self.c["rogue.key"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("does not match the certificate", proc.stdout)


if __name__ == "__main__":
    unittest.main()
