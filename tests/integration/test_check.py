"""`lmesh check` against a mesh of real binaries, wired by hand the way `lmesh up` wires one:
`lmesh identity init` makes the CA in `<state>/ca`, the real lmesh-identity, lmesh-destination
and lmesh-tap (with its identity) run on ephemeral ports, two lmesh-proxy pods of deploy/web
get their certificates from lmesh-identity, and a state.json (the up contract) points at all
of them, with this test process standing in for `lmesh up` itself. Then:
- everything healthy: every check √, exit 0, in the table and in `-o json`;
- a stopped proxy: exit 1, and the output names its pod, with "connection refused";
- a pod whose proxy proves another identity: × on the handshake, "identity mismatch";
- no state.json: "no mesh found"; `--wait` retries for as long as asked, and no longer;
- versions from every binary's `lmesh_build_info`: a controller of another version is ×, one
  without the gauge ‼, a proxy of another version than the control plane's ‼;
- `--pre` in a fresh state dir, and with a running mesh's state.

Run: LMESH_PROXY=build/src/proxy/lmesh-proxy LMESH_IDENTITY=build/src/identity/lmesh-identity \\
     LMESH_CLI=build/src/cli/lmesh LMESH_DESTINATION=build/src/destination/lmesh-destination \\
     LMESH_TAP=build/src/tap/lmesh-tap /usr/bin/python3 -m pytest -q tests/integration/test_check.py
"""
import errno
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

import upstreams
from harness import MeshFile, binary, hostport, wait_until
from test_live_traffic import TapService
from test_mtls import API, WEB, mesh, wait_ready  # noqa: F401  (mesh is a fixture)
from test_tap_mtls import TAP_ID, TOKENS, get

PODS = ("web-1", "web-2")


