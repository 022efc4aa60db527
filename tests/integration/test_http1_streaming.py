"""Bodies in motion: pipelining, chunked bodies with trailers, re-framing, 100-continue, and
1 GiB bodies streamed both ways in bounded memory (also with a slow reader)."""
import json
import time

import pytest

import upstreams
from client import HttpConn, build_request
from harness import wait_until
from wire import Digest, PatternStream

GIB = 1 << 30
MEMORY_LIMIT_KIB = 64 * 1024  # VmHWM the proxy may reach while moving a GiB
# Under ASan, freed buffers sit in a 256 MiB quarantine: still far below a buffered GiB.
ASAN_MEMORY_LIMIT_KIB = 640 * 1024


def memory_limit_kib(proxy):
    return ASAN_MEMORY_LIMIT_KIB if proxy.sanitized() else MEMORY_LIMIT_KIB


def test_pipelined_requests_answered_in_order(proxy, upstream):
    upstream.routes["/slow"] = upstreams.delayed(0.3, upstreams.fixed(200, b"first"))
    upstream.routes["/chunked"] = upstreams.chunked([b"fo", b"urth"])
    requests = [
        build_request("GET", "/slow", [("Host", "svc")]),
        build_request("POST", "/echo", [("Host", "svc")], b"second-body"),
        build_request("GET", "/", [("Host", "svc")]),
        build_request("GET", "/chunked", [("Host", "svc")]),
        build_request("HEAD", "/", [("Host", "svc")]),
    ]
    with HttpConn(proxy.outbound) as conn:
        conn.send(b"".join(requests))  # one write: the proxy sees them pipelined
        responses = [conn.read_response(method=m) for m in ("GET", "POST", "GET", "GET", "HEAD")]
    assert [r.status for r in responses] == [200] * 5, [str(r) for r in responses]
    assert responses[0].body == b"first", "the slow first response must come first"
    assert responses[1].body.endswith(b"second-body")
    assert responses[2].body == b"hello from upstream"
    assert responses[3].body == b"fourth"
    assert responses[4].body == b""
    assert upstream.paths() == ["/slow", "/echo", "/", "/chunked", "/"]


def test_chunked_request_body_with_trailers(proxy, upstream):
    parts = [b"a" * 1, b"b" * 4096, b"c" * 70000, b"d" * 3]
    with HttpConn(proxy.outbound) as conn:
        conn.send(build_request("POST", "/echo", [("Host", "svc"), ("Trailer", "X-Checksum")], parts,
                                chunked=True, trailers=[("X-Checksum", "sum-42")]))
        resp = conn.read_response()
        assert resp.status == 200, resp
        req = upstream.requests[0]
        assert req.body == b"".join(parts), "chunked request body changed"
        assert req.trailers.get("x-checksum") == "sum-42", f"request trailers lost: {list(req.trailers)}"
        assert conn.request("GET", "/", [("Host", "svc")]).status == 200, "connection usable after it"


def test_chunked_response_body_with_trailers(proxy, upstream):
    parts = [b"x" * n for n in (1, 10, 65536, 100000, 7)]
    upstream.routes["/chunked"] = upstreams.chunked(parts, trailers=[("X-Trailer-Sum", "abc")])
    with HttpConn(proxy.outbound) as conn:
        resp = conn.request("GET", "/chunked", [("Host", "svc"), ("TE", "trailers")])
        assert resp.status == 200, resp
        assert resp.body == b"".join(parts)
        assert resp.framing == "chunked", f"trailers need chunked framing, got {resp.framing}"
        assert resp.trailers.get("x-trailer-sum") == "abc", f"response trailers lost: {list(resp.trailers)}"
        assert conn.request("GET", "/", [("Host", "svc")]).status == 200


def test_close_delimited_response_is_reframed_for_http11(proxy, upstream):
    body = bytes(range(256)) * 400
    upstream.routes["/close"] = upstreams.close_delimited(body)
    with HttpConn(proxy.outbound) as conn:
        resp = conn.request("GET", "/close", [("Host", "svc")])
        assert resp.status == 200, resp
        assert resp.body == body
        assert resp.framing == "chunked", \
            f"a close-delimited upstream body should be re-framed as chunked, got {resp.framing}"
        follow = conn.request("GET", "/", [("Host", "svc")])
        assert follow.status == 200, "the downstream connection stays alive after a re-framed body"


