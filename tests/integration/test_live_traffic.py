"""Live traffic end to end, every part real: lmesh-destination knows the pods (mesh file
`pods:`), two lmesh-proxy pods of deploy/web serve a real upstream, lmesh-tap fans taps out to
them and scrapes their metrics, and the `lmesh` CLI shows it: `lmesh tap` sees the requests of
both pods, `lmesh stat` figures match a load whose count, success rate and latencies are known.

Run: LMESH_PROXY=build/src/proxy/lmesh-proxy LMESH_DESTINATION=build/src/destination/lmesh-destination \\
     LMESH_TAP=build/src/tap/lmesh-tap LMESH_CLI=build/src/cli/lmesh \\
     /usr/bin/python3 -m pytest -q tests/integration/test_live_traffic.py
"""
import contextlib
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import upstreams
from client import HttpConn
from harness import Destination, MeshFile, Proxy, binary, hostport, wait_until

BUCKETS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000]


class TapService(Proxy):
    """The real lmesh-tap on a free port (harness.Proxy does the process work)."""

    def __init__(self, destination, **flags):
        super().__init__({"listen": "127.0.0.1:0", "destination_addr": hostport(destination.api),
                          "scrape_interval": "1s", **flags},
                         binary=binary("LMESH_TAP", "build/src/tap/lmesh-tap"), expect=("api",))

    @property
    def api(self):
        return self.addrs["api"]


@contextlib.contextmanager
def cli_tap(tap, *args):
    """`lmesh tap ARGS` against `tap`, its stdout lines collected as they come; Ctrl-C at the
    end, which must exit 0."""
    watcher = subprocess.Popen(
        [str(binary("LMESH_CLI", "build/src/cli/lmesh")), "tap", *args,
         "--tap-addr", hostport(tap.api)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(watcher.stdout), daemon=True).start()
    try:
        yield lines
    finally:
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=10)
    assert watcher.returncode == 0, err


