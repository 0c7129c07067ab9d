"""OpenID Connect against a real OpenID provider (docs/oidc.md).

The provider is npm's oidc-provider (tests/oidc/provider.mjs, pinned by package-lock.json;
`npm ci` in tests/oidc, done by scripts/setup_web.sh), started by this test. radflow is
started first, while the provider is still down: it must start anyway and discover lazily.

Checked: a client_credentials JWT is accepted and maps to its role; another audience, an
expired token, a flipped signature byte, a client without a radflow role are refused with
their reasons; key rotation (the provider restarts with a new signing key, the old one still
published) works without restarting radflow; the browser sign-in (authorization code + PKCE)
end to end with urllib + http.cookiejar through the provider's login and consent forms ends
in a radflow session whose /api/v1/auth/me has the account's role; a wrong state is refused.
"""
import base64
import html
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PROVIDER_DIR = os.path.join(harness.REPO, "tests", "oidc")
PROVIDER = os.path.join(PROVIDER_DIR, "provider.mjs")
CLIENT_SECRET = "radflow-test-secret"
WORKER_SECRET = "ai-worker-test-secret"
# radflow's rate limit on JWKS refetches for an unknown kid (src/oidc/oidc.h).
JWKS_REFETCH_INTERVAL_S = 5


class OidcProvider(harness._Process):
    name = "oidc-provider"

    def __init__(self, port, keys, redirect, workdir):
        super().__init__(workdir)
        self.port, self.keys, self.redirect = port, keys, redirect
        self.issuer = "http://127.0.0.1:%d" % port

    def start(self, timeout=30):
        self._spawn(["node", PROVIDER, "--port", str(self.port), "--keys", ",".join(self.keys),
                     "--client-redirect", self.redirect])
        self._wait_http(self.issuer + "/.well-known/openid-configuration", timeout)
        return self

    def client_token(self, client="ai-worker", resource=None, secret=WORKER_SECRET):
        """An access token of the client_credentials grant (RFC 6749 4.4; RFC 8707 resource)."""
        form = {"grant_type": "client_credentials"}
        if resource:
            form["resource"] = resource
        req = urllib.request.Request(self.issuer + "/token", data=urllib.parse.urlencode(form).encode(),
                                     method="POST")
        basic = base64.b64encode(("%s:%s" % (client, secret)).encode()).decode()
        req.add_header("Authorization", "Basic " + basic)
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())["access_token"]


def genkey(path, kid):
    subprocess.run(["node", PROVIDER, "genkey", path, "--kid", kid], check=True, timeout=60)
    return path


