"""The mesh hop: HTTP/1.1 client → outbound proxy → (HTTP/2, lmesh-orig-proto) → inbound proxy
→ HTTP/1.1 server. The application on each end sees plain HTTP/1.1 as if there were no mesh:
pipelining, chunked bodies and trailers, Connection semantics and HTTP/1.0 all survive the
hop, and every request of every client connection shares one HTTP/2 connection per worker."""
import os

import pytest

import upstreams
from client import HttpConn, build_request
from harness import hostport


@pytest.fixture
def mesh(proxy_factory, upstream):
    server_side = proxy_factory(inbound_forward=hostport(upstream.addr))
    peer = hostport(server_side.inbound)
    client_side = proxy_factory(outbound_target=peer, meshed_endpoints=peer)
    return client_side, server_side


def test_requests_cross_as_http2_and_arrive_as_http1(mesh, upstream):
    client_side, server_side = mesh
    for i in range(20):  # 20 client connections, one request each
        with HttpConn(client_side.outbound) as conn:
            r = conn.request("GET", f"/?n={i}", [("Host", "web.test:8080"), ("X-Trace", str(i))])
            assert r.status == 200 and r.body == b"hello from upstream"
    seen = upstream.requests[-1]
    assert seen.version == "HTTP/1.1"
    assert seen.headers.get("host") == "web.test:8080"
    assert seen.headers.get("x-trace") == "19"
    assert not seen.headers.has("lmesh-orig-proto")
    # The hop is multiplexed: the inbound proxy saw at most one connection per worker.
    assert server_side.metric("tcp_open_total", direction="inbound", peer="src") <= 2
    server_side.wait_metric("request_total", 20, direction="inbound")
    client_side.wait_metric("response_total", 20, direction="outbound", status_code="200")


def test_pipelined_requests_keep_their_order(mesh, upstream):
    client_side, _ = mesh
    upstream.routes["/slow"] = upstreams.delayed(0.3, upstreams.fixed(200, b"first"))
    requests = [
        build_request("GET", "/slow", [("Host", "svc")]),
        build_request("POST", "/echo", [("Host", "svc")], b"second-body"),
        build_request("GET", "/", [("Host", "svc")]),
        build_request("HEAD", "/", [("Host", "svc")]),
    ]
    with HttpConn(client_side.outbound) as conn:
        conn.send(b"".join(requests))
        responses = [conn.read_response(method=m) for m in ("GET", "POST", "GET", "HEAD")]
    assert [r.status for r in responses] == [200] * 4, [str(r) for r in responses]
    assert responses[0].body == b"first"
    assert responses[1].body.endswith(b"second-body")
    assert responses[3].body == b""
    assert upstream.paths() == ["/slow", "/echo", "/", "/"]


def test_chunked_bodies_and_trailers_cross_the_hop(mesh, upstream):
    client_side, _ = mesh
    parts = [b"a", b"b" * 4096, b"c" * 70000, b"d" * 3]
    upstream.routes["/chunked"] = upstreams.chunked([b"x" * 10, b"y" * 100000],
                                                    trailers=[("X-Sum", "abc")])
    with HttpConn(client_side.outbound) as conn:
        conn.send(build_request("POST", "/echo", [("Host", "svc"), ("Trailer", "X-Checksum")],
                                parts, chunked=True, trailers=[("X-Checksum", "sum-42")]))
        assert conn.read_response().status == 200
        seen = upstream.requests[-1]
        assert seen.body == b"".join(parts)
        assert seen.trailers.get("x-checksum") == "sum-42"
        r = conn.request("GET", "/chunked", [("Host", "svc"), ("TE", "trailers")])
        assert r.status == 200 and r.body == b"x" * 10 + b"y" * 100000
        assert r.header("transfer-encoding") == "chunked"
        assert dict((k.lower(), v) for k, v in r.trailers).get("x-sum") == "abc"


def test_large_bodies_both_ways(mesh, upstream):
    client_side, _ = mesh
    body = os.urandom(8 * 1024 * 1024)
    with HttpConn(client_side.outbound, timeout=30) as conn:
        r = conn.request("POST", "/echo", [("Host", "svc")], body)
    assert r.status == 200 and r.body.endswith(body)
    assert upstream.requests[-1].body == body


