"""Helpers for the AI engine's integration tests: a server with app folders, job polling,
retrieval of results and dciodvfy."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import harness
from dicomweb_client import Client as DicomWebClient

FIXTURES = os.path.join(harness.REPO, "tests", "fixtures")
# The engine's self-test apps (test-fail, test-hang, test-threshold) are registered only here.
harness.DCMTK_ENV["RADFLOW_ENABLE_TEST_APPS"] = "1"


def ai_server(apps_dirs, builtin_apps_dir, workers=2, extra=(), data_dir=None, stable_seconds=1):
    """radflow with `apps_dirs` as extra manifest folders; builtin_apps_dir replaces the
    shipped apps/ folder (an empty folder isolates a test from the clinical apps)."""
    harness.DCMTK_ENV["RADFLOW_APPS_DIR"] = builtin_apps_dir
    args = ["--stable-seconds", str(stable_seconds), "--ai-retry-seconds", "0.3",
            "--ai-workers", str(workers)]
    for d in apps_dirs:
        args += ["--apps", d]
    return harness.RadflowServer(data_dir=data_dir, extra_args=args + list(extra))


def api(server, path, method="GET", body=None, timeout=30):
    """(status, parsed JSON) of a REST call; errors return their status and body too."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (server.http_port, path), data=data,
                                 method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text.decode(errors="replace")


def jobs(server, **filters):
    query = "&".join("%s=%s" % kv for kv in filters.items())
    status, body = api(server, "/api/v1/jobs" + ("?" + query if query else ""))
    assert status == 200, body
    return body


def wait_jobs(server, predicate, timeout=120, what="jobs"):
    """Polls the job list until predicate(list) is true; returns the list."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = jobs(server, limit=1000)
        if predicate(last):
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s; jobs now:\n%s" % (what, json.dumps(last, indent=1)))


def by_app(job_list, app_id):
    return [j for j in job_list if j["app_id"] == app_id]


def finished(job_list, app_id, state=None):
    js = by_app(job_list, app_id)
    done = [j for j in js if j["state"] in ("succeeded", "failed", "cancelled")]
    return done and (state is None or done[0]["state"] == state)


def wado_instance(server, study, series, sop, out_path):
    """WADO-RS retrieve of one instance into out_path (the first multipart part)."""
    client = DicomWebClient(server.http_port)
    try:
        r = client.request("GET", "studies/%s/series/%s/instances/%s" % (study, series, sop),
                           headers={"Accept": 'multipart/related; type="application/dicom"'})
        assert r.status == 200, (r.status, r.body[:300])
        parts = r.parts()
        assert len(parts) == 1, len(parts)
        with open(out_path, "wb") as f:
            f.write(parts[0][1])
    finally:
        client.close()
    return out_path


def dciodvfy_errors(path):
    """The lines dciodvfy (dicom3tools) reports as errors for a file."""
    proc = subprocess.run(["dciodvfy", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", timeout=120)
    return [l for l in proc.stdout.splitlines() if l.startswith("Error")]
