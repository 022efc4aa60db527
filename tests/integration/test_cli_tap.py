"""`lmesh tap`, `lmesh stat` and `lmesh top` against a stand-in lmesh-tap (fake_tap_service.py):
the exact text they print for canned event streams and stat answers, in a pipe and on a
terminal (a pty: colour, redraws in place), SIGINT as a clean end, and the messages and exit
codes for an unreachable service, a target that matches nothing, a bad request and bad usage.

Run: LMESH_CLI=build/src/cli/lmesh /usr/bin/python3 -m pytest -q tests/integration/test_cli_tap.py
"""
import os
import select
import signal
import socket
import subprocess
import time

import pytest

from fake_tap_service import HOLD, Answer, FakeTap, error_answer
from harness import binary

RUN_TIMEOUT = 10.0
CLEAR = "\x1b[H\x1b[2J"
RED = "\x1b[31m"
PLAIN = "\x1b[0m"

WEB1 = {"pod": "web-1", "namespace": "default", "workload": "deploy/web"}
API7 = {"pod": "api-7", "namespace": "shop", "workload": "deploy/api"}


def req(id, proxy, direction, src, dst, method, authority, path):
    return {"kind": "request_init", "id": id, "ts_us": 1764000000123456, "direction": direction,
            "source": src, "destination": dst, "tls": "true", "client_id": "", "server_id": "",
            "method": method, "scheme": "http", "authority": authority, "path": path,
            "headers": {"user-agent": "curl/7.88"}, "proxy": proxy}


def rsp(id, proxy, status, latency_us):
    return {"kind": "response_init", "id": id, "ts_us": 1764000000125000,
            "latency_us": latency_us, "status": status, "headers": {}, "proxy": proxy}


def end(id, proxy, duration_us, response_bytes, grpc_status=None, reset="", error=""):
    e = {"kind": "response_end", "id": id, "ts_us": 1764000000126000, "duration_us": duration_us,
         "response_bytes": response_bytes, "reset": reset, "error": error, "proxy": proxy}
    if grpc_status is not None:
        e["grpc_status"] = grpc_status
    return e


BOOKS = [
    req("1:42", WEB1, "outbound", "127.0.0.1:50412", "198.18.0.12:8080", "GET", "web:8080", "/books"),
    rsp("1:42", WEB1, 200, 1840),
    end("1:42", WEB1, 55, 5120),
]
MORE_BOOKS = [
    req("1:44", WEB1, "outbound", "127.0.0.1:50416", "198.18.0.12:8080", "GET", "web:8080", "/books"),
    rsp("1:44", WEB1, 200, 2500),
    end("1:44", WEB1, 100, 0, reset="CANCEL"),
]
# Two proxies, interleaved as lmesh-tap merges them, with every kind of line tap prints.
EVENTS = BOOKS[:1] + [
    req("0:7", API7, "inbound", "198.18.0.11:41000", "127.0.0.1:9090", "POST", "api.shop:9090",
        "/shop.Api/Get"),
    BOOKS[1],
    rsp("0:7", API7, 200, 950),
    BOOKS[2],
    end("0:7", API7, 30, 12, grpc_status=14),
    {"kind": "dropped", "ts_us": 1764000000127000, "count": 17, "proxy": WEB1},
    req("1:43", WEB1, "outbound", "127.0.0.1:50414", "198.18.0.12:8080", "GET", "web:8080",
        "/missing"),
    rsp("1:43", WEB1, 503, 12),
    end("1:43", WEB1, 0, 0, error="no ready endpoints"),
    {"kind": "proxy_error", "proxy": API7, "error": "connection refused"},
    {"kind": "a_kind_from_the_future", "id": "1:1", "proxy": WEB1},
    rsp("9:99", WEB1, 200, 5),  # its request came before the tap started
    {"kind": "dropped", "ts_us": 1764000000128000, "count": 1},
] + MORE_BOOKS

