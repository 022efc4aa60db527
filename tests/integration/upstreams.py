"""Small threaded test servers on 127.0.0.1:0, built on raw sockets.

- TcpServer: accepts and runs handle(sock) on a thread per connection.
- HttpUpstream: an HTTP/1.1 server whose behaviour is scripted per path; it records every
  request head it parses (`.requests`), so tests can check what reached the upstream.
- echo / banner / half-close / silent handlers for opaque tests, a refusing port and a
  black-hole port (connects never complete).

A behaviour is a function `behaviour(ex: Exchange) -> "keep" | "close"`.
"""
import json
import socket
import threading
from dataclasses import dataclass, field

from wire import Body, Digest, Headers, PatternStream, SockReader, Truncated, body_kind, chunk, \
    last_chunk, set_linger_reset, split_head

LOOPBACK = "127.0.0.1"


class TcpServer:
    """Listens on host:port (0 = any free port); one thread per accepted connection."""

    def __init__(self, handle, host=LOOPBACK, port=0, backlog=128):
        self.handle = handle
        self.listener = socket.create_server((host, port), backlog=backlog)
        self.addr = self.listener.getsockname()[:2]
        self.port = self.addr[1]
        self.stopping = threading.Event()
        self.accepted = 0
        self.closed = 0  # connections whose handler has finished (peer gone or we closed)
        self.peers = []  # (ip, port) of every accepted connection
        self._lock = threading.Lock()
        self._conns = []
        self._threads = []
        self.listener.settimeout(0.1)
        self._start(self._accept_loop)

    def _start(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                sock, peer = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            sock.settimeout(30)
            with self._lock:
                self.accepted += 1
                self.peers.append(peer[:2])
                self._conns.append(sock)
            self._start(self._serve, sock)

    def _serve(self, sock):
        try:
            self.handle(sock)
        except (OSError, Truncated, ValueError):
            pass  # peers in these tests abort connections on purpose
        finally:
            sock.close()
            with self._lock:
                self.closed += 1

    def close(self):
        self.stopping.set()
        self.listener.close()
        with self._lock:
            for sock in self._conns:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self._threads:
            t.join(timeout=2)


# ---------------------------------------------------------------- HTTP upstream

@dataclass
class Recorded:
    """A request as the upstream saw it. `body` is set once the body was read in full."""
    method: str
    target: str
    version: str
    headers: Headers
    body: bytes = None
    raw_head: bytes = b""
    trailers: Headers = field(default_factory=Headers)

    @property
    def complete(self):
        return self.body is not None


@dataclass
class Exchange:
    req: Recorded
    sock: socket.socket
    reader: SockReader
    server: "HttpUpstream"
    body: Body = field(default=None)

    def read_body(self):
        if self.req.body is None:
            self.req.body = self.body.read_all()
            self.req.trailers = self.body.trailers
        return self.req.body

    def send(self, data):
        self.sock.sendall(data)

    def respond(self, status=200, body=b"", headers=(), reason="X"):
        headers = Headers(headers)
        if not headers.has("content-length") and not headers.has("transfer-encoding"):
            headers.append(("Content-Length", str(len(body))))
        self.send(f"HTTP/1.1 {status} {reason}\r\n".encode() + headers.encode() + b"\r\n" + body)


class HttpUpstream(TcpServer):
    """routes: {path: behaviour}; unknown paths get `default` (200 "ok")."""

    def __init__(self, routes=None, default=None, **kw):
        self.routes = dict(routes or {})
        self.default = default or fixed(200, b"ok")
        self.requests = []
        self.stats = {}
        super().__init__(self._handle_http, **kw)

    def _handle_http(self, sock):
        reader = SockReader(sock)
        while not self.stopping.is_set():
            raw = reader.read_until(b"\r\n\r\n", limit=1 << 20)
            if not raw:
                return
            start, headers = split_head(raw)
            method, target, version = start.split(" ", 2)
            req = Recorded(method, target, version, headers, raw_head=raw)
            self.requests.append(req)
            kind, length = body_kind(headers)
            ex = Exchange(req, sock, reader, self, Body(reader, kind, length))
            behaviour = self.routes.get(target.split("?")[0], self.default)
            if behaviour(ex) == "close" or not _keep_alive(req):
                return
            ex.read_body()  # a behaviour that ignored the body still must not desync the stream

    def paths(self):
        return [r.target for r in self.requests]


def _keep_alive(req):
    conn = req.headers.tokens("connection")
    if req.version == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn


# -- behaviours: each returns a function of one Exchange

def fixed(status=200, body=b"ok", headers=()):
    def behaviour(ex):
        ex.read_body()
        ex.respond(status, body, headers)
    return behaviour


def no_body(status, headers=()):
    """204/304 and the like: a head only, whatever headers say."""
    def behaviour(ex):
        ex.read_body()
        ex.send(f"HTTP/1.1 {status} X\r\n".encode() + Headers(headers).encode() + b"\r\n")
    return behaviour


def echo():
    """Body of the response = the request head as received + its body."""
    def behaviour(ex):
        body = ex.read_body()
        ex.respond(200, ex.req.raw_head + body, [("Content-Type", "application/octet-stream")])
    return behaviour


def chunked(parts, trailers=(), headers=()):
    def behaviour(ex):
        ex.read_body()
        head = Headers(headers) + [("Transfer-Encoding", "chunked")]
        if trailers:
            head.append(("Trailer", ", ".join(k for k, _ in trailers)))
        ex.send(b"HTTP/1.1 200 OK\r\n" + Headers(head).encode() + b"\r\n")
        for p in parts:
            ex.send(chunk(p))
        ex.send(last_chunk(trailers))
    return behaviour


def close_delimited(body):
    """No Content-Length, no chunking: the body ends when the connection closes."""
    def behaviour(ex):
        ex.read_body()
        ex.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body)
        return "close"
    return behaviour


