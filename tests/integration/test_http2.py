"""HTTP/2 (h2c, prior knowledge) through the proxy: real clients (curl, nghttp, h2load, Python's
h2) against an h2 upstream, streams relayed with their bodies, trailers and resets, errors
answered the HTTP/2 (and gRPC) way, abuse turned away."""
import os
import signal
import socket
import subprocess
import time

import h2.errors
import h2.exceptions
import pytest

from h2peers import H2Client, H2Upstream, Reply
from harness import hostport, wait_until
from upstreams import RefusingPort

GRPC_OK = (("content-type", "application/grpc"),)


@pytest.fixture
def h2_upstream(serve):
    return serve(H2Upstream, routes={
        "/": Reply(200, b"hello over h2\n", headers=(("content-type", "text/plain"),)),
        "/echo": Reply(200, echo=True),
        "/trailers": Reply(200, b"\x00\x00\x00\x00\x00", headers=GRPC_OK,
                           trailers=(("grpc-status", "0"), ("grpc-message", "fine"))),
        "/grpc-fail": Reply(200, b"", headers=GRPC_OK,
                            trailers=(("grpc-status", "7"), ("grpc-message", "denied"))),
        "/reset": Reply(200, b"partial", reset=True),
        "/slow": Reply(200, b"slow but sure", delay=0.7),
    })


@pytest.fixture
def h2_proxy(proxy_factory, h2_upstream):
    return proxy_factory(outbound_target=hostport(h2_upstream.addr),
                         inbound_forward=hostport(h2_upstream.addr))


def curl(*args):
    out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10", *args],
                         capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout


@pytest.mark.parametrize("side", ["outbound", "inbound"])
def test_curl_prior_knowledge_both_sides(h2_proxy, h2_upstream, side):
    addr = getattr(h2_proxy, side)
    out = curl("-w", "\n%{http_code} %{http_version}", f"http://{hostport(addr)}/")
    assert out == b"hello over h2\n\n200 2"
    assert h2_upstream.requests[-1].headers[":path"] == "/"
    h2_proxy.wait_metric("request_total", 1, direction=side)
    h2_proxy.wait_metric("response_total", 1, direction=side, status_code="200",
                         classification="success")


def test_request_and_response_bodies_pass_whole(h2_proxy, tmp_path):
    body = os.urandom(3 * 1024 * 1024 + 17)
    src = tmp_path / "body"
    src.write_bytes(body)
    out = curl("--data-binary", f"@{src}", f"http://{hostport(h2_proxy.outbound)}/echo")
    assert out == body


def test_streams_multiplex_on_one_upstream_connection_per_worker(h2_proxy, h2_upstream):
    out = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "16",
                          f"http://{hostport(h2_proxy.outbound)}/"],
                         capture_output=True, text=True, timeout=60)
    assert "2000 succeeded, 0 failed, 0 errored" in out.stdout, out.stdout
    assert h2_upstream.streams_served == 2000
    # Two workers, one multiplexed connection each, reused for every stream.
    assert h2_upstream.accepted <= 2


def test_trailers_and_grpc_status_pass_through_and_are_counted(h2_proxy):
    c = H2Client(h2_proxy.outbound)
    ok = c.get("/trailers", method="POST", body=b"\x00\x00\x00\x00\x00",
               headers=(("content-type", "application/grpc"), ("te", "trailers")))
    assert ok.status == 200 and ok.trailers == {"grpc-status": "0", "grpc-message": "fine"}
    bad = c.get("/grpc-fail", method="POST", body=b"",
                headers=(("content-type", "application/grpc"), ("te", "trailers")))
    assert bad.trailers["grpc-status"] == "7"
    c.close()
    h2_proxy.wait_metric("response_total", 1, direction="outbound", grpc_status_code="0",
                         classification="success")
    h2_proxy.wait_metric("response_total", 1, direction="outbound", grpc_status_code="7",
                         classification="failure")


def test_upstream_reset_after_the_head_resets_the_client_stream(h2_proxy):
    c = H2Client(h2_proxy.outbound)
    r = c.get("/reset")
    # Never a clean end: the head may or may not have gone out before the reset overtook it.
    assert r.reset_code is not None and not r.ended
    # The connection carries on.
    assert c.get("/").status == 200
    c.close()