TAP_OUT = (
    "req id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true :method=GET :authority=web:8080 :path=/books\n"
    "req id=0:7 proxy=in  src=198.18.0.11:41000 dst=127.0.0.1:9090 tls=true :method=POST :authority=api.shop:9090 :path=/shop.Api/Get\n"
    "rsp id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true :status=200 latency=1840µs\n"
    "rsp id=0:7 proxy=in  src=198.18.0.11:41000 dst=127.0.0.1:9090 tls=true :status=200 latency=950µs\n"
    "end id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true duration=55µs response-length=5120B\n"
    "end id=0:7 proxy=in  src=198.18.0.11:41000 dst=127.0.0.1:9090 tls=true grpc-status=Unavailable duration=30µs response-length=12B\n"
    "req id=1:43 proxy=out src=127.0.0.1:50414 dst=198.18.0.12:8080 tls=true :method=GET :authority=web:8080 :path=/missing\n"
    "rsp id=1:43 proxy=out src=127.0.0.1:50414 dst=198.18.0.12:8080 tls=true :status=503 latency=12µs\n"
    "end id=1:43 proxy=out src=127.0.0.1:50414 dst=198.18.0.12:8080 tls=true error=\"no ready endpoints\" duration=0µs response-length=0B\n"
    "rsp id=9:99 proxy=??? src=? dst=? tls=? :status=200 latency=5µs\n"
    "req id=1:44 proxy=out src=127.0.0.1:50416 dst=198.18.0.12:8080 tls=true :method=GET :authority=web:8080 :path=/books\n"
    "rsp id=1:44 proxy=out src=127.0.0.1:50416 dst=198.18.0.12:8080 tls=true :status=200 latency=2500µs\n"
    "end id=1:44 proxy=out src=127.0.0.1:50416 dst=198.18.0.12:8080 tls=true reset=CANCEL duration=100µs response-length=0B\n"
)
TAP_ERR = (
    "# proxy web-1 (default): 17 events dropped\n"
    "# proxy api-7 (shop): connection refused\n"
    "# 1 event dropped\n"
)

TOP_OUT = (
    "Source        Destination        Method   Path            Count    Best   Worst    Last   Success\n"
    "web-1         198.18.0.12:8080   GET      /books              2   1.9ms   2.6ms   2.6ms    50.00%\n"
    "198.18.0.11   api-7              POST     /shop.Api/Get       1   980µs   980µs   980µs     0.00%\n"
    "web-1         198.18.0.12:8080   GET      /missing            1    12µs    12µs    12µs     0.00%\n"
)

STAT_BODY = {"window_s": 60, "rows": [
    {"name": "web", "namespace": "default", "kind": "deploy", "meshed": "2/2", "requests": 1200,
     "success_rate": 0.995, "rps": 20.0, "latency_ms_p50": 2.1, "latency_ms_p95": 9.0,
     "latency_ms_p99": 12.0, "tcp_connections": 4},
    {"name": "api-gateway", "namespace": "default", "kind": "deploy", "meshed": "1/3",
     "requests": 0, "success_rate": None, "rps": 0.0, "latency_ms_p50": None,
     "latency_ms_p95": None, "latency_ms_p99": None, "tcp_connections": 0},
    {"name": "db", "namespace": "default", "kind": "deploy", "meshed": "1/1", "requests": 36,
     "success_rate": 1.0, "rps": 0.6, "latency_ms_p50": 0.4, "latency_ms_p95": 9.96,
     "latency_ms_p99": 250.4, "tcp_connections": 12},
]}
STAT_OUT = (
    "NAME          MESHED   SUCCESS       RPS   LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN\n"
    "web              2/2    99.50%   20.0rps         2.1ms         9.0ms          12ms          4\n"
    "api-gateway      1/3         -         -             -             -             -          0\n"
    "db               1/1   100.00%    0.6rps         0.4ms          10ms         250ms         12\n"
)


@pytest.fixture
def fake():
    f = FakeTap()
    yield f
    f.stop()


def cli():
    return str(binary("LMESH_CLI", "build/src/cli/lmesh"))


def env(**extra):
    e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "LMESH_TAP_ADDR")}
    e.update(extra)
    return e