def jwt_part(token, index):
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """urllib + http.cookiejar, following redirects by hand so that each hop can be seen."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def open(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        req.add_header("Accept", "text/html,application/json")
        try:
            with self.opener.open(req, timeout=15) as r:
                return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode("utf-8", "replace")

    def sign_in(self, start_url, login, stop_prefix):
        """Follows redirects and fills the provider's login and consent forms until a redirect
        points at stop_prefix; returns (status, headers, body) of that last radflow answer."""
        url, form = start_url, None
        for _ in range(25):
            status, headers, body = self.open(url, form)
            form = None
            if status in (301, 302, 303, 307):
                url = urllib.parse.urljoin(url, headers["Location"])
                if url.startswith(stop_prefix):
                    return self.open(url)
                continue
            if status != 200:
                raise AssertionError("HTTP %d at %s: %s" % (status, url, body[:500]))
            m = re.search(r'<form[^>]*action="([^"]+)"', body)
            if not m:
                return status, headers, body  # not a provider form: radflow's own answer
            url = urllib.parse.urljoin(url, html.unescape(m.group(1)))
            form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
            if 'name="login"' in body:
                form.update(login=login, password="any password")
        raise AssertionError("too many redirects from " + start_url)


class OidcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(PROVIDER_DIR, "node_modules", "oidc-provider")):
            raise AssertionError("npm oidc-provider missing: run `npm ci` in tests/oidc "
                                 "(scripts/setup_web.sh)")
        cls.tmp = tempfile.mkdtemp(prefix="radflow-oidc-")
        cls.k1 = genkey(os.path.join(cls.tmp, "k1.json"), "k1")
        cls.k2 = genkey(os.path.join(cls.tmp, "k2.json"), "k2")
        idp_port = harness.free_port()
        issuer = "http://127.0.0.1:%d" % idp_port
        # radflow first, with the provider still down: it must start and discover later.
        cls.server = harness.RadflowServer(extra_args=[
            "--oidc-issuer", issuer, "--oidc-client-id", "radflow",
            "--oidc-client-secret", CLIENT_SECRET, "--oidc-audience", "radflow",
            "--oidc-clock-skew", "0"]).start()
        cls.base = "http://127.0.0.1:%d" % cls.server.http_port
        cls.callback = cls.base + "/auth/oidc/callback"
        cls.idp = OidcProvider(idp_port, [cls.k1], cls.callback, cls.tmp).start()
        cls._wait_discovered()

    @classmethod
    def tearDownClass(cls):
        cls.idp.stop()
        cls.server.stop()
        harness.shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def _wait_discovered(cls):
        # After a failed discovery radflow retries at most once per JWKS_REFETCH_INTERVAL_S.
        deadline = time.time() + JWKS_REFETCH_INTERVAL_S + 5
        token = cls.idp.client_token()
        while True:
            status, body = cls.call("/api/v1/auth/me", token)
            if status == 200 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert status == 200, "radflow did not discover the provider: %d %s" % (status, body)

    @classmethod
    def call(cls, path, bearer):
        req = urllib.request.Request(cls.base + path)
        req.add_header("Authorization", "Bearer " + bearer)
        req.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"raw": raw.decode("utf-8", "replace")}

    # ------------------------------------------------------------ bearer JWTs

    def test_client_credentials_token_maps_to_its_role(self):
        token = self.idp.client_token()
        self.assertEqual(jwt_part(token, 1)["aud"], "radflow")
        status, me = self.call("/api/v1/auth/me", token)
        self.assertEqual(status, 200, me)
        self.assertEqual((me["user"], me["role"], me["method"]), ("ai-worker", "ai-service", "oidc-bearer"))
        # The role is enforced: an AI service may not list the users.
        status, body = self.call("/api/v1/users", token)
        self.assertEqual(status, 403, body)

    def test_token_for_another_audience_is_refused(self):
        token = self.idp.client_token(resource="urn:other")
        self.assertEqual(jwt_part(token, 1)["aud"], "other-service")
        status, body = self.call("/api/v1/auth/me", token)
        self.assertEqual((status, body.get("error")), (401, "token audience mismatch"), body)

    def test_expired_token_is_refused(self):
        token = self.idp.client_token(resource="urn:radflow:short")  # TTL 1 s
        claims = jwt_part(token, 1)
        self.assertEqual(claims["exp"] - claims["iat"], 1)
        status, body = self.call("/api/v1/auth/me", token)
        self.assertEqual(status, 200, body)
        time.sleep(max(0.0, claims["exp"] - time.time()) + 1.1)  # skew 0 (--oidc-clock-skew)
        status, body = self.call("/api/v1/auth/me", token)
        self.assertEqual((status, body.get("error")), (401, "token expired"), body)

    def test_flipped_signature_byte_is_refused(self):
        token = self.idp.client_token()
        head, payload, sig = token.split(".")
        i = len(sig) // 2
        flipped = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
        status, body = self.call("/api/v1/auth/me", ".".join([head, payload, flipped]))
        self.assertEqual((status, body.get("error")), (401, "invalid token signature"), body)

    def test_client_without_a_radflow_role_is_forbidden(self):
        token = self.idp.client_token("norole-worker")
        self.assertEqual(jwt_part(token, 1)["roles"], [])
        status, body = self.call("/api/v1/auth/me", token)
        self.assertEqual((status, body.get("error")), (403, "no radflow role in claim roles"), body)

    def test_z_key_rotation_without_restarting_radflow(self):
        old = self.idp.client_token()
        self.assertEqual(jwt_part(old, 0)["kid"], "k1")
        self.assertEqual(self.call("/api/v1/auth/me", old)[0], 200)
        # The provider restarts signing with k2; k1 is still published for tokens in flight.
        self.idp.stop()
        self.idp.keys = [self.k2, self.k1]
        self.idp.start()
        new = self.idp.client_token()
        self.assertEqual(jwt_part(new, 0)["kid"], "k2")
        # An unknown kid refetches the JWKS at most once per interval: wait it out once, then
        # one request must pass.
        time.sleep(JWKS_REFETCH_INTERVAL_S + 0.2)
        status, me = self.call("/api/v1/auth/me", new)
        self.assertEqual(status, 200, me)
        self.assertEqual(me["role"], "ai-service")
        self.assertEqual(self.call("/api/v1/auth/me", old)[0], 200)
        self.assertTrue(self.server.alive())

    # ------------------------------------------------------------ browser sign-in

    def test_browser_sign_in_with_code_flow_and_pkce(self):
        with harness.anonymous():
            b = Browser()
            status, headers, _ = b.open(self.base + "/auth/oidc/login?next=%2Fworklist")
            self.assertEqual(status, 302)
            auth_url = headers["Location"]
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(auth_url).query)
            self.assertTrue(auth_url.startswith(self.idp.issuer + "/auth?"), auth_url)
            self.assertEqual(q["code_challenge_method"], ["S256"])
            self.assertEqual(q["redirect_uri"], [self.callback])
            status, headers, body = b.sign_in(auth_url, "rad1", self.callback)
            self.assertEqual(status, 200, body)
            self.assertIn('url=/worklist"', body)
            names = {c.name for c in b.jar}
            self.assertIn("radflow_session", names)
            status, headers, body = b.open(self.base + "/api/v1/auth/me")
            self.assertEqual(status, 200, body)
            me = json.loads(body)
            self.assertEqual((me["user"], me["role"], me["method"]), ("rad1", "radiologist", "oidc-session"))

    def test_browser_account_without_role_is_sent_to_login_with_the_reason(self):
        with harness.anonymous():
            b = Browser()
            status, headers, _ = b.open(self.base + "/auth/oidc/login?next=/")
            status, headers, body = b.sign_in(headers["Location"], "norole", self.callback)
            self.assertEqual(status, 302, body)
            self.assertEqual(headers["Location"], "/login?error=no%20radflow%20role%20in%20claim%20roles")
            self.assertNotIn("radflow_session", {c.name for c in b.jar})

    def test_wrong_state_is_refused(self):
        with harness.anonymous():
            b = Browser()
            status, headers, _ = b.open(self.base + "/auth/oidc/login?next=/")
            self.assertEqual(status, 302)
            state = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["state"][0]
            # The state this browser holds, but a different one in the callback.
            status, headers, _ = b.open(self.callback + "?code=x&state=" + state[:-2] + "xx")
            self.assertEqual(status, 302)
            self.assertEqual(headers["Location"],
                             "/login?error=sign-in%20state%20does%20not%20match%20this%20browser")
            # A callback with a state radflow never issued, from a browser holding it too.
            other = Browser()
            other.jar.set_cookie(http.cookiejar.Cookie(
                0, "radflow_oidc_state", "forged", None, False, "127.0.0.1", False, False,
                "/auth/oidc", True, False, None, False, None, None, {}))
            status, headers, _ = other.open(self.callback + "?code=x&state=forged")
            self.assertEqual(status, 302)
            self.assertEqual(headers["Location"], "/login?error=unknown%20or%20expired%20sign-in%20state")


if __name__ == "__main__":
    unittest.main()
