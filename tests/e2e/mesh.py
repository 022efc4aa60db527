"""Helpers for the `lmesh up` end-to-end tests (tests/e2e/): run a whole mesh, read its state,
edit its mesh file, drive HTTP load through it, scrape proxies, read `lmesh tap`, and capture
packets on its bridge.

Everything here talks only to 198.18.0.0/15 (pods, service VIPs, the bridge's host side) and
loopback (the controllers), and every loop is bounded in time and count.
"""
import errno
import http.client
import ipaddress
import json
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "demo"
E2E_DIR = Path(__file__).resolve().parent
BRIDGE = "lmesh0"
HOST_IP = "198.18.0.1"            # the bridge's address: the root namespace, i.e. this test
POD_NET = ipaddress.ip_network("198.18.0.0/16")
IDENTITY_SUFFIX = ".serviceaccount.identity.lmesh.cluster.local"

READY_LINE = re.compile(r"lmesh up: (\d+) of (\d+) pods ready in ([0-9.]+) s")


def identity(sa, ns="default"):
    return f"{sa}.{ns}{IDENTITY_SUFFIX}"


# ---------------------------------------------------------------- binaries

_BINARIES = {
    "LMESH_CLI": "src/cli/lmesh",
    "LMESH_PROXY": "src/proxy/lmesh-proxy",
    "LMESH_IDENTITY": "src/identity/lmesh-identity",
    "LMESH_DESTINATION": "src/destination/lmesh-destination",
    "LMESH_TAP": "src/tap/lmesh-tap",
}


def binaries():
    """{env var: path}: from the environment (meson sets all five), else from the build dir
    `$LMESH_BUILD_DIR` (default <repo>/build)."""
    build = Path(os.environ.get("LMESH_BUILD_DIR", REPO / "build"))
    return {var: Path(os.environ.get(var) or build / rel) for var, rel in _BINARIES.items()}


def cli():
    return str(binaries()["LMESH_CLI"])


def mesh_env():
    """The environment for `lmesh up` and the CLI: ours, the binaries spelled out, and this
    interpreter's directory first on PATH so that the workloads' `python3` is the one running
    the tests (it has grpcio)."""
    env = dict(os.environ)
    env.update({var: str(path) for var, path in binaries().items()})
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("LMESH_STATE_DIR", None)
    env.pop("LMESH_TAP_ADDR", None)
    env["NO_COLOR"] = "1"
    return env


def run(cmd, timeout=30, check=False, **kw):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                          env=kw.pop("env", mesh_env()), **kw)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {done.returncode}:\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def lmesh(*args, timeout=30, check=False):
    return run([cli(), *args], timeout=timeout, check=check)


def check_unavailable():
    """None if `lmesh check` exists, else why not (a pytest.skip reason)."""
    done = lmesh("check", "--help", timeout=10)
    if done.returncode != 0:
        return (f"`lmesh check --help` failed (exit {done.returncode}): lmesh check is not "
                "there yet")
    return None


# ---------------------------------------------------------------- waiting

def wait_for(predicate, timeout, what, interval=0.1):
    """predicate()'s first truthy value within `timeout` seconds, else AssertionError naming
    `what` and the last value (or exception) seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except Exception as e:  # noqa: BLE001 - reported below
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} "
                                 f"(last: {last!r})")
        time.sleep(interval)


# ---------------------------------------------------------------- the host

def bridge_exists():
    return os.path.exists(f"/sys/class/net/{BRIDGE}")


def lmesh_up_processes():
    """[(pid, argv)] of every `lmesh up` on this machine."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if len(argv) >= 2 and os.path.basename(argv[0]) == "lmesh" and argv[1] == "up":
            found.append((int(entry), argv))
    return found


