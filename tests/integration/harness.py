"""Shared helpers for radflow's integration tests (stdlib unittest + DCMTK + Orthanc).

Run one file:   python3 -m unittest tests/integration/test_dimse.py      (from the repo root)
Run all:        python3 -m unittest discover -s tests/integration -v
Authentication: RadflowServer.start() creates an administrator and a token through the CLI
                before the server starts, and every HTTP request this process sends to that
                server (urllib, http.client, the DICOMweb client) carries
                `Authorization: Bearer <token>` unless it has an Authorization or Cookie header
                already; a request with `X-Radflow-Reader: NAME` is sent with a token of user
                NAME instead (created on first use, role radiologist unless
                `server.token_for(NAME, role)` said otherwise). `with harness.anonymous():`
                sends requests without credentials (docs/access-control.md).
Environment:    RADFLOW_BIN   server binary (default <repo>/build/radflow)
                RADFLOW_DATA  test data root holding dicom/ (default <repo>/../shared/data)
                RADFLOW_KEEP_LOGS=1  print every server log at stop, not only on failure
                RADFLOW_TEST_INDEX=postgresql  every server (and CLI call with --data) on a
                              PostgreSQL index: one cluster per test process, a database per
                              data directory (PostgresServer; RADFLOW_TEST_PG_KEEP=1 keeps it)
"""
import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import http.client
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RADFLOW_BIN = os.environ.get("RADFLOW_BIN", os.path.join(REPO, "build", "radflow"))
DATA_ROOT = os.environ.get("RADFLOW_DATA",
                           os.path.join(os.path.dirname(REPO), "shared", "data"))
DICOM_ROOT = os.path.join(DATA_ROOT, "dicom")
REAL_SERIES = ["ct_chest_lung_dx", "ct_lung_ibsi_pat1", "ct_head_ge_tilt",
               "mr_brain_t1_siemens", "sts_042_ct_mr_pet", "transfer_syntaxes_mr"]
ORTHANC_BIN = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DCMTK_ENV = dict(os.environ, TCP_NODELAY="1")
# The hub's tests run without the shipped AI apps (an empty folder in place of apps/): their
# results would be extra instances in the studies these tests count. The AI tests
# (ai_harness.py) choose their apps themselves.
_NO_APPS_DIR = tempfile.mkdtemp(prefix="radflow-no-apps-")
DCMTK_ENV.setdefault("RADFLOW_APPS_DIR", _NO_APPS_DIR)
atexit.register(shutil.rmtree, _NO_APPS_DIR, True)

_live_procs = []  # every process we started; killed at interpreter exit as a last resort


@atexit.register
def _kill_leftovers():
    for p in _live_procs:
        if p.poll() is None:
            p.kill()


def require_binary():
    if not os.access(RADFLOW_BIN, os.X_OK):
        raise AssertionError("radflow binary not found at %s (set RADFLOW_BIN)" % RADFLOW_BIN)


def series_dir(name):
    return os.path.join(DICOM_ROOT, name)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_uid():
    return "2.25.%d" % uuid.uuid4().int


def percentile(values, p):
    """The p-th percentile (0..100) of values: the nearest rank, no interpolation."""
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


# ---------------------------------------------------------------- the index: SQLite or PostgreSQL
#
# RADFLOW_TEST_INDEX=postgresql runs every server of this process on a PostgreSQL index
# (docs/postgresql.md): one throw-away cluster per test process, started on first use, and one
# database per data directory, so that a server restarted on the same data directory finds its
# index again. Every CLI call the harness makes with `--data DIR` gets the same `--index`.

PG_BIN = os.environ.get("RADFLOW_PG_BIN", "/usr/lib/postgresql/15/bin")


def postgres_index():
    """Whether this test process runs its servers on a PostgreSQL index."""
    return os.environ.get("RADFLOW_TEST_INDEX", "").lower() in ("postgresql", "postgres", "pg")


