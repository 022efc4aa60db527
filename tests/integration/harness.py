"""Starting and observing the real lmesh-proxy binary.

The proxy is started with every listener on port 0; the bound addresses are learned from its
`listening listener=<name> addr=<ip:port>` log lines. stop() sends SIGTERM and checks the exit
status and that no sanitizer report appeared on stderr.
"""
import ctypes
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from client import HttpConn

REPO_ROOT = Path(__file__).resolve().parents[2]
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
# A listener standing for one destination (--*-service-listen, --inbound-forward-listen) is
# keyed "inbound for=HOST:PORT".
LISTENING = re.compile(r"listening listener=(\w+) addr=(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)"
                       r"(?: for=(\S+))?")
START_TIMEOUT = 10.0
BASE_FLAGS = {  # every listener on a free loopback port; tests override or drop (None) flags
    "outbound_listen": "127.0.0.1:0",
    "inbound_listen": "127.0.0.1:0",
    "admin_listen": "127.0.0.1:0",
    "workers": 2,
    "log_format": "json",
}
STOP_TIMEOUT = 5.0


def proxy_binary():
    path = Path(os.environ.get("LMESH_PROXY", "build/src/proxy/lmesh-proxy"))
    return path if path.is_absolute() else REPO_ROOT / path


def binary(env, default):
    """One of the project's binaries: $env (meson test sets it) or `default` under the repo;
    fails the test when it is not built."""
    import pytest
    path = Path(os.environ.get(env, default))
    path = path if path.is_absolute() else REPO_ROOT / path
    if not path.exists():
        pytest.fail(f"{path} not found (set {env})")
    return path


def hostport(addr):
    return f"{addr[0]}:{addr[1]}"


