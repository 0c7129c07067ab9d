"""A small DICOMweb client for radflow's integration tests (stdlib only): multipart/related
bodies (built in memory or streamed from a generator), a parser for multipart answers and
an http.client wrapper that keeps one connection alive."""
import gzip
import http.client
import json
import urllib.parse
import uuid

DICOM_TYPE = "application/dicom"


def new_boundary():
    return "rf-test-" + uuid.uuid4().hex


def stow_content_type(boundary, part_type=DICOM_TYPE):
    return 'multipart/related; type="%s"; boundary=%s' % (part_type, boundary)


def part_bytes(boundary, data, content_type=DICOM_TYPE, headers=()):
    """One part (delimiter line, headers, blank line, data, CRLF) without the close."""
    head = "--%s\r\n" % boundary
    if content_type is not None:
        head += "Content-Type: %s\r\n" % content_type
    for k, v in headers:
        head += "%s: %s\r\n" % (k, v)
    return head.encode() + b"\r\n" + data + b"\r\n"


def close_delimiter(boundary):
    return ("--%s--\r\n" % boundary).encode()


def multipart_body(boundary, parts):
    """parts: iterable of bytes or (bytes, content_type)."""
    out = []
    for p in parts:
        data, ctype = p if isinstance(p, tuple) else (p, DICOM_TYPE)
        out.append(part_bytes(boundary, data, ctype))
    out.append(close_delimiter(boundary))
    return b"".join(out)


def iter_multipart(boundary, parts):
    """The same body as multipart_body, as a generator: one part in memory at a time."""
    for p in parts:
        data, ctype = p if isinstance(p, tuple) else (p, DICOM_TYPE)
        yield part_bytes(boundary, data, ctype)
    yield close_delimiter(boundary)


def media_params(header):
    """'multipart/related; type="a"; boundary=b' -> ('multipart/related', {'type': 'a', ...})."""
    items, cur, quoted = [], "", False
    for ch in header or "":
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    params = {}
    for it in items[1:]:
        if "=" in it:
            k, v = it.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return items[0].strip().lower(), params


def parse_multipart(body, content_type):
    """[(headers {lower-case name: value}, data)] of a multipart body; raises ValueError
    when it is malformed (no boundary, no close delimiter)."""
    mtype, params = media_params(content_type)
    if not mtype.startswith("multipart/"):
        raise ValueError("not multipart: %r" % content_type)
    boundary = params.get("boundary")
    if not boundary:
        raise ValueError("no boundary in %r" % content_type)
    delim = b"--" + boundary.encode()
    body = b"\r\n" + body
    sep = b"\r\n" + delim
    pos = body.find(sep)
    if pos < 0:
        raise ValueError("no delimiter in body")
    parts = []
    pos += len(sep)
    while True:
        if body[pos:pos + 2] == b"--":
            return parts
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise ValueError("delimiter line not terminated")
        hdr_end = body.find(b"\r\n\r\n", eol)
        if body[eol:eol + 4] == b"\r\n\r\n":
            hdr_end = eol
        if hdr_end < 0:
            raise ValueError("part headers not terminated")
        headers = {}
        for line in body[eol + 2:hdr_end].split(b"\r\n"):
            if line:
                k, _, v = line.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
        start = hdr_end + 4
        nxt = body.find(sep, start)
        if nxt < 0:
            raise ValueError("part %d has no closing delimiter" % (len(parts) + 1))
        parts.append((headers, body[start:nxt]))
        pos = nxt + len(sep)


class TruncatedAnswer(AssertionError):
    """The server sent a status line and headers, then ended the (chunked) body early:
    what a streamed answer looks like when its producer fails mid-way."""


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def parts(self):
        return parse_multipart(self.body, self.header("content-type", ""))

    def __repr__(self):
        return "<HTTP %d %s %r>" % (self.status, self.header("content-type"), self.body[:300])


