"""s3rver behind a strict front, for the object-store tests (docs/storage-backends.md).

s3rver 3.7.1 (npm, pinned in tests/s3) stores objects, answers ranged GETs, lists with
continuation tokens and assembles multipart uploads, but it does not verify AWS Signature
V4 (its authentication middleware only looks the access key up), ignores the payload hash
and the x-amz-checksum-sha256 headers, and has no AbortMultipartUpload or
ListMultipartUploads. The front on its own port fills exactly those gaps and forwards the
rest unchanged:
  - every request's SigV4 signature is recomputed with botocore (Debian python3-botocore,
    an implementation independent of radflow's) over the headers the request says it
    signed; a mismatch is a 403 SignatureDoesNotMatch, as S3 answers it;
  - x-amz-content-sha256 must be the body's SHA-256 (400 XAmzContentSHA256Mismatch) and
    x-amz-checksum-sha256, when sent, its base64 SHA-256 (400 BadDigest);
  - DELETE ?uploadId aborts: it removes s3rver's upload folder (404 NoSuchUpload if none);
  - GET ?uploads lists the upload folders s3rver keeps (ListMultipartUploadsResult);
  - `flaky[key] = n` answers the next n requests for that key 503 SlowDown (retry tests).
"""
import base64
import datetime
import hashlib
import http.client
import http.server
import os
import time
import shutil
import socketserver
import subprocess
import tempfile
import threading
import urllib.parse
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
S3RVER = os.path.join(ROOT, "tests", "s3", "s3rver.js")
# s3rver knows one account, S3RVER; it checks that the key exists (InvalidAccessKeyId), the
# front checks the signature made with this secret.
ACCESS_KEY = "S3RVER"
SECRET_KEY = "radflow/test+secret"
REGION = "us-east-1"


def s3rver_installed():
    return os.path.exists(os.path.join(ROOT, "tests", "s3", "node_modules", "s3rver", "package.json"))