def wait_until_no_mesh(timeout=60):
    """Only one mesh can run on a machine (fixed ports, one bridge). Someone else's (the lead's,
    a benchmark's) may be running: wait for it to go, then give up with a clear message."""
    deadline = time.monotonic() + timeout
    while bridge_exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if bridge_exists():
        others = "; ".join(f"pid {pid}: {' '.join(argv)}" for pid, argv in lmesh_up_processes())
        raise AssertionError(
            f"another mesh is running on this machine: bridge {BRIDGE} still exists after "
            f"{timeout} s (lmesh up processes: {others or 'none; a stale mesh? try lmesh down'}). "
            "Only one mesh can run at a time; stop it and run the tests again.")


def netns_list():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def link_names():
    return sorted(os.listdir("/sys/class/net"))


def iptables_lmesh_lines():
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, timeout=10)
    return [line for line in out.stdout.splitlines() if "lmesh" in line.lower()]


def start_time(pid):
    """Field 22 of /proc/PID/stat (clock ticks since boot), or None if no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def process_alive(ref):
    """A state.json process ({pid, start_time}) still running (the same process, not a reuse
    of its pid)."""
    pid = ref.get("pid", 0)
    if not pid:
        return False
    st = start_time(pid)
    if st is None or st != ref.get("start_time"):
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def state_processes(state):
    """[(label, {pid, start_time})] of every process a state.json records."""
    out = []
    for name, c in state.get("controllers", {}).items():
        out.append((f"lmesh-{name}", c))
    for p in state.get("pods", []):
        for kind in ("app", "proxy"):
            if p.get(kind):
                out.append((f"{p['name']} {kind}", p[kind]))
    out.append(("lmesh up", {"pid": state.get("up_pid", 0),
                             "start_time": state.get("up_start_time")}))
    return out


# ---------------------------------------------------------------- the mesh

def make_base_dir(prefix="lmesh-e2e-"):
    """A directory for a mesh's state, mesh file and output. World-traversable: the proxies
    run as uid 2102 and read their token files and the trust anchor from the state dir."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(base, 0o755)
    return base