class PostgresServer:
    """A throw-away PostgreSQL cluster: initdb into a fresh temporary folder (owned by the
    `postgres` system user when this process runs as root: PostgreSQL refuses to run as root),
    trust authentication, a free port on 127.0.0.1, its socket in the folder. A context
    manager; stop() (also at interpreter exit) stops it and removes the folder."""

    def __init__(self):
        self.dir = self.port = None
        self._started = False

    def _as_owner(self, args):
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--"] + args
        return args

    def _run(self, args, timeout=120):
        proc = subprocess.run(self._as_owner(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout, errors="replace", cwd=self.dir)
        if proc.returncode != 0:
            raise AssertionError("%s exited %d:\n%s" % (" ".join(args), proc.returncode, proc.stdout))
        return proc.stdout

    def start(self, timeout=60):
        self.dir = tempfile.mkdtemp(prefix="radflow-pg-")
        atexit.register(self.stop)
        try:
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres", "postgres")
            cluster = os.path.join(self.dir, "cluster")
            # --no-sync: initdb's own files only; the server itself runs with fsync=on.
            self._run([os.path.join(PG_BIN, "initdb"), "-D", cluster, "-A", "trust", "-U", "postgres",
                       "-E", "UTF8", "--locale=C", "--no-sync"])
            self.port = free_port()
            # Each radflow server holds two connections per store (about 30); a test may run
            # several servers and CLI commands at once.
            options = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=400"
                       % (self.port, self.dir))
            self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", cluster, "-l", os.path.join(self.dir, "server.log"),
                       "-o", options, "-w", "-t", str(timeout), "start"], timeout=timeout + 30)
            self._started = True
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def psql(self, sql, database="postgres"):
        """Runs SQL with psql (postgresql-client) on the cluster; returns its output."""
        proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", "127.0.0.1",
                               "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
                              errors="replace")
        if proc.returncode != 0:
            raise AssertionError("psql %r exited %d: %s" % (sql, proc.returncode, proc.stdout))
        return proc.stdout

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        while True:
            try:
                self.psql("SELECT 1")
                return
            except AssertionError as e:  # still starting
                if time.time() > deadline:
                    raise AssertionError("PostgreSQL not accepting connections after %ss: %s\n%s"
                                         % (timeout, e, self.log_tail()))
                time.sleep(0.1)

    def database_uri(self, name):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, name)

    def new_database(self, name):
        """CREATE DATABASE name (letters, digits, _); returns its URI."""
        if not name.replace("_", "").isalnum():
            raise ValueError("database name must be letters, digits and _: %r" % name)
        self.psql('CREATE DATABASE "%s"' % name)
        return self.database_uri(name)

    def log_tail(self, lines=60):
        return _log_tail(os.path.join(self.dir or "", "server.log"), lines)

    def stop(self):
        if self.dir is None:
            return
        if self._started:
            try:
                self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(self.dir, "cluster"),
                           "-m", "fast", "-w", "stop"], timeout=60)
            except (AssertionError, subprocess.TimeoutExpired) as e:
                sys.stderr.write("PostgreSQL test cluster did not stop: %s\n" % e)
            self._started = False
        if os.environ.get("RADFLOW_TEST_PG_KEEP"):
            sys.stderr.write("PostgreSQL test cluster kept in %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


_pg_cluster = None
_pg_lock = threading.Lock()
_pg_databases = {}  # realpath of a data directory -> its database URI


def pg_cluster():
    """The PostgreSQL cluster of this test process (started on first use)."""
    global _pg_cluster
    with _pg_lock:
        if _pg_cluster is None:
            _pg_cluster = PostgresServer().start()
        return _pg_cluster


def set_index_location(data_dir, uri):
    """Puts data_dir's index at uri (a bench's own database) whatever RADFLOW_TEST_INDEX says."""
    with _pg_lock:
        _pg_databases[os.path.realpath(data_dir)] = uri


def index_location(data_dir):
    """The --index of a data directory: the one set_index_location gave it; else None
    (DATA/index.db) unless RADFLOW_TEST_INDEX=postgresql, then a database of its own on the
    test cluster (the same one for the same directory)."""
    key = os.path.realpath(data_dir)
    with _pg_lock:
        if key in _pg_databases:
            return _pg_databases[key]
    if not postgres_index():
        return None
    cluster = pg_cluster()
    with _pg_lock:
        if key not in _pg_databases:
            _pg_databases[key] = cluster.new_database("rf_%d_%d" % (os.getpid(), len(_pg_databases) + 1))
        return _pg_databases[key]


def index_args(data_dir):
    """["--index", URI] for a command on data_dir, or [] on the default SQLite index."""
    uri = index_location(data_dir)
    return ["--index", uri] if uri else []


def with_index(args):
    """A radflow command line with --index added after `--data DIR` when the data directory's
    index is on PostgreSQL (and the command has no --index yet; `app list` reads only apps)."""
    args = [str(a) for a in args]
    if "--data" not in args or "--index" in args or args[:2] == ["app", "list"]:
        return args
    i = args.index("--data")
    if i + 1 >= len(args):
        return args
    return args[:i + 2] + index_args(args[i + 1]) + args[i + 2:]


class IndexDb:
    """A connection to a data directory's index for a test that looks at (or edits) rows
    directly: sqlite3 on DATA/index.db, psycopg2 on PostgreSQL. execute() takes `?`
    placeholders on both and returns a cursor whose rows index by name and by position
    (row["column"], row[0], dict(row)). `with IndexDb(d) as db:` commits on success and closes."""

    def __init__(self, data_dir, readonly=False):
        uri = index_location(data_dir)
        self.postgres = uri is not None
        if self.postgres:
            import psycopg2
            import psycopg2.extras
            self._conn = psycopg2.connect(uri, cursor_factory=psycopg2.extras.DictCursor)
            if readonly:
                self._conn.set_session(readonly=True, autocommit=True)
        else:
            import sqlite3
            path = os.path.join(data_dir, "index.db")
            if readonly:
                self._conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
            else:
                self._conn = sqlite3.connect(path, timeout=30)
            self._conn.row_factory = sqlite3.Row

    def execute(self, sql, params=()):
        if not self.postgres:
            return self._conn.execute(sql, params)
        cur = self._conn.cursor()
        cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        return cur

    def commit(self):
        self._conn.commit()

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        try:
            if exc_type is None:
                self._conn.commit()
            else:
                self._conn.rollback()
        finally:
            self._conn.close()


# ---------------------------------------------------------------- DICOM files

_LONG_VRS = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"OD", b"OL", b"OV", b"UC", b"UR",
             b"SV", b"UV"}


