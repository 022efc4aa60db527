"""The proxy's live tap (`GET /tap` on the admin port): every request's request_init,
response_init and response_end events with the right fields, filters that select exactly the
requests they name, the rate limit and a slow reader reported as dropped events (never slowing
traffic), HTTP/2 and gRPC status, errors the proxy answers itself, identities + TLS flags
over the real mTLS path, and who may tap: loopback without identity; with identity only the tap
service's identity over mTLS on the admin port (certificates from the real lmesh-identity,
CSRs made here with python3-cryptography), while /metrics and /ready stay plaintext.

Run: LMESH_PROXY=build/src/proxy/lmesh-proxy LMESH_IDENTITY=build/src/identity/lmesh-identity \\
     LMESH_CLI=build/src/cli/lmesh /usr/bin/python3 -m pytest -q tests/integration/test_tap.py
"""
import json
import socket
import ssl
import threading
import time
import urllib.parse

import h2.config
import h2.connection
import pytest

import upstreams
from client import HttpConn
from h2peers import H2Client, H2Upstream, Reply
from harness import hostport, wait_until
from test_mtls import API, IDENTITY_SERVER, WEB, mesh, pair, wait_ready  # noqa: F401  (mesh is a fixture)

TAP_ID = "tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local"
# The proxies' tokens as test_mtls.Mesh has them, and the tap service's.
TOKENS = {"web-token": "default/web", "api-token": "default/api", "tap-token": "lmesh-system/tap"}


class Tap:
    """One `GET /tap` over HTTP/1.1, its chunked ndjson body read on a thread into events."""

    def __init__(self, admin, read=True, body=None, rcvbuf=None, tls=None, **filters):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(admin)
        if tls is not None:  # (ssl.SSLContext, the proxy's identity)
            context, server_name = tls
            self.sock = context.wrap_socket(self.sock, server_hostname=server_name)
        query = urllib.parse.urlencode(filters)
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"GET /tap?{query} HTTP/1.1\r\nHost: admin\r\nContent-Length: {len(payload)}\r\n\r\n"
        self.sock.sendall(head.encode() + payload)
        self.events = []
        self.status = None
        self.error_body = b""
        self._buf = b""
        self._lock = threading.Lock()
        self._thread = None
        if read:
            self.start()

    def start(self):
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _recv(self):
        try:
            data = self.sock.recv(65536)
        except OSError:
            return False
        if not data:
            return False
        self._buf += data
        return True

    def _read(self):
        while b"\r\n\r\n" not in self._buf:
            if not self._recv():
                return
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])
        if self.status != 200:
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(self._buf) < length:
                if not self._recv():
                    break
            self.error_body = self._buf[:length]
            return
        pending = b""
        while True:
            while b"\r\n" not in self._buf:
                if not self._recv():
                    return
            size_line, rest = self._buf.split(b"\r\n", 1)
            size = int(size_line, 16)
            while len(rest) < size + 2:
                if not self._recv():
                    return
                size_line, rest = self._buf.split(b"\r\n", 1)
            if size == 0:
                return
            pending += rest[:size]
            self._buf = rest[size + 2:]
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                with self._lock:
                    self.events.append(json.loads(line))

    def wait_open(self):
        # The hub tells the workers on their next loop turn: a request right after the answer
        # head could still miss the tap.
        wait_until(lambda: self.status is not None, 5, message="tap answer head")
        time.sleep(0.05)

    def of_kind(self, kind):
        with self._lock:
            return [e for e in self.events if e["kind"] == kind]

    def requests(self):
        return {e["id"]: e for e in self.of_kind("request_init")}

    def paths(self):
        return sorted(e["path"] for e in self.of_kind("request_init"))

    def wait_ends(self, n, timeout=5):
        wait_until(lambda: len(self.of_kind("response_end")) >= n, timeout,
                   message=f"{n} response_end events (have {len(self.of_kind('response_end'))})")

    def dropped(self):
        return sum(e["count"] for e in self.of_kind("dropped"))

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread's recv()
        except OSError:
            pass
        self.sock.close()
        if self._thread:
            self._thread.join(5)


