"""The books demo's programs (demo/books/*.py) on their own: no proxy, no lmesh up.

Each app runs as its own process on 127.0.0.1 with a free port, in "netns style" env
(LMESH_SERVICE_* are plain 127.0.0.1:PORT authorities, LMESH_OUTBOUND empty, so the apps connect
directly), plus a few "loopback style" cases (LMESH_OUTBOUND set: connect there, authority in
Host) against stand-in servers that record what they get.

Run: /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_demo_apps.py
(LMESH_DEMO_DIR points at another demo dir; default: the repo's demo/).
"""
import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.deadline(10)

DEMO = Path(os.environ.get("LMESH_DEMO_DIR") or Path(__file__).resolve().parents[2] / "demo")
BOOKS = DEMO / "books"
START_TIMEOUT = 5.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """One demo program as a child process; its stderr goes to a file."""

    def __init__(self, name, env, log_dir, port=None):
        self.name, self.port = name, port
        self.log_path = log_dir / f"{name}-{port or 'noport'}-{time.monotonic_ns()}.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("LMESH_")}
        base.update({"PYTHONDONTWRITEBYTECODE": "1", "LMESH_LISTEN_HOST": "127.0.0.1"})
        if port is not None:
            base["PORT"] = str(port)
        base.update(env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-B", str(BOOKS / f"{name}.py")],
                                         env=base, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.03)
        pytest.fail(f"{self.name} is not listening on {self.port} after {START_TIMEOUT}s:\n"
                    f"{self.log()}")

    def terminate(self, timeout=2.0):
        """SIGTERM; returns (exit code, seconds it took)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"{self.name} did not exit within {timeout}s of SIGTERM:\n{self.log()}")
        return code, time.monotonic() - start

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def start(tmp_path):
    started = []

    def run(name, env=None, port="free", wait=True):
        if port == "free":
            port = free_port() if name != "traffic" else None
        app = App(name, env or {}, tmp_path, port)
        started.append(app)
        return app.wait_listening() if wait and port is not None else app
    yield run
    for app in started:
        app.kill()


def authority(app_or_port):
    port = app_or_port if isinstance(app_or_port, int) else app_or_port.port
    return f"127.0.0.1:{port}"


@pytest.fixture
def books(start):
    """ratings v1, stock and web wired together directly (netns style)."""
    ratings = start("ratings", {"RATINGS_VERSION": "v1", "LMESH_POD_NAME": "ratings-v1-0"})
    stock = start("stock")
    web = start("web", {"LMESH_SERVICE_RATINGS": authority(ratings),
                        "LMESH_SERVICE_STOCK": authority(stock), "LMESH_POD_NAME": "web-0"})
    return ratings, stock, web


def get(port, path, conn=None, method="GET", headers=None):
    """(status, headers, body) with a fresh connection, or over `conn` (kept open)."""
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, r, r.read()
    finally:
        if conn is None:
            c.close()


def get_json(port, path, conn=None):
    status, r, body = get(port, path, conn)
    assert r.getheader("Content-Type") == "application/json", body
    return status, json.loads(body)


class Recorder:
    """A stand-in HTTP/1.1 server (a fake ratings or web) recording every request."""

    def __init__(self, answer=None):
        self.requests = []           # (client port, method, path, Host)
        self.lock = threading.Lock()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with recorder.lock:
                    recorder.requests.append((self.client_address[1], self.command, self.path,
                                              self.headers.get("Host")))
                status, obj = (answer or recorder.default_answer)(self.path)
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def default_answer(path):
        m = re.match(r"^/ratings/(\d+)$", path)
        if m:
            return 200, {"id": int(m.group(1)), "stars": 1, "version": "fake", "pod": "fake-0"}
        return 200, {"ok": True}

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    made = []

    def make(answer=None):
        r = Recorder(answer)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def stock_session(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    return s, s.makefile("rb")


# ---------------------------------------------------------------- web + ratings + stock

def test_books_api_page_and_keepalive(books):
    ratings, stock, web = books
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
    status, listing = get_json(web.port, "/api/books", conn)
    assert status == 200
    assert [b["id"] for b in listing] == [1, 2, 3, 4]
    for b in listing:
        assert b["title"] and b["author"]
        assert b["rating"]["id"] == b["id"]
        assert b["rating"]["version"] == "v1" and b["rating"]["pod"] == "ratings-v1-0"
        assert isinstance(b["stock"], int) and b["stock"] >= 0

    status, r, body = get(web.port, "/", conn)
    assert status == 200 and r.getheader("Content-Type").startswith("text/html")
    page = body.decode()
    assert "Dune" in page and "ratings-v1-0" in page and ">v1<" in page and "web-0" in page

    status, r, body = get(web.port, "/healthz", conn)
    assert status == 200
    status, r, body = get(web.port, "/", conn, method="HEAD")
    assert status == 200 and body == b"" and int(r.getheader("Content-Length")) > 0
    status, answer = get_json(web.port, "/nope", conn)
    assert status == 404
    status, r, body = get(web.port, "/api/books", conn, method="POST")
    assert status == 405
    # every answer above came over the one keep-alive connection
    assert conn.sock is not None
    status, listing2 = get_json(web.port, "/api/books", conn)
    assert status == 200 and listing2 == listing
    conn.close()
    for app in books:
        assert app.proc.poll() is None
        assert "Traceback" not in app.log()


def test_rating_versions_and_pods(start):
    v1 = start("ratings", {"RATINGS_VERSION": "v1", "LMESH_POD_NAME": "ratings-v1-1"})
    v2 = start("ratings", {"RATINGS_VERSION": "v2", "LMESH_POD_NAME": "ratings-v2-0"})
    stock = start("stock")
    for app, version in ((v1, "v1"), (v2, "v2")):
        status, answer = get_json(app.port, "/ratings/1")
        assert status == 200
        assert answer["id"] == 1 and answer["version"] == version
        assert answer["pod"] == f"ratings-{version}-{'1' if version == 'v1' else '0'}"
        assert 0 < answer["stars"] <= 5
        status, answer = get_json(app.port, "/ratings/99")
        assert status == 404 and answer["version"] == version
        status, answer = get_json(app.port, "/ratings/abc")
        assert status == 404
        assert get(app.port, "/healthz")[0] == 200

    web = start("web", {"LMESH_SERVICE_RATINGS": authority(v2),
                        "LMESH_SERVICE_STOCK": authority(stock)})
    status, answer = get_json(web.port, "/api/rating/1")
    assert status == 200
    assert answer == {"id": 1, "stars": answer["stars"], "version": "v2", "pod": "ratings-v2-0"}
    status, answer = get_json(web.port, "/api/rating/99")      # ratings' 404, passed through
    assert status == 404 and answer["version"] == "v2"
    status, listing = get_json(web.port, "/api/books")
    assert status == 200 and {b["rating"]["version"] for b in listing} == {"v2"}


# ---------------------------------------------------------------- stock

def test_stock_line_protocol(start):
    stock = start("stock")
    s, rfile = stock_session(stock.port)
    with s, rfile:
        s.sendall(b"STOCK 1\n")
        assert rfile.readline() == b"1 3\n"
        # pipelined, CRLF, bad lines in between: answered in order, connection stays open
        s.sendall(b"STOCK 3\r\nHELLO\n\nSTOCK\nSTOCK x\nSTOCK 99\nSTOCK 2 3\nSTOCK 4\n")
        answers = [rfile.readline() for _ in range(8)]
        assert answers[0] == b"3 12\n"
        assert all(a.startswith(b"ERR ") and a.endswith(b"\n") for a in answers[1:7]), answers
        assert answers[7] == b"4 7\n"
        # a line split across writes
        s.sendall(b"STO")
        time.sleep(0.05)
        s.sendall(b"CK 2\n")
        assert rfile.readline() == b"2 0\n"
        # over 1 KiB: ERR, the rest of that line discarded, connection still fine
        s.sendall(b"STOCK " + b"1" * 2000)
        time.sleep(0.05)
        s.sendall(b"11\nSTOCK 1\n")          # the tail of that line: short, still discarded
        assert rfile.readline() == b"ERR line too long\n"
        assert rfile.readline() == b"1 3\n"
        s.sendall(b"STOCK 1" + b" " * 1100 + b"\n")
        assert rfile.readline() == b"ERR line too long\n"
        # many lines on one connection
        s.sendall(b"STOCK 3\n" * 500)
        assert [rfile.readline() for _ in range(500)] == [b"3 12\n"] * 500
    # several connections at once
    sessions = [stock_session(stock.port) for _ in range(5)]
    for s, rfile in sessions:
        s.sendall(b"STOCK 4\n")
    for s, rfile in sessions:
        assert rfile.readline() == b"4 7\n"
        s.close()
        rfile.close()
    assert stock.proc.poll() is None and "Traceback" not in stock.log()


# ---------------------------------------------------------------- dependencies failing

def test_502_when_ratings_down_then_recovers(start):
    ratings_port = free_port()
    stock = start("stock")
    web = start("web", {"LMESH_SERVICE_RATINGS": authority(ratings_port),
                        "LMESH_SERVICE_STOCK": authority(stock)})
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
    for path in ("/api/books", "/api/rating/1", "/"):
        status, answer = get_json(web.port, path, conn)
        assert status == 502, (path, answer)
        assert answer["error"] == "ratings unavailable" and "refused" in answer["detail"]

    ratings = start("ratings", {"RATINGS_VERSION": "v1"}, port=ratings_port)
    assert get_json(web.port, "/api/books", conn)[0] == 200
    # ratings dies while web holds a keep-alive connection to it: 502, no crash
    assert ratings.terminate()[0] == 0
    status, answer = get_json(web.port, "/api/rating/2", conn)
    assert status == 502 and answer["error"] == "ratings unavailable"
    # and comes back: web reconnects
    start("ratings", {"RATINGS_VERSION": "v2"}, port=ratings_port)
    status, answer = get_json(web.port, "/api/rating/2", conn)
    assert status == 200 and answer["version"] == "v2"
    conn.close()
    assert web.proc.poll() is None and "Traceback" not in web.log()


def test_502_when_stock_down(start):
    ratings = start("ratings")
    stock = start("stock")
    web = start("web", {"LMESH_SERVICE_RATINGS": authority(ratings),
                        "LMESH_SERVICE_STOCK": authority(stock)})
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
    assert get_json(web.port, "/api/books", conn)[0] == 200
    assert stock.terminate()[0] == 0
    status, answer = get_json(web.port, "/api/books", conn)
    assert status == 502 and answer == {"error": "stock unavailable", "detail": answer["detail"]}
    assert get_json(web.port, "/api/rating/1", conn)[0] == 200    # ratings alone still works
    start("stock", port=stock.port)
    assert get_json(web.port, "/api/books", conn)[0] == 200
    conn.close()
    assert web.proc.poll() is None and "Traceback" not in web.log()


def test_ratings_faults_become_502(start):
    failing = start("ratings", {"RATINGS_FAIL_PERCENT": "100"})
    status, answer = get_json(failing.port, "/ratings/1")
    assert status == 500 and answer["version"] == "v1"
    slow = start("ratings", {"RATINGS_DELAY_MS": "3000"})
    stock = start("stock")
    web_failing = start("web", {"LMESH_SERVICE_RATINGS": authority(failing),
                                "LMESH_SERVICE_STOCK": authority(stock)})
    status, answer = get_json(web_failing.port, "/api/rating/1")
    assert status == 502 and answer["error"] == "ratings unavailable" and "500" in answer["detail"]

    web_slow = start("web", {"LMESH_SERVICE_RATINGS": authority(slow),
                             "LMESH_SERVICE_STOCK": authority(stock)})
    began = time.monotonic()
    status, answer = get_json(web_slow.port, "/api/rating/1")
    took = time.monotonic() - began
    assert status == 502 and "timed out" in answer["detail"]
    assert 1.8 < took < 2.9, took                      # web's 2 s timeout


# ---------------------------------------------------------------- how web reaches ratings/stock

def test_web_reuses_one_connection_to_ratings(start, recorder):
    fake = recorder()
    stock = start("stock")
    web = start("web", {"LMESH_SERVICE_RATINGS": authority(fake.port),
                        "LMESH_SERVICE_STOCK": authority(stock)})
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
    for _ in range(3):
        assert get_json(web.port, "/api/books", conn)[0] == 200
    conn.close()
    seen = fake.snapshot()
    assert len(seen) == 12                          # 4 books x 3
    assert len({client for client, *_ in seen}) == 1, seen
    assert {host for *_, host in seen} == {authority(fake.port)}


def test_web_loopback_mode_uses_outbound_and_host(start, recorder):
    fake = recorder()              # plays the outbound proxy: records the Host it is sent
    stock = start("stock")
    env = {"LMESH_OUTBOUND": authority(fake.port),
           "LMESH_SERVICE_RATINGS": "ratings.default.svc.cluster.local:8080",
           "LMESH_SERVICE_STOCK": "stock.default.svc.cluster.local:7070"}
    web = start("web", env)
    status, answer = get_json(web.port, "/api/rating/3")
    assert status == 200 and answer["version"] == "fake"
    assert fake.snapshot()[-1][2:] == ("/ratings/3", "ratings.default.svc.cluster.local:8080")
    # no opaque route in loopback mode: stock shows as null, the page still works
    status, listing = get_json(web.port, "/api/books")
    assert status == 200 and {b["stock"] for b in listing} == {None}
    assert "LMESH_OUTBOUND_STOCK" in web.log()
    assert get(web.port, "/")[0] == 200
    # with LMESH_OUTBOUND_STOCK, stock goes there
    web2 = start("web", {**env, "LMESH_OUTBOUND_STOCK": authority(stock)})
    status, listing = get_json(web2.port, "/api/books")
    assert status == 200 and listing[0]["stock"] == 3


# ---------------------------------------------------------------- traffic

def test_traffic_alternates_over_keepalive(start, recorder):
    fake = recorder()
    traffic = start("traffic", {"LMESH_SERVICE_WEB": authority(fake.port), "TRAFFIC_RPS": "20"})
    deadline = time.monotonic() + 5
    while len(fake.snapshot()) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = fake.snapshot()
    assert len(seen) >= 12, traffic.log()
    paths = [path for _, _, path, _ in seen]
    assert paths[:4] == ["/", "/api/books", "/", "/api/books"]
    assert len({client for client, *_ in seen}) == 1       # keep-alive
    assert {host for *_, host in seen} == {authority(fake.port)}
    # the rate: 20/s, so nowhere near 12 requests in the first 0.3 s of a fresh count
    before = len(fake.snapshot())
    time.sleep(1.0)
    assert 10 <= len(fake.snapshot()) - before <= 30
    code, took = traffic.terminate()
    assert code == 0 and took < 1.0
    assert "error" not in traffic.log()


def test_traffic_loopback_mode_sends_authority(start, recorder):
    fake = recorder()
    traffic = start("traffic", {"LMESH_OUTBOUND": authority(fake.port),
                                "LMESH_SERVICE_WEB": "web.default.svc.cluster.local:8080",
                                "TRAFFIC_RPS": "50"})
    deadline = time.monotonic() + 5
    while len(fake.snapshot()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {host for *_, host in fake.snapshot()} == {"web.default.svc.cluster.local:8080"}
    assert traffic.terminate()[0] == 0


def test_traffic_errors_are_rate_limited(start, recorder):
    fake = recorder(answer=lambda path: (503, {"error": "down"}))
    traffic = start("traffic", {"LMESH_SERVICE_WEB": authority(fake.port), "TRAFFIC_RPS": "50"})
    time.sleep(2.5)
    refused = start("traffic", {"LMESH_SERVICE_WEB": authority(free_port()),
                                "TRAFFIC_RPS": "50"})
    time.sleep(1.2)
    for app, what in ((traffic, "503"), (refused, "Refused")):
        code, took = app.terminate()
        assert code == 0 and took < 1.0
        errors = [line for line in app.log().splitlines() if "error:" in line]
        assert errors and all(what in line for line in errors), app.log()
    assert 2 <= len([l for l in traffic.log().splitlines() if "error:" in l]) <= 4, traffic.log()
    assert "more errors" in traffic.log()
    assert len(fake.snapshot()) > 60                  # it kept sending meanwhile


# ---------------------------------------------------------------- lifecycle and configuration

def test_sigterm_exits_promptly_with_open_connections(books, start):
    ratings, stock, web = books
    traffic = start("traffic", {"LMESH_SERVICE_WEB": authority(web), "TRAFFIC_RPS": "20"})
    slow = start("ratings", {"RATINGS_DELAY_MS": "5000"})
    # idle keep-alive connections to each server, and a request in flight on the slow one
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
    assert get_json(web.port, "/api/books", conn)[0] == 200
    s, rfile = stock_session(stock.port)
    s.sendall(b"STOCK 1\n")
    assert rfile.readline() == b"1 3\n"
    inflight = socket.create_connection(("127.0.0.1", slow.port))
    inflight.sendall(b"GET /ratings/1 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.5)
    for app in (traffic, web, ratings, stock, slow):
        code, took = app.terminate()
        assert code == 0, (app.name, app.log())
        assert took < 1.0, (app.name, took)
    assert s.recv(1) == b""                          # stock closed its connections
    for c in (conn, s, rfile, inflight):
        c.close()


@pytest.mark.parametrize("name, env, mentions", [
    ("ratings", {"RATINGS_VERSION": "v3"}, "RATINGS_VERSION"),
    ("ratings", {"RATINGS_FAIL_PERCENT": "150"}, "RATINGS_FAIL_PERCENT"),
    ("ratings", {"RATINGS_DELAY_MS": "soon"}, "RATINGS_DELAY_MS"),
    ("ratings", {"PORT": "http"}, "PORT"),
    ("stock", {"PORT": "70000"}, "PORT"),
    ("stock", {"STOCK_DELAY_MS": "-1"}, "STOCK_DELAY_MS"),
    ("web", {"LMESH_SERVICE_STOCK": "127.0.0.1:1"}, "LMESH_SERVICE_RATINGS"),
    ("web", {"LMESH_SERVICE_RATINGS": "ratings", "LMESH_SERVICE_STOCK": "127.0.0.1:1"},
     "LMESH_SERVICE_RATINGS"),
    ("web", {"LMESH_SERVICE_RATINGS": "127.0.0.1:1", "LMESH_SERVICE_STOCK": "127.0.0.1:1",
             "LMESH_OUTBOUND": "127.0.0.1"}, "LMESH_OUTBOUND"),
    ("traffic", {"LMESH_SERVICE_WEB": "127.0.0.1:1", "TRAFFIC_RPS": "fast"}, "TRAFFIC_RPS"),
    ("traffic", {}, "LMESH_SERVICE_WEB"),
])
def test_bad_env_exits_with_a_message(start, name, env, mentions):
    app = start(name, env, wait=False)
    try:
        code = app.proc.wait(5)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} kept running with {env}")
    assert code == 2
    log = app.log()
    assert mentions in log and f"{name}:" in log and "Traceback" not in log, log


def test_listen_port_in_use_is_a_clear_error(start):
    ratings = start("ratings")
    app = start("stock", port=ratings.port, wait=False)
    assert app.proc.wait(5) == 2
    assert "cannot listen" in app.log() and "Traceback" not in app.log()


def test_mesh_file_names_the_programs():
    text = (DEMO / "mesh.yaml").read_text()
    programs = re.findall(r'"\{demo\}/books/([a-z]+\.py)"', text)
    assert sorted(set(programs)) == ["ratings.py", "stock.py", "traffic.py", "web.py"]
    for program in programs:
        assert (BOOKS / program).is_file()
    assert "weight: 90" in text and "weight: 10" in text
