"""`lmesh up --mode loopback` as any user would run it without root: the books demo comes up,
a request crosses two proxies with mutual TLS, `lmesh check` passes, and `lmesh down` stops it
all; a workload with two ports (HTTP/1.1 and gRPC) is reached on each. It runs in the
integration suite so that lmesh up itself (its loop, its processes, its stop) also runs under
the sanitizer build; tests/e2e covers netns mode as root.

The control plane's ports (8080, 8086, 8088) are fixed: the test skips when they are taken.
"""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from harness import binary, metric_sum, parse_prometheus

CLI = binary("LMESH_CLI", "build/src/cli/lmesh")
PORTS = (8080, 8086, 8088)


def port_taken(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Up:
    """`lmesh up` in the background, its output collected line by line."""

    def __init__(self, state_dir, mesh_file=None):
        self.state_dir = state_dir
        self.lines = []
        self.proc = subprocess.Popen(
            [str(CLI), "up", *([str(mesh_file)] if mesh_file else []), "--mode", "loopback",
             "--state-dir", str(state_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self):
        return "\n".join(self.lines)

    def wait_for_line(self, needle, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(needle in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no '{needle}' from lmesh up in {seconds} s:\n{self.output()}")

    def state(self):
        return json.loads((self.state_dir / "state.json").read_text())

    def pod(self, name):
        return next(p for p in self.state()["pods"] if p["name"] == name)

    def log(self, name):
        """logs/<name>.log, e.g. log('echo-client-0.default.app')."""
        try:
            return (self.state_dir / "logs" / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cli(*args, timeout=30):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def running(state_dir, mesh_file=None):
    taken = [p for p in PORTS if port_taken(p)]
    if taken:
        pytest.skip(f"lmesh up's control-plane ports {taken} are in use (another mesh runs here)")
    up = Up(state_dir, mesh_file)
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture
def mesh(tmp_path):
    with running(tmp_path / "state") as up:
        yield up


@pytest.mark.deadline(120)
def test_the_demo_mesh_runs_on_loopback_and_goes_away(mesh):
    mesh.wait_for_line("pods ready in", 60)
    assert "6 of 6 pods ready" in mesh.output(), mesh.output()
    state = mesh.state()
    assert state["mode"] == "loopback"
    web = next(p for p in state["pods"] if p["name"] == "web-0")
    assert web["ip"].startswith("127.18.")

    # web's proxy (inbound), web, its proxy (outbound, mTLS) and a ratings pod's proxy.
    with urllib.request.urlopen(f"http://{web['ip']}:4143/api/rating/1", timeout=10) as r:
        rating = json.loads(r.read())
    assert rating["version"] in ("v1", "v2") and rating["pod"].startswith("ratings-v")
    ratings = next(p for p in state["pods"] if p["name"] == rating["pod"])
    with urllib.request.urlopen(f"http://{ratings['admin']}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    web_id = "web.default.serviceaccount.identity.lmesh.cluster.local"
    assert any(line.startswith("request_total{") and 'direction="inbound"' in line
               and 'tls="true"' in line and f'client_id="{web_id}"' in line
               for line in metrics.splitlines()), metrics

    # The ratings proxy sees the call come from web's own address (--outbound-bind), as it
    # would from another network namespace, not from 127.0.0.1: tap says which pod called.
    workload = "deploy/" + ratings["name"].rsplit("-", 1)[0]
    tap = subprocess.Popen([str(CLI), "tap", workload, "-o", "json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    sources = []

    def read_tap():
        for line in tap.stdout:
            event = json.loads(line)
            if event.get("kind") == "request_init" and event.get("direction") == "inbound":
                sources.append(event["source"].rsplit(":", 1)[0])
    threading.Thread(target=read_tap, daemon=True).start()
    try:
        deadline = time.monotonic() + 20
        while not sources and time.monotonic() < deadline:
            urllib.request.urlopen(f"http://{web['ip']}:4143/api/rating/1", timeout=10).read()
            time.sleep(0.2)
    finally:
        tap.send_signal(signal.SIGINT)
        tap.communicate(timeout=10)
    assert sources and set(sources) == {web["ip"]}, sources

    # Opaque TCP too: web reaches stock through its proxy's listener for stock's VIP
    # (LMESH_OUTBOUND_STOCK), over mTLS to stock's proxy.
    with urllib.request.urlopen(f"http://{web['ip']}:4143/api/books", timeout=10) as r:
        books = json.loads(r.read())
    assert all(isinstance(b["stock"], int) for b in books), books

    check = cli("check", "--state-dir", str(mesh.state_dir), "--wait", "30s", timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Status check results are \u221a" in check.stdout

    pids = [state["controllers"][c]["pid"] for c in ("identity", "destination", "tap")]
    pids += [p[k]["pid"] for p in state["pods"] for k in ("app", "proxy") if p[k]["pid"]]
    down = cli("down", "--state-dir", str(mesh.state_dir), timeout=90)
    assert down.returncode == 0, down.stdout + down.stderr
    assert mesh.proc.wait(timeout=30) == 0, mesh.output()
    assert "stopped; every process" in mesh.output()
    assert not (mesh.state_dir / "state.json").exists()
    assert [p for p in pids if alive(p)] == []
    assert not any(port_taken(p) for p in PORTS)


def test_a_bad_mesh_file_is_refused_naming_the_line(tmp_path):
    bad = tmp_path / "mesh.yaml"
    bad.write_text("workloads:\n  - name: web\n    command: [true]\n    replicas: 1000\n")
    done = subprocess.run([str(CLI), "up", str(bad), "--mode", "loopback", "--state-dir",
                           str(tmp_path / "state")], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "mesh.yaml:4: workloads/0/replicas: must be between 0 and 100" in done.stderr


def test_down_without_a_mesh_says_so(tmp_path):
    done = cli("down", "--state-dir", str(tmp_path / "nothing"))
    assert done.returncode == 0
    assert "no mesh is running" in done.stdout


APPS = Path(__file__).resolve().parents[1] / "e2e" / "apps"
CALLS = 20  # the gRPC client's loop: every 5th call is Fail (NOT_FOUND), then one Count


def two_port_mesh_yaml():
    py = json.dumps(sys.executable)
    app = lambda name: json.dumps(str(APPS / name))  # noqa: E731
    return f"""# tests/integration/test_up_loopback.py: one workload, two ports, two protocols
workloads:
  - name: echo
    command: [{py}, "-B", {app("grpc_echo.py")}]
    env: {{PORT: "9090", HTTP_PORT: "8080"}}
    ports:
      - {{port: 8080, protocol: http1}}
      - {{port: 9090, protocol: http2}}
  - name: echo-client
    command: [{py}, "-B", {app("grpc_client.py")}]
    env: {{CALLS: "{CALLS}", INTERVAL_MS: "10", ECHO_TARGET: "echo.default.svc.cluster.local:9090"}}
    ports: []
    services: []
"""


@pytest.mark.deadline(120)
def test_every_port_of_a_workload_is_reached_on_loopback(tmp_path):
    """Without iptables the proxy cannot tell which of the app's ports a connection is for, so
    lmesh up gives it one inbound listener per port: gRPC to echo's second port (9090) and
    HTTP/1.1 to its first (8080) both arrive, over mTLS, each at its own port."""
    pytest.importorskip("grpc", reason="python3-grpcio is not installed")
    mesh_file = tmp_path / "two-ports.yaml"
    mesh_file.write_text(two_port_mesh_yaml())
    with running(tmp_path / "state", mesh_file) as mesh:
        mesh.wait_for_line("pods ready in", 60)
        deadline = time.monotonic() + 60
        while "done " not in mesh.log("echo-client-0.default.app"):
            assert time.monotonic() < deadline, mesh.log("echo-client-0.default.app")
            time.sleep(0.1)
        log = mesh.log("echo-client-0.default.app")
        done = re.search(r"done calls=(\d+) ok=(\d+) errors=(\d+)", log)
        assert done and tuple(map(int, done.groups())) == (CALLS + 1, CALLS + 1, 0), log
        assert "ok count 5" in log and "ok say 0 hello 0 from echo-0" in log, log

        # HTTP/1.1 to the first port, through the client pod's proxy (absolute-form).
        client = mesh.pod("echo-client-0")
        through = urllib.request.build_opener(urllib.request.ProxyHandler(
            {"http": f"http://{client['ip']}:4140"}))
        with through.open("http://echo.default.svc.cluster.local:8080/", timeout=10) as r:
            assert r.read() == b"hello from echo-0\n"

        echo = mesh.pod("echo-0")
        with urllib.request.urlopen(f"http://{echo['admin']}/metrics", timeout=10) as r:
            samples = parse_prometheus(r.read().decode())
        client_id = "echo-client.default.serviceaccount.identity.lmesh.cluster.local"
        inbound = dict(direction="inbound", tls="true", client_id=client_id)
        assert metric_sum(samples, "response_total", grpc_status_code="0", **inbound) >= \
            CALLS - CALLS // 5 + 1
        assert metric_sum(samples, "response_total", grpc_status_code="5", **inbound) == \
            CALLS // 5
        assert metric_sum(samples, "request_total", direction="inbound", tls="false") == 0