@pytest.fixture
def taps():
    opened = []

    def open_tap(admin, **kw):
        t = Tap(admin, **kw)
        opened.append(t)
        return t
    yield open_tap
    for t in opened:
        t.close()


def http_get(addr, path, method="GET", host="svc.test", body=b""):
    with HttpConn(addr) as conn:
        headers = [("Host", host), ("User-Agent", "tap-test/1"), ("X-Request-Id", path)]
        if body:
            headers.append(("Content-Length", str(len(body))))
        return conn.request(method, path, headers, body or None), conn.sock.getsockname()


def test_one_request_gives_three_events_with_its_facts(proxy, upstream, taps):
    tap = taps(proxy.admin)
    tap.wait_open()
    resp, client = http_get(proxy.outbound, "/")
    assert resp.status == 200
    tap.wait_ends(1)
    [init] = tap.of_kind("request_init")
    [head] = tap.of_kind("response_init")
    [end] = tap.of_kind("response_end")
    assert init["id"] == head["id"] == end["id"]
    assert init["direction"] == "outbound" and init["method"] == "GET" and init["path"] == "/"
    assert init["authority"] == "svc.test" and init["scheme"] == "http"
    assert init["source"] == f"{client[0]}:{client[1]}"
    assert init["destination"] == hostport(upstream.addr)
    assert init["tls"] == "false" and init["client_id"] == "" and init["server_id"] == ""
    assert init["headers"] == {"user-agent": "tap-test/1", "x-request-id": "/"}
    assert head["status"] == 200 and head["latency_us"] > 0
    assert end["response_bytes"] == len(b"hello from upstream")
    assert end["reset"] == "" and end["error"] == "" and "grpc_status" not in end
    assert init["ts_us"] <= head["ts_us"] <= end["ts_us"]
    assert abs(init["ts_us"] / 1e6 - time.time()) < 60
    proxy.wait_metric("tap_events_total", 3)
    assert proxy.metric("tap_open") == 1


def test_filters_each_select_exactly_their_requests(proxy_factory, upstream, taps):
    proxy = proxy_factory(outbound_target=hostport(upstream.addr),
                          inbound_forward=hostport(upstream.addr))
    other = upstreams.HttpUpstream(routes={"/": upstreams.fixed(200, b"other")})
    try:
        by_method = taps(proxy.admin, method="POST")
        by_path = taps(proxy.admin, path_prefix="/a/")
        by_authority = taps(proxy.admin, authority="books.test")
        by_direction = taps(proxy.admin, direction="inbound")
        by_destination = taps(proxy.admin, destination="127.0.0.1:1")  # nothing goes there
        by_body = taps(proxy.admin, body={"path_prefix": "/a/", "method": "GET"})
        combined = taps(proxy.admin, method="GET", authority="books.test:80", path_prefix="/b")
        everything = taps(proxy.admin)
        for t in (by_method, by_path, by_authority, by_direction, by_destination, by_body,
                  combined, everything):
            t.wait_open()
        sent = [("GET", "/a/1", "svc.test", proxy.outbound), ("POST", "/a/2", "svc.test", proxy.outbound),
                ("GET", "/b/3", "books.test", proxy.outbound), ("POST", "/b/4", "books.test", proxy.outbound),
                ("GET", "/c/5", "svc.test", proxy.inbound), ("GET", "/a/6", "books.test:80", proxy.outbound)]
        for method, path, host, addr in sent:
            resp, _ = http_get(addr, path, method, host, b"x" if method == "POST" else b"")
            assert resp.status in (200, 404), resp
        everything.wait_ends(len(sent))
        time.sleep(0.2)  # anything wrongly tapped would have arrived by now
        assert by_method.paths() == ["/a/2", "/b/4"]
        assert by_path.paths() == ["/a/1", "/a/2", "/a/6"]
        assert by_authority.paths() == ["/a/6", "/b/3", "/b/4"]  # host alone: any port
        assert by_direction.paths() == ["/c/5"]
        assert by_destination.paths() == []
        assert by_body.paths() == ["/a/1", "/a/6"]
        assert combined.paths() == []  # books.test:80 never matches plain books.test
        assert everything.paths() == ["/a/1", "/a/2", "/a/6", "/b/3", "/b/4", "/c/5"]
        # The source filter, with the client port of a request already made.
        by_source_ip = taps(proxy.admin, source="127.0.0.1")
        by_wrong_source = taps(proxy.admin, source="127.0.0.2,127.0.0.3:80")
        by_source_ip.wait_open()
        by_wrong_source.wait_open()
        http_get(proxy.outbound, "/d/7")
        by_source_ip.wait_ends(1)
        time.sleep(0.2)
        assert by_source_ip.paths() == ["/d/7"] and by_wrong_source.paths() == []
    finally:
        other.close()