def is_part10(path):
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def split_part10(path):
    """Return (meta, dataset_bytes): meta maps 'ts','sop_class','sop_uid' to str.

    The File Meta group (0002) is always explicit VR little endian; the dataset is
    everything after it, byte for byte."""
    with open(path, "rb") as f:
        data = f.read()
    if data[128:132] != b"DICM":
        raise ValueError("%s: no DICM magic" % path)
    pos, meta = 132, {}
    while pos + 8 <= len(data):
        group, elem = struct.unpack_from("<HH", data, pos)
        if group != 2:
            break
        vr = data[pos + 4:pos + 6]
        if vr in _LONG_VRS:
            length, hdr = struct.unpack_from("<I", data, pos + 8)[0], 12
        else:
            length, hdr = struct.unpack_from("<H", data, pos + 6)[0], 8
        meta[elem] = data[pos + hdr:pos + hdr + length].rstrip(b"\0 ").decode("ascii", "replace")
        pos += hdr + length
    return ({"sop_class": meta.get(0x0002, ""), "sop_uid": meta.get(0x0003, ""),
             "ts": meta.get(0x0010, "")}, data[pos:])


def dicom_files(folder):
    """Sorted Part-10 files (DICM magic at offset 128) below folder, recursively."""
    out = []
    for dirpath, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(dirpath, n)
            if is_part10(p):
                out.append(p)
    return sorted(out)


def file_meta(path):
    return split_part10(path)[0]


