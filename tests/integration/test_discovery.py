"""The proxy with lmesh-destination, both real processes: outbound HTTP/1.1 requests are
routed by the service profile and balanced over the endpoints of the mesh file (made at test
time and edited while the proxy runs); upstreams are loopback HTTP servers that say who they
are. Peak-EWMA steers away from a slow endpoint, failure accrual ejects a failing one and lets
it back, a traffic split lands on its weights, route timeouts and injected faults do what the
profile says, and a restart of the destination service costs no request.

Run: LMESH_PROXY=build/src/proxy/lmesh-proxy LMESH_DESTINATION=build/src/destination/lmesh-destination \\
     /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_discovery.py
"""
import collections
import json
import socket
import threading
import time

import pytest

import upstreams
from client import HttpConn
from harness import MeshFile, hostport, wait_until
from wire import SockReader

WEB = "web.test.svc.cluster.local:8080"


def service_yaml(authority, endpoints, profile=None):
    out = f"  {authority}:\n    endpoints:\n"
    out += "".join(f"      - addr: {hostport(u.addr)}\n" for u in endpoints) or "      []\n"
    if profile:
        out += "    profile: " + json.dumps(profile) + "\n"
    return out


def mesh_text(*services):
    return "services:\n" + "".join(services)


def named(serve, name, **routes):
    """An upstream whose every answer says `name`."""
    return serve(upstreams.HttpUpstream, default=upstreams.fixed(200, name.encode()),
                 routes=routes)


def load(proxy, authority, count, threads=4, path="/"):
    """`count` GETs through the outbound listener over `threads` keep-alive connections;
    returns Counter of (status, body)."""
    results = collections.Counter()
    lock = threading.Lock()
    per_thread = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]

    def run(n):
        local = collections.Counter()
        conn = HttpConn(proxy.outbound, timeout=10)
        try:
            for _ in range(n):
                r = conn.request("GET", path, [("Host", authority)])
                local[(r.status, r.body)] += 1
                if r.header("connection") == "close":
                    conn.sock.close()
                    conn = HttpConn(proxy.outbound, timeout=10)
        finally:
            conn.sock.close()
        with lock:
            results.update(local)
    workers = [threading.Thread(target=run, args=(n,)) for n in per_thread]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def bodies(results):
    out = collections.Counter()
    for (status, body), n in results.items():
        assert status == 200, f"{n} responses with status {status}: {body!r}"
        out[body.decode()] += n
    return out


@pytest.fixture
def mesh(tmp_path):
    return MeshFile(tmp_path / "mesh.yaml")


@pytest.fixture
def meshed_proxy(proxy_factory, start_destination, mesh):
    """(proxy, destination): a proxy following a destination service that serves `mesh`,
    which the test writes before asking for it."""
    def make(text, **flags):
        mesh.write(text)
        dst = start_destination(mesh_file=mesh.path)
        proxy = proxy_factory(destination_addr=hostport(dst.api), **flags)
        return proxy, dst
    return make


def test_requests_are_balanced_over_the_discovered_endpoints(meshed_proxy, serve):
    a, b, c = (named(serve, n) for n in "abc")
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [a, b, c])))
    seen = bodies(load(proxy, WEB, 300))
    # Every endpoint takes requests. (How evenly depends on this machine's latency noise:
    # peak-EWMA remembers a scheduling hiccup for seconds, by design.)
    assert set(seen) == {"a", "b", "c"}, seen
    # Host without a port: the port is 80, which this mesh does not know → passes through.
    outside = named(serve, "outside")
    assert bodies(load(proxy, hostport(outside.addr), 5, threads=1)) == {"outside": 5}
    proxy.wait_metric("discovery_authorities", 1, state="resolved")
    proxy.wait_metric("discovery_authorities", 1, state="not_found")