def cli(*args, timeout=20):
    return subprocess.run([str(binary("LMESH_CLI", "build/src/cli/lmesh")), *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def mesh(tmp_path, proxy_factory, serve, start_destination):
    upstream = serve(upstreams.HttpUpstream, routes={
        "/fast": upstreams.fixed(200, b"fast"),
        "/slow": upstreams.delayed(0.022, upstreams.fixed(200, b"slow")),
        "/fail": upstreams.fixed(500, b"fail"),
    })
    pods = {name: proxy_factory(inbound_forward=hostport(upstream.addr)) for name in ("web-1", "web-2")}
    other = proxy_factory(inbound_forward=hostport(upstream.addr))
    mesh_file = MeshFile(tmp_path / "mesh.yaml")
    endpoints = "".join(
        f"      - {{addr: \"{hostport(p.inbound)}\", labels: {{pod: {name}}}}}\n"
        for name, p in pods.items())
    pod_list = "".join(
        f"  - {{name: {name}, namespace: default, workload: deploy/web, addr: 127.0.0.1, "
        f"admin: \"{hostport(p.admin)}\"}}\n" for name, p in pods.items())
    mesh_file.write(
        "services:\n"
        "  web.default.svc.cluster.local:8080:\n"
        "    endpoints:\n" + endpoints +
        "pods:\n" + pod_list +
        f"  - {{name: db-1, namespace: data, workload: deploy/db, addr: 127.0.0.1, "
        f"admin: \"{hostport(other.admin)}\"}}\n")
    destination = start_destination(mesh_file=mesh_file.path)
    tap = TapService(destination)
    yield pods, other, tap
    tap.stop()


def send(proxy, path, n):
    """n requests on one connection; the client's own latency of each, in ms."""
    took = []
    with HttpConn(proxy.inbound) as conn:
        for _ in range(n):
            started = time.monotonic()
            resp = conn.request("GET", path, [("Host", "web.default.svc.cluster.local:8080")])
            took.append((time.monotonic() - started) * 1000)
            assert resp.status in (200, 500), resp
    return took


def bucket_index(ms):
    return next((i for i, b in enumerate(BUCKETS) if ms <= b), len(BUCKETS))


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def test_lmesh_tap_shows_the_requests_of_every_pod(mesh):
    pods, other, tap = mesh
    with cli_tap(tap, "deploy/web", "-n", "default", "-o", "json") as lines:
        seen = set()

        def both_pods_seen():
            for name, proxy in pods.items():
                send(proxy, "/fast", 1)
            send(other, "/fast", 1)  # another workload's pod: never in this tap
            for line in list(lines):
                event = json.loads(line)
                if event.get("kind") == "request_init":
                    seen.add(event["proxy"]["pod"])
            return seen >= {"web-1", "web-2"}
        wait_until(both_pods_seen, 15, interval=0.2, message="requests of both pods in `lmesh tap`")
    events = [json.loads(l) for l in lines]
    assert {e["proxy"]["pod"] for e in events if "proxy" in e} <= {"web-1", "web-2"}
    inits = [e for e in events if e["kind"] == "request_init"]
    assert all(e["direction"] == "inbound" and e["path"] == "/fast" for e in inits)
    # Merged in time order.
    stamps = [e["ts_us"] for e in events if "ts_us" in e and e["kind"] != "dropped"]
    assert stamps == sorted(stamps)


def test_lmesh_tap_prints_linkerd_lines(mesh):
    pods, _, tap = mesh
    with cli_tap(tap, "pod/web-1", "--path", "/fa") as lines:
        def ended():
            send(pods["web-1"], "/fast", 1)
            send(pods["web-1"], "/slow", 1)  # not under --path /fa
            return any(l.startswith("end ") for l in lines)
        wait_until(ended, 15, interval=0.2, message="an `end` line from `lmesh tap`")
    req = next(l for l in lines if l.startswith("req "))
    rsp = next(l for l in lines if l.startswith("rsp "))
    assert " proxy=in " in req and ":method=GET" in req and ":path=/fast" in req, req
    assert ":status=200" in rsp and "latency=" in rsp, rsp
    assert not any(":path=/slow" in l for l in lines)
    assert not any("\x1b[" in l for l in lines), "no colour in a pipe"


def test_lmesh_stat_matches_a_known_load(mesh):
    pods, _, tap = mesh
    # The tap service's first scrape is the window's start.
    wait_until(lambda: cli("stat", "deploy/web", "--tap-addr", hostport(tap.api), "-o", "json").returncode == 0,
               10, interval=0.5, message="lmesh stat answering")
    time.sleep(1.5)
    took = []
    took += send(pods["web-1"], "/fast", 60)
    took += send(pods["web-2"], "/slow", 30)
    took += send(pods["web-2"], "/fail", 10)
    done = cli("stat", "deploy/web", "-n", "default", "-t", "1m", "--tap-addr", hostport(tap.api),
               "-o", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = report["rows"] if isinstance(report, dict) else report
    [row] = rows
    assert row["name"] == "web" and row["meshed"] == "2/2"
    assert row["requests"] == 100
    assert abs(row["success_rate"] - 0.90) <= 0.01
    for key, q in (("latency_ms_p50", 0.50), ("latency_ms_p95", 0.95), ("latency_ms_p99", 0.99)):
        # The proxy measures less than the client does: its figure falls in the bucket of the
        # client's quantile or the one below.
        expected = bucket_index(quantile(took, q))
        assert expected - 1 <= bucket_index(row[key]) <= expected, (key, row[key], quantile(took, q))
    table = cli("stat", "deploy/web", "--tap-addr", hostport(tap.api))
    assert table.returncode == 0, table.stderr
    header, line = table.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95",
                              "LATENCY_P99", "TCP_CONN"]
    assert line.split()[:3] == ["web", "2/2", "90.00%"], line


def test_the_cli_fails_clearly(mesh):
    _, _, tap = mesh
    nothing = cli("stat", "deploy/nope", "--tap-addr", hostport(tap.api))
    assert nothing.returncode == 1 and "deploy/nope" in nothing.stderr, nothing
    nothing = cli("tap", "deploy/nope", "--tap-addr", hostport(tap.api))
    assert nothing.returncode == 1 and "deploy/nope" in nothing.stderr, nothing
    down = cli("stat", "deploy/web", "--tap-addr", "127.0.0.1:1")
    assert down.returncode == 1 and "cannot reach lmesh-tap at 127.0.0.1:1" in down.stderr, down


# ---------------------------------------------------------------- the web dashboard

def http_get(addr, path):
    with HttpConn(addr) as conn:
        return conn.request("GET", path, [("Host", hostport(addr))])


def test_the_dashboard_page_script_and_style_are_served(mesh):
    _, _, tap = mesh
    page = http_get(tap.api, "/")
    assert page.status == 200 and page.header("content-type").startswith("text/html"), page
    assert b'<script src="/dashboard.js"' in page.body and b'href="/dashboard.css"' in page.body
    assert http_get(tap.api, "/index.html").body == page.body
    script = http_get(tap.api, "/dashboard.js")
    assert script.status == 200 and script.header("content-type").startswith("text/javascript")
    assert b"/v1/tap?" in script.body and b"/v1/stat?" in script.body
    style = http_get(tap.api, "/dashboard.css")
    assert style.status == 200 and style.header("content-type").startswith("text/css")
    assert http_get(tap.api, "/dashboard.png").status == 404


def test_lmesh_dashboard_prints_a_link_that_works(mesh):
    _, _, tap = mesh
    addr = hostport(tap.api)
    done = cli("dashboard", "--tap-addr", addr)
    assert done.returncode == 0 and done.stdout == f"lmesh dashboard: http://{addr}/\n", done
    done = cli("dashboard", "deploy/web", "--tap-addr", addr)
    assert done.stdout == f"lmesh dashboard: http://{addr}/#ns=default&tap=web\n", done
    nope = cli("dashboard", "deploy/nope", "--tap-addr", addr)
    assert nope.returncode == 1 and "deploy/nope" in nope.stderr and not nope.stdout, nope
    down = cli("dashboard", "--tap-addr", "127.0.0.1:1")
    assert down.returncode == 1 and "cannot reach lmesh-tap at 127.0.0.1:1" in down.stderr, down
    usage = cli("dashboard", "svc/web")
    assert usage.returncode == 2 and "deploy/NAME" in usage.stderr, usage


def browser():
    """Headless Chromium driven by Selenium (Debian's chromium, chromium-driver and
    python3-selenium, which dev/setup.sh installs)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("python3-selenium is not installed (dev/setup.sh installs it)")
    for path in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.path.exists(path):
            pytest.skip(f"{path} is missing (dev/setup.sh installs chromium and chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


@pytest.mark.deadline(90)
def test_the_dashboard_shows_stats_and_live_requests_in_a_browser(mesh):
    pods, _, tap = mesh
    driver = browser()
    try:
        # A link straight to a tap of deploy/web, as `lmesh dashboard deploy/web` prints it.
        driver.get(f"http://{hostport(tap.api)}/#ns=default&tap=web")

        def rows(selector):
            """The cell texts of the rows `selector` matches, read in one go: the page redraws
            its tables every 2 s, so elements held across calls would go stale."""
            return driver.execute_script(
                "return [...document.querySelectorAll(arguments[0])]"
                ".map(tr => [...tr.cells].map(td => td.textContent))", selector)

        def live_requests_shown():
            for proxy in pods.values():
                send(proxy, "/fast", 2)
                send(proxy, "/fail", 1)
            done = [r for r in rows('#tap tbody tr[data-path="/fast"]') if r[9] == "200"]
            return done and rows('#tap tbody tr[data-path="/fail"]')
        wait_until(live_requests_shown, 30, interval=0.5, message="tapped requests in the page")
        pods_seen = {r[1] for r in rows("#tap tbody tr")}
        assert pods_seen and pods_seen <= {"web-1", "web-2"}, pods_seen
        assert {r[2] for r in rows("#tap tbody tr")} == {"in"}  # what the pods served

        # The per-path summary counts them; /fail is all failures.
        fail = rows('#top tbody tr[data-path="/fail"]')[0]
        assert int(fail[1]) >= 1 and fail[2] == "0.00%", fail

        # The stat tables: deploy/web with both pods meshed and traffic in the window, once
        # lmesh-tap's scrape rounds (every second here) have seen it; the page redraws every 2 s.
        # A window can end with a request counted and its response not yet: a success rate
        # too is what says the window holds answered traffic.
        def web_row():
            for proxy in pods.values():
                send(proxy, "/fast", 2)
            r = rows('#deployments tbody tr[data-name="web"]')
            return (r and r[0][3] not in ("", "-") and float(r[0][3]) > 0 and r[0][2].endswith("%")
                    and r[0])
        cells = wait_until(web_row, 30, interval=0.5, message="deploy/web's stat row with traffic")
        assert cells[0] == "web" and cells[1] == "2/2", cells
        # The window reaches back to lmesh-tap's first round, before the /fail requests above.
        assert 0 < float(cells[2].rstrip("%")) < 100, cells
        assert rows('#namespaces tbody tr[data-name="default"]')
        status = driver.execute_script("return document.getElementById('status').textContent")
        assert status.startswith("updated"), status
    finally:
        driver.quit()