def _pydicom():
    try:
        import pydicom
    except ImportError:  # a pyenv python: use Debian's python3-pydicom (pure python)
        sys.path.append("/usr/lib/python3/dist-packages")
        import pydicom
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    return pydicom


def read_dataset(path, stop_before_pixels=False):
    return _pydicom().dcmread(path, force=True, stop_before_pixels=stop_before_pixels)


def pixel_data(path):
    """Raw PixelData bytes of a file as encoded (native or encapsulated), or None."""
    ds = read_dataset(path)
    elem = ds.get((0x7FE0, 0x0010))
    return None if elem is None else bytes(elem.value)


def index_by_sop_uid(paths):
    """{SOPInstanceUID: path} for Part-10 files (UID from the File Meta)."""
    return {file_meta(p)["sop_uid"]: p for p in paths}


def write_scu_config(files, path, fallback=False):
    """storescu association profile 'Default' with one presentation context per
    (SOP class, transfer syntax) found in the files' meta, so every file travels in its
    own transfer syntax (storescu otherwise converts implicit to explicit VR and cannot
    send compressed files). fallback adds one uncompressed context per SOP class for
    files whose meta is unusable or missing. Returns the number of contexts."""
    pairs, classes = [], []
    for p in files:
        if not is_part10(p):
            continue
        m = file_meta(p)
        if not m["sop_class"] or m["sop_class"] == "1.2.840.10008.1.3.10":  # DICOMDIR
            continue
        if m["sop_class"] not in classes:
            classes.append(m["sop_class"])
        if m["ts"].startswith("1.2.840.10008.1.2") and (m["sop_class"], m["ts"]) not in pairs:
            pairs.append((m["sop_class"], m["ts"]))
    tss = sorted({ts for _, ts in pairs} | {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"})
    lines = ["[[TransferSyntaxes]]"]
    for i, ts in enumerate(tss):
        lines += ["[TS%d]" % i, "TransferSyntax1 = " + ts]
    lines += ["[Uncompressed]", "TransferSyntax1 = 1.2.840.10008.1.2.1",
              "TransferSyntax2 = 1.2.840.10008.1.2"]
    pcs = ["%s\\TS%d" % (sop, tss.index(ts)) for sop, ts in pairs]
    if fallback:
        pcs += ["%s\\Uncompressed" % sop for sop in classes]
    if len(pcs) > 128:
        raise ValueError("too many presentation contexts: %d" % len(pcs))
    lines += ["[[PresentationContexts]]", "[PCS]"]
    lines += ["PresentationContext%d = %s" % (i + 1, pc) for i, pc in enumerate(pcs)]
    lines += ["[[Profiles]]", "[Default]", "PresentationContexts = PCS"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(pcs)


# ---------------------------------------------------------------- DCMTK

def run_dcmtk(args, timeout=120, check=False, cwd=None):
    """Run a DCMTK tool with TCP_NODELAY=1; returns CompletedProcess (text, merged output)."""
    proc = subprocess.run([str(a) for a in args], env=DCMTK_ENV, cwd=cwd, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace")
    if check and proc.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(map(str, args[:3])),
                                                    proc.returncode, proc.stdout[-4000:]))
    return proc


def parse_store_log(output):
    """From `storescu -v` output: ({path: status_text}) for every file storescu sent.
    status_text is e.g. 'Success', 'Warning', 'Failed' or 'Error: ...'."""
    result, current = {}, None
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("I: Sending file: "):
            current = line[len("I: Sending file: "):]
        elif line.startswith("I: Received Store Response") and current:
            status = line[line.find("(") + 1:line.rfind(")")] if "(" in line else line
            result[current] = status
            current = None
    return result


def storescu(port, files, aet="RADFLOW", extra=(), timeout=300, fallback=False):
    """Send files over one association, each in its own transfer syntax.
    Returns (CompletedProcess, {path: status})."""
    with tempfile.TemporaryDirectory(prefix="scucfg-") as tmp:
        cfg = os.path.join(tmp, "storescu.cfg")
        write_scu_config(files, cfg, fallback=fallback)
        proc = run_dcmtk(["storescu", "-v", "-aec", aet, "-xf", cfg, "Default", *extra,
                          "127.0.0.1", port, *files], timeout=timeout)
    return proc, parse_store_log(proc.stdout)


def findscu(port, level, keys, model="-S", aet="RADFLOW", timeout=60):
    """C-FIND; keys is a list of (keyword, value) (value '' = return key/universal).
    Returns a list of {keyword: value-string} dicts (one per response)."""
    with tempfile.TemporaryDirectory(prefix="find-") as tmp:
        xml_path = os.path.join(tmp, "responses.xml")
        args = ["findscu", "-aec", aet, model, "-Xs", xml_path,
                "-k", "QueryRetrieveLevel=%s" % level]
        for k, v in keys:
            args += ["-k", "%s=%s" % (k, v)]
        proc = run_dcmtk(args + ["127.0.0.1", port], timeout=timeout)
        if proc.returncode != 0 or not os.path.exists(xml_path):
            raise AssertionError("findscu failed (%d):\n%s" % (proc.returncode, proc.stdout[-3000:]))
        root = ET.parse(xml_path).getroot()
    responses = []
    for ds in root.iter("data-set"):
        responses.append({el.get("name"): (el.text or "").strip()
                          for el in ds.findall("element")})
    return responses


def getscu(port, out_dir, level, keys, model="-S", prefer="+x=", aet="RADFLOW", timeout=300):
    args = ["getscu", "-v", "-aec", aet, model, prefer, "+B", "-od", out_dir,
            "-k", "QueryRetrieveLevel=%s" % level]
    for k, v in keys:
        args += ["-k", "%s=%s" % (k, v)]
    return run_dcmtk(args + ["127.0.0.1", port], timeout=timeout)


def movescu(port, dest_aet, level, keys, model="-S", aet="RADFLOW", timeout=300):
    args = ["movescu", "-v", "-aec", aet, "-aem", dest_aet, model,
            "-k", "QueryRetrieveLevel=%s" % level]
    for k, v in keys:
        args += ["-k", "%s=%s" % (k, v)]
    return run_dcmtk(args + ["127.0.0.1", port], timeout=timeout)


def received_files(folder):
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder))
            if is_part10(os.path.join(folder, n))]