def _error(code, message, status):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>radflow-front</RequestId></Error>' % (code, escape(message))).encode()
    return status, {"Content-Type": "application/xml"}, body


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _respond(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        # A HEAD answer has no body but the object's length.
        length = {k.lower(): v for k, v in headers.items()}.get("content-length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        front = self.server.front
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        problem = front.verify(self.command, url.path, query, self.headers, body)
        if problem:
            front.rejected.append((self.command, self.path, problem[0]))
            return self._respond(*_error(problem[0], problem[1], problem[2]))
        front.verified.append((self.command, self.path, self.headers.get("Host", "")))
        key = urllib.parse.unquote(url.path).split("/", 2)[-1]
        with front.lock:
            if front.flaky.get(key, 0) > 0:
                front.flaky[key] -= 1
                return self._respond(*_error("SlowDown", "Please reduce your request rate.", 503))
        names = [k for k, _ in query]
        if self.command == "DELETE" and "uploadId" in names:
            return self._respond(*front.abort(dict(query)["uploadId"]))
        if self.command == "GET" and "uploads" in names:
            return self._respond(*front.list_uploads(dict(query).get("prefix", "")))
        conn = http.client.HTTPConnection("127.0.0.1", front.backend_port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None,
                     headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        status, out_headers = resp.status, dict(resp.getheaders())
        conn.close()
        self._respond(status, out_headers, data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class S3Front:
    """s3rver in a temp folder plus the verifying front; a context manager."""

    def __init__(self, bucket="radflow-test"):
        self.bucket = bucket
        self.verified, self.rejected = [], []
        self.flaky = {}  # key → how many more requests for it get a 503 SlowDown
        self.lock = threading.Lock()

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="radflow-s3-")
        self.data = os.path.join(self.dir, "s3rver")
        os.makedirs(self.data)
        # s3rver's ListObjectsV2 continuation tokens are DES-encrypted, which OpenSSL 3 has
        # only in its legacy provider: without the flag every second page is a 500.
        self.proc = subprocess.Popen(["node", "--openssl-legacy-provider", S3RVER, "0", self.data, self.bucket], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            self.proc.kill()
            raise RuntimeError("s3rver did not start: " + line + self.proc.stdout.read())
        self.backend_port = int(line.split()[1])
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.front = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def boto3_client(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    # --- what s3rver does not do ----------------------------------------------------------
    def verify(self, method, path, query, headers, body):
        auth = headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return ("AccessDenied", "only AWS Signature V4 header authentication is accepted here", 403)
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        cred = fields.get("Credential", "").split("/")
        if len(cred) != 5 or cred[0] != ACCESS_KEY:
            return ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403)
        amz_date = headers.get("x-amz-date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return ("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403)
        if abs((datetime.datetime.utcnow() - when).total_seconds()) > 900:
            return ("RequestTimeTooSkewed", "The difference between the request time and the current time is "
                    "too large.", 403)
        if cred[1] != amz_date[:8] or cred[2] != REGION or cred[3] != "s3" or cred[4] != "aws4_request":
            return ("AuthorizationHeaderMalformed", "bad credential scope " + fields.get("Credential", ""), 400)
        signed = fields.get("SignedHeaders", "").split(";")
        for required in ("host", "x-amz-date", "x-amz-content-sha256"):
            if required not in signed:
                return ("AccessDenied", "%s must be signed" % required, 403)
        payload_hash = headers.get("x-amz-content-sha256", "")
        if payload_hash != hashlib.sha256(body).hexdigest():
            return ("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match "
                    "what was computed.", 400)
        checksum = headers.get("x-amz-checksum-sha256")
        if checksum is not None and checksum != base64.b64encode(hashlib.sha256(body).digest()).decode():
            return ("BadDigest", "The SHA256 you specified did not match the calculated checksum.", 400)
        # botocore's signer over the signed headers only, the path re-encoded canonically
        # from its decoded form and the query from its decoded pairs: radflow's own encoding
        # is checked, not trusted.
        canonical_path = urllib.parse.quote(urllib.parse.unquote(path), safe="/~")
        request = AWSRequest(method=method, url="http://%s%s" % (headers.get("Host"), canonical_path),
                             headers={h: headers.get(h, "") for h in signed}, params=query, data=body)
        request.context["timestamp"] = amz_date
        signer = S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if fields.get("Signature") != expected:
            return ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                    "you provided. Check your key and signing method.", 403)
        return None

    def _uploads_dir(self):
        return os.path.join(self.data, self.bucket, "._S3rver_uploads")

    def abort(self, upload_id):
        folder = os.path.join(self._uploads_dir(), os.path.basename(upload_id))
        if not upload_id or not os.path.isdir(folder):
            return _error("NoSuchUpload", "The specified upload does not exist.", 404)
        shutil.rmtree(folder)
        return 204, {}, b""

    def uploads(self, prefix=""):
        out = []
        folder = self._uploads_dir()
        for upload_id in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            try:
                with open(os.path.join(folder, upload_id, "key")) as f:
                    key = f.read()
            except OSError:
                continue
            if key.startswith(prefix):
                out.append((key, upload_id))
        return out

    def initiated(self, upload_id):
        """S3's Initiated, from the upload folder's mtime (s3rver keeps no such field)."""
        when = os.path.getmtime(os.path.join(self._uploads_dir(), upload_id))
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(when))

    def list_uploads(self, prefix):
        items = "".join("<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiated>%s</Initiated></Upload>"
                        % (escape(k), u, self.initiated(u)) for k, u in self.uploads(prefix))
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>%s</Bucket>'
                '<Prefix>%s</Prefix><IsTruncated>false</IsTruncated>%s</ListMultipartUploadsResult>'
                % (self.bucket, escape(prefix), items)).encode()
        return 200, {"Content-Type": "application/xml"}, body
