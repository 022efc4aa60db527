"""The books demo under `lmesh up`: mTLS between every pair of meshed pods (the proxies' metrics,
lmesh tap, and the wire itself), opaque TCP to stock, and `lmesh tap` / `lmesh stat` showing the
demo's traffic with the right identities.

Traffic: the demo's own `traffic` pod (web at 5 rps) plus this test's requests to web-0 from the
root namespace (plaintext to web's proxy, as an unmeshed client; from 198.18.0.1).
"""
import json
import time

import pytest

import mesh as m

WEB, RATINGS_V1, RATINGS_V2, TRAFFIC = (m.identity(sa) for sa in
                                        ("web", "ratings-v1", "ratings-v2", "traffic"))


@pytest.fixture(scope="module")
def warmed(demo_mesh, web):
    """~100 pages of books (each: 4 ratings lookups, 4 stock lines) so that every pair of pods
    has talked."""
    # Before: stock-0's proxy has served only the demo's own traffic (traffic -> web -> stock).
    demo_mesh.stock_before_warm_up = m.scrape(demo_mesh.pod("stock-0")["admin"])
    t0 = time.monotonic()
    results = m.fetch_many(*web, "/api/books", 100, workers=8)
    bad = [m.describe_failure(st, b) for st, b in results if st != 200]
    print(f"\n[warm-up] {len(results)} x /api/books in {time.monotonic() - t0:.1f} s, "
          f"{len(bad)} failed")
    assert len(results) == 100 and not bad, bad[:5]
    # and the demo's own client (5 requests/s) has reached web.
    web_admin = demo_mesh.pod("web-0")["admin"]
    m.wait_for(lambda: m.total(m.scrape(web_admin), "request_total", direction="inbound",
                               client_id=TRAFFIC) >= 3, 15, "3 requests from traffic-0 at web-0")
    return demo_mesh


def test_proxies_count_inbound_requests_as_mtls_with_client_identity(warmed, web):
    mesh = warmed
    pods = {p["name"]: p for p in mesh.pods()}
    # What each pod's proxy must have served over mesh TLS, and from whom.
    expected = {"web-0": TRAFFIC, "ratings-v1-0": WEB, "ratings-v1-1": WEB, "ratings-v2-0": WEB}
    report = []
    for name, client_id in expected.items():
        samples = m.scrape(pods[name]["admin"])
        req_mtls = m.total(samples, "request_total", direction="inbound", tls="true",
                           client_id=client_id)
        rsp_mtls = m.total(samples, "response_total", direction="inbound", tls="true",
                           client_id=client_id, status_code="200", classification="success")
        plain = m.select(samples, "request_total", direction="inbound", tls="false")
        others = {lbl.get("client_id") for lbl, v in
                  m.select(samples, "request_total", direction="inbound", tls="true") if v > 0}
        report.append(f"{name}: inbound mTLS requests from {client_id.split('.')[0]} "
                      f"{req_mtls:.0f}, 200 responses {rsp_mtls:.0f}, plaintext series "
                      f"{[(l.get('authority'), v) for l, v in plain]}, client_ids {others}")
        assert req_mtls > 0, f"{name}: no inbound request_total{{tls=true, client_id={client_id}}}"
        assert rsp_mtls > 0, f"{name}: no inbound response_total 200 over mTLS from {client_id}"
        assert others == {client_id}, f"{name}: unexpected client identities {others}"
        # Only this test (an unmeshed client in the root namespace, to web) speaks plaintext.
        for labels, value in plain:
            assert name == "web-0" and labels.get("authority") == f"{web[0]}:8080", \
                f"{name}: plaintext inbound requests {labels} = {value}"
    # stock is opaque: no requests, but its inbound connections are mTLS.
    stock = m.scrape(pods["stock-0"]["admin"])
    stock_tls = m.total(stock, "tcp_open_total", direction="inbound", peer="src", tls="true")
    stock_plain = m.total(stock, "tcp_open_total", direction="inbound", peer="src", tls="false")
    report.append(f"stock-0: inbound connections mTLS {stock_tls:.0f}, plaintext {stock_plain:.0f}")
    print("\n" + "\n".join(report))
    assert stock_tls > 0 and stock_plain == 0
    # The client side: web's proxy originated mesh TLS to ratings and stock.
    web_out = m.scrape(pods["web-0"]["admin"])
    handshakes = m.total(web_out, "tls_handshake_total", direction="outbound", result="success") \
        + m.total(web_out, "tls_handshake_total", direction="outbound", result="resumed")
    failures = [(lbl, v) for lbl, v in m.select(web_out, "tls_handshake_total") if v > 0
                and lbl.get("result") not in ("success", "resumed")]
    print(f"web-0 outbound mesh TLS handshakes: {handshakes:.0f}, failed: {failures}")
    assert handshakes > 0 and not failures


