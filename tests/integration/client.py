"""A raw HTTP/1.x client that reads responses precisely, so that pipelining, framing and
connection reuse can be asserted byte for byte."""
import socket
from dataclasses import dataclass, field

from wire import Body, Headers, SockReader, Truncated, body_kind, chunk, last_chunk, split_head

DEFAULT_TIMEOUT = 10.0


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: Headers
    body: bytes = b""
    trailers: Headers = field(default_factory=Headers)
    framing: str = "none"  # how the body was delimited: none | length | chunked | close
    interim: list = field(default_factory=list)  # 1xx responses read before this one

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def __str__(self):
        return f"{self.version} {self.status} {self.reason} {list(self.headers)} body={self.body[:200]!r}"


def build_request(method, target, headers=(), body=None, *, version="HTTP/1.1", chunked=False,
                  trailers=()):
    """Bytes of one request. Content-Length is added for a plain body unless given."""
    headers = Headers(headers)
    if body is not None and not chunked and not headers.has("content-length"):
        headers.append(("Content-Length", str(len(body))))
    if chunked and not headers.has("transfer-encoding"):
        headers.append(("Transfer-Encoding", "chunked"))
    head = f"{method} {target} {version}\r\n".encode("latin-1") + headers.encode() + b"\r\n"
    if body is None:
        return head
    if chunked:
        parts = body if isinstance(body, (list, tuple)) else [body]
        return head + b"".join(chunk(p) for p in parts if p) + last_chunk(trailers)
    return head + body


class HttpConn:
    """One client connection. `send` writes raw bytes; `read_response` reads one response."""

    def __init__(self, addr=None, timeout=DEFAULT_TIMEOUT, sock=None):
        self.sock = sock or socket.create_connection(addr, timeout=timeout)
        self.reader = SockReader(self.sock)

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, target, headers=(), body=None, **kw):
        self.send(build_request(method, target, headers, body, **kw))
        return self.read_response(method=method)

    def read_head(self):
        raw = self.reader.read_until(b"\r\n\r\n", limit=1 << 20)
        if not raw:
            raise Truncated("connection closed before a response head")
        start, headers = split_head(raw)
        version, _, rest = start.partition(" ")
        status, _, reason = rest.partition(" ")
        return Response(version, int(status), reason, headers)

    def read_response(self, method="GET", *, sink=None, skip_interim=True):
        """Read one response. 1xx (but 101) are collected in `.interim` when skip_interim.
        With `sink`, body bytes are passed to sink(data) instead of kept."""
        interim = []
        while True:
            resp = self.read_head()
            if not (skip_interim and 100 <= resp.status < 200 and resp.status != 101):
                break
            interim.append(resp)
        resp.interim = interim
        kind, length = body_kind(resp.headers, status=resp.status, method=method)
        resp.framing = kind
        body = Body(self.reader, kind, length)
        if sink is None:
            resp.body = body.read_all()
        else:
            for data in body.chunks():
                sink(data)
        resp.trailers = body.trailers
        return resp

    def read_until_closed(self):
        """Read to the end: ("eof", bytes) on a clean close, ("reset", bytes) on RST."""
        got = bytearray()
        try:
            while data := self.reader.read_some():
                got += data
        except ConnectionResetError:
            return "reset", bytes(got)
        return "eof", bytes(got)

    def read_eof(self, timeout=5.0):
        """True when the peer closes (FIN or RST) within `timeout` with no further bytes."""
        self.sock.settimeout(timeout)
        try:
            return self.reader.read_some() == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def get(addr, target="/", headers=(("Host", "test"),), **kw):
    """One GET on a fresh connection."""
    with HttpConn(addr) as conn:
        return conn.request("GET", target, headers, **kw)