@pytest.mark.parametrize("query,detail", [
    ({"direction": "sideways"}, "direction: must be inbound or outbound"),
    ({"max_rps": "0"}, "max_rps: must be a number from 0.1 to 100000"),
    ({"max_rps": "lots"}, "max_rps: must be a number from 0.1 to 100000"),
    ({"source": "not-an-ip"}, "source: not an IP or IP:port"),
    ({"path_prefix": "books"}, "path_prefix: must start with /"),
    ({"colour": "red"}, "unknown filter key: colour"),
])
def test_a_bad_filter_is_refused_naming_it(proxy, taps, query, detail):
    tap = taps(proxy.admin, **query)
    wait_until(lambda: tap.status is not None and tap._thread and not tap._thread.is_alive(), 5,
               message="error answer")
    assert tap.status == 400
    body = json.loads(tap.error_body)
    assert body["error"] == "bad filter" and detail in body["detail"], body


def test_a_bad_json_body_is_refused(proxy):
    raw = socket.create_connection(proxy.admin, timeout=5)
    try:
        raw.sendall(b"GET /tap HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n{nope")
        answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert b"the body must be a JSON object" in answer
    finally:
        raw.close()


def test_the_rate_limit_drops_and_reports_what_it_dropped(proxy, taps):
    tap = taps(proxy.admin, max_rps="2")
    tap.wait_open()
    total = 30
    with HttpConn(proxy.outbound) as conn:
        for i in range(total):
            assert conn.request("GET", f"/{i}", [("Host", "svc.test")]).status in (200, 404)
    wait_until(lambda: len(tap.of_kind("request_init")) + tap.dropped() >= total, 5,
               message="every request tapped or counted as dropped")
    tapped = len(tap.of_kind("request_init"))
    assert 1 <= tapped <= 4, f"{tapped} tapped at max_rps=2"
    assert tap.dropped() == total - tapped
    assert proxy.metric("tap_events_dropped_total", reason="rate_limited") == total - tapped
    assert tap.of_kind("dropped")[-1]["rate_limited"] >= 1


def test_a_slow_reader_never_slows_traffic(proxy, taps):
    # A subscriber that reads nothing: events past its backlog are dropped, not buffered.
    tap = taps(proxy.admin, read=False, rcvbuf=4096, max_rps="100000", headers="x-pad")
    time.sleep(0.2)
    pad = "p" * 2000  # fat events fill the subscriber's buffers quickly
    total = 1500
    started = time.monotonic()
    with HttpConn(proxy.outbound) as conn:
        for i in range(total):
            resp = conn.request("GET", f"/{i}", [("Host", "svc.test"), ("X-Pad", pad)])
            assert resp.status in (200, 404)
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"{total} requests took {elapsed:.1f}s with a stuck tap"
    wait_until(lambda: proxy.metric("tap_events_dropped_total", reason="slow_reader") > 0, 5,
               message="events dropped for the stuck reader")
    assert proxy.metric("tap_events_dropped_total", reason="rate_limited") == 0
    # The stream is still alive: reading it now shows what arrived and a dropped report.
    tap.start()
    wait_until(lambda: tap.dropped() > 0, 10, message="a dropped report in the stream")
    assert len(tap.of_kind("request_init")) < total
    # ASan's shadow memory and quarantine inflate RSS (as in test_http1_streaming.py).
    limit = (640 if proxy.sanitized() else 64) * 1024
    assert proxy.rss_kib() < limit, f"proxy RSS {proxy.rss_kib()} KiB with a stuck tap"


