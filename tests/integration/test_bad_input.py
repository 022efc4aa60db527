"""The error table of src/proxy/README.md, row by row: exact status, `lmesh-proxy-error`
header and `http_errors_total{reason}`; smuggling shapes never reach the upstream; failures
after the response head abort the downstream connection; TLS-looking garbage is relayed."""
import select
import socket
import time

import pytest

import upstreams
from client import HttpConn, build_request
from harness import hostport
from wire import SockReader, Truncated

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: svc\r\n\r\n"


def assert_proxy_error(proxy, resp, status, reason, metric_reason, direction="outbound"):
    assert resp.status == status, f"expected {status} `{reason}`, got {resp}"
    assert resp.header("lmesh-proxy-error") == reason, \
        f"lmesh-proxy-error header: expected {reason!r}, got {resp.header('lmesh-proxy-error')!r}"
    proxy.wait_metric("http_errors_total", 1, direction=direction, reason=metric_reason)


def send_raw(addr, data, timeout=5):
    """Send raw bytes, read one response (method GET)."""
    conn = HttpConn(addr, timeout=timeout)
    conn.send(data)
    return conn, conn.read_response()


# ---------------------------------------------------------------- 400 malformed

MALFORMED = {
    "cl-and-te": b"POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: 4\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "two-content-lengths": b"POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: 4\r\n"
                           b"Content-Length: 38\r\n\r\n" + SMUGGLED,
    "bad-chunk-size": b"POST / HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"zz\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    "bad-request-line": b"GET /a b HTTP/1.1\r\nHost: svc\r\n\r\n" + SMUGGLED,
    "bad-version": b"GET / HTTP/1.1 junk\r\nHost: svc\r\n\r\n" + SMUGGLED,
    "header-without-colon": b"GET / HTTP/1.1\r\nHost: svc\r\nNo Colon Here\r\n\r\n" + SMUGGLED,
}


@pytest.mark.parametrize("shape", MALFORMED)
def test_malformed_request_rejected_and_not_forwarded(proxy, upstream, shape):
    conn, resp = send_raw(proxy.outbound, MALFORMED[shape])
    with conn:
        assert_proxy_error(proxy, resp, 400, "malformed request", "malformed")
        assert conn.read_eof(), "the connection must be closed after a malformed request"
    assert "/smuggled" not in upstream.paths(), "a smuggled request reached the upstream"
    assert not any(r.complete for r in upstream.requests), \
        f"the upstream received a complete request: {[r.raw_head for r in upstream.requests]}"


# ---------------------------------------------------------------- 400 no destination

def test_no_destination(proxy_factory):
    proxy = proxy_factory()  # no --outbound-target, and the request names no host
    conn, resp = send_raw(proxy.outbound, b"GET / HTTP/1.0\r\n\r\n")
    with conn:
        assert_proxy_error(proxy, resp, 400, "no destination", "no_destination")


# ---------------------------------------------------------------- 408 / 431

def test_header_too_large_default_limit(proxy, upstream):
    big = [("Host", "svc"), ("X-Big", "b" * 70000)]  # default --max-header-bytes is 65536
    conn, resp = send_raw(proxy.outbound, build_request("GET", "/", big))
    with conn:
        assert_proxy_error(proxy, resp, 431, "request header too large", "header_too_large")
    assert not upstream.requests


@pytest.fixture
def small_head_proxy(proxy_factory, upstream):
    return proxy_factory(outbound_target=hostport(upstream.addr), max_header_bytes=1024)


def test_header_limit_is_the_flag(small_head_proxy, upstream):
    fits = [("Host", "svc"), ("X-Fits", "f" * 600)]
    assert HttpConn(small_head_proxy.outbound).request("GET", "/", fits).status == 200
    too_big = [("Host", "svc"), ("X-Big", "b" * 1100)]
    conn, resp = send_raw(small_head_proxy.outbound, build_request("GET", "/", too_big))
    with conn:
        assert_proxy_error(small_head_proxy, resp, 431, "request header too large", "header_too_large")
    assert len(upstream.requests) == 1, "the over-limit request reached the upstream"


def test_request_line_over_limit_gets_431(small_head_proxy, upstream):
    # The head limit covers the request line too: a long URL must not escape HTTP handling.
    conn, resp = send_raw(small_head_proxy.outbound,
                          build_request("GET", "/" + "u" * 1500, [("Host", "svc")]))
    with conn:
        assert_proxy_error(small_head_proxy, resp, 431, "request header too large", "header_too_large")
    assert not upstream.requests, "an over-limit request line reached the upstream"