# ---------------------------------------------------------------- authentication

ADMIN_USER = "admin"
# The password of the accounts the harness creates with one (browser sign-in tests).
TEST_PASSWORD = "radflow-test-password"

_auth_ports = {}          # HTTP(S) port -> the RadflowServer (or Credentials) serving it
_auth_local = threading.local()


@contextlib.contextmanager
def anonymous():
    """Requests sent inside the block carry no credentials added by the harness."""
    before = getattr(_auth_local, "anonymous", False)
    _auth_local.anonymous = True
    try:
        yield
    finally:
        _auth_local.anonymous = before


class Credentials:
    """The accounts and tokens of one data directory, made with `radflow user`/`token` (the
    CLI works while a server runs on the directory)."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self._tokens, self._roles = {}, {}
        self._lock = threading.Lock()

    def ensure_user(self, name, role="radiologist", password=None, referring_name=None,
                    change_existing=True):
        """Creates the account (or, change_existing, sets its role, password, referring
        name); password None: tokens only."""
        with self._lock:
            if self._roles.get(name) == role and password is None and referring_name is None:
                return
            args = ["user", "add", "--data", self.data_dir, name, "--role", role]
            if referring_name:
                args += ["--referring-name", referring_name]
            args += ["--password-stdin"] if password is not None else ["--no-password"]
            proc = _cli_input(args, (password or "") + "\n")
            if proc.returncode != 0 and not change_existing:
                self._roles[name] = None  # exists already, with its own role
                return
            if proc.returncode != 0:
                change = ["user", "set", "--data", self.data_dir, name, "--role", role]
                if referring_name:
                    change += ["--referring-name", referring_name]
                if password is not None:
                    change += ["--password-stdin"]
                again = _cli_input(change, (password or "") + "\n")
                if again.returncode != 0:
                    raise AssertionError("radflow user add %s: %s%s\nradflow user set: %s%s"
                                         % (name, proc.stdout, proc.stderr, again.stdout, again.stderr))
            self._roles[name] = role

    def token_for(self, name=ADMIN_USER, role=None):
        """A bearer token of user `name` (created with `role`, default radiologist; an
        existing user keeps its role unless `role` is given)."""
        if role is not None and self._roles.get(name) != role:
            self.ensure_user(name, role)
            self._tokens.pop(name, None)
        elif name not in self._roles:
            self.ensure_user(name, "administrator" if name == ADMIN_USER else "radiologist",
                             change_existing=False)
        with self._lock:
            if name not in self._tokens:
                proc = radflow_cli("token", "create", "--data", self.data_dir, "--user", name,
                                   "--label", "integration test")
                token = proc.stdout.strip().splitlines()[-1].strip() if proc.stdout.strip() else ""
                if proc.returncode != 0 or not token:
                    raise AssertionError("radflow token create --user %s exited %d: %s%s"
                                         % (name, proc.returncode, proc.stdout, proc.stderr))
                self._tokens[name] = token
            return self._tokens[name]

    def auth_headers(self, name=None, role=None):
        return {"Authorization": "Bearer " + self.token_for(name or ADMIN_USER, role)}


def _cli_input(args, text, timeout=60):
    require_binary()
    return subprocess.run([RADFLOW_BIN, *with_index(args)], input=text, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, errors="replace")


def provision(data_dir):
    """The administrator and its token for a data directory a caller serves itself (benches)."""
    os.makedirs(data_dir, exist_ok=True)
    creds = Credentials(data_dir)
    creds.token_for(ADMIN_USER, "administrator")
    return creds


def authenticate_port(port, creds):
    """Adds credentials to every request of this process to 127.0.0.1:port."""
    _auth_ports[int(port)] = creds


def _header_names(conn):
    names, reader = set(), None
    for line in conn._buffer[1:]:
        text = line.decode("latin-1") if isinstance(line, bytes) else str(line)
        name, _, value = text.partition(":")
        names.add(name.strip().lower())
        if name.strip().lower() == "x-radflow-reader":
            reader = value.strip()
    return names, reader


_original_endheaders = http.client.HTTPConnection.endheaders


def _endheaders_with_auth(self, message_body=None, **kwargs):
    creds = _auth_ports.get(self.port) if self.host in ("127.0.0.1", "localhost", "::1") else None
    if creds is not None and not getattr(_auth_local, "anonymous", False):
        names, reader = _header_names(self)
        if "authorization" not in names and "cookie" not in names:
            token = creds.token_for(reader) if reader else creds.token_for(ADMIN_USER)
            self.putheader("Authorization", "Bearer " + token)
    return _original_endheaders(self, message_body, **kwargs)


http.client.HTTPConnection.endheaders = _endheaders_with_auth

# ---------------------------------------------------------------- processes

def _http(url, method="GET", body=None, timeout=10):
    req = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def _log_tail(path, lines=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


class _Process:
    """A child process with its output captured to a log file."""
    name = "process"

    def __init__(self, workdir=None):
        self._own_dir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=self.name + "-")
        self.log_path = os.path.join(self.workdir, "%s-%d.log" % (self.name, free_port()))
        self.proc = None
        self.exit_code = None

    def _spawn(self, args):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=DCMTK_ENV)
        _live_procs.append(self.proc)

    def _wait_http(self, url, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited early with %s; log:\n%s"
                                     % (self.name, self.proc.returncode, self.log_tail()))
            try:
                if _http(url, timeout=2)[0] == 200:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise AssertionError("%s not ready after %ss; log:\n%s"
                             % (self.name, timeout, self.log_tail()))

    def log_tail(self, lines=60):
        return _log_tail(self.log_path, lines)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stop the process; returns its exit code (negative = killed by a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.exit_code = "hung after %s, SIGKILLed" % signal.Signals(sig).name
        if self.exit_code is None:
            self.exit_code = self.proc.returncode
        self._log.close()
        if os.environ.get("RADFLOW_KEEP_LOGS"):
            sys.stderr.write("\n--- %s log (%s) ---\n%s" % (self.name, self.log_path,
                                                           self.log_tail(400)))
        return self.exit_code

    def kill(self):
        return self.stop(signal.SIGKILL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._own_dir and not os.environ.get("RADFLOW_KEEP_LOGS"):
            shutil.rmtree(self.workdir, ignore_errors=True)


class RadflowServer(_Process):
    """`radflow serve` on free ports with a data dir (temporary unless given)."""
    name = "radflow"

    def __init__(self, data_dir=None, aet="RADFLOW", modalities=None, extra_args=(),
                 workdir=None, dicom_port=None):
        super().__init__(workdir)
        self.data_dir = data_dir or os.path.join(self.workdir, "data")
        self.aet, self.modalities, self.extra_args = aet, dict(modalities or {}), list(extra_args)
        self.fixed_port = dicom_port  # fixed DICOM port (peers configured before start)
        self.dicom_port = self.http_port = None
        self.credentials = None

    def token_for(self, name=ADMIN_USER, role=None):
        """A bearer token of user `name` (see Credentials.token_for)."""
        return self.credentials.token_for(name, role)

    def auth_headers(self, name=None, role=None):
        """{"Authorization": "Bearer ..."} of user `name` (default: the administrator)."""
        return self.credentials.auth_headers(name, role)

    def ensure_user(self, name, role="radiologist", password=None, referring_name=None):
        self.credentials.ensure_user(name, role, password, referring_name)

    def start(self, timeout=30):
        require_binary()
        os.makedirs(self.data_dir, exist_ok=True)
        self.dicom_port, self.http_port = self.fixed_port or free_port(), free_port()
        self.exit_code = None
        args = [RADFLOW_BIN, "serve", "--data", self.data_dir,
                *([] if "--index" in self.extra_args else index_args(self.data_dir)), "--aet", self.aet,
                "--dicom-port", str(self.dicom_port), "--http-port", str(self.http_port)]
        for ae, (host, port) in self.modalities.items():
            args += ["--modality", "%s=%s:%d" % (ae, host, port)]
        self.credentials = provision(self.data_dir)
        authenticate_port(self.http_port, self.credentials)
        if "--https-port" in self.extra_args:  # the TLS listener too (tests/integration/test_tls.py)
            https = self.extra_args[self.extra_args.index("--https-port") + 1]
            if str(https).isdigit() and int(https) > 0:
                authenticate_port(int(https), self.credentials)
        self._spawn(args + self.extra_args)
        self._wait_http("http://127.0.0.1:%d/healthz" % self.http_port, timeout)
        return self

    def stats(self):
        return json.loads(_http("http://127.0.0.1:%d/api/v1/stats" % self.http_port)[1])

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def proc_status(self, field):
        """A field of /proc/PID/status in kB (VmHWM: peak resident set, VmRSS: now)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError("no %s in /proc/%d/status" % (field, self.pid))

    def peak_rss_kb(self):
        return self.proc_status("VmHWM")