def test_errors_the_proxy_answers_carry_the_reason(proxy_factory, taps):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()  # nothing listens there now
    proxy = proxy_factory(outbound_target=f"127.0.0.1:{port}")
    tap = taps(proxy.admin)
    tap.wait_open()
    resp, _ = http_get(proxy.outbound, "/x")
    assert resp.status == 502
    tap.wait_ends(1)
    [init] = tap.of_kind("request_init")
    [head] = tap.of_kind("response_init")
    [end] = tap.of_kind("response_end")
    assert init["destination"] == f"127.0.0.1:{port}"
    assert head["status"] == 502
    assert end["error"] == resp.header("lmesh-proxy-error")


def test_http2_and_grpc_status(proxy_factory, serve, taps):
    upstream = serve(H2Upstream, routes={
        "/ok": Reply(200, b"twelve bytes"),
        "/pkg.Svc/Call": Reply(200, b"\0\0\0\0\0", headers=(("content-type", "application/grpc"),),
                               trailers=(("grpc-status", "5"),)),
    })
    proxy = proxy_factory(outbound_target=hostport(upstream.addr))
    tap = taps(proxy.admin)
    tap.wait_open()
    client = H2Client(proxy.outbound)
    try:
        a = client.request("/ok")
        b = client.request("/pkg.Svc/Call", method="POST", body=b"\0\0\0\0\0",
                           headers=(("content-type", "application/grpc"),))
        client.pump(lambda: client.responses[a].ended and client.responses[b].ended)
    finally:
        client.sock.close()
    tap.wait_ends(2)
    inits = {e["path"]: e for e in tap.of_kind("request_init")}
    ends = {e["id"]: e for e in tap.of_kind("response_end")}
    ok, call = ends[inits["/ok"]["id"]], ends[inits["/pkg.Svc/Call"]["id"]]
    assert ok["response_bytes"] == 12 and "grpc_status" not in ok
    assert call["grpc_status"] == 5
    assert inits["/pkg.Svc/Call"]["headers"]["content-type"] == "application/grpc"


def test_a_client_reset_ends_the_request_as_reset(proxy_factory, serve, taps):
    upstream = serve(H2Upstream, routes={"/slow": Reply(200, b"late", delay=3.0)})
    proxy = proxy_factory(outbound_target=hostport(upstream.addr))
    tap = taps(proxy.admin)
    tap.wait_open()
    client = H2Client(proxy.outbound)
    try:
        sid = client.request("/slow")
        wait_until(lambda: len(tap.of_kind("request_init")) == 1, 5, message="request_init")
        client.reset(sid)
        tap.wait_ends(1)
    finally:
        client.sock.close()
    [end] = tap.of_kind("response_end")
    assert end["reset"] == "CANCEL", end


def test_events_carry_identities_over_mutual_tls(proxy_factory, upstream, mesh, taps,  # noqa: F811
                                                 tmp_path):
    mesh_ca = mesh(tokens=TOKENS)
    client_side, server_side = pair(proxy_factory, upstream, mesh_ca)
    # Proxies with an identity let only the tap service tap, over mTLS.
    as_tap = issue(mesh_ca, "tap-token", "lmesh-system", "tap", tmp_path)
    out_tls = (client_tls(mesh_ca, as_tap), WEB)
    in_tls = (client_tls(mesh_ca, as_tap), API)
    out_tap = taps(client_side.admin, tls=out_tls)
    in_tap = taps(server_side.admin, tls=in_tls)
    out_tap.wait_open()
    in_tap.wait_open()
    with HttpConn(client_side.outbound) as conn:
        assert conn.request("GET", "/", [("Host", "api.test")]).status == 200
    out_tap.wait_ends(1)
    in_tap.wait_ends(1)
    [out] = out_tap.of_kind("request_init")
    [inb] = in_tap.of_kind("request_init")
    assert out["direction"] == "outbound" and out["tls"] == "true"
    assert out["server_id"] == API and out["destination"] == hostport(server_side.inbound)
    assert inb["direction"] == "inbound" and inb["tls"] == "true" and inb["client_id"] == WEB
    assert inb["destination"] == hostport(upstream.addr)
    # Filters on identities select the same requests.
    by_client = taps(server_side.admin, tls=in_tls, client_id=WEB)
    by_other = taps(server_side.admin, tls=in_tls, client_id=API)
    by_server = taps(client_side.admin, tls=out_tls, server_id=API)
    for t in (by_client, by_other, by_server):
        t.wait_open()
    with HttpConn(client_side.outbound) as conn:
        assert conn.request("GET", "/", [("Host", "api.test")]).status == 200
    by_client.wait_ends(1)
    by_server.wait_ends(1)
    time.sleep(0.2)
    assert by_other.of_kind("request_init") == []


