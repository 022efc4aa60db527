"""lmesh-tap as a real process, with the real lmesh-destination (a mesh file with a `pods:`
section) and fake proxies (tap_fakes.FakeProxy: /tap streams the test writes, /metrics text
the test sets): the merge order of events from several proxies and the `proxy` tag, the
filter and rate share each proxy is asked for, proxy_error for a proxy that dies or cannot be
reached while the others keep streaming, proxy streams closed when the client leaves, 404 /
400 / 502, /v1/stat figures for known counter and histogram differences (a restarted proxy
included), /metrics, and start-up refusals.

Run: LMESH_TAP=build/src/tap/lmesh-tap LMESH_DESTINATION=build/src/destination/lmesh-destination \\
     /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_tap_service.py
"""
import http.client
import json
import queue
import re
import socket
import subprocess
import threading
import time

import pytest

from h2peers import H2Client
from harness import (Destination, MeshFile, Proxy, binary, hostport, metric_sum, parse_prometheus,
                     wait_until)
from tap_fakes import FakeProxy

EVENT_WAIT = 3.0  # an event must come through within this (the hold is 0.1 s)


# ---------------------------------------------------------------- processes and fixtures

class TapProcess(Proxy):
    """The real lmesh-tap on a free port (harness.Proxy does the process work)."""

    def __init__(self, binary, flags):
        super().__init__({"listen": "127.0.0.1:0", "log_format": "json", **flags},
                         binary=binary, expect=("api",))

    @property
    def api(self):
        return self.addrs["api"]

    def stop(self, timeout=5.0):
        super().stop(timeout)
        # A release build has no assert in Worker::run, but still lists the handles that
        # outlived the loop (uv_print_all_handles): there must be none.
        leaked = [l for l in self.log_lines() if re.match(r"^\[[-RAI]{3}\] ", l)]
        assert not leaked, "libuv handles left open at exit:\n" + "\n".join(leaked)

    def get(self, path):
        conn = http.client.HTTPConnection(*self.api, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def get_json(self, path):
        status, body = self.get(path)
        return status, json.loads(body)

    def metric(self, name, **labels):
        status, body = self.get("/metrics")
        assert status == 200
        return metric_sum(parse_prometheus(body.decode()), name, **labels)


class TapStream:
    """GET /v1/tap over HTTP/1.1 (chunked), its lines parsed by a thread into a queue."""

    def __init__(self, addr, path):
        self.conn = http.client.HTTPConnection(*addr, timeout=30)
        self.conn.request("GET", path)
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.lines = queue.Queue()
        self.ended = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = json.loads(self.resp.read())
            self.ended.set()

    def _read(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                self.lines.put(json.loads(line))
        except (OSError, ValueError, http.client.HTTPException):
            pass
        self.ended.set()

    def next(self, timeout=EVENT_WAIT):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout}s") from None

    def take(self, n, timeout=EVENT_WAIT):
        return [self.next(timeout) for _ in range(n)]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.ended.wait(5)
        self.conn.close()


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mesh_yaml(pods):
    """`pods`: [(name, workload, addr, admin)]. Each web pod is an endpoint of the web service."""
    eps = "".join(f"      - {{addr: '{addr}:8080', labels: {{pod: {name}}}}}\n"
                  for name, workload, addr, _ in pods if workload == "deploy/web")
    lines = "".join(f"  - {{name: {name}, workload: {workload}, addr: '{addr}', "
                    f"admin: '{admin}'}}\n" for name, workload, addr, admin in pods)
    return ("services:\n"
            "  web.default.svc.cluster.local:8080:\n"
            "    endpoints:\n" + (eps or "      []\n") +
            "pods:\n" + lines)


@pytest.fixture(scope="session")
def tap_bin():
    return binary("LMESH_TAP", "build/src/tap/lmesh-tap")


@pytest.fixture(scope="session")
def destination_bin():
    return binary("LMESH_DESTINATION", "build/src/destination/lmesh-destination")


class Mesh:
    """Fake proxies, the real destination serving their pods, and lmesh-tap; all stopped at
    teardown."""

    def __init__(self, tmp_path, destination_bin, tap_bin):
        self.tmp_path = tmp_path
        self.destination_bin = destination_bin
        self.tap_bin = tap_bin
        self.proxies = {}
        self.procs = []
        self.streams = []

    def proxy(self, name):
        p = FakeProxy()
        self.proxies[name] = p
        return p

    def start(self, pods, **tap_flags):
        """`pods`: [(name, workload, addr, admin or None for the pod's FakeProxy)]."""
        resolved = [(n, w, a, admin or self.proxies[n].admin) for n, w, a, admin in pods]
        mesh = MeshFile(self.tmp_path / "mesh.yaml")
        mesh.write(mesh_yaml(resolved))
        self.destination = Destination(self.destination_bin, {"mesh_file": mesh.path})
        self.procs.append(self.destination)
        flags = {"destination_addr": hostport(self.destination.api), "scrape_interval": "10s",
                 **tap_flags}
        self.tap = TapProcess(self.tap_bin, flags)
        self.procs.append(self.tap)
        return self.tap

    def open_tap(self, query):
        s = TapStream(self.tap.api, "/v1/tap?" + query)
        self.streams.append(s)
        return s

    def close(self):
        for s in self.streams:
            s.close()
        failures = []
        for p in reversed(self.procs):
            try:
                p.stop()
            except AssertionError as e:
                failures.append(str(e))
        for p in self.proxies.values():
            p.close()
        if failures:
            pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture
def mesh(tmp_path, destination_bin, tap_bin):
    m = Mesh(tmp_path, destination_bin, tap_bin)
    yield m
    m.close()


# Pod addresses are only names here (the proxies' admin ports are what is dialled), but each
# must be distinct: they are also the web service's endpoints.
WEB_PODS = [("web-1", "deploy/web", "127.0.0.11", None),
            ("web-2", "deploy/web", "127.0.0.12", None)]


def wait_streams(*proxies, n=1):
    for p in proxies:
        wait_until(lambda: p.open_streams() >= n, 5, message="the proxy's /tap stream to open")


def request_init(id_, ts_us, path="/books"):
    return {"kind": "request_init", "id": id_, "ts_us": ts_us, "direction": "inbound",
            "source": "127.0.0.9:50412", "destination": "127.0.0.1:8080", "tls": "true",
            "method": "GET", "scheme": "http", "authority": "web:8080", "path": path,
            "headers": {}}


# ---------------------------------------------------------------- /v1/tap

def test_events_of_several_proxies_are_merged_in_time_order_and_tagged(mesh):
    p1, p2 = mesh.proxy("web-1"), mesh.proxy("web-2")
    mesh.start(WEB_PODS)
    s = mesh.open_tap("target=deploy/web")
    assert s.status == 200
    wait_streams(p1, p2)
    base = 1_764_000_000_000_000
    # Each proxy in its own order; between them the timestamps interleave.
    p1.send(request_init("0:1", base + 1000))
    p1.send(request_init("0:3", base + 3000))
    p2.send(request_init("0:2", base + 2000))
    p2.send({"kind": "response_end", "id": "0:2", "ts_us": base + 4000, "duration_us": 5,
             "response_bytes": 10, "reset": "", "error": ""})
    events = s.take(4)
    assert [e["ts_us"] - base for e in events] == [1000, 2000, 3000, 4000]
    assert [e["proxy"]["pod"] for e in events] == ["web-1", "web-2", "web-1", "web-2"]
    assert events[0]["proxy"] == {"pod": "web-1", "namespace": "default", "workload": "deploy/web"}
    assert events[0]["path"] == "/books"  # the proxy's fields pass through untouched
    # The default total of 100 per second, shared.
    assert p1.tap_queries() == [{"max_rps": "50"}]
    assert mesh.tap.metric("tap_taps_open") == 1
    assert mesh.tap.metric("tap_events_relayed_total") == 4


def test_filters_and_to_reach_each_proxy_as_its_filter(mesh):
    p1, p2, db = mesh.proxy("web-1"), mesh.proxy("web-2"), mesh.proxy("db-1")
    mesh.start(WEB_PODS + [("db-1", "deploy/db", "127.0.0.7", None)])
    s = mesh.open_tap("target=deploy/web&to=deploy/db&max_rps=10&method=POST&path_prefix=/api"
                      "&authority=db:5432")
    assert s.status == 200
    wait_streams(p1, p2)
    assert p1.tap_queries() == [{"max_rps": "5", "method": "POST", "path_prefix": "/api",
                                 "authority": "db:5432", "direction": "outbound",
                                 "destination": "127.0.0.7"}]
    assert db.tap_queries() == []  # the `to` pods are not tapped, only named


def test_a_proxy_that_dies_is_reported_and_the_others_keep_streaming(mesh):
    p1, p2 = mesh.proxy("web-1"), mesh.proxy("web-2")
    mesh.start(WEB_PODS)
    s = mesh.open_tap("target=deploy/web")
    wait_streams(p1, p2)
    p2.cut_streams()
    err = s.next()
    assert err["kind"] == "proxy_error"
    assert err["proxy"]["pod"] == "web-2"
    assert err["error"]
    now = int(time.time() * 1e6)
    p1.send(request_init("0:7", now))
    ev = s.next()
    assert (ev["kind"], ev["id"], ev["proxy"]["pod"]) == ("request_init", "0:7", "web-1")
    assert not s.ended.is_set()
    assert mesh.tap.metric("tap_proxy_errors_total") == 1


def test_unreachable_and_refusing_proxies_are_reported_at_once(mesh):
    p1, p3 = mesh.proxy("web-1"), mesh.proxy("web-3")
    p3.refuse_status = 403
    mesh.start([("web-1", "deploy/web", "127.0.0.11", None),
                ("web-2", "deploy/web", "127.0.0.12", f"127.0.0.1:{closed_port()}"),
                ("web-3", "deploy/web", "127.0.0.13", None)])
    s = mesh.open_tap("target=deploy/web")
    errors = {e["proxy"]["pod"]: e["error"] for e in s.take(2)}
    assert set(errors) == {"web-2", "web-3"}
    assert "403" in errors["web-3"]
    wait_streams(p1)
    p1.send(request_init("0:1", int(time.time() * 1e6)))
    assert s.next()["proxy"]["pod"] == "web-1"


def test_the_tap_ends_after_every_proxy_stream_has_ended(mesh):
    p1, p2 = mesh.proxy("web-1"), mesh.proxy("web-2")
    mesh.start(WEB_PODS)
    s = mesh.open_tap("target=deploy/web")
    wait_streams(p1, p2)
    p1.send(request_init("0:1", int(time.time() * 1e6)))
    p1.end_streams()
    p2.end_streams()
    events = s.take(3)
    assert [e["kind"] for e in events].count("proxy_error") == 2
    assert s.ended.wait(EVENT_WAIT)
    wait_until(lambda: mesh.tap.metric("tap_taps_open") == 0, 5, message="the tap to close")


def test_a_client_that_leaves_closes_every_proxy_stream(mesh):
    p1, p2 = mesh.proxy("web-1"), mesh.proxy("web-2")
    mesh.start(WEB_PODS)
    s = mesh.open_tap("target=deploy/web")
    wait_streams(p1, p2)
    s.close()
    for p in (p1, p2):
        assert p.tap_closed.wait(5), "a proxy stream outlived its tap client"
    wait_until(lambda: mesh.tap.metric("tap_taps_open") == 0, 5, message="the tap to close")
    assert mesh.tap.metric("tap_proxy_errors_total") == 0


def test_sigterm_with_a_tap_open_stops_cleanly(mesh):
    p1, p2 = mesh.proxy("web-1"), mesh.proxy("web-2")
    mesh.start(WEB_PODS)
    s = mesh.open_tap("target=deploy/web")
    wait_streams(p1, p2)
    p1.send(request_init("0:1", int(time.time() * 1e6)))
    assert s.next()["id"] == "0:1"
    mesh.tap.stop()  # exit 0: every handle closed, every proxy stream with it
    assert s.ended.wait(5)
    for p in (p1, p2):
        assert p.tap_closed.wait(5)


def test_over_http2_a_tap_streams_and_a_reset_closes_the_proxy_streams(mesh):
    p1, p2 = mesh.proxy("web-1"), mesh.proxy("web-2")
    mesh.start(WEB_PODS)
    client = H2Client(mesh.tap.api)
    try:
        sid = client.request("/v1/tap?target=deploy/web", authority="tap")
        client.pump(lambda: client.responses[sid].status != 0)
        assert client.responses[sid].status == 200
        wait_streams(p1, p2)
        p2.send(request_init("0:9", int(time.time() * 1e6)))
        client.pump(lambda: b"\n" in client.responses[sid].body, timeout=EVENT_WAIT)
        event = json.loads(bytes(client.responses[sid].body).split(b"\n")[0])
        assert (event["id"], event["proxy"]["pod"]) == ("0:9", "web-2")
        client.reset(sid)
        for p in (p1, p2):
            assert p.tap_closed.wait(5), "a proxy stream outlived its reset tap"
        wait_until(lambda: mesh.tap.metric("tap_taps_open") == 0, 5, message="the tap to close")
    finally:
        client.close()


def test_the_total_rate_is_enforced_by_the_tap_service(mesh):
    p1 = mesh.proxy("web-1")
    mesh.start([("web-1", "deploy/web", "127.0.0.1", None)])
    s = mesh.open_tap("target=deploy/web&max_rps=1")
    wait_streams(p1)
    now = int(time.time() * 1e6)
    # A proxy that ignores its share: only one request a second gets through.
    for i in range(5):
        p1.send(request_init(f"0:{i}", now + i))
        p1.send({"kind": "response_end", "id": f"0:{i}", "ts_us": now + 100 + i, "error": ""})
    first, second = s.take(2)
    assert (first["id"], second["id"]) == ("0:0", "0:0")
    dropped = s.next()
    assert dropped == {"kind": "dropped", "ts_us": dropped["ts_us"], "count": 4}
    assert mesh.tap.metric("tap_events_dropped_total") == 4


def test_errors_before_the_stream(mesh):
    mesh.proxy("web-1")
    mesh.start([("web-1", "deploy/web", "127.0.0.1", None)])
    status, body = mesh.tap.get_json("/v1/tap?target=deploy/nothing")
    assert status == 404 and body["error"] == "no match"
    assert "deploy/nothing" in body["detail"]
    status, body = mesh.tap.get_json("/v1/tap?target=deploy/web&to=deploy/nothing")
    assert status == 404
    for query, names in [("", "target"), ("target=job/x", "target"),
                         ("target=deploy/web&max_rps=0", "max_rps"),
                         ("target=deploy/web&colour=red", "colour")]:
        status, body = mesh.tap.get_json("/v1/tap?" + query)
        assert status == 400, query
        assert names in body["detail"], body


def test_destination_down_is_502(tap_bin):
    tap = TapProcess(tap_bin, {"destination_addr": f"127.0.0.1:{closed_port()}"})
    try:
        status, body = tap.get_json("/v1/tap?target=deploy/web")
        assert status == 502 and body["error"] == "destination service unavailable"
        status, body = tap.get_json("/v1/stat?target=deploy/web")
        assert status == 502
        assert tap.get("/ready")[0] == 503  # no scrape round could complete
        assert tap.get("/live")[0] == 200
    finally:
        tap.stop()


# ---------------------------------------------------------------- /v1/stat

def proxy_metrics(req, ok, failed, le10, le100, total, inbound_conns):
    labels = 'direction="inbound",authority="web.default.svc.cluster.local:8080",tls="true"'
    return (
        "# HELP request_total Requests received\n# TYPE request_total counter\n"
        f"request_total{{{labels}}} {req}\n"
        'request_total{direction="outbound",authority="db:5432",tls="false"} 99999\n'
        f'response_total{{{labels},status_code="200",classification="success"}} {ok}\n'
        f'response_total{{{labels},status_code="500",classification="failure"}} {failed}\n'
        "# TYPE response_latency_ms histogram\n"
        f'response_latency_ms_bucket{{{labels},le="10"}} {le10}\n'
        f'response_latency_ms_bucket{{{labels},le="100"}} {le100}\n'
        f'response_latency_ms_bucket{{{labels},le="+Inf"}} {total}\n'
        f"response_latency_ms_sum{{{labels}}} 12345.5\n"
        f"response_latency_ms_count{{{labels}}} {total}\n"
        f'tcp_open_connections{{direction="inbound",peer="src",tls="true"}} {inbound_conns}\n'
        'tcp_open_connections{direction="outbound",peer="dst",tls="true"} 40\n')


def test_stat_differences_counters_and_histograms_over_the_window(mesh):
    p1, p2 = mesh.proxy("web-1"), mesh.proxy("web-2")
    p1.metrics_text = proxy_metrics(100, 90, 10, 50, 90, 100, 2)
    p2.metrics_text = proxy_metrics(1000, 1000, 0, 1000, 1000, 1000, 1)
    mesh.start(WEB_PODS + [("web-3", "deploy/web", "127.0.0.13", f"127.0.0.1:{closed_port()}")],
               scrape_interval="300ms")
    wait_until(lambda: mesh.tap.get("/ready")[0] == 200, 5, message="a first scrape round")
    # web-1: +200 requests (190 ok, 10 failed); +100 <= 10 ms, +100 in (10, 100].
    p1.metrics_text = proxy_metrics(300, 280, 20, 150, 290, 300, 3)
    # web-2 restarted: its counters start again from zero, never a negative difference.
    p2.metrics_text = proxy_metrics(20, 20, 0, 20, 20, 20, 1)
    time.sleep(0.4)  # a baseline is at least one scrape interval older than the query's scrape
    status, body = mesh.tap.get_json("/v1/stat?target=deploy/web&window=1m")
    assert status == 200, body
    # The oldest round kept is the one closest to a minute ago: the span actually covered.
    assert 0 < body["window_s"] < 30
    [row] = body["rows"]
    assert (row["name"], row["namespace"], row["kind"]) == ("web", "default", "deploy")
    assert row["meshed"] == "2/3"  # web-3's proxy does not answer
    assert row["requests"] == 220
    assert row["success_rate"] == pytest.approx(210 / 220)
    assert row["rps"] == pytest.approx(220 / body["window_s"])
    # Buckets of the differences: <=10: 100+20=120, <=100: 200+20=220, +Inf: 220.
    # p50: rank 110 in (0,10]: 10 * 110/120.
    assert row["latency_ms_p50"] == pytest.approx(10 * 110 / 120)
    # p95: rank 209 in (10,100] (100 there, 120 below): 10 + 90 * 89/100.
    assert row["latency_ms_p95"] == pytest.approx(10 + 90 * 89 / 100)
    # p99: rank 217.8: 10 + 90 * 97.8/100.
    assert row["latency_ms_p99"] == pytest.approx(10 + 90 * 97.8 / 100)
    assert row["tcp_connections"] == 4  # inbound only, now
    assert mesh.tap.metric("tap_scrapes_total", result="ok") >= 4
    assert mesh.tap.metric("tap_scrapes_total", result="error") >= 2


def test_stat_errors(mesh):
    mesh.proxy("web-1")
    mesh.start([("web-1", "deploy/web", "127.0.0.1", None)])
    assert mesh.tap.get_json("/v1/stat?target=deploy/nothing")[0] == 404
    for query in ["", "target=deploy/web&window=soon", "target=x/y", "target=deploy/web&z=1"]:
        status, body = mesh.tap.get_json("/v1/stat?" + query)
        assert status == 400, query
        assert body["error"] == "bad parameters"


# ---------------------------------------------------------------- the process

def test_metrics_and_health(mesh):
    mesh.proxy("web-1")
    mesh.start([("web-1", "deploy/web", "127.0.0.1", None)])
    status, body = mesh.tap.get("/metrics")
    assert status == 200
    samples = parse_prometheus(body.decode())
    names = {n for n, _, _ in samples}
    assert metric_sum(samples, "lmesh_build_info", binary="lmesh-tap") == 1
    for family in ("tap_taps_open", "tap_events_relayed_total", "tap_events_dropped_total",
                   "tap_proxy_errors_total", "tap_scrapes_total"):
        assert family in names
    assert mesh.tap.get("/live")[0] == 200


@pytest.mark.parametrize("args,env,named", [
    (["--scrape-interval", "5x"], {}, "--scrape-interval"),
    (["--stat-retention", "0"], {}, "--stat-retention"),
    (["--destination-addr", "nowhere"], {}, "--destination-addr"),
    (["--colour", "red"], {}, "colour"),
    ([], {"LMESH_TAP_LISTEN": "bad"}, "LMESH_TAP_LISTEN"),
])
def test_bad_configuration_exits_2_naming_it(tap_bin, args, env, named):
    import os
    r = subprocess.run([str(tap_bin), *args], env={**os.environ, **env}, capture_output=True,
                       timeout=10, text=True)
    assert r.returncode == 2, r.stderr
    assert named in r.stderr