def test_tap_of_ratings_shows_mtls_from_web(warmed, web):
    load = m.start_load(*web, ["/api/rating/1", "/api/rating/2"], max_seconds=30, pause=0.01,
                        name="load")
    try:
        time.sleep(0.5)   # lmesh-tap opens the proxies' streams; let requests flow meanwhile
        lines, err, _ = m.read_stream_lines(
            [m.cli(), "tap", "deploy/ratings-v1", "-o", "json"], max_lines=12, timeout=15)
    finally:
        load.stop()
    print(f"\n{load.summary()}\nlmesh tap: {len(lines)} lines; stderr: {err.strip()!r}")
    events = [json.loads(line) for line in lines]
    inits = [e for e in events if e.get("kind") == "request_init"]
    for e in inits[:3]:
        print(f"  {e['direction']} {e['source']} -> {e['destination']} tls={e['tls']} "
              f"client_id={e['client_id']} {e['method']} {e['path']} (pod {e['proxy']['pod']})")
    assert len(inits) >= 3, f"too few request_init events in {len(lines)} lines: {lines}"
    for e in inits:
        assert e["direction"] == "inbound"
        assert e["proxy"]["workload"] == "deploy/ratings-v1"
        assert e["tls"] in ("true", True), e
        assert e["client_id"] == WEB, e
        assert e["source"].rsplit(":", 1)[0] == warmed.pod("web-0")["ip"], e
        assert e["path"].startswith("/ratings/"), e
    assert {e["proxy"]["pod"] for e in inits} <= {p["name"] for p in warmed.pods("ratings-v1")}
    assert not load.failures, load.summary()


@pytest.mark.deadline(60)
def test_bridge_carries_no_plaintext_between_pods(warmed, web):
    """The wire: an AF_PACKET capture on lmesh0 while web serves books (web → ratings over
    HTTP/1.1 and → stock over the opaque line protocol, traffic → web). Between pods only TLS;
    this test's own requests from the host side (198.18.0.1, plaintext by design) are the
    control that shows the capture would see plaintext if there were any."""
    load = m.start_load(*web, ["/api/books", "/api/rating/3"], max_seconds=20, pause=0.005,
                        name="load")
    try:
        time.sleep(0.3)
        segments = m.capture_tcp(m.BRIDGE, seconds=3.0)
    finally:
        load.stop()
    pods_by_ip = {p["ip"]: p["name"] for p in warmed.pods()}
    forbidden = [b"GET /", b"HTTP/1.1", b"HTTP/1.0", b"STOCK ", b"/ratings", b"/api/",
                 b"PRI * HTTP/2.0", b"ratings.default.svc", b'"version"']
    pod_bytes, pairs, tls_records, leaks = 0, {}, 0, []
    control = 0
    for s in segments:
        if s.src == m.HOST_IP or s.dst == m.HOST_IP:
            if b"GET /api/" in s.payload or b"HTTP/1.1 200" in s.payload:
                control += 1
            continue
        if not (m.is_pod_ip(s.src) and m.is_pod_ip(s.dst)):
            continue
        pod_bytes += len(s.payload)
        key = tuple(sorted((pods_by_ip.get(s.src, s.src), pods_by_ip.get(s.dst, s.dst))))
        pairs[key] = pairs.get(key, 0) + len(s.payload)
        if s.payload[:1] in (b"\x16", b"\x17") and s.payload[1:3] == b"\x03\x03":
            tls_records += 1
        for needle in forbidden:
            if needle in s.payload:
                leaks.append(f"{s.src}:{s.sport} -> {s.dst}:{s.dport} contains {needle!r}: "
                             f"{s.payload[:80]!r}")
    print(f"\n{load.summary()}\ncaptured {len(segments)} TCP segments with payload on "
          f"{m.BRIDGE}: pod<->pod {pod_bytes} bytes, {tls_records} segments starting with a "
          f"TLS record header; per pair {pairs}; host<->pod plaintext control segments "
          f"{control}; plaintext leaks {len(leaks)}")
    assert control > 0, "the capture saw none of this test's own plaintext: is it working?"
    assert pod_bytes > 1000, "the capture saw (almost) no traffic between pods"
    # Every kind of hop was on the wire (the balancer may favour one ratings-v1 replica).
    assert pairs.get(("ratings-v1-0", "web-0"), 0) + pairs.get(("ratings-v1-1", "web-0"), 0) > 0
    for pair in (("stock-0", "web-0"), ("traffic-0", "web-0")):
        assert pairs.get(pair, 0) > 0, f"no traffic seen between {pair}: {pairs}"
    assert tls_records > 0
    assert not leaks, "plaintext between pods:\n" + "\n".join(leaks[:10])
    assert not load.failures, load.summary()


