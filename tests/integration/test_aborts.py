"""Clients that go away at every stage of an exchange. After each, the proxy has released the
downstream connection (tcp_open_connections back to 0), has not left the upstream side
dangling, and still serves. Under the ASan build these double as use-after-free probes."""
import socket

import pytest

import upstreams
from client import HttpConn, build_request, get
from harness import wait_until
from wire import set_linger_reset

GIB = 1 << 30


def abort(conn_or_sock):
    sock = getattr(conn_or_sock, "sock", conn_or_sock)
    set_linger_reset(sock)
    sock.close()


def assert_released_and_healthy(proxy):
    proxy.wait_metric("tcp_open_connections", 0, direction="outbound", peer="src")
    resp = get(proxy.outbound)
    assert resp.status == 200, f"proxy unhealthy after a client abort: {resp}"


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_client_leaves_mid_head(proxy, upstream, how):
    sock = socket.create_connection(proxy.outbound, timeout=5)
    sock.sendall(b"GET /partial HTTP/1.1\r\nHost: sv")
    abort(sock) if how == "rst" else sock.close()
    assert_released_and_healthy(proxy)
    assert "/partial" not in upstream.paths()


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_client_leaves_mid_request_body(proxy, upstream, how):
    conn = HttpConn(proxy.outbound)
    conn.send(build_request("POST", "/echo", [("Host", "svc"), ("Content-Length", "1000000")]) + b"x" * 1000)
    wait_until(lambda: "/echo" in upstream.paths(), 5, message="the request head to reach the upstream")
    abort(conn) if how == "rst" else conn.close()
    wait_until(lambda: upstream.closed >= 1, 5,
               message="the proxy to close the upstream connection of an unfinishable request")
    assert not upstream.requests[0].complete, "a truncated body was completed towards the upstream"
    assert_released_and_healthy(proxy)


def test_client_resets_right_after_sending_request(proxy, upstream):
    """The reset may arrive while the proxy is still connecting upstream / forwarding."""
    upstream.routes["/hang"] = upstreams.hang()
    conn = HttpConn(proxy.outbound)
    conn.send(build_request("GET", "/hang", [("Host", "svc")]))
    abort(conn)  # no waiting: the race window is the point
    proxy.wait_metric("tcp_open_connections", 0, direction="outbound", peer="src")
    wait_until(lambda: upstream.closed == upstream.accepted, 5,
               message="the proxy to close the upstream side of the abandoned request")
    assert_released_and_healthy(proxy)


def test_client_leaves_while_waiting_for_response(proxy, upstream):
    upstream.routes["/hang"] = upstreams.hang()
    conn = HttpConn(proxy.outbound)
    conn.send(build_request("GET", "/hang", [("Host", "svc")]))
    wait_until(lambda: "/hang" in upstream.paths(), 5, message="the request to reach the upstream")
    abort(conn)
    wait_until(lambda: upstream.closed >= 1, 5,
               message="the proxy to cancel the upstream exchange after the client reset")
    assert_released_and_healthy(proxy)


@pytest.mark.deadline(60)
def test_client_resets_mid_response_body(proxy, upstream):
    upstream.routes["/big"] = upstreams.stream(GIB)
    conn = HttpConn(proxy.outbound)
    conn.send(build_request("GET", "/big", [("Host", "svc")]))
    assert conn.read_head().status == 200
    conn.reader.read_some(1 << 20)
    abort(conn)
    wait_until(lambda: upstream.closed >= 1, 10,
               message="the proxy to stop the upstream body after the client reset")
    assert upstream.stats["sent"] < GIB // 2, "the proxy kept pulling a body nobody will read"
    assert_released_and_healthy(proxy)


def test_client_resets_opaque_relay(proxy_factory, serve):
    echo = serve(upstreams.EchoServer)
    proxy = proxy_factory(outbound_target=f"127.0.0.1:{echo.port}", opaque_ports=str(echo.port))
    sock = socket.create_connection(proxy.outbound, timeout=5)
    sock.sendall(b"data")
    assert sock.recv(4) == b"data"
    abort(sock)
    wait_until(lambda: echo.eofs == 1, 5, message="the upstream side of the relay to be closed")
    proxy.wait_metric("tcp_open_connections", 0, direction="outbound", peer="src")


def test_many_aborts_then_clean_shutdown(proxy, upstream):
    """A burst of every kind of abort; the harness then checks for a clean exit 0."""
    upstream.routes["/hang"] = upstreams.hang()
    for i in range(30):
        conn = HttpConn(proxy.outbound)
        stage = i % 3
        if stage == 0:
            conn.send(b"GET / HTTP/1.1\r\nHo")
        elif stage == 1:
            conn.send(build_request("POST", "/echo", [("Host", "svc"), ("Content-Length", "100")]) + b"x")
        else:
            conn.send(build_request("GET", "/hang", [("Host", "svc")]))
        abort(conn)
    assert_released_and_healthy(proxy)