class Mesh:
    """One `lmesh up MESHFILE --state-dir DIR` in the background."""

    def __init__(self, mesh_file, base_dir, demo_dir=DEMO_DIR, name="mesh"):
        self.mesh_file = Path(mesh_file)
        self.base = Path(base_dir)
        self.state_dir = self.base / "state"
        self.demo_dir = demo_dir
        self.out_path = self.base / f"{name}.up.out"
        self.proc = None
        self.startup_s = None
        self.last_state = None

    # -- lifecycle
    def start(self, timeout=90):
        wait_until_no_mesh(60)
        cmd = [cli(), "up", str(self.mesh_file), "--state-dir", str(self.state_dir),
               "--ready-timeout", "60s"]
        if self.demo_dir is not None:
            cmd += ["--demo-dir", str(self.demo_dir)]
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=mesh_env(),
                                     start_new_session=True)
        t0 = time.monotonic()
        deadline = t0 + timeout
        while True:
            m = READY_LINE.search(self.output())
            if m:
                ready, total = int(m.group(1)), int(m.group(2))
                self.startup_s = float(m.group(3))
                if ready != total:
                    raise AssertionError(f"lmesh up: only {ready} of {total} pods ready:\n"
                                         f"{self.output_tail()}")
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"lmesh up exited {self.proc.returncode} before its pods "
                                     f"were ready:\n{self.output_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"lmesh up: no ready summary after {timeout} s:\n"
                                     f"{self.output_tail()}")
            time.sleep(0.1)
        self.last_state = self.state()
        print(f"[mesh] {self.mesh_file.name}: {len(self.last_state['pods'])} pods ready in "
              f"{self.startup_s} s (lmesh up says), {time.monotonic() - t0:.1f} s wall; "
              f"state in {self.state_dir}")
        return self

    def down(self, stop_timeout="20s"):
        """`lmesh down --timeout stop_timeout`; returns its CompletedProcess (None if never
        started), with `.seconds` (how long it took) and `.killed_up` (lmesh up did not stop in
        time and `lmesh down` killed it)."""
        if self.proc is None:
            return None
        return self.finish_down(self.begin_down(stop_timeout))

    def begin_down(self, stop_timeout="20s"):
        """Starts `lmesh down` without waiting for it; finish_down() waits."""
        try:
            self.last_state = self.state()
        except (OSError, ValueError):
            pass
        proc = subprocess.Popen([cli(), "down", "--state-dir", str(self.state_dir), "--timeout",
                                 stop_timeout], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, env=mesh_env())
        proc.t0 = time.monotonic()
        return proc

    def finish_down(self, proc, timeout=120):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        done.seconds = time.monotonic() - proc.t0
        done.killed_up = "did not stop within the timeout" in out + err
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            lmesh("down", "--state-dir", self.state_dir, timeout=120)
        self._out.close()
        self.proc = None
        return done

    def output(self):
        try:
            return self.out_path.read_text(errors="replace")
        except OSError:
            return ""

    def output_tail(self, lines=40):
        return "\n".join(self.output().splitlines()[-lines:])

    # -- what it says about itself
    def state(self):
        return json.loads((self.state_dir / "state.json").read_text())

    def mesh_json(self):
        return json.loads((self.state_dir / "mesh.json").read_text())

    def pods(self, workload=None):
        pods = self.state()["pods"]
        if workload is not None:
            pods = [p for p in pods if p["workload"] == f"deploy/{workload}"]
        return pods

    def pod(self, name):
        for p in self.state()["pods"]:
            if p["name"] == name:
                return p
        raise KeyError(f"no pod {name} in state.json")

    def endpoints(self, service, ns="default"):
        """Addresses (ip:port) lmesh-destination is told for service NAME (all its ports)."""
        prefix = f"{service}.{ns}.svc.cluster.local:"
        out = []
        for authority, svc in self.mesh_json().get("services", {}).items():
            if authority.startswith(prefix):
                out += [e["addr"] for e in svc.get("endpoints", [])]
        return sorted(out)

    def log(self, name):
        """logs/<name>.log, e.g. log('web-0.default.proxy') or log('destination')."""
        try:
            return (self.state_dir / "logs" / f"{name}.log").read_text(errors="replace")
        except OSError as e:
            return f"<{e}>"

    def log_tail(self, name, lines=15):
        return "\n".join(self.log(name).splitlines()[-lines:])

    # -- editing the mesh file while it runs
    def edit(self, fn):
        """Rewrite the mesh file atomically (os.replace) with fn(old text)."""
        old = self.mesh_file.read_text()
        new = fn(old)
        assert new != old, "the edit changed nothing"
        write_atomic(self.mesh_file, new)
        return new


def start_mesh(base, mesh_file, name="mesh", demo_dir=DEMO_DIR):
    """A started Mesh; if it does not get ready, `lmesh down` before failing."""
    mesh = Mesh(mesh_file, base, demo_dir=demo_dir, name=name)
    try:
        mesh.start()
    except BaseException:
        mesh.down()
        raise
    return mesh


def assert_down_ok(mesh, done):
    """lmesh down succeeded, and lmesh up stopped by itself (it was not killed at the timeout)."""
    assert done is not None and done.returncode == 0, \
        f"lmesh down failed: {done and (done.stdout + done.stderr)}"
    assert not done.killed_up, (
        f"lmesh up did not stop within 20 s of lmesh down ({done.seconds:.1f} s); lmesh down "
        f"said:\n{done.stdout}{done.stderr}\nlmesh up said:\n{mesh.output_tail(15)}")


def write_atomic(path, text):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def set_replicas(text, workload, n):
    pattern = re.compile(r"(- name: " + re.escape(workload) + r"\n\s+replicas: )\d+")
    new, count = pattern.subn(lambda m: m.group(1) + str(n), text)
    assert count == 1, f"no `replicas:` line right after `- name: {workload}` in the mesh file"
    return new