def start_time(pid):
    """Field 22 of /proc/PID/stat, counted after the command name's closing parenthesis."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2:].split()[19])


def process(pid):
    return {"pid": pid, "start_time": start_time(pid)}


def cli(*args, timeout=30):
    return subprocess.run([str(binary("LMESH_CLI", "build/src/cli/lmesh")), *args],
                          capture_output=True, text=True, timeout=timeout)


def cli_version():
    return cli("version").stdout.split()[1]


class Mesh:
    """The running parts and the state dir that describes them."""

    def __init__(self, state_dir, ca, destination, tap, proxies):
        self.state_dir = state_dir
        self.ca = ca
        self.destination = destination
        self.tap = tap
        self.proxies = proxies
        self.pods = [self.pod(name, WEB, proxy) for name, proxy in proxies.items()]

    @staticmethod
    def pod(name, identity, proxy):
        return {"name": name, "namespace": "default", "workload": "deploy/web",
                "identity": identity, "ip": "127.0.0.1", "admin": hostport(proxy.admin),
                "app": {"pid": 0, "start_time": 0}, "proxy": process(proxy.pid)}

    def write_state(self, pods=None, controllers=None):
        state = {
            "version": cli_version(), "mode": "loopback",
            "up_pid": os.getpid(), "up_start_time": start_time(os.getpid()),
            "mesh_file": str(self.state_dir / "mesh.yaml"),
            "controllers": {
                "identity": {"addr": hostport(self.ca.identity.api), **process(self.ca.identity.pid)},
                "destination": {"addr": hostport(self.destination.api),
                                **process(self.destination.pid)},
                "tap": {"addr": hostport(self.tap.api), **process(self.tap.pid)},
            },
            "pods": self.pods if pods is None else pods,
        }
        state["controllers"].update(controllers or {})
        tmp = self.state_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_dir / "state.json")

    def check(self, *args, timeout=30):
        return cli("check", "--state-dir", str(self.state_dir), *args, timeout=timeout)


@pytest.fixture
def running(tmp_path, proxy_factory, serve, start_destination, mesh):  # noqa: F811
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    ca = mesh(name="state/ca", tokens=TOKENS)
    upstream = serve(upstreams.HttpUpstream, routes={"/": upstreams.fixed(200, b"ok")})
    proxies = {name: proxy_factory(inbound_forward=hostport(upstream.addr),
                                   **ca.proxy_flags(WEB, "web-token")) for name in PODS}
    mesh_file = MeshFile(tmp_path / "mesh.yaml")
    mesh_file.write("pods:\n" + "".join(
        f"  - {{name: {name}, namespace: default, workload: deploy/web, addr: 127.0.0.1, "
        f"identity: {WEB}, admin: \"{hostport(p.admin)}\"}}\n" for name, p in proxies.items()))
    destination = start_destination(mesh_file=mesh_file.path)
    tap = TapService(destination, **ca.proxy_flags(TAP_ID, "tap-token"))
    try:
        for proxy in proxies.values():
            wait_ready(proxy)
        wait_until(lambda: get(tap, "/ready").status == 200, 15, message="lmesh-tap /ready")
        m = Mesh(state_dir, ca, destination, tap, proxies)
        m.write_state()
        yield m
    finally:
        tap.stop()


def lines_with(output, mark):
    return [line for line in output.splitlines() if line.startswith(mark)]


def test_a_healthy_mesh_passes_every_check(running):
    done = running.check()
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.endswith("Status check results are \u221a\n"), out
    assert lines_with(out, "\u00d7") == [] and lines_with(out, "\u203c") == [], out
    for header in ("lmesh-existence", "control-plane", "identity", "data-plane"):
        assert f"\n{header}\n{'-' * len(header)}\n" in "\n" + out, out
    for pod in PODS:
        for what in ("is running", "is ready", "has a valid identity certificate",
                     "proves its identity with the trust anchor"):
            assert f"\u221a lmesh-proxy of default/{pod} {what}\n" in out, out
    for controller in ("identity", "destination", "tap"):
        assert f"\u221a lmesh-{controller} is ready\n" in out, out
    # Every binary's lmesh_build_info carries this CLI's version.
    assert "\u221a control plane and cli versions match\n" in out, out
    for pod in PODS:
        assert f"\u221a lmesh-proxy of default/{pod} runs the control plane's version\n" in out, out
    assert "\x1b[" not in out  # no colour into a pipe


def test_json_has_the_documented_shape(running):
    done = running.check("-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert list(doc) == ["success", "categories"]
    assert doc["success"] is True
    assert [c["name"] for c in doc["categories"]] == [
        "lmesh-existence", "control-plane", "identity", "data-plane"]
    for category in doc["categories"]:
        assert category["checks"], category
        for check in category["checks"]:
            assert check["result"] == "success", check
            assert set(check) == {"description", "result"}, check


def test_a_stopped_proxy_fails_the_check_and_is_named(running):
    running.proxies["web-2"].stop()
    done = running.check()
    assert done.returncode == 1, done.stdout
    out = done.stdout
    assert "\u00d7 lmesh-proxy of default/web-2 is running\n" in out, out
    assert "\u00d7 lmesh-proxy of default/web-2 is ready\n" in out, out
    ready = out[out.index("\u00d7 lmesh-proxy of default/web-2 is ready"):]
    assert "connection refused" in ready.splitlines()[1], out
    assert "    see: its log, " in out
    assert "\u221a lmesh-proxy of default/web-1 is ready\n" in out, out
    assert out.endswith("Status check results are \u00d7\n"), out
    doc = json.loads(running.check("-o", "json").stdout)
    assert doc["success"] is False
    failed = [c for cat in doc["categories"] for c in cat["checks"] if c["result"] == "error"]
    assert {c["description"] for c in failed} == {"lmesh-proxy of default/web-2 is running",
                                                  "lmesh-proxy of default/web-2 is ready"}
    assert all(c["error"] and c["hint"] for c in failed), failed


def test_a_proxy_proving_another_identity_fails_the_handshake_check(running):
    imposter = Mesh.pod("imposter-1", API, running.proxies["web-1"])
    running.write_state(running.pods + [imposter])
    done = running.check()
    assert done.returncode == 1, done.stdout
    line = "\u00d7 lmesh-proxy of default/imposter-1 proves its identity with the trust anchor"
    assert line in done.stdout, done.stdout
    reason = done.stdout[done.stdout.index(line):].splitlines()[1]
    assert "identity mismatch" in reason, done.stdout
    assert len(lines_with(done.stdout, "\u00d7")) == 1, done.stdout


def test_a_proxy_that_never_answers_times_out_within_the_bound(running):
    """An admin port that accepts but never answers: every probe of it gives up after 2 s,
    all at once, and the command ends (with every connection and timer closed)."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        mute = dict(Mesh.pod("mute-1", WEB, running.proxies["web-1"]),
                    admin=hostport(silent.getsockname()))
        running.write_state(running.pods + [mute])
        started = time.monotonic()
        done = running.check()
        took = time.monotonic() - started
        assert done.returncode == 1, done.stdout + done.stderr
        line = "\u00d7 lmesh-proxy of default/mute-1 is ready\n"
        assert line in done.stdout, done.stdout
        reason = done.stdout[done.stdout.index(line):].splitlines()[1]
        # The probe's own 2 s timer usually fires first; on a loaded machine the client's
        # request timer may win the race and say it its own way.
        assert reason.endswith((": timed out after 2s", ": no answer in time")), reason
        assert 1.5 < took < 8, took  # 2 s, plus start-up (slower under valgrind)
    finally:
        silent.close()


def build_info(version, binary):
    return (f'# TYPE lmesh_build_info gauge\nlmesh_build_info{{version="{version}",'
            f'binary="{binary}"}} 1\n').encode()


def stand_in(serve, metrics):
    """An HTTP server answering /ready and /metrics as an lmesh binary of another build would;
    this test process stands in for its process."""
    server = serve(upstreams.HttpUpstream, routes={"/ready": upstreams.fixed(200, b"ready\n"),
                                                   "/metrics": upstreams.fixed(200, metrics)})
    return {"addr": hostport(server.addr), **process(os.getpid())}


def reason(out, line):
    return out[out.index(line):].splitlines()[1].strip()