class OrthancServer(_Process):
    """A throw-away Orthanc with its own storage, DICOM and HTTP ports."""
    name = "orthanc"

    def __init__(self, aet="ORTHANC", modalities=None, workdir=None, config=None):
        super().__init__(workdir)
        self.aet, self.modalities = aet, dict(modalities or {})
        self.config = dict(config or {})  # extra orthanc.json keys (plugins, ...), over the defaults

    def start(self, timeout=60):
        self.dicom_port, self.http_port = free_port(), free_port()
        storage = os.path.join(self.workdir, "storage")
        os.makedirs(storage, exist_ok=True)
        config = {
            "Name": "radflow-test", "StorageDirectory": storage, "IndexDirectory": storage,
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": self.aet,
            "RemoteAccessAllowed": True, "AuthenticationEnabled": False, "Plugins": [],
            "DicomModalities": {k: [ae, host, port] for k, (ae, host, port)
                                in self.modalities.items()},
            "DicomScuTimeout": 30, "DicomScpTimeout": 30,
            "DicomAlwaysAllowFind": True, "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
        }
        config.update(self.config)
        cfg_path = os.path.join(self.workdir, "orthanc.json")
        with open(cfg_path, "w") as f:
            json.dump(config, f)
        self._spawn([ORTHANC_BIN, cfg_path])
        self._wait_http(self.url("/system"), timeout)
        return self

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def get_bytes(self, path):
        return _http(self.url(path), timeout=60)[1]

    def post(self, path, body, timeout=300):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return json.loads(_http(self.url(path), "POST", body, timeout=timeout)[1])


