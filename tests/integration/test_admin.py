"""The admin server: /live, /ready, and /metrics counting exactly what went through the proxy,
summed over both workers."""
import threading

import upstreams
from client import HttpConn, build_request, get
from harness import parse_prometheus

CONNECTIONS = 40  # SO_REUSEPORT spreads these over both workers
REQUESTS_PER_CONNECTION = 3


def test_live_and_ready(proxy):
    for path in ("/live", "/ready"):
        resp = proxy.admin_get(path)
        assert resp.status == 200, f"{path}: {resp}"


def test_metrics_is_prometheus_text(proxy):
    assert get(proxy.outbound).status == 200
    resp = proxy.admin_get("/metrics")
    assert resp.status == 200, resp
    assert resp.header("content-type", "").startswith("text/plain"), resp.header("content-type")
    text = resp.body.decode()
    samples = parse_prometheus(text)  # raises on any line that is not valid exposition format
    names = {n for n, _, _ in samples}
    for family, kind in [("request_total", "counter"), ("response_total", "counter"),
                         ("response_latency_ms", "histogram"), ("tcp_open_total", "counter"),
                         ("tcp_open_connections", "gauge")]:
        assert f"# TYPE {family} {kind}" in text, f"missing `# TYPE {family} {kind}`"
    assert any(n.startswith("process_") for n in names), "no process_* metrics"
    assert "# TYPE lmesh_build_info gauge" in text
    [info] = [labels for n, labels, v in samples if n == "lmesh_build_info" and v == 1]
    assert info["binary"] == "lmesh-proxy" and info["version"], info


def test_counts_match_traffic_summed_over_workers(proxy):
    sent = received = 0
    for _ in range(CONNECTIONS):
        with HttpConn(proxy.outbound) as conn:
            for _ in range(REQUESTS_PER_CONNECTION):
                request = build_request("POST", "/echo", [("Host", "svc")], b"p" * 100)
                conn.send(request)
                resp = conn.read_response()
                assert resp.status == 200, resp
                sent += len(request)
                received += len(resp.body)
    total = CONNECTIONS * REQUESTS_PER_CONNECTION
    proxy.wait_metric("tcp_close_total", CONNECTIONS, direction="outbound", peer="src")
    proxy.wait_metric("tcp_open_total", CONNECTIONS, direction="outbound", peer="src")
    proxy.wait_metric("request_total", total, direction="outbound")
    assert proxy.metric("request_total", direction="outbound", tls="false") == total, 'plaintext is tls="false"'
    proxy.wait_metric("response_total", total, direction="outbound", status_code="200",
                      classification="success")
    proxy.wait_metric("response_latency_ms_count", total, direction="outbound")
    read = proxy.metric("tcp_read_bytes_total", direction="outbound", peer="src")
    written = proxy.metric("tcp_write_bytes_total", direction="outbound", peer="src")
    assert read >= sent, f"tcp_read_bytes_total{{peer=src}} = {read}, client sent {sent}"
    assert written >= received, f"tcp_write_bytes_total{{peer=src}} = {written}, client got > {received}"
    assert proxy.metric("tcp_open_total", direction="outbound", peer="dst") >= 1
    assert proxy.metric("request_total", direction="inbound") == 0


def test_inbound_is_counted_as_inbound(proxy):
    assert get(proxy.inbound).status == 200
    proxy.wait_metric("request_total", 1, direction="inbound")
    proxy.wait_metric("response_total", 1, direction="inbound", classification="success")
    assert proxy.metric("request_total", direction="outbound") == 0


def test_5xx_and_proxy_errors_are_failures(proxy, upstream):
    upstream.routes["/500"] = upstreams.fixed(500, b"boom")
    assert get(proxy.outbound, "/500").status == 500
    proxy.wait_metric("response_total", 1, direction="outbound", status_code="500", classification="failure")
    assert proxy.metric("response_total", classification="success") == 0


def test_latency_histogram_measures_time_to_head(proxy, upstream):
    upstream.routes["/slow"] = upstreams.delayed(0.3)
    assert get(proxy.outbound, "/slow").status == 200
    proxy.wait_metric("response_latency_ms_count", 1, direction="outbound")
    samples = proxy.metrics()
    total = sum(v for n, l, v in samples if n == "response_latency_ms_sum" and l.get("direction") == "outbound")
    assert 250 <= total < 5000, f"response_latency_ms_sum = {total} for a 300 ms upstream"
    buckets = sorted(((float(l["le"]), v) for n, l, v in samples
                      if n == "response_latency_ms_bucket" and l.get("direction") == "outbound"))
    assert buckets and buckets[-1] == (float("inf"), 1), f"+Inf bucket must equal the count: {buckets}"
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), f"histogram buckets must be cumulative: {buckets}"
    below_250 = [v for le, v in buckets if le < 250]
    assert all(v == 0 for v in below_250), f"a 300 ms response fell in a bucket under 250 ms: {buckets}"


def test_open_connections_gauge_returns_to_zero(proxy):
    conns = [HttpConn(proxy.outbound) for _ in range(10)]
    try:
        for conn in conns:
            assert conn.request("GET", "/", [("Host", "svc")]).status == 200
        proxy.wait_metric("tcp_open_connections", 10, direction="outbound", peer="src")
    finally:
        for conn in conns:
            conn.close()
    proxy.wait_metric("tcp_open_connections", 0, direction="outbound", peer="src")


def test_concurrent_clients_all_counted(proxy):
    threads, errors, per_thread = [], [], 25

    def client():
        try:
            with HttpConn(proxy.outbound) as conn:
                for i in range(per_thread):
                    resp = conn.request("POST", "/echo", [("Host", "svc")], b"%d" % i)
                    if resp.status != 200:
                        errors.append(str(resp))
        except Exception as e:  # reported below with the others
            errors.append(repr(e))
    for _ in range(24):
        threads.append(threading.Thread(target=client, daemon=True))
        threads[-1].start()
    for t in threads:
        t.join(timeout=20)
    assert not errors, f"{len(errors)} failures among concurrent clients, first: {errors[0]}"
    proxy.wait_metric("request_total", 24 * per_thread, direction="outbound")
    proxy.wait_metric("response_total", 24 * per_thread, direction="outbound", classification="success")