def test_slowloris_gets_408(proxy_factory, upstream):
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), header_timeout="1s")
    started = time.monotonic()
    with socket.create_connection(proxy.outbound, timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: svc\r\n")
        for i in range(40):  # drip a header line every 0.2 s, never finishing the head
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                break
            sock.sendall(b"X-Drip-%d: x\r\n" % i)
        elapsed = time.monotonic() - started
        resp = HttpConn(sock=sock).read_response()
    assert elapsed < 4, f"no answer {elapsed:.1f}s into a dripping head with --header-timeout 1s"
    assert_proxy_error(proxy, resp, 408, "request header timeout", "header_timeout")
    assert not upstream.requests


# ---------------------------------------------------------------- upstream failures

def test_refused_upstream_gets_502(proxy_factory, serve):
    port = upstreams.RefusingPort()
    try:
        proxy = proxy_factory(outbound_target=hostport(port.addr))
        conn, resp = send_raw(proxy.outbound, build_request("GET", "/", [("Host", "svc")]))
        with conn:
            assert_proxy_error(proxy, resp, 502, "upstream connection refused", "connect_refused")
    finally:
        port.close()


def test_connect_timeout_gets_504(proxy_factory):
    hole = upstreams.BlackholePort()
    try:
        proxy = proxy_factory(outbound_target=hostport(hole.addr), connect_timeout="1s")
        started = time.monotonic()
        conn, resp = send_raw(proxy.outbound, build_request("GET", "/", [("Host", "svc")]))
        with conn:
            assert_proxy_error(proxy, resp, 504, "upstream connect timeout", "connect_timeout")
        assert time.monotonic() - started < 3.5
    finally:
        hole.close()


def test_slow_upstream_gets_504(proxy_factory, upstream):
    upstream.routes["/slow"] = upstreams.delayed(5)
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), upstream_timeout="1s")
    started = time.monotonic()
    conn, resp = send_raw(proxy.outbound, build_request("GET", "/slow", [("Host", "svc")]))
    with conn:
        assert_proxy_error(proxy, resp, 504, "upstream timeout", "upstream_timeout")
    elapsed = time.monotonic() - started
    assert 0.8 < elapsed < 3, f"504 after {elapsed:.1f}s with --upstream-timeout 1s"


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_upstream_closes_before_head_gets_502(proxy, upstream, reset):
    upstream.routes["/gone"] = upstreams.close_without_response(reset=reset)
    conn, resp = send_raw(proxy.outbound, build_request("GET", "/gone", [("Host", "svc")]))
    with conn:
        assert_proxy_error(proxy, resp, 502, "upstream closed connection", "upstream_reset")


def test_malformed_upstream_response_gets_502(proxy, upstream):
    upstream.routes["/garbage"] = upstreams.raw_response(b"this is not HTTP\r\n\r\n")
    conn, resp = send_raw(proxy.outbound, build_request("GET", "/garbage", [("Host", "svc")]))
    with conn:
        assert_proxy_error(proxy, resp, 502, "malformed upstream response", "upstream_malformed")


@pytest.mark.parametrize("use_chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_upstream_dies_mid_body_aborts_downstream(proxy, upstream, use_chunked, reset):
    upstream.routes["/cut"] = upstreams.truncated(declared=100000, sent=1000,
                                                 use_chunked=use_chunked, reset=reset)
    with HttpConn(proxy.outbound) as conn:
        conn.send(build_request("GET", "/cut", [("Host", "svc")]))
        head = conn.read_head()
        assert head.status == 200, head
        outcome, body = conn.read_until_closed()
    assert outcome == "reset", \
        f"upstream died mid-body: the client got a clean close after {len(body)} body bytes " \
        f"(ending {body[-12:]!r}); the proxy must reset the connection instead"


# ---------------------------------------------------------------- TLS-looking garbage

@pytest.mark.parametrize("side", ["outbound", "inbound"])
def test_tls_looking_garbage_is_relayed(proxy_factory, serve, side):
    echo = serve(upstreams.EchoServer)
    proxy = proxy_factory(outbound_target=hostport(echo.addr), inbound_forward=hostport(echo.addr))
    garbage = b"\x16\x03\x01\x02\x00" + bytes((i * 37) % 256 for i in range(3000))
    with socket.create_connection(getattr(proxy, side), timeout=5) as sock:
        sock.sendall(garbage)
        reader = SockReader(sock)
        try:
            echoed = reader.read_exact(len(garbage))
        except (Truncated, ConnectionResetError) as e:
            raise AssertionError(f"TLS-looking garbage was not relayed opaque: {e!r}") from None
        assert echoed == garbage
    assert proxy.admin_get("/live").status == 200, "proxy unhealthy after TLS garbage"