def test_a_controller_of_another_version_fails_and_names_both(running, serve):
    tap = stand_in(serve, build_info("0.0.1-old", "lmesh-tap"))
    running.write_state(controllers={"tap": tap})
    done = running.check()
    assert done.returncode == 1, done.stdout
    line = "\u00d7 control plane and cli versions match\n"
    assert line in done.stdout, done.stdout
    assert reason(done.stdout, line) == f"lmesh-tap runs 0.0.1-old, this is lmesh {cli_version()}"
    assert lines_with(done.stdout, "\u00d7") == [line.strip()], done.stdout
    # The proxies run what lmesh-identity, the first controller, runs.
    assert "\u221a lmesh-proxy of default/web-1 runs the control plane's version\n" in done.stdout


def test_a_controller_without_build_info_is_a_warning(running, serve):
    tap = stand_in(serve, b"process_cpu_seconds_total 1\n")
    running.write_state(controllers={"tap": tap})
    done = running.check()
    assert done.returncode == 0, done.stdout
    line = "\u203c control plane and cli versions match\n"
    assert line in done.stdout, done.stdout
    assert reason(done.stdout, line) == ("cannot tell the version of lmesh-tap: its /metrics has "
                                         "no lmesh_build_info")


def test_a_proxy_of_another_version_is_a_warning(running, serve):
    admin = stand_in(serve, build_info("0.0.1-old", "lmesh-proxy"))
    old = {"name": "old-1", "namespace": "default", "workload": "deploy/old", "identity": "",
           "admin": admin["addr"], "proxy": process(os.getpid())}
    running.write_state(running.pods + [old])
    done = running.check()
    assert done.returncode == 0, done.stdout
    line = "\u203c lmesh-proxy of default/old-1 runs the control plane's version\n"
    assert line in done.stdout, done.stdout
    assert reason(done.stdout, line) == ("it runs lmesh-proxy 0.0.1-old, the control plane "
                                         f"{cli_version()}")


def test_wait_retries_until_its_time_is_up(running):
    running.proxies["web-1"].stop()
    started = time.monotonic()
    done = running.check("--wait", "3s")
    took = time.monotonic() - started
    assert done.returncode == 1, done.stdout
    assert 2.0 <= took < 10, took
    # A healthy answer ends a wait at once.
    running.write_state([p for p in running.pods if p["name"] != "web-1"])
    started = time.monotonic()
    assert running.check("--wait", "20s").returncode == 0
    assert time.monotonic() - started < 5


def test_without_state_no_mesh_is_found(tmp_path):
    done = cli("check", "--state-dir", str(tmp_path / "none"))
    assert done.returncode == 1
    assert "\u00d7 lmesh up state is present\n    no mesh found: " in done.stdout, done.stdout
    assert "see: run `lmesh up`" in done.stdout
    assert cli("check", "--state-dir").returncode == 2
    assert cli("check", "-o", "yaml").returncode == 2


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
        return True
    except OSError as e:
        assert e.errno == errno.EADDRINUSE, e
        return False
    finally:
        s.close()


def pre(state_dir):
    done = cli("check", "--pre", "--state-dir", str(state_dir), "-o", "json")
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    assert doc["success"] == (done.returncode == 0)
    assert [c["name"] for c in doc["categories"]] == ["pre-install"]
    return {c["description"]: c for c in doc["categories"][0]["checks"]}


@pytest.mark.deadline(60)
def test_pre_in_a_fresh_state_dir(tmp_path):
    checks = pre(tmp_path / "fresh" / "up")
    assert checks[f"state dir {tmp_path / 'fresh' / 'up'} is writable"]["result"] == "success"
    assert checks["no mesh is running already"]["result"] == "success"
    assert checks["running as root"]["result"] == ("success" if os.geteuid() == 0 else "warning")
    assert checks["network namespaces are supported"]["result"] == "success"
    # The control plane's ports are judged as this test finds them.
    for port, name in ((8080, "identity"), (8086, "destination"), (8088, "tap")):
        check = checks[f"port {port} (lmesh-{name}) is free"]
        expected = "success" if port_free(port) else "error"
        assert check["result"] == expected, check
    # A port held here is named as busy.
    held = socket.socket()
    try:
        held.bind(("127.0.0.1", 8086))
        held.listen()
    except OSError:
        held.close()
        return  # someone else holds it: the loop above already judged that case
    try:
        check = pre(tmp_path / "fresh" / "up")["port 8086 (lmesh-destination) is free"]
        assert check["result"] == "error", check
        assert "Address already in use" in check["error"], check
    finally:
        held.close()


def test_pre_refuses_a_state_dir_whose_mesh_runs(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "state.json").write_text(json.dumps({
        "version": cli_version(), "mode": "loopback", "up_pid": os.getpid(),
        "up_start_time": start_time(os.getpid()), "controllers": {}, "pods": []}))
    check = pre(state_dir)["no mesh is running already"]
    assert check["result"] == "error", check
    assert f"lmesh up (pid {os.getpid()})" in check["error"], check
    # state.json is not lmesh check's: --pre reads it and leaves it as it was.
    assert json.loads((state_dir / "state.json").read_text())["up_pid"] == os.getpid()