class StoreSCP(_Process):
    """DCMTK storescp writing received objects bit-preserved into out_dir."""
    name = "storescp"

    def __init__(self, out_dir, aet="STORESCP", workdir=None):
        super().__init__(workdir)
        self.out_dir, self.aet = out_dir, aet
        os.makedirs(out_dir, exist_ok=True)

    def start(self, timeout=10):
        self.port = free_port()
        self._spawn(["storescp", "-v", "-aet", self.aet, "+xa", "+B", "-od", self.out_dir,
                     str(self.port)])
        deadline = time.time() + timeout
        while time.time() < deadline:  # ready once the port accepts connections
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("storescp did not start:\n" + self.log_tail())


def radflow_cli(*args, timeout=300):
    """Run `radflow <args>`; returns CompletedProcess with separate text stdout/stderr."""
    require_binary()
    return subprocess.run([RADFLOW_BIN, *with_index(args)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          errors="replace")


def cli_stats(data_dir):
    proc = radflow_cli("stats", "--data", data_dir)
    if proc.returncode != 0:
        raise AssertionError("radflow stats exited %d: %s" % (proc.returncode, proc.stderr))
    return json.loads(proc.stdout)


def parse_table(text):
    """`radflow ls` output (tab-separated with a header) -> list of dicts."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        return []
    header = lines[0].split("\t")
    return [dict(zip(header, l.split("\t"))) for l in lines[1:]]


def blob_files(data_dir):
    """Files under DIR/blobs/, except the in-progress uploads in DIR/blobs/tmp/."""
    out, root = [], os.path.join(data_dir, "blobs")
    for dirpath, dirnames, names in os.walk(root):
        if dirpath == root and "tmp" in dirnames:
            dirnames.remove("tmp")
        out += [os.path.join(dirpath, n) for n in names]
    return sorted(out)


class ServerTestCase(unittest.TestCase):
    """Base class: prints the logs of the servers in self.servers / cls.servers when a
    test fails (its servers are always stopped by the cleanups that started them)."""
    servers = ()

    def setUp(self):
        self.servers = list(type(self).servers)

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if hasattr(outcome, "errors"):  # Python <= 3.10 collects them here first
            return any(exc for _, exc in outcome.errors)
        result = outcome.result  # Python >= 3.11 reports them at once
        return any(t is self for t, _ in result.errors + result.failures)

    def tearDown(self):
        if self._failed():
            for s in self.servers:
                sys.stderr.write("\n--- %s log tail (%s) ---\n%s\n"
                                 % (s.name, s.log_path, s.log_tail()))

    def start(self, server):
        """Start a server for this test only; it is stopped even if the test fails."""
        self.addCleanup(server.__exit__, None, None, None)
        server.start()
        self.servers.append(server)
        return server

    @classmethod
    def start_class(cls, server):
        """Start a server for the whole class; stopped by a class cleanup."""
        cls.addClassCleanup(server.__exit__, None, None, None)
        server.start()
        cls.servers = tuple(cls.servers) + (server,)
        return server

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="radflow-it-")
        self.addCleanup(shutil.rmtree, d, True)
        return d