def test_client_reset_cancels_the_upstream_stream(proxy_factory, serve):
    # The upstream never answers /hang, so the only way the stream ends is the client's reset.
    upstream = serve(H2Upstream, routes={})
    upstream.routes["/hang"] = Reply(200, b"x" * (1 << 20))
    proxy = proxy_factory(outbound_target=hostport(upstream.addr))
    c = H2Client(proxy.outbound)
    c.auto_ack = False  # the 1 MiB cannot all arrive: the stream stays open
    sid = c.request("/hang")
    c.pump(lambda: c.responses[sid].status == 200)
    c.reset(sid)
    wait_until(lambda: upstream.resets, message="upstream saw the reset")
    c.close()
    proxy.wait_metric("tcp_open_connections", 1, direction="outbound", peer="dst")


def test_dead_upstream_gets_502_and_grpc_gets_unavailable(proxy_factory, serve):
    dead = serve(RefusingPort)
    proxy = proxy_factory(outbound_target=hostport(dead.addr))
    c = H2Client(proxy.outbound)
    plain = c.get("/")
    assert plain.status == 502
    assert plain.headers["lmesh-proxy-error"] == "upstream connection refused"
    grpc = c.get("/svc/Method", method="POST", body=b"",
                 headers=(("content-type", "application/grpc"),))
    assert grpc.status == 200 and grpc.headers["grpc-status"] == "14"
    c.close()
    proxy.wait_metric("http_errors_total", 2, direction="outbound", reason="connect_refused")
    proxy.wait_metric("response_total", 1, direction="outbound", grpc_status_code="14",
                      classification="failure")


def test_upstream_goaway_is_followed_by_a_new_connection_with_no_failed_request(proxy_factory,
                                                                                 serve):
    upstream = serve(H2Upstream, routes={"/": Reply(200, b"ok")}, goaway_after=50)
    proxy = proxy_factory(outbound_target=hostport(upstream.addr))
    out = subprocess.run(["h2load", "-n", "1000", "-c", "4", "-m", "8",
                          f"http://{hostport(proxy.outbound)}/"],
                         capture_output=True, text=True, timeout=60)
    assert "1000 succeeded, 0 failed, 0 errored" in out.stdout, out.stdout
    assert upstream.accepted >= 1000 // 50 // 2  # it really did go away, again and again


def test_oversized_header_block_is_a_stream_error_not_a_connection_error(h2_proxy):
    c = H2Client(h2_proxy.outbound)
    big = c.get("/", headers=(("x-big", "v" * 70000),))
    assert big.status == 431
    assert c.get("/").status == 200  # the connection survives
    c.close()
    h2_proxy.wait_metric("http_errors_total", 1, direction="outbound", reason="header_too_large")


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags=0, stream=0, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def goaway_code(data):
    """The error code of the first GOAWAY frame in `data` (frames from the start), or None."""
    at = 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at:at + 3], "big")
        if data[at + 3] == 7 and at + 9 + 8 <= len(data):
            return int.from_bytes(data[at + 13:at + 17], "big")
        at += 9 + length
    return None


@pytest.mark.deadline(60)
@pytest.mark.parametrize("kind", ["ping", "settings"])
def test_control_frame_flood_from_a_client_that_never_reads(h2_proxy, kind):
    # Every PING and SETTINGS wants an acknowledgement. A client that sends them and never
    # reads fills the proxy's socket, then its queue of answers: the proxy must give up with
    # ENHANCE_YOUR_CALM (CVE-2019-9512/9515) instead of buffering answers without bound.
    one = frame(6, payload=b"12345678") if kind == "ping" else frame(4)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(h2_proxy.outbound)
    s.sendall(PREFACE + frame(4))
    batch = one * 5000
    try:
        for _ in range(160):  # up to 800k frames
            s.sendall(batch)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass  # the proxy stopped listening to us: what we want
    h2_proxy.wait_metric("http_errors_total", 1, timeout=15, direction="outbound",
                         reason="h2_flood")
    got = bytearray()
    try:
        while len(got) < 64 << 20:
            data = s.recv(1 << 20)
            if not data:
                break
            got += data
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    code = goaway_code(bytes(got))
    assert code in (None, 0xb)  # ENHANCE_YOUR_CALM when the GOAWAY got through at all
    # And the proxy is fine for everyone else.
    assert H2Client(h2_proxy.outbound).get("/").status == 200