def test_endpoint_edits_reach_a_running_proxy_within_a_second(meshed_proxy, mesh, serve):
    a, b = named(serve, "a"), named(serve, "b")
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [a])), failfast_timeout="200ms")
    assert bodies(load(proxy, WEB, 20, threads=1)) == {"a": 20}
    edited = time.monotonic()
    mesh.write(mesh_text(service_yaml(WEB, [b])))
    wait_until(lambda: bodies(load(proxy, WEB, 4, threads=1)) == {"b": 4}, timeout=1.0,
               interval=0.01, message="requests to move to the added endpoint")
    assert time.monotonic() - edited < 1.0
    # Every endpoint removed: a request waits --failfast-timeout for one, then gets 503.
    mesh.write(mesh_text(service_yaml(WEB, [])))

    def refused():
        with HttpConn(proxy.outbound) as conn:
            r = conn.request("GET", "/", [("Host", WEB)])
            return r.status == 503 and r.header("lmesh-proxy-error") == "no ready endpoints"
    wait_until(refused, timeout=2.0, interval=0.01, message="503 no ready endpoints")
    assert proxy.metric("http_errors_total", reason="no_endpoints") >= 1


@pytest.mark.deadline(60)
def test_peak_ewma_sends_a_slow_endpoint_little_traffic(meshed_proxy, serve):
    # 50 ms slower than its peers. Round-robin would send it a third of the requests (and the
    # unit test's simulation shows it); peak-EWMA sends it under 10 %.
    fast1, fast2 = named(serve, "fast1"), named(serve, "fast2")
    slow = serve(upstreams.HttpUpstream,
                 default=upstreams.delayed(0.05, upstreams.fixed(200, b"slow")))
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [fast1, fast2, slow])), workers=1)
    seen = bodies(load(proxy, WEB, 5000, threads=8))
    assert sum(seen.values()) == 5000
    assert seen["slow"] < 500, seen


@pytest.mark.deadline(60)
def test_failure_accrual_ejects_a_failing_endpoint_and_lets_it_back(meshed_proxy, serve):
    healthy = named(serve, "healthy")
    state = {"failing": True}

    def flaky(ex):
        ex.read_body()
        if state["failing"]:
            ex.respond(500, b"broken")
        else:
            ex.respond(200, b"flaky")
    sick = serve(upstreams.HttpUpstream, default=flaky)
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [healthy, sick])), workers=1)
    first = load(proxy, WEB, 200, threads=1)
    failures = first[(500, b"broken")]
    # 7 consecutive failures eject it; what it got after that were single probes (the first
    # after 1 s at the earliest, and this loop is far shorter than that).
    assert 7 <= failures <= 8, first
    assert first[(200, b"healthy")] == 200 - failures
    state["failing"] = False
    # The first probe comes after the backoff (1 s, jittered); once it succeeds the endpoint
    # is back and takes its share again.
    wait_until(lambda: bodies(load(proxy, WEB, 50, threads=1)).get("flaky", 0) >= 10,
               timeout=5.0, interval=0.2, message="the healed endpoint to take traffic again")


@pytest.mark.deadline(90)
def test_a_90_10_split_lands_within_3_percent(meshed_proxy, serve):
    v1, v2 = named(serve, "v1"), named(serve, "v2")
    v1_name, v2_name = "web-v1.test.svc.cluster.local:8080", "web-v2.test.svc.cluster.local:8080"
    split = {"backends": [{"authority": v1_name, "weight": 90}, {"authority": v2_name, "weight": 10}]}
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [], split), service_yaml(v1_name, [v1]),
                                      service_yaml(v2_name, [v2])))
    seen = bodies(load(proxy, WEB, 10000, threads=4))
    share = seen["v2"] / 10000
    assert abs(share - 0.10) <= 0.03, seen
    # The split is visible per backend service.
    for name, backend in (("v1", v1_name), ("v2", v2_name)):
        assert proxy.metric("backend_request_total", dst=WEB, backend=backend) == seen[name]
        assert proxy.metric("backend_response_total", dst=WEB, backend=backend,
                            classification="success") == seen[name]


