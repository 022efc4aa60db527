"""HTTP/1.1 through the proxy: routing, connection reuse, version handling, hop-by-hop headers,
and responses without a body."""
import pytest

import upstreams
from client import HttpConn, build_request, get
from harness import hostport, wait_until
from wire import Truncated


def host(server):
    return ("Host", hostport(server.addr))


# ---------------------------------------------------------------- routing

def test_get_via_outbound_target(proxy, upstream):
    resp = get(proxy.outbound, "/", [("Host", "anything.example")])
    assert resp.status == 200, resp
    assert resp.body == b"hello from upstream"
    [req] = upstream.requests
    assert (req.method, req.target) == ("GET", "/")
    assert req.headers.get("host") == "anything.example", "the Host header must reach the upstream unchanged"


def test_post_via_outbound_target(proxy, upstream):
    body = bytes(range(256)) * 40
    with HttpConn(proxy.outbound) as conn:
        resp = conn.request("POST", "/echo", [("Host", "svc"), ("Content-Type", "application/x-test")], body)
    assert resp.status == 200, resp
    assert upstream.requests[0].body == body, "request body changed on the way"
    assert resp.body.endswith(body), "echoed body changed on the way back"


def test_routing_by_host_header_without_target(proxy_factory, upstream):
    proxy = proxy_factory()
    resp = get(proxy.outbound, "/by-host", [host(upstream)])
    assert resp.status == 200, resp
    assert upstream.paths() == ["/by-host"]


def test_routing_by_host_header_per_request_on_one_connection(proxy_factory, serve):
    a = serve(upstreams.HttpUpstream, default=upstreams.fixed(200, b"A"))
    b = serve(upstreams.HttpUpstream, default=upstreams.fixed(200, b"B"))
    proxy = proxy_factory()
    with HttpConn(proxy.outbound) as conn:
        bodies = [conn.request("GET", "/", [host(s)]).body for s in (a, b, a)]
    assert bodies == [b"A", b"B", b"A"], "each request must be routed by its own Host header"


def test_routing_by_absolute_form_uri(proxy_factory, serve):
    a = serve(upstreams.HttpUpstream, default=upstreams.fixed(200, b"A"))
    b = serve(upstreams.HttpUpstream, default=upstreams.fixed(200, b"B"))
    proxy = proxy_factory()
    uri = f"http://{hostport(a.addr)}/abs?q=1"
    resp = get(proxy.outbound, uri, [host(b)])
    assert resp.status == 200, resp
    assert resp.body == b"A", "the absolute-form URI wins over the Host header (RFC 9112 3.2.2)"
    assert a.requests[0].target in ("/abs?q=1", uri), a.requests[0]
    assert not b.requests


def test_host_without_port_means_port_80(proxy_factory, serve):
    try:
        app = serve(upstreams.HttpUpstream, port=80, default=upstreams.fixed(200, b"on 80"))
    except OSError as e:
        pytest.skip(f"cannot listen on 127.0.0.1:80 here: {e}")
    proxy = proxy_factory()
    resp = get(proxy.outbound, "/", [("Host", "127.0.0.1")])
    assert (resp.status, resp.body) == (200, b"on 80"), resp
    assert app.paths() == ["/"]


def test_inbound_forward(proxy, upstream):
    resp = get(proxy.inbound, "/", [("Host", "app")])
    assert resp.status == 200, resp
    assert resp.body == b"hello from upstream"
    assert upstream.paths() == ["/"]


# ---------------------------------------------------------------- connections

def test_keep_alive_reuses_downstream_connection(proxy, upstream):
    with HttpConn(proxy.outbound) as conn:
        for i in range(5):
            resp = conn.request("GET", f"/{i}", [("Host", "svc")])
            assert resp.status == 200, f"request {i} on the kept-alive connection: {resp}"
    assert upstream.paths() == [f"/{i}" for i in range(5)]
    proxy.wait_metric("tcp_open_total", 1, direction="outbound", peer="src")


def test_upstream_connection_is_pooled(proxy, upstream):
    with HttpConn(proxy.outbound) as conn:
        for _ in range(4):
            assert conn.request("GET", "/", [("Host", "svc")]).status == 200
    assert upstream.accepted == 1, f"4 sequential requests opened {upstream.accepted} upstream connections"