def test_closing_the_tap_stops_the_work(proxy, taps):
    tap = taps(proxy.admin)
    tap.wait_open()
    proxy.wait_metric("tap_open", 1)
    tap.close()
    proxy.wait_metric("tap_open", 0)
    http_get(proxy.outbound, "/after")
    assert proxy.metric("tap_events_total") == 0


# ---------------------------------------------------------------- who may tap

def issue(mesh_ca, token, ns, sa, out_dir):
    """A certificate for ns/sa from the real lmesh-identity, the way a proxy gets one: a P-256
    key made here, a CSR naming the identity (DNS and SPIFFE SANs), POST /v1/certify over TLS
    to the service that proves IDENTITY_SERVER. Returns (cert file with the chain, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    name = f"{sa}.{ns}.serviceaccount.identity.lmesh.cluster.local"
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .add_extension(x509.SubjectAlternativeName([
               x509.DNSName(name),
               x509.UniformResourceIdentifier(f"spiffe://cluster.local/ns/{ns}/sa/{sa}")]),
               critical=False)
           .sign(key, hashes.SHA256()))
    context = ssl.create_default_context(cafile=str(mesh_ca.anchors))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["http/1.1"])
    body = json.dumps({"token": token,
                       "csr": csr.public_bytes(serialization.Encoding.PEM).decode()}).encode()
    raw = socket.create_connection(mesh_ca.identity.api, timeout=10)
    with context.wrap_socket(raw, server_hostname=IDENTITY_SERVER) as conn:
        conn.sendall(b"POST /v1/certify HTTP/1.1\r\nHost: identity\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                     + body)
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += conn.recv(65536)
        head, rest = reply.split(b"\r\n\r\n", 1)
        assert head.split(b" ")[1] == b"200", reply
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(rest) < length:
            rest += conn.recv(65536)
    issued = json.loads(rest[:length])
    cert_file = out_dir / f"{sa}.{ns}.crt"
    key_file = out_dir / f"{sa}.{ns}.key"
    cert_file.write_text(issued["cert"] + "".join(issued["chain"]))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def client_tls(mesh_ca, credentials=None, alpn=("http/1.1",)):
    """A TLS 1.3 client context trusting the mesh's roots, presenting `credentials`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cafile=str(mesh_ca.anchors))
    if credentials:
        context.load_cert_chain(*map(str, credentials))
    context.set_alpn_protocols(list(alpn))
    return context


class TlsH2Client(H2Client):
    """H2Client over TLS (ALPN h2) instead of h2c."""

    def __init__(self, addr, context, server_name, timeout=10.0):  # noqa: super().__init__ dials h2c
        raw = socket.create_connection(addr, timeout=timeout)
        self.sock = context.wrap_socket(raw, server_hostname=server_name)
        assert self.sock.selected_alpn_protocol() == "h2"
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.responses = {}
        self.goaway = None
        self.closed = False
        self.auto_ack = True
        self.flush()


@pytest.fixture
def tapped(proxy_factory, upstream, mesh, tmp_path):  # noqa: F811
    """A proxy with identity API (certificate from the real lmesh-identity) in front of the
    upstream, and credentials for the tap service and for web."""
    mesh_ca = mesh(tokens=TOKENS)
    proxy = proxy_factory(outbound_target=hostport(upstream.addr),
                          **mesh_ca.proxy_flags(API, "api-token"))
    wait_ready(proxy)
    return (proxy, mesh_ca, issue(mesh_ca, "tap-token", "lmesh-system", "tap", tmp_path),
            issue(mesh_ca, "web-token", "default", "web", tmp_path))