def test_route_timeouts_and_injected_faults(meshed_proxy, serve):
    app = serve(upstreams.HttpUpstream, default=upstreams.fixed(200, b"app"), routes={
        "/slow": upstreams.delayed(2.0, upstreams.fixed(200, b"late")),
    })
    profile = {"routes": [
        {"name": "slow", "path_regex": "/slow", "timeout_ms": 200},
        {"name": "abort", "path_regex": "/abort", "fault": {"abort": {"percent": 100, "status": 418}}},
        {"name": "half", "path_regex": "/half", "fault": {"abort": {"percent": 50, "status": 503}}},
        {"name": "delay", "path_regex": "/delay", "fault": {"delay": {"percent": 100, "ms": 300}}},
    ]}
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [app], profile)))
    with HttpConn(proxy.outbound) as conn:
        started = time.monotonic()
        r = conn.request("GET", "/slow", [("Host", WEB)])
        assert r.status == 504 and r.header("lmesh-proxy-error") == "route timeout"
        assert time.monotonic() - started < 1.5
    with HttpConn(proxy.outbound) as conn:
        r = conn.request("GET", "/abort", [("Host", WEB)])
        assert r.status == 418 and r.header("lmesh-proxy-error") == "fault injected"
    with HttpConn(proxy.outbound) as conn:
        started = time.monotonic()
        r = conn.request("GET", "/delay", [("Host", WEB)])
        assert r.status == 200 and r.body == b"app"
        assert time.monotonic() - started >= 0.3
    half = load(proxy, WEB, 400, threads=4, path="/half")
    aborted = sum(n for (status, _), n in half.items() if status == 503)
    assert half[(200, b"app")] + aborted == 400
    assert 140 <= aborted <= 260, half  # 50 % ± 6 standard deviations
    assert proxy.metric("http_errors_total", reason="fault_injected") == 1 + aborted
    assert proxy.metric("http_errors_total", reason="route_timeout") == 1
    # The proxy's own answers count on the route the request matched, as Linkerd counts them.
    assert proxy.metric("route_request_total", dst=WEB, route="abort") == 1
    assert proxy.metric("route_response_total", dst=WEB, route="abort", status_code="418",
                        classification="failure") == 1
    assert proxy.metric("route_request_total", dst=WEB, route="half") == 400
    assert proxy.metric("route_response_total", dst=WEB, route="half", status_code="503") == aborted
    assert proxy.metric("route_response_total", dst=WEB, route="slow", status_code="504") == 1


def test_a_service_without_endpoints_counts_its_503s_on_its_route(meshed_proxy):
    profile = {"routes": [{"name": "all"}]}
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [], profile)), workers=1,
                            failfast_timeout="200ms")
    for _ in range(3):
        with HttpConn(proxy.outbound) as conn:  # the proxy closes after its 503
            r = conn.request("GET", "/", [("Host", WEB)])
            assert r.status == 503 and r.header("lmesh-proxy-error") == "no ready endpoints", r
    assert proxy.metric("route_request_total", dst=WEB, route="all") == 3
    assert proxy.metric("route_response_total", dst=WEB, route="all", status_code="503",
                        classification="failure") == 3


def timed_get(proxy, authority, timeout=10):
    """(response, seconds) of one GET through the outbound listener on a new connection."""
    with HttpConn(proxy.outbound, timeout=timeout) as conn:
        started = time.monotonic()
        r = conn.request("GET", "/", [("Host", authority)])
        return r, time.monotonic() - started


def test_requests_wait_for_a_service_s_first_endpoints(meshed_proxy, mesh, serve):
    # A service announced before its pods (scaled from zero, or a mesh coming up): its first
    # requests wait, as in Linkerd's balancer queue, instead of failing with 503.
    a = named(serve, "a")
    echo = serve(upstreams.EchoServer)
    STOCK = "198.18.0.9:7070"  # an opaque service reached by address, as through iptables
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, []), service_yaml(STOCK, [])),
                            outbound_service_listen=f"127.0.0.1:0={STOCK}", opaque_ports="7070",
                            expect=("outbound", "inbound", "admin", f"outbound for={STOCK}"))
    answers = []
    waiter = threading.Thread(target=lambda: answers.append(timed_get(proxy, WEB)))
    waiter.start()
    opaque = socket.create_connection(proxy.addrs[f"outbound for={STOCK}"], timeout=10)
    opaque.sendall(b"STOCK 1\n")
    time.sleep(0.5)
    assert not answers, "the request must wait for an endpoint"
    mesh.write(mesh_text(service_yaml(WEB, [a]), service_yaml(STOCK, [echo])))
    waiter.join(timeout=10)
    (r, seconds), = answers
    assert r.status == 200 and r.body == b"a", r
    assert seconds > 0.4, seconds  # it waited for the edit (a 200: not for the 3 s timeout)
    with opaque:
        assert SockReader(opaque).read_exact(8) == b"STOCK 1\n"
    assert proxy.metric("http_errors_total", reason="no_endpoints") == 0


