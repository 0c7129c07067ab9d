"""Local accounts against the real server (docs/authentication.md): password sign-in and
its cookie, the lock-out and `radflow user unlock`, sign-out, API tokens made over REST and
on the command line (listed, revoked), the first-run set-up link (once, loopback only) and
the CLI's password rules."""
import http.client
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

PASSWORD = "integration-secret-1"


def call(port, method, path, body=None, headers=None, host="127.0.0.1"):
    """One request without the harness's credentials: (status, headers, parsed JSON or text)."""
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    with h.anonymous():
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            res = conn.getresponse()
            raw = res.read()
            msg = res.msg
            status = res.status
        finally:
            conn.close()
    text = raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return status, msg, parsed


def session_cookie(msg):
    value = msg.get("Set-Cookie") or ""
    m = re.match(r"radflow_session=([^;]*)", value)
    return (m.group(1) if m else None), value


def login(port, user, password):
    return call(port, "POST", "/api/v1/auth/login", {"username": user, "password": password})


def own_address():
    """This machine's first non-loopback IPv4 address (`hostname -I`), or None."""
    try:
        out = subprocess.run(["hostname", "-I"], stdout=subprocess.PIPE, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for a in out.split():
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", a) and not a.startswith("127."):
            return a
    return None


class BareServer(h.RadflowServer):
    """`radflow serve` on a data folder without any account (no provisioning by the harness)."""

    def start(self, timeout=30):
        h.require_binary()
        os.makedirs(self.data_dir, exist_ok=True)
        self.dicom_port, self.http_port = h.free_port(), h.free_port()
        self.exit_code = None
        self._spawn([h.RADFLOW_BIN, "serve", "--data", self.data_dir, *h.index_args(self.data_dir), "--aet", self.aet,
                     "--dicom-port", str(self.dicom_port), "--http-port", str(self.http_port),
                     *self.extra_args])
        self._wait_http("http://127.0.0.1:%d/healthz" % self.http_port, timeout)
        return self

    def setup_token(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path, errors="replace") as f:
                m = re.search(r"/setup\?token=([A-Za-z0-9_-]+)", f.read())
            if m:
                return m.group(1)
            time.sleep(0.1)
        raise AssertionError("no set-up link in the server log:\n" + self.log_tail())


class LocalAccountTests(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_class(h.RadflowServer())
        cls.port = cls.server.http_port
        cls.data = cls.server.data_dir

    def add_user(self, name, role="radiologist", password=PASSWORD):
        proc = subprocess.run([h.RADFLOW_BIN, *h.with_index(["user", "add", "--data", self.data, name, "--role", role,
                                                             "--display-name", "Dr " + name, "--password-stdin"])],
                              input=password + "\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_login_sets_an_httponly_samesite_cookie(self):
        self.add_user("alice")
        status, msg, body = login(self.port, "alice", PASSWORD)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"user": "alice", "role": "radiologist", "display_name": "Dr alice"})
        value, header = session_cookie(msg)
        self.assertTrue(value and len(value) >= 43, header)
        attrs = [a.strip() for a in header.split(";")[1:]]
        self.assertIn("HttpOnly", attrs)
        self.assertIn("SameSite=Strict", attrs)
        self.assertIn("Path=/", attrs)
        self.assertNotIn("Secure", attrs)  # plain http: browsers would drop a Secure cookie
        self.assertIn("Max-Age=86400", attrs)
        status, _, me = call(self.port, "GET", "/api/v1/auth/me", headers={"Cookie": "radflow_session=" + value})
        self.assertEqual(status, 200, me)
        self.assertEqual(me, {"user": "alice", "role": "radiologist", "display_name": "Dr alice",
                              "method": "session", "referring_name": ""})

    def test_wrong_password_and_unknown_user_401(self):
        self.add_user("bob")
        for user, password in (("bob", "not the password"), ("nobody", PASSWORD)):
            status, msg, body = login(self.port, user, password)
            self.assertEqual(status, 401, body)
            self.assertEqual(body["error"], "invalid user name or password")
            self.assertIsNone(msg.get("Set-Cookie"))
        status, _, body = call(self.port, "GET", "/api/v1/auth/me")
        self.assertEqual(status, 401)
        self.assertEqual(body["error"], "authentication required")
        # A cross-site form may not sign a browser in (login CSRF); the same site may.
        evil = {"Origin": "https://evil.example"}
        status, msg, body = call(self.port, "POST", "/api/v1/auth/login",
                                 {"username": "bob", "password": PASSWORD}, evil)
        self.assertEqual(status, 403, body)
        self.assertIsNone(msg.get("Set-Cookie"))
        same = {"Origin": "http://127.0.0.1:%d" % self.port}
        status, _, body = call(self.port, "POST", "/api/v1/auth/login",
                               {"username": "bob", "password": PASSWORD}, same)
        self.assertEqual(status, 200, body)

    def test_lockout_after_five_failures_then_unlock(self):
        self.add_user("carol")
        for i in range(4):
            status, _, body = login(self.port, "carol", "wrong password %d" % i)
            self.assertEqual(status, 401, body)
        status, msg, body = login(self.port, "carol", "wrong password 5")
        self.assertEqual(status, 429, body)
        self.assertEqual(body["code"], "locked")
        self.assertRegex(body["error"], r"^account locked until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        retry = int(msg["Retry-After"])
        # 15 minutes from the fifth failure, measured within this request's few seconds.
        self.assertGreater(retry, 890)
        self.assertLessEqual(retry, 900)
        status, msg, body = login(self.port, "carol", PASSWORD)  # the right one: still locked
        self.assertEqual(status, 429, body)
        self.assertIsNone(msg.get("Set-Cookie"))
        # The administrator lifts it on the command line while the server runs.
        proc = h.radflow_cli("user", "unlock", "--data", self.data, "carol")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        status, _, body = login(self.port, "carol", PASSWORD)
        self.assertEqual(status, 200, body)

    def test_logout_invalidates_the_session(self):
        self.add_user("dave")
        status, msg, _ = login(self.port, "dave", PASSWORD)
        self.assertEqual(status, 200)
        value, _ = session_cookie(msg)
        cookie = {"Cookie": "radflow_session=" + value}
        self.assertEqual(call(self.port, "GET", "/api/v1/auth/me", headers=cookie)[0], 200)
        status, msg, _ = call(self.port, "POST", "/api/v1/auth/logout", headers=cookie)
        self.assertEqual(status, 204)
        self.assertRegex(msg.get("Set-Cookie") or "", r"^radflow_session=; .*Max-Age=0")
        status, _, body = call(self.port, "GET", "/api/v1/auth/me", headers=cookie)
        self.assertEqual(status, 401, body)

    def test_tokens_over_rest_listed_and_revoked(self):
        self.add_user("erin")
        self.add_user("frank")
        status, msg, _ = login(self.port, "erin", PASSWORD)
        self.assertEqual(status, 200)
        cookie = {"Cookie": "radflow_session=" + session_cookie(msg)[0]}
        status, _, made = call(self.port, "POST", "/api/v1/tokens", {"label": "laptop", "days": 1}, cookie)
        self.assertEqual(status, 201, made)
        self.assertTrue(made["token"].startswith("rf_"))
        bearer = {"Authorization": "Bearer " + made["token"]}
        status, _, me = call(self.port, "GET", "/api/v1/auth/me", headers=bearer)
        self.assertEqual(status, 200, me)
        self.assertEqual((me["user"], me["method"]), ("erin", "token"))
        # Not for someone else.
        status, _, body = call(self.port, "POST", "/api/v1/tokens", {"user": "frank"}, cookie)
        self.assertEqual(status, 403, body)
        status, _, listed = call(self.port, "GET", "/api/v1/tokens", headers=bearer)
        self.assertEqual(status, 200, listed)
        self.assertEqual([(t["id"], t["label"], t["revoked"]) for t in listed["tokens"]],
                         [(made["id"], "laptop", False)])
        self.assertNotIn(made["token"], json.dumps(listed))
        status, _, _ = call(self.port, "DELETE", "/api/v1/tokens/%d" % made["id"], headers=cookie)
        self.assertEqual(status, 204)
        status, _, body = call(self.port, "GET", "/api/v1/auth/me", headers=bearer)
        self.assertEqual(status, 401, body)
        self.assertEqual(body["error"], "token revoked")
        # The administrator sees every token, the revoked one marked.
        status, _, all_tokens = call(self.port, "GET", "/api/v1/tokens", headers=self.server.auth_headers())
        self.assertEqual(status, 200, all_tokens)
        mine = [t for t in all_tokens["tokens"] if t["id"] == made["id"]]
        self.assertEqual(len(mine), 1)
        self.assertTrue(mine[0]["revoked"])

    def test_cli_tokens_while_the_server_runs(self):
        self.add_user("gina")
        proc = h.radflow_cli("token", "create", "--data", self.data, "--user", "gina", "--days", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        token = proc.stdout.strip()
        self.assertRegex(token, r"^rf_[A-Za-z0-9_-]{43}$")  # only the token on stdout
        bearer = {"Authorization": "Bearer " + token}
        self.assertEqual(call(self.port, "GET", "/api/v1/auth/me", headers=bearer)[0], 200)
        listed = h.radflow_cli("token", "list", "--data", self.data, "--user", "gina")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        rows = [line.split("\t") for line in listed.stdout.strip().splitlines()[1:]]
        self.assertEqual(len(rows), 1, listed.stdout)
        self.assertNotIn(token, listed.stdout)
        proc = h.radflow_cli("token", "revoke", "--data", self.data, rows[0][0])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        status, _, body = call(self.port, "GET", "/api/v1/auth/me", headers=bearer)
        self.assertEqual(status, 401)
        self.assertEqual(body["error"], "token revoked")
        status, _, body = call(self.port, "GET", "/api/v1/auth/me", headers={"Authorization": "Bearer rf_nope"})
        self.assertEqual((status, body["error"]), (401, "unknown token"))

    def test_user_add_refuses_a_short_or_missing_password(self):
        for text, reason in (("short-pw\n", "at least 12 characters"), ("", "no password")):
            proc = subprocess.run([h.RADFLOW_BIN, *h.with_index(["user", "add", "--data", self.data, "henry",
                                                                 "--role", "radiologist"])],
                                  input=text, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  timeout=60)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn(reason, proc.stderr)
        listed = h.radflow_cli("user", "list", "--data", self.data)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertNotIn("henry", [line.split("\t")[0] for line in listed.stdout.splitlines()])
        self.assertEqual(login(self.port, "henry", "short-pw")[0], 401)

    def test_users_api_requires_an_administrator(self):
        self.add_user("ivan")
        status, msg, _ = login(self.port, "ivan", PASSWORD)
        cookie = {"Cookie": "radflow_session=" + session_cookie(msg)[0]}
        self.assertEqual(call(self.port, "GET", "/api/v1/users", headers=cookie)[0], 403)
        status, _, body = call(self.port, "GET", "/api/v1/users", headers=self.server.auth_headers())
        self.assertEqual(status, 200, body)
        names = {u["name"]: u for u in body["users"]}
        self.assertEqual(names["ivan"]["role"], "radiologist")
        self.assertNotIn("argon2", json.dumps(body))
        status, _, body = call(self.port, "POST", "/api/v1/users",
                               {"name": "judy", "role": "technologist", "password": "short"},
                               self.server.auth_headers())
        self.assertEqual(status, 400, body)
        self.assertIn("12", body["error"])


class SetupLinkTests(h.ServerTestCase):
    def test_setup_link_once_and_from_loopback_only(self):
        server = self.start(BareServer(extra_args=["--http-address", "0.0.0.0"]))
        port = server.http_port
        token = server.setup_token()
        self.assertEqual(len(token), 43)  # 32 random bytes, base64url
        status, _, config = call(port, "GET", "/api/v1/auth/config")
        self.assertEqual(status, 200, config)
        self.assertTrue(config["setup_required"])
        self.assertEqual(config["local"], True)

        request = {"token": token, "username": "root-admin", "password": PASSWORD, "display_name": "Root"}
        address = own_address()
        if address is None:
            self.skipTest("no non-loopback address on this machine (hostname -I)")
        status, _, body = call(port, "POST", "/api/v1/auth/setup", request, host=address)
        self.assertEqual(status, 403, body)
        self.assertIn("loopback", body["error"])

        status, _, page = call(port, "GET", "/setup?token=" + token)
        self.assertIn(status, (200, 503))  # 503: the web application is not built here
        if status == 503:
            self.assertIn("not built", page)

        status, msg, body = call(port, "POST", "/api/v1/auth/setup", request)
        self.assertEqual(status, 201, body)
        self.assertEqual(body, {"user": "root-admin", "role": "administrator"})
        value, header = session_cookie(msg)
        self.assertIn("HttpOnly", header)
        status, _, me = call(port, "GET", "/api/v1/auth/me", headers={"Cookie": "radflow_session=" + value})
        self.assertEqual((status, me["role"]), (200, "administrator"))

        again = dict(request, username="second-admin")
        status, _, body = call(port, "POST", "/api/v1/auth/setup", again)
        self.assertEqual(status, 403, body)
        self.assertEqual(body["error"], "set-up token was used already")
        self.assertFalse(call(port, "GET", "/api/v1/auth/config")[2]["setup_required"])
        # The new administrator signs in with the password.
        self.assertEqual(login(port, "root-admin", PASSWORD)[0], 200)


if __name__ == "__main__":
    unittest.main()