def test_with_identity_the_tap_service_taps_over_mtls_http1(tapped, taps):
    proxy, mesh_ca, as_tap, _ = tapped
    tap = taps(proxy.admin, tls=(client_tls(mesh_ca, as_tap), API), path_prefix="/over-tls")
    assert tap.sock.selected_alpn_protocol() == "http/1.1"
    assert tap.sock.version() == "TLSv1.3"
    tap.wait_open()
    assert tap.status == 200, tap.error_body
    resp, _ = http_get(proxy.outbound, "/over-tls/1")
    assert resp.status == 200
    tap.wait_ends(1)
    [init] = tap.of_kind("request_init")
    assert init["path"] == "/over-tls/1" and init["direction"] == "outbound"
    assert TAP_ID in proxy.stderr_text()  # "tap opened by ... as <identity>"


def test_with_identity_the_tap_service_taps_over_mtls_h2(tapped):
    proxy, mesh_ca, as_tap, _ = tapped
    client = TlsH2Client(proxy.admin, client_tls(mesh_ca, as_tap, alpn=("h2",)), API)
    try:
        sid = client.request("/tap?path_prefix=/over-h2", authority="admin")
        client.pump(lambda: client.responses[sid].status != 0)
        assert client.responses[sid].status == 200, bytes(client.responses[sid].body)
        time.sleep(0.05)  # the workers learn of the tap on their next loop turn
        resp, _ = http_get(proxy.outbound, "/over-h2/1")
        assert resp.status == 200
        client.pump(lambda: b"response_end" in client.responses[sid].body)
        events = [json.loads(line) for line in bytes(client.responses[sid].body).splitlines()]
        assert [e["kind"] for e in events if e["kind"] != "dropped"] == \
            ["request_init", "response_init", "response_end"]
        assert events[0]["path"] == "/over-h2/1"
    finally:
        client.sock.close()


def test_with_identity_another_identity_is_refused_by_name(tapped, taps):
    proxy, mesh_ca, _, as_web = tapped
    tap = taps(proxy.admin, tls=(client_tls(mesh_ca, as_web), API))
    wait_until(lambda: tap.status is not None, 5, message="tap answer")
    assert tap.status == 403
    detail = json.loads(tap.error_body)["detail"]
    assert detail == f"tap needs mTLS as {TAP_ID}, not {WEB}"
    assert proxy.metric("tap_opened_total") == 0


def test_with_identity_loopback_plaintext_is_refused(tapped, taps):
    proxy, _, _, _ = tapped
    tap = taps(proxy.admin)
    wait_until(lambda: tap.status is not None, 5, message="tap answer")
    assert tap.status == 403
    assert json.loads(tap.error_body)["detail"] == f"tap needs mTLS as {TAP_ID}"


def test_with_identity_tls_without_a_client_certificate_is_refused(tapped):
    proxy, mesh_ca, _, _ = tapped
    raw = socket.create_connection(proxy.admin, timeout=5)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        with client_tls(mesh_ca).wrap_socket(raw, server_hostname=API) as conn:
            # TLS 1.3: the client finishes first; the server's refusal arrives on reading.
            conn.sendall(b"GET /tap HTTP/1.1\r\nHost: admin\r\n\r\n")
            if not conn.recv(65536):
                raise ConnectionError("closed without an answer")
    assert proxy.metric("tap_opened_total") == 0


def test_with_identity_probes_and_scrapes_stay_plaintext(tapped):
    proxy, mesh_ca, as_tap, _ = tapped
    assert proxy.admin_get("/ready").status == 200
    assert proxy.admin_get("/live").status == 200
    resp = proxy.admin_get("/metrics")
    assert resp.status == 200 and b"tap_open" in resp.body
    # The same routes over mTLS too.
    raw = socket.create_connection(proxy.admin, timeout=5)
    with client_tls(mesh_ca, as_tap).wrap_socket(raw, server_hostname=API) as conn:
        conn.sendall(b"GET /ready HTTP/1.1\r\nHost: admin\r\n\r\n")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