def test_a_service_without_endpoints_fails_fast_after_the_failfast_timeout(meshed_proxy):
    STOCK = "198.18.0.9:7070"
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, []), service_yaml(STOCK, [])), workers=1,
                            failfast_timeout="1s", outbound_service_listen=f"127.0.0.1:0={STOCK}",
                            opaque_ports="7070",
                            expect=("outbound", "inbound", "admin", f"outbound for={STOCK}"))
    r, seconds = timed_get(proxy, WEB)
    assert r.status == 503 and r.header("lmesh-proxy-error") == "no ready endpoints", r
    assert 0.95 <= seconds < 5.0, seconds
    # The service now fails fast: no more waiting until discovery gives it an endpoint.
    r, seconds = timed_get(proxy, WEB)
    assert r.status == 503 and seconds < 0.5, (r, seconds)
    assert proxy.metric("http_errors_total", reason="no_endpoints") == 2
    # An opaque connection waits as long, then is closed.
    with socket.create_connection(proxy.addrs[f"outbound for={STOCK}"], timeout=10) as opaque:
        started = time.monotonic()
        opaque.sendall(b"STOCK 1\n")
        try:
            assert opaque.recv(100) == b""
        except ConnectionResetError:
            pass
        assert 0.95 <= time.monotonic() - started < 5.0
    proxy.wait_metric("http_errors_total", 3, reason="no_endpoints")


@pytest.mark.deadline(60)
def test_a_destination_restart_loses_no_request(meshed_proxy, start_destination, mesh, serve):
    a, b = named(serve, "a"), named(serve, "b")
    proxy, dst = meshed_proxy(mesh_text(service_yaml(WEB, [a, b])))
    assert bodies(load(proxy, WEB, 10, threads=1))  # the proxy knows the service now
    results = collections.Counter()
    done = threading.Event()

    def keep_loading():
        while not done.is_set():
            results.update(load(proxy, WEB, 20, threads=2))
    loader = threading.Thread(target=keep_loading)
    loader.start()
    try:
        time.sleep(0.3)
        port = dst.api[1]
        dst.stop()
        time.sleep(0.5)  # requests keep flowing on the last known endpoints
        start_destination(mesh_file=mesh.path, listen=f"127.0.0.1:{port}")
        time.sleep(0.5)
    finally:
        done.set()
        loader.join()
    seen = bodies(results)  # asserts every response was a 200
    assert set(seen) == {"a", "b"} and sum(seen.values()) >= 100, seen


def test_first_request_fails_after_the_discovery_timeout(proxy_factory, serve):
    # A destination service that accepts and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        proxy = proxy_factory(destination_addr=hostport(silent.getsockname()),
                              discovery_timeout="300ms")
        with HttpConn(proxy.outbound) as conn:
            started = time.monotonic()
            r = conn.request("GET", "/", [("Host", WEB)])
            assert r.status == 503 and r.header("lmesh-proxy-error") == "discovery timeout"
            assert 0.25 <= time.monotonic() - started < 2.0
    finally:
        silent.close()


def test_many_authorities_share_one_connection_to_the_destination(meshed_proxy, serve):
    # 80 services: 160 watch streams on the proxy's one HTTP/2 connection, beyond HTTP/2's
    # customary 100 concurrent streams.
    apps = [named(serve, f"app{i}") for i in range(80)]
    services = [service_yaml(f"svc{i}.test.svc.cluster.local:80", [app])
                for i, app in enumerate(apps)]
    proxy, dst = meshed_proxy(mesh_text(*services), workers=1)
    for i in range(80):
        got = bodies(load(proxy, f"svc{i}.test.svc.cluster.local:80", 1, threads=1))
        assert got == {f"app{i}": 1}
    proxy.wait_metric("discovery_authorities", 80, state="resolved")
    dst.wait_metric("destination_subscribers", 80, kind="resolve")
    dst.wait_metric("destination_subscribers", 80, kind="profile")


