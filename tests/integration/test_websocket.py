"""`Upgrade: websocket`: the 101 goes back to the client and the connection then carries
opaque bytes both ways."""
import os
import socket
import threading

import upstreams
from client import HttpConn, build_request

WS_HEADERS = [
    ("Host", "svc"),
    ("Connection", "Upgrade"),
    ("Upgrade", "websocket"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]


def upgrade(proxy, upstream, greeting=b""):
    upstream.routes["/ws"] = upstreams.upgrade_echo(greeting)
    conn = HttpConn(proxy.outbound)
    conn.send(build_request("GET", "/ws", WS_HEADERS))
    resp = conn.read_response()
    assert resp.status == 101, f"expected 101 Switching Protocols, got {resp}"
    return conn, resp


def exchange(conn, payload):
    """Send on a thread while reading, so a big echo cannot deadlock on full buffers."""
    sender = threading.Thread(target=conn.send, args=(payload,), daemon=True)
    sender.start()
    echoed = conn.reader.read_exact(len(payload))
    sender.join(timeout=5)
    return echoed


def test_upgrade_then_bytes_both_ways(proxy, upstream):
    conn, resp = upgrade(proxy, upstream)
    with conn:
        assert "websocket" in resp.headers.tokens("upgrade"), resp
        seen = upstream.requests[0].headers
        assert "websocket" in seen.tokens("upgrade"), "the upstream must see the Upgrade request"
        assert "upgrade" in seen.tokens("connection")
        for payload in (b"\x81\x05hello",  # a text frame
                        b"GET /not-http HTTP/1.1\r\nHost: x\r\n\r\n",  # must not be parsed as HTTP
                        bytes(range(256)) * 4,
                        os.urandom(4 << 20)):
            assert exchange(conn, payload) == payload, f"{len(payload)}-byte payload changed"
        assert len(upstream.requests) == 1, "bytes after the upgrade were parsed as requests"


def test_bytes_sent_with_the_101_arrive(proxy, upstream):
    conn, _ = upgrade(proxy, upstream, greeting=b"\x81\x03hey")
    with conn:
        assert conn.reader.read_exact(5) == b"\x81\x03hey", "server bytes right after the 101 were lost"
        assert exchange(conn, b"ping") == b"ping"


def test_half_close_after_upgrade(proxy, upstream):
    conn, _ = upgrade(proxy, upstream)
    with conn:
        assert exchange(conn, b"last words") == b"last words"
        conn.sock.shutdown(socket.SHUT_WR)
        assert conn.read_eof(), "the upstream's close after our half-close must reach the client"


def test_refused_upgrade_keeps_http(proxy, upstream):
    upstream.routes["/ws"] = upstreams.fixed(200, b"no upgrade for you")
    with HttpConn(proxy.outbound) as conn:
        resp = conn.request("GET", "/ws", WS_HEADERS)
        assert (resp.status, resp.body) == (200, b"no upgrade for you"), resp
        follow = conn.request("GET", "/", [("Host", "svc")])
        assert follow.status == 200, "after a refused upgrade the connection is still HTTP/1.1"