def test_opaque_stock_through_both_proxies_over_mtls(warmed, web):
    """web asks stock (`STOCK <id>` lines, opaque TCP: the proxies must not parse it) for every
    /api/books; the stock counts arrive, and stock's proxy served them only over mesh TLS: its
    inbound mTLS connections grew from before the warm-up (8 concurrent clients make web open
    more connections to stock: one per web thread), and its mTLS bytes grow in this test."""
    stock = warmed.pod("stock-0")
    baseline = warmed.stock_before_warm_up
    web_pod = warmed.pod("web-0")
    before = m.scrape(stock["admin"])
    # Concurrent requests: web's proxy pools its connections to web, so only concurrency makes
    # web open more (each web connection thread has its own stock connection).
    results = m.fetch_many(*web, "/api/books", 40, workers=8)
    after = m.scrape(stock["admin"])
    web_after = m.scrape(web_pod["admin"])
    bad = [m.describe_failure(st, b) for st, b in results if st != 200]
    stocks = {b["id"]: b["stock"] for b in json.loads(results[-1][1])} if not bad else {}

    def tcp(samples, name, direction, peer, tls):
        return m.total(samples, name, direction=direction, peer=peer, tls=tls)
    opened = tcp(after, "tcp_open_total", "inbound", "src", "true")
    grew = opened - tcp(baseline, "tcp_open_total", "inbound", "src", "true")
    plain = tcp(after, "tcp_open_total", "inbound", "src", "false") \
        + tcp(after, "tcp_open_total", "inbound", "src", "passthru")
    read = tcp(after, "tcp_read_bytes_total", "inbound", "src", "true") \
        - tcp(before, "tcp_read_bytes_total", "inbound", "src", "true")
    written = tcp(after, "tcp_write_bytes_total", "inbound", "src", "true") \
        - tcp(before, "tcp_write_bytes_total", "inbound", "src", "true")
    web_tls = tcp(web_after, "tcp_open_total", "outbound", "dst", "true")
    web_plain = tcp(web_after, "tcp_open_total", "outbound", "dst", "false")
    print(f"\n{len(results)} x /api/books, {len(bad)} failed; stock counts {stocks}; stock-0 "
          f"inbound: mTLS connections {opened:.0f} (+{grew:.0f} since before the warm-up), "
          f"plaintext or passthru {plain:.0f}, bytes over mTLS +{read:.0f} in / "
          f"+{written:.0f} out; web-0 outbound connections: mTLS {web_tls:.0f}, "
          f"plaintext {web_plain:.0f}")
    assert not bad, bad[:5]
    assert len(results) == 40
    assert stocks == {1: 3, 2: 0, 3: 12, 4: 7}
    assert opened >= 1 and plain == 0
    # 40 pages = 160 `STOCK <id>` lines in and answers out, through mTLS connections only.
    assert read >= 40 * len("STOCK 1\n") * 4 and written >= 40 * len("1 3\n") * 4
    assert grew >= 1, "stock's proxy counted no new inbound mTLS connection"
    assert web_tls >= 1 and web_plain == 0