def flaky_upstream(serve, failure_rate, seed, name="app"):
    """Answers 503 to `failure_rate` of requests (seeded, so runs repeat), else 200 `name`
    followed by the request body it received."""
    import random
    rng = random.Random(seed)
    lock = threading.Lock()
    counts = collections.Counter()

    def behaviour(ex):
        body = ex.read_body()
        with lock:
            fail = rng.random() < failure_rate
            counts["503" if fail else "200"] += 1
        if fail:
            ex.respond(503, b"injected")
        else:
            ex.respond(200, name.encode() + body)
    server = serve(upstreams.HttpUpstream, default=behaviour)
    server.counts = counts
    return server


@pytest.mark.deadline(60)
def test_retries_turn_20_percent_503s_into_99_percent_success(meshed_proxy, serve):
    # Three endpoints, so that failure accrual (a run of 503s ejects an endpoint for a moment)
    # never leaves the service without one: this test is about retries.
    apps = [flaky_upstream(serve, 0.2, seed=s) for s in (7, 8, 9)]
    profile = {"routes": [{"name": "all", "retryable": True}]}
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, apps, profile)))
    results = load(proxy, WEB, 1000, threads=4)
    ok = results[(200, b"app")]
    assert ok >= 990, results
    assert ok + results[(503, b"injected")] == 1000, results
    retries = proxy.metric("route_retry_total", dst=WEB, route="all", result="sent")
    # Every 503 of the apps the client did not see was retried: the retries account for all.
    assert retries == sum(a.counts["503"] for a in apps) - results[(503, b"injected")]
    assert proxy.metric("route_request_total", dst=WEB, route="all") == 1000
    assert proxy.metric("route_response_total", dst=WEB, route="all", status_code="200") == ok


@pytest.mark.deadline(60)
def test_the_retry_budget_caps_retries_at_its_ratio(meshed_proxy, serve):
    # 40 % failures want about 0.67 retries per request; the budget allows 0.2. (Three
    # endpoints, so failure accrual never takes the whole service out: it would fail fast.)
    apps = [flaky_upstream(serve, 0.4, seed=s) for s in (1, 2, 3)]
    profile = {"routes": [{"name": "all", "retryable": True}],
               "retry_budget": {"ratio": 0.2, "min_per_second": 0, "ttl_s": 10}}
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, apps, profile)))
    results = load(proxy, WEB, 500, threads=4)
    assert results[(200, b"app")] + results[(503, b"injected")] == 500, results
    sent = proxy.metric("route_retry_total", dst=WEB, route="all", result="sent")
    refused = proxy.metric("route_retry_total", dst=WEB, route="all", result="budget_exhausted")
    # At most 20 % of the requests (each worker holds its own share of the budget).
    assert 0.15 * 500 <= sent <= 0.2 * 500, (sent, refused)
    assert refused == results[(503, b"injected")]
    assert sum(a.counts["503"] + a.counts["200"] for a in apps) == 500 + sent


def test_retries_replay_small_bodies_and_never_large_ones(meshed_proxy, serve):
    app = flaky_upstream(serve, 0.5, seed=3)
    profile = {"routes": [{"name": "upload", "method": "POST", "retryable": True}],
               "retry_budget": {"ratio": 1.0, "min_per_second": 100, "ttl_s": 10}}
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [app], profile)))
    small = bytes(range(256)) * 200  # 50 KiB: kept for replay
    with HttpConn(proxy.outbound) as conn:
        for _ in range(20):
            r = conn.request("POST", "/upload", [("Host", WEB)], body=small)
            assert r.status == 200 and r.body == b"app" + small
        for _ in range(5):
            r = conn.request("POST", "/upload", [("Host", WEB)], body=small, chunked=True)
            assert r.status == 200 and r.body == b"app" + small
    large = b"x" * (65 * 1024)  # over 64 KiB: not retried, so some 503s reach the client
    statuses = collections.Counter()
    with HttpConn(proxy.outbound) as conn:
        for _ in range(20):
            r = conn.request("POST", "/upload", [("Host", WEB)], body=large)
            statuses[r.status] += 1
            if r.status == 200:
                assert r.body == b"app" + large
    assert statuses[503] > 0 and statuses[200] > 0, statuses