def delayed(seconds, then=None):
    """Wait (interruptibly: server close ends the wait) and then behave like `then`."""
    then = then or fixed(200, b"slow ok")

    def behaviour(ex):
        ex.read_body()
        if ex.server.stopping.wait(seconds):
            return "close"
        return then(ex)
    return behaviour


def hang():
    """Read the request and never answer; returns when the proxy closes the connection."""
    def behaviour(ex):
        ex.read_body()
        while ex.sock.recv(4096):
            pass
        return "close"
    return behaviour


def respond_then_close(body=b"bye", announce=False):
    """Answer, then close the connection: with `Connection: close` when announce, else silently
    (as a server whose keep-alive timeout fired right after the response)."""
    def behaviour(ex):
        ex.read_body()
        ex.respond(200, body, [("Connection", "close")] if announce else ())
        return "close"
    return behaviour


def close_without_response(reset=False):
    def behaviour(ex):
        if reset:
            set_linger_reset(ex.sock)
        return "close"
    return behaviour


def raw_response(data, then_close=True):
    def behaviour(ex):
        ex.read_body()
        ex.send(data)
        return "close" if then_close else None
    return behaviour


def truncated(declared=100000, sent=1000, use_chunked=False, reset=False):
    """A response head, part of the body, then the connection goes away."""
    def behaviour(ex):
        ex.read_body()
        framing = "Transfer-Encoding: chunked" if use_chunked else f"Content-Length: {declared}"
        ex.send(f"HTTP/1.1 200 OK\r\n{framing}\r\n\r\n".encode())
        payload = b"x" * sent
        ex.send(b"%x\r\n" % declared + payload if use_chunked else payload)
        if reset:
            set_linger_reset(ex.sock)
        return "close"
    return behaviour


def expect_continue():
    """Answers 100 Continue when asked, then 200 with {"bytes": n} of the body read."""
    def behaviour(ex):
        expects = "100-continue" in ex.req.headers.tokens("expect")
        ex.server.stats["saw_expect"] = expects
        if expects:
            ex.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = ex.read_body()
        ex.respond(200, json.dumps({"bytes": len(body)}).encode())
    return behaviour