def test_tap_of_web_shows_server_identities_of_ratings(warmed, web):
    mesh = warmed
    ip_identity = {p["ip"]: p["identity"] for p in mesh.pods()}
    load = m.start_load(*web, ["/api/books"], max_seconds=30, pause=0.01, name="load")
    try:
        time.sleep(0.5)
        lines, err, _ = m.read_stream_lines(
            [m.cli(), "tap", "deploy/web", "--path", "/ratings", "-o", "json"],
            max_lines=30, timeout=15)
        text, _, _ = m.read_stream_lines([m.cli(), "tap", "deploy/web", "--path", "/ratings"],
                                         max_lines=6, timeout=15)
    finally:
        load.stop()
    inits = [e for e in map(json.loads, lines) if e.get("kind") == "request_init"]
    seen = {}
    for e in inits:
        assert e["direction"] == "outbound" and e["proxy"]["pod"] == "web-0", e
        assert e["tls"] in ("true", True), e
        ip = e["destination"].rsplit(":", 1)[0]
        assert e["server_id"] in (RATINGS_V1, RATINGS_V2), e
        assert e["server_id"] == ip_identity.get(ip), \
            f"{e['destination']} is {ip_identity.get(ip)}, tap says server_id {e['server_id']}"
        seen[e["server_id"].split(".")[0]] = seen.get(e["server_id"].split(".")[0], 0) + 1
    print(f"\n{load.summary()}\ntap deploy/web (outbound to ratings): {len(inits)} requests, "
          f"by server identity {seen}\ntext lines: " + "\n  ".join(text))
    assert len(inits) >= 5, f"too few events: {lines} {err}"
    assert "ratings-v1" in seen
    req_lines = [line for line in text if line.startswith("req ")]
    assert req_lines and all("proxy=out" in line and "tls=true" in line for line in req_lines), text
    assert not load.failures, load.summary()


@pytest.mark.deadline(90)
def test_stat_shows_demo_traffic(warmed, web):
    """`lmesh stat deploy`: lmesh-tap scrapes every 10 s and differences over the window; with
    ≥ 20 s of traffic behind, web and ratings-v1 show success 1.0 and a positive rps."""
    mesh = warmed
    up_age = time.time() - (mesh.state_dir / "state.json").stat().st_ctime
    load = m.start_load(*web, ["/api/rating/1"], max_seconds=80, pause=0.02, name="load")
    rows = {}
    try:
        def good():
            done = m.lmesh("stat", "deploy", "-t", "20s", "-o", "json", check=True)
            nonlocal rows
            rows = {r["name"]: r for r in json.loads(done.stdout)}
            return all(rows.get(w, {}).get("rps") and rows[w].get("success_rate") is not None
                       for w in ("web", "ratings-v1"))
        t0 = time.monotonic()
        m.wait_for(good, 60, "lmesh stat deploy -t 20s to show web and ratings-v1 figures",
                   interval=1.0)
        waited = time.monotonic() - t0
        table = m.lmesh("stat", "deploy", "-t", "20s", check=True).stdout
        default_window = json.loads(m.lmesh("stat", "deploy", "-o", "json", check=True).stdout)
    finally:
        load.stop()
    print(f"\n{load.summary()}\nmesh up ~{up_age:.0f} s before this test; figures after "
          f"{waited:.1f} s more\n{table}")
    for r in default_window:
        print(f"  default window (1m): {r['name']}: success {r['success_rate']} rps {r['rps']}")
    for w in ("web", "ratings-v1", "ratings-v2"):
        r = rows[w]
        print(f"  {w}: success {r['success_rate']} rps {r['rps']:.2f} requests {r['requests']} "
              f"meshed {r['meshed']}")
    for w in ("web", "ratings-v1"):
        assert rows[w]["success_rate"] == 1.0, rows[w]
        assert rows[w]["rps"] > 0, rows[w]
    assert rows["web"]["meshed"] == "1/1" and rows["ratings-v1"]["meshed"] == "2/2"
    assert not load.failures, load.summary()