class Client:
    """DICOMweb at http://127.0.0.1:port/dicom-web over one keep-alive connection."""

    def __init__(self, port, root="/dicom-web", timeout=120):
        self.port, self.root, self.timeout = port, root, timeout
        self.conn = None
        self.connects = 0  # number of TCP connections opened

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path if path.startswith("/") else
                                          self.root + "/" + path)

    def _connection(self):
        if self.conn is None or self.conn.sock is None:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.conn.connect()
            self.connects += 1
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, query=None, chunked=False):
        """path: relative to the DICOMweb root ('studies/...') or absolute ('/api/...').
        query: dict or list of pairs, percent-encoded here. Returns a Response with the
        body read whole (gunzipped when the server compressed it)."""
        full = path if path.startswith("/") else self.root + "/" + path
        if query:
            full += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        hdrs = dict(headers or {})
        conn = self._connection()
        try:
            conn.request(method, full, body=body, headers=hdrs, encode_chunked=chunked)
            resp = conn.getresponse()
            data = resp.read()
        except http.client.IncompleteRead as e:
            self.close()
            raise TruncatedAnswer("%s %s: HTTP %d %s, then the body ended after %d bytes "
                                  "(server failed mid-stream)"
                                  % (method, full, resp.status, resp.getheader("content-type"),
                                     len(e.partial))) from None
        except (http.client.HTTPException, OSError):
            self.close()
            raise
        rh = {k.lower(): v for k, v in resp.getheaders()}
        if resp.will_close:
            self.close()
        raw_len = len(data)
        if rh.get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        r = Response(resp.status, rh, data)
        r.raw_length = raw_len
        return r

    # ------------------------------------------------------------ services
    def stow(self, parts, study=None, boundary=None, content_type=None):
        """parts: list of bytes or (bytes, part content type)."""
        boundary = boundary or new_boundary()
        body = multipart_body(boundary, parts)
        return self.request("POST", "studies" + ("/" + study if study else ""), body=body,
                            headers={"Content-Type": content_type or stow_content_type(boundary)})

    def stow_files(self, paths, study=None):
        parts = []
        for p in paths:
            with open(p, "rb") as f:
                parts.append(f.read())
        return self.stow(parts, study)

    def qido(self, path, query=None, headers=None):
        return self.request("GET", path, query=query, headers=headers)

    def get(self, path, accept=None, query=None, headers=None):
        hdrs = dict(headers or {})
        if accept:
            hdrs["Accept"] = accept
        return self.request("GET", path, query=query, headers=hdrs)


def stow_streamed(port, paths_or_chunks, study=None, boundary=None, root="/dicom-web",
                  timeout=600):
    """POST a STOW-RS body produced by a generator of parts (bytes), with chunked transfer
    encoding: the client never holds more than one part. Returns a Response."""
    boundary = boundary or new_boundary()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", root + "/studies" + ("/" + study if study else ""),
                     body=iter_multipart(boundary, paths_or_chunks),
                     headers={"Content-Type": stow_content_type(boundary)},
                     encode_chunked=True)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def stream_multipart_parts(port, path, accept, root="/dicom-web", timeout=600,
                           bufsize=1 << 20):
    """GET a multipart answer and read it part by part, never holding the whole body.
    The first item yielded is ('__response__', (status, headers)); then (part headers,
    part data) for each part."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", root + "/" + path, headers={"Accept": accept})
        resp = conn.getresponse()
        rh = {k.lower(): v for k, v in resp.getheaders()}
        yield "__response__", (resp.status, rh)
        if resp.status != 200:
            resp.read()
            return
        _, params = media_params(rh.get("content-type", ""))
        sep = b"\r\n--" + params["boundary"].encode()
        buf = b"\r\n"
        state = "preamble"
        headers = None
        while True:
            chunk = resp.read(bufsize)
            buf += chunk
            progressed = True
            while progressed:
                progressed = False
                if state == "preamble":
                    i = buf.find(sep)
                    if i >= 0:
                        buf = buf[i + len(sep):]
                        state = "delim"
                        progressed = True
                elif state == "delim":
                    if len(buf) >= 2 and buf[:2] == b"--":
                        return
                    j = buf.find(b"\r\n\r\n")
                    if j >= 0:
                        headers = {}
                        for line in buf[:j].split(b"\r\n"):
                            if b":" in line:
                                k, _, v = line.decode("latin-1").partition(":")
                                headers[k.strip().lower()] = v.strip()
                        buf = buf[j + 4:]
                        state = "body"
                        progressed = True
                elif state == "body":
                    i = buf.find(sep)
                    if i >= 0:
                        yield headers, buf[:i]
                        buf = buf[i + len(sep):]
                        state = "delim"
                        progressed = True
            if not chunk:
                raise ValueError("multipart answer ended in state %s" % state)
    finally:
        conn.close()