def upgrade_echo(greeting=b""):
    """101 Switching Protocols for `Upgrade: websocket`, then a byte echo until EOF."""
    def behaviour(ex):
        if "websocket" not in ex.req.headers.tokens("upgrade"):
            ex.respond(400, b"not an upgrade")
            return "close"
        ex.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: dGVzdA==\r\n\r\n" + greeting)
        echo_bytes(ex.sock, pending=bytes(ex.reader.buf))
        return "close"
    return behaviour


def stream(total):
    """A `total`-byte PatternStream body; stats["sent"] rises as it goes, ["digest"] at the end."""
    def behaviour(ex):
        ex.read_body()
        ex.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        digest = Digest()
        ex.server.stats["sent"] = 0
        for block in PatternStream(total).blocks():
            ex.send(block)
            digest.update(block)
            ex.server.stats["sent"] = digest.count
        ex.server.stats["digest"] = digest.as_tuple()
    return behaviour


def sink():
    """Consumes the body without keeping it; answers {"bytes": n, "crc32": c}."""
    def behaviour(ex):
        digest = Digest()
        for data in ex.body.chunks():
            digest.update(data)
        ex.req.body = b""
        ex.respond(200, json.dumps({"bytes": digest.count, "crc32": digest.crc}).encode())
    return behaviour


# ---------------------------------------------------------------- opaque upstreams

def echo_bytes(sock, pending=b"", on_eof=b""):
    """Echo (after `pending`, bytes already read) until the peer half-closes, then send `on_eof`
    and close our side."""
    if pending:
        sock.sendall(pending)
    while data := sock.recv(1 << 16):
        sock.sendall(data)
    if on_eof:
        sock.sendall(on_eof)
    sock.shutdown(socket.SHUT_WR)


class EchoServer(TcpServer):
    """TCP echo. `banner` is sent first (server-speaks-first); `on_eof` after the client's EOF.
    `eofs` counts connections whose client went away (EOF or reset)."""

    def __init__(self, banner=b"", on_eof=b"", **kw):
        self.banner, self.on_eof = banner, on_eof
        self.eofs = 0
        super().__init__(self._echo, **kw)

    def _echo(self, sock):
        try:
            if self.banner:
                sock.sendall(self.banner)
            echo_bytes(sock, on_eof=self.on_eof)
        finally:
            self.eofs += 1


class SpeakThenListen(TcpServer):
    """Sends `greeting`, half-closes its side, then records what the client sends until EOF."""

    def __init__(self, greeting, **kw):
        self.greeting = greeting
        self.heard = []  # one bytes per finished connection
        super().__init__(self._speak, **kw)

    def _speak(self, sock):
        sock.sendall(self.greeting)
        sock.shutdown(socket.SHUT_WR)
        self.heard.append(SockReader(sock).read_to_eof())


class SilentServer(TcpServer):
    """Accepts and reads, never answers."""

    def __init__(self, **kw):
        super().__init__(lambda sock: SockReader(sock).read_to_eof(), **kw)


class RefusingPort:
    """A port where connects are refused: the socket is bound (so nobody else takes the port)
    but not listening, and the kernel answers SYN with RST."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.addr = self.sock.getsockname()
        self.port = self.addr[1]

    def close(self):
        self.sock.close()


class BlackholePort:
    """A port where connects never complete: a listener with backlog 0 whose accept queue is
    already full, so the kernel drops further SYNs."""

    def __init__(self):
        self.sock = socket.create_server((LOOPBACK, 0), backlog=0)
        self.addr = self.sock.getsockname()
        self.port = self.addr[1]
        self.fillers = []
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(self.addr)
            self.fillers.append(s)
            if not self._accepts_more():
                return
        raise RuntimeError("could not fill the accept queue of the black-hole port")

    def _accepts_more(self):
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(self.addr)
            self.fillers.append(probe)
            return True
        except (socket.timeout, OSError):
            probe.close()
            return False

    def close(self):
        for s in self.fillers:
            s.close()
        self.sock.close()