def test_a_body_sent_while_the_first_lookup_waits_crosses_the_mesh_hop(proxy_factory, meshed_proxy,
                                                                       serve):
    # The endpoint is another proxy (it has an identity): the request goes as HTTP/2. The head
    # and body arrive together, before discovery has answered for the authority.
    app = serve(upstreams.HttpUpstream, default=upstreams.echo())
    server_side = proxy_factory(inbound_forward=hostport(app.addr))
    mesh = ("services:\n"
            f"  {WEB}:\n    endpoints:\n"
            f"      - {{addr: {hostport(server_side.inbound)}, identity: web.test.serviceaccount.identity.lmesh.cluster.local}}\n")
    proxy, _ = meshed_proxy(mesh)
    body = b"0123456789" * 1000
    with HttpConn(proxy.outbound) as conn:
        r = conn.request("POST", "/first", [("Host", WEB)], body=body)
        assert r.status == 200 and r.body.endswith(b"\r\n\r\n" + body), r.body[-200:]
    assert server_side.metric("request_total", direction="inbound") == 1


def test_http2_requests_are_retried_with_their_bodies(meshed_proxy, serve):
    import random
    from h2peers import H2Client, H2Upstream, Reply

    class Flaky(H2Upstream):
        """An HTTP/2 upstream that answers 503 to 30 % of requests, else echoes the body."""
        rng = random.Random(11)

        def _reply_for(self, path):
            return Reply(503, b"injected") if self.rng.random() < 0.3 else Reply(200, echo=True)
    app = serve(Flaky)
    profile = {"routes": [{"name": "rpc", "retryable": True}],
               "retry_budget": {"ratio": 1.0, "min_per_second": 100, "ttl_s": 10}}
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [app], profile)))
    client = H2Client(proxy.outbound)
    try:
        for i in range(50):
            body = f"request {i} ".encode() * 300
            sid = client.request("/rpc", method="POST", body=body, authority=WEB)
            client.pump(lambda: client.responses[sid].ended)
            r = client.responses[sid]
            assert r.status == 200 and bytes(r.body) == body
    finally:
        client.close()
    assert proxy.metric("route_retry_total", dst=WEB, route="rpc", result="sent") > 5


@pytest.mark.deadline(60)
def test_mirroring_copies_requests_and_drops_the_answers(meshed_proxy, serve):
    primary = named(serve, "primary")
    shadow = serve(upstreams.HttpUpstream,
                   default=upstreams.delayed(0.05, upstreams.fixed(500, b"shadow broke")))
    sampled = serve(upstreams.HttpUpstream, default=upstreams.fixed(200, b"sampled"))
    shadow_name, sampled_name = "shadow.test.svc.cluster.local:80", "sampled.test.svc.cluster.local:80"
    profile = {"routes": [
        {"name": "all", "method": "POST", "mirror": {"authority": shadow_name, "percent": 100}},
        {"name": "some", "method": "GET", "mirror": {"authority": sampled_name, "percent": 30}},
    ]}
    proxy, _ = meshed_proxy(mesh_text(service_yaml(WEB, [primary], profile),
                                      service_yaml(shadow_name, [shadow]),
                                      service_yaml(sampled_name, [sampled])))
    with HttpConn(proxy.outbound) as conn:
        for i in range(20):
            r = conn.request("POST", f"/orders/{i}", [("Host", WEB), ("X-N", str(i))],
                             body=f"order {i}".encode())
            # The client sees the primary only: the mirror's slowness and 500s never reach it.
            assert r.status == 200 and r.body == b"primary"
    wait_until(lambda: len(shadow.requests) == 20, timeout=5, message="20 mirrored copies")
    wait_until(lambda: all(r.complete for r in shadow.requests), timeout=5,
               message="mirrored bodies read")
    got = sorted((r.target, r.headers.get("x-n"), r.body) for r in shadow.requests)
    assert got == sorted((f"/orders/{i}", str(i), f"order {i}".encode()) for i in range(20))
    proxy.wait_metric("route_mirror_total", 20, dst=WEB, route="all", result="failure")

    results = load(proxy, WEB, 600, threads=4)
    assert results == {(200, b"primary"): 600}
    wait_until(lambda: proxy.metric("route_mirror_total", dst=WEB, route="some") ==
               len(sampled.requests), timeout=5, message="every sampled copy answered")
    assert 0.30 * 600 - 60 <= len(sampled.requests) <= 0.30 * 600 + 60, len(sampled.requests)