def run(*args, extra_env=None):
    return subprocess.run([cli(), *args], capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          env=env(**(extra_env or {})))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OnPty:
    """The CLI with its stdout on a pseudo-terminal (stderr and stdin elsewhere)."""

    def __init__(self, *args, extra_env=None):
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen([cli(), *args], stdin=subprocess.DEVNULL, stdout=slave,
                                     stderr=subprocess.PIPE, env=env(**(extra_env or {})))
        os.close(slave)
        self.raw = b""

    def read_until(self, done, timeout=RUN_TIMEOUT):
        """Reads until done(text) or EOF; the terminal's \\r\\n comes back as \\n."""
        deadline = time.monotonic() + timeout
        while not done(self.text()) and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the CLI closed the terminal
                break
            if not chunk:
                break
            self.raw += chunk
        return self.text()

    def text(self):
        return self.raw.decode("utf-8", "replace").replace("\r\n", "\n")

    def finish(self):
        self.read_until(lambda _: False, timeout=RUN_TIMEOUT)  # to EOF
        rc = self.proc.wait(RUN_TIMEOUT)
        err = self.proc.stderr.read().decode()
        os.close(self.master)
        return rc, self.text(), err


# ---------------------------------------------------------------- tap

def test_tap_prints_linkerd_lines_in_a_pipe(fake):
    fake.answers["/v1/tap"] = Answer(steps=EVENTS)
    r = run("tap", "deploy/web", "--tap-addr", fake.addr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == TAP_OUT
    assert r.stderr == TAP_ERR


def test_tap_wide_adds_the_proxy(fake):
    fake.answers["/v1/tap"] = Answer(steps=[EVENTS[0], EVENTS[1], EVENTS[5]])
    r = run("tap", "deploy/web", "-o", "wide", "--tap-addr", fake.addr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "req id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true :method=GET :authority=web:8080 :path=/books proxy_pod=web-1 proxy_ns=default\n"
        "req id=0:7 proxy=in  src=198.18.0.11:41000 dst=127.0.0.1:9090 tls=true :method=POST :authority=api.shop:9090 :path=/shop.Api/Get proxy_pod=api-7 proxy_ns=shop\n"
        "end id=0:7 proxy=in  src=198.18.0.11:41000 dst=127.0.0.1:9090 tls=true grpc-status=Unavailable duration=30µs response-length=12B proxy_pod=api-7 proxy_ns=shop\n")


def test_tap_json_passes_every_event_through_unchanged(fake):
    fake.answers["/v1/tap"] = Answer(steps=EVENTS[:8])
    r = run("tap", "deploy/web", "-o", "json", "--tap-addr", fake.addr)
    assert r.returncode == 0, r.stderr
    # The fake sends json.dumps() of each event; json mode must print those exact bytes.
    assert r.stdout == (
        '{"kind": "request_init", "id": "1:42", "ts_us": 1764000000123456, "direction": "outbound", "source": "127.0.0.1:50412", "destination": "198.18.0.12:8080", "tls": "true", "client_id": "", "server_id": "", "method": "GET", "scheme": "http", "authority": "web:8080", "path": "/books", "headers": {"user-agent": "curl/7.88"}, "proxy": {"pod": "web-1", "namespace": "default", "workload": "deploy/web"}}\n'
        '{"kind": "request_init", "id": "0:7", "ts_us": 1764000000123456, "direction": "inbound", "source": "198.18.0.11:41000", "destination": "127.0.0.1:9090", "tls": "true", "client_id": "", "server_id": "", "method": "POST", "scheme": "http", "authority": "api.shop:9090", "path": "/shop.Api/Get", "headers": {"user-agent": "curl/7.88"}, "proxy": {"pod": "api-7", "namespace": "shop", "workload": "deploy/api"}}\n'
        '{"kind": "response_init", "id": "1:42", "ts_us": 1764000000125000, "latency_us": 1840, "status": 200, "headers": {}, "proxy": {"pod": "web-1", "namespace": "default", "workload": "deploy/web"}}\n'
        '{"kind": "response_init", "id": "0:7", "ts_us": 1764000000125000, "latency_us": 950, "status": 200, "headers": {}, "proxy": {"pod": "api-7", "namespace": "shop", "workload": "deploy/api"}}\n'
        '{"kind": "response_end", "id": "1:42", "ts_us": 1764000000126000, "duration_us": 55, "response_bytes": 5120, "reset": "", "error": "", "proxy": {"pod": "web-1", "namespace": "default", "workload": "deploy/web"}}\n'
        '{"kind": "response_end", "id": "0:7", "ts_us": 1764000000126000, "duration_us": 30, "response_bytes": 12, "reset": "", "error": "", "proxy": {"pod": "api-7", "namespace": "shop", "workload": "deploy/api"}, "grpc_status": 14}\n'
        '{"kind": "dropped", "ts_us": 1764000000127000, "count": 17, "proxy": {"pod": "web-1", "namespace": "default", "workload": "deploy/web"}}\n'
        '{"kind": "request_init", "id": "1:43", "ts_us": 1764000000123456, "direction": "outbound", "source": "127.0.0.1:50414", "destination": "198.18.0.12:8080", "tls": "true", "client_id": "", "server_id": "", "method": "GET", "scheme": "http", "authority": "web:8080", "path": "/missing", "headers": {"user-agent": "curl/7.88"}, "proxy": {"pod": "web-1", "namespace": "default", "workload": "deploy/web"}}\n')
    assert r.stderr == ""


def test_tap_sends_every_filter_to_lmesh_tap(fake):
    fake.answers["/v1/tap"] = Answer(steps=[])
    r = run("tap", "deploy/web", "-n", "prod", "--to", "deploy/api", "--to-namespace=shop",
            "--method", "GET", "--path", "/books?x=1&y", "--authority", "web:8080",
            "--max-rps", "2.5", "--tap-addr", fake.addr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert fake.requests == [("/v1/tap", {
        "target": "deploy/web", "namespace": "prod", "to": "deploy/api", "to_namespace": "shop",
        "method": "GET", "path_prefix": "/books?x=1&y", "authority": "web:8080",
        "max_rps": "2.5"})]


def test_tap_address_comes_from_lmesh_tap_addr(fake):
    fake.answers["/v1/tap"] = Answer(steps=BOOKS[:1])
    r = run("tap", "pod/web-1", extra_env={"LMESH_TAP_ADDR": fake.addr})
    assert r.returncode == 0, r.stderr
    assert r.stdout == TAP_OUT.splitlines(keepends=True)[0]
    assert fake.requests == [("/v1/tap", {"target": "pod/web-1", "namespace": "default"})]


def test_tap_colours_failures_on_a_terminal_only(fake):
    fake.answers["/v1/tap"] = Answer(steps=EVENTS)
    t = OnPty("tap", "deploy/web", "--tap-addr", fake.addr)
    rc, out, err = t.finish()
    assert rc == 0, err
    red = [
        "end id=0:7 proxy=in  src=198.18.0.11:41000 dst=127.0.0.1:9090 tls=true grpc-status=Unavailable duration=30µs response-length=12B",
        "rsp id=1:43 proxy=out src=127.0.0.1:50414 dst=198.18.0.12:8080 tls=true :status=503 latency=12µs",
        "end id=1:43 proxy=out src=127.0.0.1:50414 dst=198.18.0.12:8080 tls=true error=\"no ready endpoints\" duration=0µs response-length=0B",
        "end id=1:44 proxy=out src=127.0.0.1:50416 dst=198.18.0.12:8080 tls=true reset=CANCEL duration=100µs response-length=0B",
    ]
    expected = TAP_OUT
    for line in red:
        expected = expected.replace(line + "\n", RED + line + PLAIN + "\n")
    assert out == expected
    assert err == TAP_ERR


def test_tap_has_no_colour_with_no_color_set(fake):
    fake.answers["/v1/tap"] = Answer(steps=EVENTS)
    t = OnPty("tap", "deploy/web", "--tap-addr", fake.addr, extra_env={"NO_COLOR": "1"})
    rc, out, err = t.finish()
    assert rc == 0, err
    assert out == TAP_OUT


@pytest.mark.deadline(20)
def test_sigint_ends_tap_cleanly(fake):
    fake.answers["/v1/tap"] = Answer(steps=BOOKS[:1] + [HOLD])
    proc = subprocess.Popen([cli(), "tap", "deploy/web", "--tap-addr", fake.addr],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    first = proc.stdout.readline().decode()  # each event is flushed as it comes, even to a pipe
    assert first == TAP_OUT.splitlines(keepends=True)[0]
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(RUN_TIMEOUT)
    assert rc == 0
    assert proc.stdout.read() == b""
    assert proc.stderr.read() == b""


# ---------------------------------------------------------------- stat

def test_stat_prints_the_table(fake):
    fake.answers["/v1/stat"] = Answer(body=STAT_BODY)
    r = run("stat", "deploy", "-t", "30s", "--tap-addr", fake.addr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == STAT_OUT
    assert r.stderr == ""
    assert fake.requests == [("/v1/stat", {"target": "deploy", "namespace": "default",
                                           "window": "30s"})]


def test_stat_adds_namespaces_when_rows_span_several(fake):
    body = {"window_s": 60, "rows": [
        {"name": "default", "namespace": "default", "meshed": "3/3", "requests": 10,
         "success_rate": 1.0, "rps": 0.2, "latency_ms_p50": 1.0, "latency_ms_p95": 2.0,
         "latency_ms_p99": 3.0, "tcp_connections": 1},
        {"name": "shop", "namespace": "shop", "meshed": "1/1", "requests": 0, "tcp_connections": 0},
    ]}
    fake.answers["/v1/stat"] = Answer(body=body)
    r = run("stat", "ns", "--tap-addr", fake.addr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "NAMESPACE   NAME      MESHED   SUCCESS      RPS   LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN\n"
        "default     default      3/3   100.00%   0.2rps         1.0ms         2.0ms         3.0ms          1\n"
        "shop        shop         1/1         -        -             -             -             -          0\n")


def test_stat_json_prints_the_rows(fake):
    fake.answers["/v1/stat"] = Answer(body={"window_s": 60, "rows": STAT_BODY["rows"][:1]})
    r = run("stat", "deploy/web", "-o", "json", "-n", "prod", "--tap-addr", fake.addr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "[\n"
        "  {\n"
        '    "kind": "deploy",\n'
        '    "latency_ms_p50": 2.1,\n'
        '    "latency_ms_p95": 9.0,\n'
        '    "latency_ms_p99": 12.0,\n'
        '    "meshed": "2/2",\n'
        '    "name": "web",\n'
        '    "namespace": "default",\n'
        '    "requests": 1200,\n'
        '    "rps": 20.0,\n'
        '    "success_rate": 0.995,\n'
        '    "tcp_connections": 4\n'
        "  }\n"
        "]\n")
    assert fake.requests == [("/v1/stat", {"target": "deploy/web", "namespace": "prod",
                                           "window": "1m"})]


def test_stat_without_rows_says_so(fake):
    fake.answers["/v1/stat"] = Answer(body={"window_s": 60, "rows": []})
    r = run("stat", "deploy", "--tap-addr", fake.addr)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "No traffic found.\n")


# ---------------------------------------------------------------- top

def test_top_prints_the_table_once_in_a_pipe(fake):
    fake.answers["/v1/tap"] = Answer(steps=EVENTS)
    r = run("top", "deploy/web", "--tap-addr", fake.addr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == TOP_OUT


@pytest.mark.deadline(20)
def test_top_redraws_in_place_on_a_terminal(fake):
    # Two batches more than one redraw period apart, then the stream stays open until SIGINT.
    fake.answers["/v1/tap"] = Answer(steps=BOOKS + [1.2] + MORE_BOOKS + [HOLD])
    t = OnPty("top", "deploy/web", "--tap-addr", fake.addr)
    first = (
        "Source   Destination        Method   Path     Count    Best   Worst    Last   Success\n"
        "web-1    198.18.0.12:8080   GET      /books       1   1.9ms   1.9ms   1.9ms   100.00%\n")
    second = (
        "Source   Destination        Method   Path     Count    Best   Worst    Last   Success\n"
        "web-1    198.18.0.12:8080   GET      /books       2   1.9ms   2.6ms   2.6ms    50.00%\n")
    t.read_until(lambda text: text.endswith(CLEAR + second))
    t.proc.send_signal(signal.SIGINT)
    rc, out, err = t.finish()
    assert rc == 0, err
    frames = out.split(CLEAR)
    assert frames[0] == ""  # nothing before the first clear: the table is drawn in place
    assert first in frames and second in frames
    assert frames[-1] == second  # the last state stays on the screen after Ctrl-C
    assert "\n" + first not in out  # never appended below an earlier frame


# ---------------------------------------------------------------- failures

@pytest.mark.parametrize("command", ["tap", "stat", "top"])
def test_unreachable_lmesh_tap_exits_1(command):
    port = free_port()
    r = run(command, "deploy/web", "--tap-addr", f"127.0.0.1:{port}")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == f"lmesh {command}: cannot reach lmesh-tap at 127.0.0.1:{port}: connection refused\n"


@pytest.mark.parametrize("command", ["tap", "stat", "top"])
def test_target_matching_nothing_exits_1_with_the_detail(fake, command):
    answer = error_answer(404, "no match", "no pods for deploy/nope in namespace default")
    fake.answers["/v1/tap"] = fake.answers["/v1/stat"] = answer
    r = run(command, "deploy/nope", "--tap-addr", fake.addr)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"lmesh {command}: no pods for deploy/nope in namespace default\n"


@pytest.mark.parametrize("command", ["tap", "stat"])
def test_bad_request_exits_1_with_the_detail(fake, command):
    answer = error_answer(400, "bad request", "unknown kind 'deployz' in target 'deployz/web'")
    fake.answers["/v1/tap"] = fake.answers["/v1/stat"] = answer
    r = run(command, "deployz/web", "--tap-addr", fake.addr)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"lmesh {command}: unknown kind 'deployz' in target 'deployz/web'\n"


@pytest.mark.parametrize("args,message", [
    (["tap"], "lmesh tap: a TARGET is required (e.g. deploy/web)"),
    (["tap", "deploy/web", "deploy/api"], "lmesh tap: unexpected argument 'deploy/api'"),
    (["tap", "deploy/web", "-o", "yaml"], "lmesh tap: invalid --output 'yaml': use wide or json"),
    (["tap", "deploy/web", "--max-rps", "0"],
     "lmesh tap: invalid --max-rps '0': must be between 0.1 and 100000"),
    (["tap", "deploy/web", "-x"], "lmesh tap: unknown flag '-x' (see --help)"),
    (["tap", "deploy/web", "--bogus", "1"], "lmesh tap: unknown flag '--bogus' (see --help)"),
    (["stat", "deploy", "-t", "5x"],
     "lmesh stat: invalid --window '5x': '5x' has no valid unit (use ms, s, m or h)"),
    (["stat", "deploy", "-o", "wide"], "lmesh stat: invalid --output 'wide': use table or json"),
    (["top", "deploy/web", "-o", "json"], "lmesh top: unknown flag '--output' (see --help)"),
    (["top", "deploy/web", "--tap-addr", "nowhere"], "lmesh top: invalid --tap-addr 'nowhere'"),
])
def test_usage_errors_exit_2(args, message):
    r = run(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith(message)
    assert "usage: lmesh " + args[0] + " TARGET [flags]" in r.stderr


def test_help_and_the_other_commands_still_work():
    r = run("tap", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: lmesh tap TARGET [flags]\n")
    r = run("version")
    assert r.returncode == 0 and r.stdout.startswith("lmesh ")
    r = run("--help")
    assert r.returncode == 0
    for name in ("identity", "stat", "tap", "top", "version"):
        assert "\n  " + name + " " in r.stdout