def wait_until(cond, timeout=5.0, interval=0.02, message="condition"):
    """Poll cond() until it returns a truthy value, which is returned; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def flag_args(flags):
    """{'outbound_target': 'a:1', 'x': None} -> ['--outbound-target', 'a:1'] (None drops a flag)."""
    args = []
    for name, value in flags.items():
        if value is not None:
            args += ["--" + name.replace("_", "-"), str(value)]
    return args


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: SIGKILL the proxy if the test process dies, so no proxy outlives a run."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def sanitizer_report(text):
    return next((m for m in SANITIZER_MARKERS if m in text), None)


# ---------------------------------------------------------------- Prometheus text

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_prometheus(text):
    """[(name, {label: value}, float)]; raises ValueError on a line that is not valid."""
    samples = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"not a Prometheus sample line: {line!r}")
        name, label_text, value = m.groups()
        labels = {}
        if label_text:
            pos = 0
            while pos < len(label_text):
                lm = LABEL.match(label_text, pos)
                if not lm:
                    raise ValueError(f"bad labels in {line!r}")
                labels[lm.group(1)] = lm.group(2).encode().decode("unicode_escape")
                pos = lm.end()
        samples.append((name, labels, float(value)))
    return samples


def metric_sum(samples, name, **labels):
    """Sum of every sample of `name` whose labels include all of `labels`."""
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == str(w) for k, w in labels.items()))


# ---------------------------------------------------------------- the proxy process

class Proxy:
    def __init__(self, flags, env=None, cmd_prefix=(), binary=None, expect=("outbound", "inbound", "admin")):
        self.binary = Path(binary or proxy_binary())
        self.argv = [*cmd_prefix, str(self.binary), *flag_args(flags)]
        self.expect = expect
        self.addrs = {}
        self._lines = []
        self._lock = threading.Lock()
        self.returncode = None
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
                                     preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        self._readers = [threading.Thread(target=self._drain, args=(s,), daemon=True)
                         for s in (self.proc.stderr, self.proc.stdout)]
        for t in self._readers:
            t.start()
        self._wait_listening()

    def _drain(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
                m = LISTENING.search(line)
                if m:
                    key = m.group(1) + (f" for={m.group(4)}" if m.group(4) else "")
                    self.addrs[key] = (m.group(2).strip("[]"), int(m.group(3)))

    def _wait_listening(self):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"lmesh-proxy exited with {self.proc.returncode} at start:\n"
                                     f"{self.stderr_text()}")
            return all(name in self.addrs for name in self.expect)
        try:
            wait_until(ready, START_TIMEOUT, message=f"listening lines for {self.expect}")
        except AssertionError:
            self.kill()
            raise AssertionError(f"lmesh-proxy did not report {self.expect} listening; "
                                 f"argv={self.argv}\nlog:\n{self.stderr_text()}") from None

    @property
    def outbound(self):
        return self.addrs["outbound"]

    @property
    def inbound(self):
        return self.addrs["inbound"]

    @property
    def admin(self):
        return self.addrs["admin"]

    def stderr_text(self):
        with self._lock:
            return "\n".join(self._lines)

    def log_lines(self):
        with self._lock:
            return list(self._lines)

    def json_logs(self):
        return [json.loads(l) for l in self.log_lines() if l.startswith("{")]

    # -- observation

    def admin_get(self, path):
        with HttpConn(self.admin, timeout=5) as conn:
            return conn.request("GET", path, [("Host", "admin")])

    def metrics(self):
        resp = self.admin_get("/metrics")
        assert resp.status == 200, f"/metrics answered {resp}"
        return parse_prometheus(resp.body.decode())

    def metric(self, name, **labels):
        return metric_sum(self.metrics(), name, **labels)

    def wait_metric(self, name, expected, timeout=5.0, **labels):
        """Poll until metric `name`{labels} sums to `expected`; returns it."""
        seen = []

        def reached():
            seen.append(self.metric(name, **labels))
            return seen[-1] == expected
        try:
            wait_until(reached, timeout, interval=0.05)
        except AssertionError:
            raise AssertionError(f"{name}{labels} = {seen[-1]}, expected {expected}") from None
        return expected

    def _status_kib(self, key):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def sanitized(self):
        """True for an ASan build (its shadow memory and quarantine inflate RSS)."""
        return "libasan" in Path(f"/proc/{self.pid}/maps").read_text()

    def rss_kib(self):
        return self._status_kib("VmRSS")

    def hwm_kib(self):
        return self._status_kib("VmHWM")

    # -- ending

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self._readers:
            t.join(timeout=2)
        return self.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait(STOP_TIMEOUT)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; asserts exit 0 within `timeout` and a clean stderr."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        rc = self.wait(timeout)
        if rc is None:
            self.kill()
            raise AssertionError(f"lmesh-proxy did not exit within {timeout}s of SIGTERM\n"
                                 f"{self.stderr_text()[-4000:]}")
        self.check_sanitizers()
        assert rc == 0, f"lmesh-proxy exited with {rc}, expected 0\n{self.stderr_text()[-4000:]}"

    def check_sanitizers(self):
        text = self.stderr_text()
        marker = sanitizer_report(text)
        assert marker is None, f"sanitizer report ({marker}) in lmesh-proxy stderr:\n{text[-8000:]}"


# ---------------------------------------------------------------- lmesh-destination

class MeshFile:
    """A mesh file that is rewritten the way editors do: written aside, then renamed over."""

    def __init__(self, path):
        self.path = path

    def write(self, text):
        tmp = self.path.with_name(self.path.name + ".new")
        tmp.write_text(text)
        os.replace(tmp, self.path)


class Destination(Proxy):
    """The real lmesh-destination on a free port (harness.Proxy does the process work)."""

    def __init__(self, binary, flags, env=None):
        super().__init__({"listen": "127.0.0.1:0", "log_format": "json", **flags}, env=env,
                         binary=binary, expect=("api",))

    @property
    def api(self):
        return self.addrs["api"]

    def get(self, path):
        conn = http.client.HTTPConnection(*self.api, timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def metrics(self):
        status, body = self.get("/metrics")
        assert status == 200
        return parse_prometheus(body.decode())

    def metric(self, name, **labels):
        return metric_sum(self.metrics(), name, **labels)

    def wait_metric(self, name, expected, timeout=5.0, **labels):
        wait_until(lambda: self.metric(name, **labels) == expected, timeout,
                   message=f"{name}{labels} == {expected} (now {self.metric(name, **labels)})")

    def error_logs(self):
        return [l["msg"] for l in self.json_logs() if l.get("level") == "error"]
