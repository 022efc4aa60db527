"""`lmesh up --mode loopback` as any user would run it without root: the books demo comes up,
a request crosses two proxies with mutual TLS, `lmesh check` passes, and `lmesh down` stops it
all. It runs in the integration suite so that lmesh up itself (its loop, its processes, its
stop) also runs under the sanitizer build; tests/e2e covers netns mode as root.

The control plane's ports (8080, 8086, 8088) are fixed: the test skips when they are taken.
"""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from harness import binary

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

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.lines = []
        self.proc = subprocess.Popen(
            [str(CLI), "up", "--mode", "loopback", "--state-dir", str(state_dir)],
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


@pytest.fixture
def mesh(tmp_path):
    taken = [p for p in PORTS if port_taken(p)]
    if taken:
        pytest.skip(f"lmesh up's control-plane ports {taken} are in use (another mesh runs here)")
    up = Up(tmp_path / "state")
    try:
        yield up
    finally:
        up.stop()


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