def test_rapid_reset_flood_ends_with_enhance_your_calm(h2_proxy):
    c = H2Client(h2_proxy.outbound)
    conn = c.conn
    try:
        for i in range(5000):
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"),
                                    (":authority", "svc.test"), (":path", "/")])
            conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            if i % 100 == 99:
                c.sock.sendall(conn.data_to_send())
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        c.pump(lambda: c.goaway is not None or c.closed, timeout=10)
    except (h2.exceptions.ProtocolError, ConnectionResetError):
        pass
    assert c.goaway is not None and c.goaway.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    c.close()
    h2_proxy.wait_metric("http_errors_total", 1, direction="outbound", reason="h2_flood")
    assert H2Client(h2_proxy.outbound).get("/").status == 200


def test_garbage_after_the_preface_is_a_connection_error(h2_proxy):
    s = socket.create_connection(h2_proxy.outbound, timeout=5)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 64)
    got = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        got += data
    s.close()
    assert goaway_code(got) == 0x1  # PROTOCOL_ERROR, in a GOAWAY before the close
    h2_proxy.wait_metric("http_errors_total", 1, direction="outbound")


@pytest.mark.deadline(90)
def test_slow_reader_holds_memory_bounded_then_gets_every_byte(proxy_factory, tmp_path):
    # nghttpd serves a 1 GiB (sparse) file over h2c; the client does not read for a while,
    # then reads it all. The proxy's memory must not follow the body.
    root = tmp_path / "www"
    root.mkdir()
    size = 1 << 30
    with open(root / "big", "wb") as f:
        f.truncate(size)
    port_probe = socket.socket()
    port_probe.bind(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    server = subprocess.Popen(["nghttpd", "--no-tls", "-d", str(root), "-a", "127.0.0.1",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _connects(("127.0.0.1", port)), message="nghttpd listening")
        proxy = proxy_factory(outbound_target=f"127.0.0.1:{port}")
        before = proxy.rss_kib()
        c = H2Client(proxy.outbound, timeout=30)
        sid = c.request("/big")
        time.sleep(2.0)  # not reading: the proxy's queue fills, then flow control holds
        stalled = proxy.rss_kib()
        received = 0
        r = c.responses[sid]

        def done():  # counts bytes instead of keeping a gigabyte in the test
            nonlocal received
            received += len(r.body)
            r.body.clear()
            return r.ended or r.reset_code is not None

        c.pump(done, timeout=80)
        c.close()
        assert r.status == 200 and r.ended
        assert received == size
        assert stalled - before < 32 * 1024, f"RSS grew {stalled - before} KiB while stalled"
        assert proxy.hwm_kib() - before < 64 * 1024
    finally:
        server.kill()
        server.wait()


def _connects(addr):
    try:
        socket.create_connection(addr, timeout=1).close()
        return True
    except OSError:
        return False


def test_http1_upgrade_to_h2c_is_declined_and_answered_over_http1(proxy, upstream):
    out = subprocess.run(["curl", "-sS", "--http2", "-w", "\n%{http_version}",
                          f"http://{hostport(proxy.outbound)}/"],
                         capture_output=True, timeout=20)
    assert out.returncode == 0
    assert out.stdout.endswith(b"\n1.1")
    assert not upstream.requests[-1].headers.has("upgrade")


def test_nghttp_client_with_many_concurrent_streams(h2_proxy):
    url = f"http://{hostport(h2_proxy.outbound)}/"
    out = subprocess.run(["nghttp", "-n", "-s", "-m", "50", url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    h2_proxy.wait_metric("response_total", 50, direction="outbound", status_code="200")


def test_sigterm_lets_every_stream_in_flight_finish(h2_proxy, h2_upstream):
    # 40 streams are at the upstream when SIGTERM comes: the client hears GOAWAY, every one of
    # them still completes, and the proxy exits cleanly once they have. (h2load as the client:
    # python-h2 stops taking frames once it hears a GOAWAY, curl 7.88 fumbles -Z with h2c.)
    url = f"http://{hostport(h2_proxy.outbound)}/slow"
    client = subprocess.Popen(["h2load", "-n", "40", "-c", "1", "-m", "40", url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: len(h2_upstream.requests) == 40, message="requests at the upstream")
        h2_proxy.signal(signal.SIGTERM)
        out, err = client.communicate(timeout=20)
    finally:
        client.kill()
    assert "40 succeeded, 0 failed, 0 errored" in out.decode(), out.decode() + err.decode()
    assert "status codes: 40 2xx" in out.decode()
    assert h2_proxy.wait(10) == 0


def test_keepalive_finds_a_silent_upstream_dead(proxy_factory, serve):
    upstream = serve(H2Upstream, routes={"/freeze": Reply(200, b"x" * 100000, freeze=True)})
    proxy = proxy_factory(outbound_target=hostport(upstream.addr),
                          h2_keepalive_interval="200ms", h2_keepalive_timeout="300ms")
    c = H2Client(proxy.outbound)
    started = time.monotonic()
    r = c.get("/freeze")
    # The head and a window's worth of body came, then nothing: only the unanswered PING
    # tells the proxy the upstream is gone, and the client's stream is reset.
    assert r.status == 200 and r.reset_code is not None and not r.ended
    assert time.monotonic() - started < 3
    c.close()
    proxy.wait_metric("http_errors_total", 1, direction="outbound", reason="upstream_reset")


def test_keepalive_closes_a_client_that_stopped_answering(proxy_factory, h2_upstream):
    proxy = proxy_factory(outbound_target=hostport(h2_upstream.addr),
                          h2_keepalive_interval="200ms", h2_keepalive_timeout="300ms")
    c = H2Client(proxy.outbound)
    assert c.get("/").status == 200
    time.sleep(1.0)  # not reading: the proxy's PING goes unanswered
    c.pump(lambda: c.closed, timeout=5)
    assert c.closed
    # A client that keeps reading keeps its connection.
    c2 = H2Client(proxy.outbound)
    for _ in range(8):
        assert c2.get("/").status == 200
        time.sleep(0.1)
    assert not c2.closed
    c2.close()


def test_a_full_upstream_connection_gets_a_sibling(proxy_factory, serve):
    # The upstream allows 10 concurrent streams. 25 at once from one client (so one worker):
    # the proxy opens more upstream connections instead of queueing behind the first.
    upstream = serve(H2Upstream, routes={"/slow": Reply(200, b"ok", delay=0.5)}, max_streams=10)
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), workers=1)
    # First one request, so the upstream's SETTINGS (its limit) are known: python-h2 answers
    # streams over the limit with a connection error rather than REFUSED_STREAM.
    assert curl(f"http://{hostport(proxy.outbound)}/slow") == b"ok"
    out = subprocess.run(["h2load", "-n", "25", "-c", "1", "-m", "25",
                          f"http://{hostport(proxy.outbound)}/slow"],
                         capture_output=True, text=True, timeout=30)
    assert "25 succeeded, 0 failed, 0 errored" in out.stdout, out.stdout
    assert upstream.accepted == 3


def test_no_response_head_in_time_is_504_or_deadline_exceeded(proxy_factory, serve):
    upstream = serve(H2Upstream, routes={"/late": Reply(200, b"too late", delay=2.0),
                                         "/": Reply(200, b"ok")})
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), upstream_timeout="300ms")
    c = H2Client(proxy.outbound)
    started = time.monotonic()
    late = [c.request("/late") for _ in range(3)]
    grpc = c.request("/late", method="POST", body=b"", headers=(("content-type", "application/grpc"),))
    fine = c.request("/")
    c.pump(lambda: all(c.responses[s].ended for s in [*late, grpc, fine]))
    assert time.monotonic() - started < 1.5
    assert [c.responses[s].status for s in late] == [504] * 3
    assert c.responses[late[0]].headers["lmesh-proxy-error"] == "upstream timeout"
    assert c.responses[grpc].headers["grpc-status"] == "4"
    assert c.responses[fine].status == 200
    c.close()
    proxy.wait_metric("http_errors_total", 4, direction="outbound", reason="upstream_timeout")


def test_streams_over_the_concurrency_limit_are_refused_not_fatal(h2_proxy, h2_upstream):
    # The proxy allows 100 concurrent streams per client connection. 130 sent before its
    # SETTINGS could arrive: 100 are served, the rest refused with REFUSED_STREAM (safe to
    # retry, RFC 9113 §8.7), and the connection carries on.
    c = H2Client(h2_proxy.outbound)
    sids = [c.request("/slow") for _ in range(130)]
    c.pump(lambda: all(c.responses[s].ended or c.responses[s].reset_code for s in sids),
           timeout=15)
    served = [s for s in sids if c.responses[s].status == 200 and c.responses[s].ended]
    refused = [s for s in sids if c.responses[s].reset_code == h2.errors.ErrorCodes.REFUSED_STREAM]
    assert len(served) == 100 and len(refused) == 30
    assert c.get("/").status == 200
    c.close()
    h2_proxy.wait_metric("http_errors_total", 30, direction="outbound", reason="stream_refused")