def test_connection_close_and_http10_semantics_survive(mesh, upstream):
    client_side, _ = mesh
    with HttpConn(client_side.outbound) as conn:
        r = conn.request("GET", "/", [("Host", "svc"), ("Connection", "close")])
        assert r.status == 200 and r.header("connection") == "close"
        assert conn.read_eof(), "the proxy must close after Connection: close"
    with HttpConn(client_side.outbound) as conn:
        conn.send(build_request("GET", "/", [("Host", "svc")], version="HTTP/1.0"))
        r = conn.read_response()
        assert r.status == 200 and r.body == b"hello from upstream"
        assert conn.read_eof(), "an HTTP/1.0 client without keep-alive gets a close"
    # The application saw ordinary keep-alive HTTP/1.1 from the inbound proxy.
    assert upstream.requests[-1].version == "HTTP/1.1"


def test_errors_behind_the_peer_come_back_as_its_answer(proxy_factory, serve):
    dead = serve(upstreams.RefusingPort)
    server_side = proxy_factory(inbound_forward=hostport(dead.addr))
    peer = hostport(server_side.inbound)
    client_side = proxy_factory(outbound_target=peer, meshed_endpoints=peer)
    with HttpConn(client_side.outbound) as conn:
        r = conn.request("GET", "/", [("Host", "svc")])
    assert r.status == 502
    assert r.header("lmesh-proxy-error") == "upstream connection refused"
    server_side.wait_metric("http_errors_total", 1, direction="inbound", reason="connect_refused")


def test_peer_down_is_502_from_the_near_side(proxy_factory, serve):
    dead = serve(upstreams.RefusingPort)
    peer = hostport(dead.addr)
    client_side = proxy_factory(outbound_target=peer, meshed_endpoints=peer)
    with HttpConn(client_side.outbound) as conn:
        r = conn.request("GET", "/", [("Host", "svc")])
        assert r.status == 502
        assert r.header("lmesh-proxy-error") == "upstream connection refused"
        # The client connection stays usable (the request was read whole).
        assert conn.request("GET", "/", [("Host", "svc")]).status == 502


# The same GiB-scale checks as for one proxy (test_http1_streaming.py), through the hop: both
# proxies must stay in bounded memory, whichever side is slow.
from test_http1_streaming import assert_memory_bounded as _assert_memory_bounded  # noqa: E402
from test_http1_streaming import \
    test_one_gib_request_body_streams_in_bounded_memory as _one_gib_up  # noqa: E402
from test_http1_streaming import \
    test_one_gib_response_body_streams_in_bounded_memory as _one_gib_down  # noqa: E402
from test_http1_streaming import test_slow_reader_backpressures_upstream as _slow_reader  # noqa: E402


@pytest.mark.deadline(120)
def test_one_gib_each_way_in_bounded_memory(mesh, upstream):
    client_side, server_side = mesh
    _one_gib_up(client_side, upstream)
    _one_gib_down(client_side, upstream)
    _assert_memory_bounded(server_side, "a GiB each way through the hop")


@pytest.mark.deadline(120)
def test_slow_reader_stalls_the_upstream_behind_the_hop(mesh, upstream):
    client_side, server_side = mesh
    _slow_reader(client_side, upstream)
    _assert_memory_bounded(server_side, "a GiB to a slow reader through the hop")


def test_an_idle_hop_connection_closes_after_the_pool_idle_timeout(proxy_factory, upstream):
    # Regression: a stream's close was counted before it left the session, so the last
    # stream's end never armed the idle deadline and hop connections stayed open forever.
    server_side = proxy_factory(inbound_forward=hostport(upstream.addr))
    peer = hostport(server_side.inbound)
    client_side = proxy_factory(outbound_target=peer, meshed_endpoints=peer,
                                pool_idle_timeout="200ms")
    with HttpConn(client_side.outbound) as conn:
        assert conn.request("GET", "/", [("Host", "svc")]).status == 200
    client_side.wait_metric("tcp_open_connections", 0, timeout=5, direction="outbound", peer="dst")
    server_side.wait_metric("tcp_open_connections", 0, timeout=5, direction="inbound", peer="src")