def test_pool_idle_timeout_closes_pooled_connection(proxy_factory, upstream):
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), pool_idle_timeout="1s")
    with HttpConn(proxy.outbound) as conn:
        assert conn.request("GET", "/", [("Host", "svc")]).status == 200
        wait_until(lambda: upstream.closed == 1, 4,
                   message="the pooled upstream connection to be closed by --pool-idle-timeout 1s")
        assert conn.request("GET", "/", [("Host", "svc")]).status == 200, "a new upstream connection is made"
    assert upstream.accepted == 2


def test_pool_max_idle_bounds_kept_connections(proxy_factory, upstream):
    upstream.routes["/slow"] = upstreams.delayed(0.5, upstreams.fixed(200, b"slow"))
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), pool_max_idle=1, workers=1)
    conns = [HttpConn(proxy.outbound) for _ in range(3)]
    try:
        for conn in conns:  # three requests at once need three upstream connections
            conn.send(build_request("GET", "/slow", [("Host", "svc")]))
        assert [c.read_response().status for c in conns] == [200] * 3
    finally:
        for conn in conns:
            conn.close()
    assert upstream.accepted == 3
    wait_until(lambda: upstream.closed == 2, 4, message="--pool-max-idle 1 to close 2 of 3 idle connections")


def test_idle_keep_alive_connection_is_closed(proxy_factory, upstream):
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), idle_timeout="1s")
    with HttpConn(proxy.outbound) as conn:
        assert conn.request("GET", "/", [("Host", "svc")]).status == 200
        assert conn.read_eof(timeout=4), "an idle keep-alive connection must be closed by --idle-timeout 1s"


@pytest.mark.parametrize("announce", [False, True], ids=["silent-close", "connection-close"])
def test_upstream_closing_after_response_is_not_reused(proxy, upstream, announce):
    upstream.routes["/once"] = upstreams.respond_then_close(b"one", announce=announce)
    with HttpConn(proxy.outbound) as conn:
        assert conn.request("GET", "/once", [("Host", "svc")]).body == b"one"
        wait_until(lambda: upstream.closed == 1, 5, message="the upstream to close its connection")
        resp = conn.request("GET", "/", [("Host", "svc")])
        assert resp.status == 200, f"the proxy reused an upstream connection the server had closed: {resp}"
    assert upstream.accepted == 2


def test_http10_client_gets_unchunked_body_and_close(proxy, upstream):
    parts = [b"alpha-", b"beta-", b"gamma"]
    upstream.routes["/chunked"] = upstreams.chunked(parts)
    with HttpConn(proxy.outbound) as conn:
        conn.send(b"GET /chunked HTTP/1.0\r\nHost: svc\r\n\r\n")
        resp = conn.read_response()
        assert resp.status == 200, resp
        assert resp.framing != "chunked", "HTTP/1.0 clients do not understand chunked (RFC 9112 7.1)"
        assert resp.body == b"".join(parts)
        assert conn.read_eof(), "an HTTP/1.0 connection without keep-alive must be closed after the response"


def test_connection_close_is_honoured(proxy, upstream):
    with HttpConn(proxy.outbound) as conn:
        resp = conn.request("GET", "/", [("Host", "svc"), ("Connection", "close")])
        assert resp.status == 200, resp
        assert conn.read_eof(), "the proxy must close after answering a `Connection: close` request"


# ---------------------------------------------------------------- headers