def test_expect_100_continue(proxy, upstream):
    upstream.routes["/upload"] = upstreams.expect_continue()
    body = b"z" * 10000
    with HttpConn(proxy.outbound, timeout=5) as conn:
        conn.send(build_request("POST", "/upload", [("Host", "svc"), ("Expect", "100-continue"),
                                                    ("Content-Length", str(len(body)))]))
        interim = conn.read_head()  # a client waits for this before sending the body
        assert interim.status == 100, f"expected 100 Continue before the body, got {interim}"
        conn.send(body)
        resp = conn.read_response(method="POST")
    assert resp.status == 200, resp
    assert json.loads(resp.body) == {"bytes": len(body)}


# ---------------------------------------------------------------- a GiB each way

def assert_memory_bounded(proxy, what):
    hwm, limit = proxy.hwm_kib(), memory_limit_kib(proxy)
    assert hwm < limit, f"proxy VmHWM {hwm} KiB after {what}, limit {limit} KiB"


@pytest.mark.deadline(90)
def test_one_gib_request_body_streams_in_bounded_memory(proxy, upstream):
    upstream.routes["/sink"] = upstreams.sink()
    sent = Digest()
    started = time.monotonic()
    with HttpConn(proxy.outbound, timeout=30) as conn:
        conn.send(build_request("POST", "/sink", [("Host", "svc"), ("Content-Length", str(GIB))]))
        for block in PatternStream(GIB).blocks():
            conn.send(block)
            sent.update(block)
        resp = conn.read_response(method="POST")
    elapsed = time.monotonic() - started
    assert resp.status == 200, resp
    got = json.loads(resp.body)
    assert (got["bytes"], got["crc32"]) == sent.as_tuple(), "request body arrived changed"
    assert elapsed < 60, f"1 GiB upload took {elapsed:.1f}s"
    assert_memory_bounded(proxy, "a 1 GiB request body")


@pytest.mark.deadline(90)
def test_one_gib_response_body_streams_in_bounded_memory(proxy, upstream):
    upstream.routes["/big"] = upstreams.stream(GIB)
    got = Digest()
    started = time.monotonic()
    with HttpConn(proxy.outbound, timeout=30) as conn:
        conn.send(build_request("GET", "/big", [("Host", "svc")]))
        resp = conn.read_response(sink=got.update)
    elapsed = time.monotonic() - started
    assert resp.status == 200, resp
    wait_until(lambda: "digest" in upstream.stats, 5, message="upstream to finish sending")
    assert got.as_tuple() == upstream.stats["digest"], "response body arrived changed"
    assert elapsed < 60, f"1 GiB download took {elapsed:.1f}s"
    assert_memory_bounded(proxy, "a 1 GiB response body")


@pytest.mark.deadline(90)
def test_slow_reader_backpressures_upstream(proxy, upstream):
    upstream.routes["/big"] = upstreams.stream(GIB)
    got = Digest()
    with HttpConn(proxy.outbound, timeout=30) as conn:
        conn.send(build_request("GET", "/big", [("Host", "svc")]))
        head = conn.read_head()
        assert head.status == 200, head
        got.update(conn.reader.read_some(1 << 20))

        # The client stops reading: the upstream must stall once the buffers along the path are
        # full, instead of the proxy queueing the rest of the GiB in memory.
        plateau = wait_until(_stalled(upstream), 20, interval=0.5, message="the upstream to stall")
        assert plateau < GIB // 8, f"upstream sent {plateau} bytes to a client that reads nothing"
        assert proxy.rss_kib() < memory_limit_kib(proxy), f"proxy RSS {proxy.rss_kib()} KiB while client paused"

        for _ in range(20):  # a trickle: the proxy keeps a bounded amount in flight
            got.update(conn.reader.read_some(64 << 10))
            time.sleep(0.05)
        assert proxy.rss_kib() < memory_limit_kib(proxy), f"proxy RSS {proxy.rss_kib()} KiB during a slow read"

        while got.count < GIB:
            data = conn.reader.read_some(1 << 20)
            assert data, f"connection closed after {got.count} of {GIB} body bytes"
            got.update(data)
    wait_until(lambda: "digest" in upstream.stats, 5, message="upstream to finish sending")
    assert got.as_tuple() == upstream.stats["digest"], "response body arrived changed"
    assert_memory_bounded(proxy, "a 1 GiB response to a slow reader")


def _stalled(upstream):
    """A wait_until condition: the upstream's sent counter has not moved since the last poll."""
    last = [-1]

    def check():
        now = upstream.stats.get("sent", 0)
        stalled = now == last[0] and now > 0
        last[0] = now
        return now if stalled else None
    return check
