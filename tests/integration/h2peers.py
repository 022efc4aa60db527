"""HTTP/2 peers for the proxy's tests, on Python's `h2` library (Debian's python3-h2).

- H2Upstream: an h2c (prior knowledge) server on 127.0.0.1:0, a thread per connection. Each
  path answers with a scripted Reply; it records request heads, bodies and the streams the
  client reset. `goaway_after=N` ends every connection gracefully after N streams.
- H2Client: a blocking h2c client over one socket, for tests that need to see frames (trailers,
  resets, GOAWAY) or to misbehave on purpose.
"""
import socket
import threading
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from upstreams import TcpServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple = ()
    trailers: tuple = ()
    echo: bool = False  # the body is the request's body
    reset: bool = False  # RST_STREAM(INTERNAL_ERROR) after the head and body
    delay: float = 0.0  # seconds between the request's end and the answer
    freeze: bool = False  # after the head (and what the window lets through), stop reading


@dataclass
class Request:
    headers: dict
    body: bytearray = field(default_factory=bytearray)


class H2Upstream(TcpServer):
    def __init__(self, routes=None, goaway_after=None, max_streams=100, **kw):
        self.routes = routes or {}
        self.goaway_after = goaway_after
        self.max_streams = max_streams
        self.requests = []
        self.resets = []
        self.streams_served = 0
        super().__init__(self._handle, **kw)

    def _reply_for(self, path):
        return self.routes.get(path.split("?")[0], Reply(404, b"no such path\n"))

    def _handle(self, sock):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8", validate_inbound_headers=True))
        conn.local_settings = h2.settings.Settings(
            client=False, initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS:
                                          self.max_streams})
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        open_requests = {}
        outgoing = {}  # stream id -> [bytes left, trailers, reset]
        served_here = 0
        goaway_sent = False
        delayed = []  # (due, stream id, request) of answers that wait
        sock.settimeout(0.02)
        while True:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                data = None
            except OSError:
                return
            if data == b"":
                return
            try:
                events = conn.receive_data(data) if data else []
            except h2.exceptions.ProtocolError:
                sock.sendall(conn.data_to_send())
                return
            now = time.monotonic()
            for due, sid, req in [d for d in delayed if d[0] <= now]:
                delayed.remove((due, sid, req))
                self._answer(conn, sid, req, outgoing)
            for ev in events:
                if isinstance(ev, h2.events.RequestReceived):
                    open_requests[ev.stream_id] = Request(dict(ev.headers))
                elif isinstance(ev, h2.events.DataReceived):
                    if ev.stream_id in open_requests:
                        open_requests[ev.stream_id].body += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    req = open_requests.pop(ev.stream_id, None)
                    if req is None:
                        continue
                    with self._lock:
                        self.requests.append(req)
                        self.streams_served += 1
                    served_here += 1
                    reply = self._reply_for(req.headers.get(":path", "/"))
                    if reply.delay:
                        delayed.append((time.monotonic() + reply.delay, ev.stream_id, req))
                    else:
                        self._answer(conn, ev.stream_id, req, outgoing)
                elif isinstance(ev, h2.events.StreamReset):
                    with self._lock:
                        self.resets.append(ev.stream_id)
                    open_requests.pop(ev.stream_id, None)
                    outgoing.pop(ev.stream_id, None)
                    delayed = [d for d in delayed if d[1] != ev.stream_id]
            self._pump(conn, outgoing)
            if (self.goaway_after and not goaway_sent and served_here >= self.goaway_after):
                conn.close_connection(last_stream_id=conn.highest_inbound_stream_id)
                goaway_sent = True
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
            if self._frozen:
                time.sleep(5)  # a peer that is gone without a FIN: no reads, no PING answers
                return
            if goaway_sent and not outgoing and not open_requests and not delayed:
                return

    _frozen = False

    def _answer(self, conn, sid, req, outgoing):
        reply = self._reply_for(req.headers.get(":path", "/"))
        if reply.freeze:
            self._frozen = True
        body = bytes(req.body) if reply.echo else reply.body
        end_now = not body and not reply.trailers and not reply.reset
        conn.send_headers(sid, [(":status", str(reply.status)), *reply.headers], end_stream=end_now)
        if not end_now:
            outgoing[sid] = [body, reply.trailers, reply.reset]

    @staticmethod
    def _pump(conn, outgoing):
        for sid in list(outgoing):
            body, trailers, reset = outgoing[sid]
            while body:
                window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                if window <= 0:
                    break
                conn.send_data(sid, body[:window])
                body = body[window:]
            outgoing[sid][0] = body
            if body:
                continue
            if reset:
                conn.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
            elif trailers:
                conn.send_headers(sid, list(trailers), end_stream=True)
            else:
                conn.end_stream(sid)
            del outgoing[sid]


@dataclass
class Response:
    status: int = 0
    headers: dict = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    trailers: dict = field(default_factory=dict)
    ended: bool = False
    reset_code: object = None


class H2Client:
    """One h2c connection; send requests, then pump() until a condition holds."""

    def __init__(self, addr, timeout=10.0, settings=None):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.responses = {}
        self.goaway = None
        self.closed = False
        self.auto_ack = True  # give back window as data arrives
        self.flush()

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def request(self, path, method="GET", body=None, headers=(), authority="svc.test", end=True):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", method), (":scheme", "http"),
                                     (":authority", authority), (":path", path), *headers],
                               end_stream=body is None and end)
        if body is not None:
            self.send_body(sid, body, end=end)
        self.responses[sid] = Response()
        self.flush()
        return sid

    def send_body(self, sid, body, end=True):
        while body:
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if window <= 0:
                self.pump(lambda: self.conn.local_flow_control_window(sid) > 0)
                continue
            self.conn.send_data(sid, body[:window])
            body = body[window:]
            self.flush()
        if end:
            self.conn.end_stream(sid)
        self.flush()

    def reset(self, sid, code=h2.errors.ErrorCodes.CANCEL):
        self.conn.reset_stream(sid, code)
        self.flush()

    def pump(self, done, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not done():
            if self.closed:
                return done()
            if time.monotonic() > deadline:
                raise TimeoutError("HTTP/2 condition not reached in time")
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                continue
            for ev in self.conn.receive_data(data):
                self._on_event(ev)
            try:
                self.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.closed = True
        return True

    def _on_event(self, ev):
        r = self.responses.get(getattr(ev, "stream_id", None))
        if isinstance(ev, h2.events.ResponseReceived):
            r.status = int(dict(ev.headers)[":status"])
            r.headers = dict(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            r.body += ev.data
            if self.auto_ack:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            r.trailers = dict(ev.headers)
        elif isinstance(ev, h2.events.StreamEnded):
            r.ended = True
        elif isinstance(ev, h2.events.StreamReset):
            if r is not None:
                r.reset_code = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = ev

    def get(self, path, **kw):
        sid = self.request(path, **kw)
        self.pump(lambda: self.responses[sid].ended or self.responses[sid].reset_code is not None)
        return self.responses[sid]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