def test_hop_by_hop_request_headers_removed_end_to_end_kept(proxy, upstream):
    headers = [
        ("Host", "svc"),
        ("Connection", "keep-alive, X-Hop-Named"),
        ("X-Hop-Named", "secret"),
        ("Keep-Alive", "timeout=5, max=7"),
        ("Proxy-Connection", "keep-alive"),
        ("TE", "deflate"),
        ("User-Agent", "lmesh-test/1"),
        ("X-Request-Id", "abc-123"),
        ("Authorization", "Bearer t0k3n"),
        ("X-Multi", "one"),
        ("X-Multi", "two"),
    ]
    with HttpConn(proxy.outbound) as conn:
        conn.send(build_request("POST", "/echo", headers, [b"chunk-one|", b"chunk-two"], chunked=True))
        resp = conn.read_response()
    assert resp.status == 200, resp
    seen = upstream.requests[0].headers
    for name in ("X-Hop-Named", "Keep-Alive", "Proxy-Connection"):
        assert not seen.has(name), f"hop-by-hop header {name} reached the upstream: {list(seen)}"
    assert "x-hop-named" not in seen.tokens("connection"), "Connection options must not be forwarded"
    assert "deflate" not in seen.tokens("te"), "TE is hop-by-hop (RFC 9110 10.1.4)"
    assert seen.get("user-agent") == "lmesh-test/1"
    assert seen.get("x-request-id") == "abc-123"
    assert seen.get("authorization") == "Bearer t0k3n"
    assert seen.get_all("x-multi") == ["one", "two"], "repeated end-to-end headers keep their order"
    assert upstream.requests[0].body == b"chunk-one|chunk-two", "a re-framed chunked body must arrive intact"


def test_non_websocket_upgrade_is_stripped(proxy, upstream):
    with HttpConn(proxy.outbound) as conn:
        resp = conn.request("GET", "/", [("Host", "svc"), ("Connection", "Upgrade"), ("Upgrade", "foo/1")])
        assert resp.status == 200, resp
        seen = upstream.requests[0].headers
        assert not seen.has("upgrade"), f"a non-websocket Upgrade reached the upstream: {list(seen)}"
        assert conn.request("GET", "/after", [("Host", "svc")]).status == 200, "the connection stays HTTP"


def test_hop_by_hop_response_headers_removed(proxy, upstream):
    upstream.routes["/hop"] = upstreams.fixed(200, b"r", [
        ("Connection", "X-Resp-Hop"), ("X-Resp-Hop", "1"),
        ("Keep-Alive", "timeout=1, max=3"), ("X-Resp-E2E", "yes")])
    resp = get(proxy.outbound, "/hop")
    assert resp.status == 200, resp
    assert not resp.headers.has("x-resp-hop"), f"hop-by-hop header leaked to the client: {resp}"
    assert resp.header("keep-alive") != "timeout=1, max=3", "upstream Keep-Alive leaked to the client"
    assert resp.header("x-resp-e2e") == "yes"


# ---------------------------------------------------------------- bodiless responses

def test_head_response_has_no_body(proxy, upstream):
    upstream.routes["/head"] = upstreams.no_body(200, [("Content-Length", "1234")])
    with HttpConn(proxy.outbound) as conn:
        resp = conn.request("HEAD", "/head", [("Host", "svc")])
        assert resp.status == 200, resp
        assert resp.header("content-length") == "1234", "HEAD keeps the GET's Content-Length"
        follow_up_works(conn, "a HEAD response with Content-Length: 1234")


def follow_up_works(conn, after):
    """A request after a bodiless response: it hangs if the proxy waits for a body."""
    try:
        resp = conn.request("GET", "/", [("Host", "svc")])
    except (TimeoutError, Truncated) as e:
        raise AssertionError(f"the request after {after} got no answer ({e!r}): "
                             "the proxy is waiting for a body that never comes") from None
    assert (resp.status, resp.body) == (200, b"hello from upstream"), resp


def test_204_has_no_body(proxy, upstream):
    upstream.routes["/204"] = upstreams.no_body(204)
    with HttpConn(proxy.outbound, timeout=3) as conn:
        assert conn.request("GET", "/204", [("Host", "svc")]).status == 204
        follow_up_works(conn, "a 204")


def test_304_with_content_length_has_no_body(proxy, upstream):
    # RFC 9110 15.4.5 / RFC 9112 6.3: a 304 never has a body, even with Content-Length.
    upstream.routes["/304"] = upstreams.no_body(304, [("ETag", '"v1"'), ("Content-Length", "100")])
    with HttpConn(proxy.outbound, timeout=3) as conn:
        resp = conn.request("GET", "/304", [("Host", "svc"), ("If-None-Match", '"v1"')])
        assert resp.status == 304 and resp.header("etag") == '"v1"', resp
        follow_up_works(conn, "a 304 with Content-Length: 100")