def set_split(text, weights):
    """weights: {backend service name: weight}, e.g. {'ratings-v1': 90, 'ratings-v2': 10}."""
    for backend, weight in weights.items():
        pattern = re.compile(r'(\{authority: "' + re.escape(backend) +
                             r'\.default\.svc\.cluster\.local:\d+", weight: )\d+')
        text, count = pattern.subn(lambda m: m.group(1) + str(weight), text)
        assert count == 1, f"no backend {backend} in the mesh file's split"
    return text


# ---------------------------------------------------------------- HTTP

class HttpClient:
    """One keep-alive HTTP/1.1 connection (re-opened after any error)."""

    def __init__(self, host, port, timeout=5.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def get(self, path):
        """(status, body bytes); raises OSError / http.client.HTTPException on failure."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", path)
            response = self.conn.getresponse()
            body = response.read()
            if response.will_close:
                self.close()
            return response.status, body
        except BaseException:
            self.close()
            raise


def http_get(host, port, path, timeout=5.0):
    """One request on a new connection."""
    client = HttpClient(host, port, timeout)
    try:
        return client.get(path)
    finally:
        client.close()


def describe_failure(status, body):
    return f"{status} {body[:200].decode(errors='replace').strip()}"


class Load(threading.Thread):
    """Requests in a loop on one keep-alive connection until stop() or a bound (count, time).
    Every request is recorded: `total`, `ok` (200), `failures` [(monotonic time, what)]."""

    def __init__(self, host, port, paths, max_seconds=120, max_requests=200_000, pause=0.0,
                 name="load"):
        super().__init__(daemon=True, name=name)
        self.host, self.port, self.paths = host, port, list(paths)
        self.max_seconds, self.max_requests, self.pause = max_seconds, max_requests, pause
        self.total = self.ok = 0
        self.failures = []
        self.statuses = Counter()
        self.lock = threading.Lock()
        self._stop_event = threading.Event()
        self.started_at = self.stopped_at = None

    def run(self):
        client = HttpClient(self.host, self.port)
        self.started_at = time.monotonic()
        deadline = self.started_at + self.max_seconds
        i = 0
        try:
            while not self._stop_event.is_set() and i < self.max_requests \
                    and time.monotonic() < deadline:
                path = self.paths[i % len(self.paths)]
                i += 1
                try:
                    status, body = client.get(path)
                    what = None if status == 200 else describe_failure(status, body)
                except (OSError, http.client.HTTPException) as e:
                    status, what = "error", f"{path}: {type(e).__name__}: {e}"
                with self.lock:
                    self.total += 1
                    self.statuses[status] += 1
                    if what is None:
                        self.ok += 1
                    else:
                        self.failures.append((time.monotonic(), f"{path}: {what}"))
                if self.pause:
                    self._stop_event.wait(self.pause)
        finally:
            client.close()
            self.stopped_at = time.monotonic()

    def stop(self):
        self._stop_event.set()
        self.join(timeout=15)
        assert not self.is_alive(), f"{self.name} did not stop"
        return self

    def snapshot(self):
        with self.lock:
            return self.total, len(self.failures)

    def summary(self):
        with self.lock:
            rate = self.total / max(1e-9, (self.stopped_at or time.monotonic()) - self.started_at)
            first = "; ".join(f for _, f in self.failures[:3])
            return (f"{self.name}: {self.total} requests ({rate:.0f}/s), {len(self.failures)} "
                    f"failed, statuses {dict(self.statuses)}"
                    + (f"; first: {first}" if first else ""))


def fetch_many(host, port, path, n, workers=8, timeout=60.0):
    """n GETs of `path` spread over `workers` keep-alive connections at once (web serves each
    connection on its own thread). Returns [(status or "error", body bytes or error text)] in
    completion order; stops early at `timeout` seconds."""
    results, lock = [], threading.Lock()
    left = [n]
    deadline = time.monotonic() + timeout

    def worker():
        client = HttpClient(host, port)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                try:
                    result = client.get(path)
                except (OSError, http.client.HTTPException) as e:
                    result = ("error", f"{type(e).__name__}: {e}".encode())
                with lock:
                    results.append(result)
        finally:
            client.close()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()) + 10)
    return list(results)


def start_load(host, port, paths, **kw):
    load = Load(host, port, paths, **kw)
    load.start()
    return load


# ---------------------------------------------------------------- Prometheus metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append((m.group(1), labels, value))
    return out


def scrape(admin, timeout=5.0):
    host, port = admin.rsplit(":", 1)
    status, body = http_get(host, int(port), "/metrics", timeout=timeout)
    assert status == 200, f"GET http://{admin}/metrics answered {status}"
    return parse_metrics(body.decode())


def select(samples, name, **labels):
    return [(lbl, v) for n, lbl, v in samples
            if n == name and all(lbl.get(k) == want for k, want in labels.items())]


def total(samples, name, **labels):
    return sum(v for _, v in select(samples, name, **labels))


# ---------------------------------------------------------------- lmesh tap

def read_stream_lines(cmd, max_lines, timeout):
    """Start cmd, collect up to max_lines stdout lines within `timeout` s, then stop it
    (SIGINT, then SIGKILL). Returns (lines, stderr text, exit status)."""
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=mesh_env())
    lines, buf = [], b""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while len(lines) < max_lines:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(timeout=left):
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf and len(lines) < max_lines:
                line, buf = buf.split(b"\n", 1)
                lines.append(line.decode(errors="replace"))
    finally:
        sel.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        err = proc.stderr.read().decode(errors="replace")
        proc.stdout.close()
        proc.stderr.close()
    return lines, err, proc.returncode


# ---------------------------------------------------------------- packet capture

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1


class Segment:
    __slots__ = ("src", "dst", "sport", "dport", "payload")

    def __init__(self, src, dst, sport, dport, payload):
        self.src, self.dst, self.sport, self.dport, self.payload = src, dst, sport, dport, payload


def capture_tcp(iface, seconds, max_packets=200_000):
    """TCP segments with a payload seen on `iface` for `seconds` (an AF_PACKET raw socket,
    promiscuous so that a bridge hands over the frames it forwards between its ports)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    segments = []
    try:
        sock.bind((iface, 0))
        mreq = struct.pack("iHH8s", socket.if_nametoindex(iface), PACKET_MR_PROMISC, 0, b"")
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.settimeout(0.2)
        deadline = time.monotonic() + seconds
        packets = 0
        while time.monotonic() < deadline and packets < max_packets:
            try:
                frame = sock.recv(262144)
            except socket.timeout:
                continue
            packets += 1
            seg = _parse_frame(frame)
            if seg is not None:
                segments.append(seg)
    finally:
        sock.close()
    return segments


def _parse_frame(frame):
    if len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    off = 14
    if ethertype == 0x8100 and len(frame) >= 18:
        ethertype = struct.unpack("!H", frame[16:18])[0]
        off = 18
    if ethertype != 0x0800:
        return None
    ip = frame[off:]
    if len(ip) < 20 or ip[9] != 6:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total_len = struct.unpack("!H", ip[2:4])[0]
    ip = ip[:total_len] if total_len else ip   # 0 with TSO/GRO: take the frame
    tcp = ip[ihl:]
    if len(tcp) < 20:
        return None
    sport, dport = struct.unpack("!HH", tcp[:4])
    doff = (tcp[12] >> 4) * 4
    payload = tcp[doff:]
    if not payload:
        return None
    return Segment(socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), sport, dport,
                   bytes(payload))


def is_pod_ip(addr):
    return ipaddress.ip_address(addr) in POD_NET and addr != HOST_IP


# ---------------------------------------------------------------- misc

def pid_of(ref):
    return ref["pid"] if ref else 0


def kill9(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError as e:
        if e.errno != errno.ESRCH:
            raise
