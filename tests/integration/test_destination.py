"""lmesh-destination as a real process: a mesh file made at test time, /v1/resolve and
/v1/profile streams over HTTP/1.1 (http.client, chunked) and HTTP/2 (h2), edits of the file
(written aside and os.replace'd, as editors do) reaching open streams, a bad edit that keeps
the last good state, errors, /metrics and /ready, many streams, and start-up refusals.

Run: LMESH_DESTINATION=build/src/destination/lmesh-destination \\
     /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_destination.py
"""
import http.client
import json
import os
import queue
import socket
import subprocess
import threading
import time

import pytest

from h2peers import H2Client
from harness import Destination, MeshFile, metric_sum, parse_prometheus, wait_until

WEB = "web.default.svc.cluster.local:8080"
WEB_ID = "web.default.serviceaccount.identity.lmesh.cluster.local"
EDIT_DEADLINE = 1.0  # an edit must reach open streams within this


def mesh_yaml(web_endpoints=("198.18.0.12:8080",), timeout_ms=500, extra=""):
    eps = "".join(f"      - addr: {a}\n"
                  f"        identity: {WEB_ID}\n"
                  f"        labels: {{pod: web-{a.split(':')[0].split('.')[-1]}, zone: a}}\n"
                  for a in web_endpoints)
    return (
        "services:\n"
        f"  {WEB}:\n"
        "    aliases: [\"web:8080\", \"198.18.255.1:8080\"]\n"
        "    endpoints:\n" + (eps or "      []\n") +
        "    profile:\n"
        "      routes:\n"
        "        - name: GET /users\n"
        "          method: GET\n"
        "          path_regex: /users/.*\n"
        "          retryable: true\n"
        f"          timeout_ms: {timeout_ms}\n"
        "      retry_budget: {ratio: 0.2, min_per_second: 10, ttl_s: 10}\n"
        "  db.default.svc.cluster.local:5432:\n"
        "    endpoints:\n"
        "      - {addr: 198.18.0.20:5432, protocol: opaque}\n"
        + extra +
        "workloads:\n"
        "  - reserved for lmesh up\n")


class H1Stream:
    """A stream over HTTP/1.1 (chunked), read by a thread into a queue of parsed lines."""

    def __init__(self, addr, path):
        self.conn = http.client.HTTPConnection(*addr, timeout=30)
        self.conn.request("GET", path)
        self.sock = self.conn.sock  # to unblock the reader thread at close()
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.lines = queue.Queue()
        self.ended = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = self.resp.read()

    def _read(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                self.lines.put(json.loads(line))
        except (OSError, ValueError, http.client.HTTPException):
            pass
        self.ended.set()

    def next(self, timeout=EDIT_DEADLINE):
        return self.lines.get(timeout=timeout)

    def silent_for(self, seconds):
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected line {line}")

    def close(self):
        # The reader thread holds the response's buffer lock while it waits: wake it first.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.ended.wait(5)
        self.conn.close()


class H2Streams:
    """Streams on one h2c connection; lines per stream."""

    def __init__(self, addr):
        self.client = H2Client(addr)
        self.consumed = {}

    def open(self, path):
        sid = self.client.request(path, authority="destination")
        self.consumed[sid] = 0
        return sid

    def _complete_lines(self, sid):
        body = bytes(self.client.responses[sid].body)
        return [json.loads(l) for l in body.split(b"\n")[:-1]]

    def lines(self, sid):
        return self._complete_lines(sid)

    def wait_lines(self, sids, count, timeout=EDIT_DEADLINE):
        """Pumps until every stream in `sids` has at least `count` lines."""
        self.client.pump(lambda: all(len(self._complete_lines(s)) >= count for s in sids), timeout)

    def status(self, sid):
        self.client.pump(lambda: self.client.responses[sid].status != 0, 5)
        return self.client.responses[sid].status

    def close(self):
        self.client.close()


@pytest.fixture
def mesh(tmp_path):
    f = MeshFile(tmp_path / "mesh.yaml")
    f.write(mesh_yaml())
    return f


@pytest.fixture
def destination(start_destination, mesh):
    return start_destination(mesh_file=mesh.path)


def addrs(update):
    return sorted(e["addr"] for e in update["add"])


# ---------------------------------------------------------------- resolve

def test_resolve_over_http1_follows_file_edits(destination, mesh):
    s = H1Stream(destination.api, f"/v1/resolve?authority={WEB}")
    try:
        assert s.status == 200
        assert s.resp.getheader("Content-Type") == "application/x-ndjson"
        first = s.next()
        assert first == {"add": [{"addr": "198.18.0.12:8080", "weight": 1, "protocol": "http1",
                                  "identity": WEB_ID, "labels": {"pod": "web-12", "zone": "a"}}]}

        t0 = time.monotonic()
        mesh.write(mesh_yaml(("198.18.0.12:8080", "198.18.0.13:8080")))
        assert addrs(s.next()) == ["198.18.0.13:8080"]
        assert time.monotonic() - t0 < EDIT_DEADLINE

        mesh.write(mesh_yaml(("198.18.0.13:8080",)))
        assert s.next() == {"remove": ["198.18.0.12:8080"]}

        # A pod replaced: the new one is added before the old one goes.
        mesh.write(mesh_yaml(("198.18.0.14:8080",)))
        assert addrs(s.next()) == ["198.18.0.14:8080"]
        assert s.next() == {"remove": ["198.18.0.13:8080"]}

        mesh.write(mesh_yaml(()))
        assert s.next() == {"no_endpoints": True}
        mesh.write(mesh_yaml(("198.18.0.15:8080",)))
        assert addrs(s.next()) == ["198.18.0.15:8080"]
    finally:
        s.close()


def test_resolve_over_http2_by_alias_and_any_case(destination, mesh):
    h2 = H2Streams(destination.api)
    try:
        by_alias = h2.open("/v1/resolve?authority=web:8080")
        by_vip = h2.open("/v1/resolve?authority=198.18.255.1:8080")
        by_case = h2.open("/v1/resolve?authority=WEB.Default.svc.cluster.local:8080")
        db = h2.open("/v1/resolve?authority=db.default.svc.cluster.local:5432")
        h2.wait_lines([by_alias, by_vip, by_case, db], 1, timeout=5)
        for sid in (by_alias, by_vip, by_case):
            assert h2.client.responses[sid].status == 200
            assert addrs(h2.lines(sid)[0]) == ["198.18.0.12:8080"]
        assert h2.lines(db)[0]["add"][0]["protocol"] == "opaque"

        mesh.write(mesh_yaml(("198.18.0.12:8080", "198.18.0.13:8080")))
        h2.wait_lines([by_alias, by_vip, by_case], 2)
        for sid in (by_alias, by_vip, by_case):
            assert addrs(h2.lines(sid)[1]) == ["198.18.0.13:8080"]
        assert len(h2.lines(db)) == 1  # another service's change is not its business
    finally:
        h2.close()


def test_bad_edit_keeps_the_last_good_state(destination, mesh):
    s = H1Stream(destination.api, f"/v1/resolve?authority={WEB}")
    try:
        assert addrs(s.next()) == ["198.18.0.12:8080"]
        bad = mesh_yaml(("198.18.0.99:8080",), timeout_ms='"500"')
        line = bad.splitlines().index('          timeout_ms: "500"') + 1
        mesh.write(bad)
        destination.wait_metric("destination_reload_total", 1, result="error")
        expected = (f"{mesh.path}:{line}: services/{WEB}/profile/routes/0/timeout_ms: "
                    "must be a whole number")
        wait_until(lambda: any(expected in m for m in destination.error_logs()),
                   message=f"an error log naming {expected}")
        assert s.silent_for(0.5)
        assert destination.metric("destination_reload_total", result="ok") == 1

        # A new follower gets the old state; /ready stays 200.
        fresh = H1Stream(destination.api, "/v1/resolve?authority=web:8080")
        try:
            assert addrs(fresh.next()) == ["198.18.0.12:8080"]
        finally:
            fresh.close()
        assert destination.get("/ready")[0] == 200

        # YAML that does not parse: the line too.
        mesh.write("services:\n  web:8080:\n    endpoints: [\n")
        destination.wait_metric("destination_reload_total", 2, result="error")
        wait_until(lambda: any(f"{mesh.path}:4: not valid YAML" in m
                               for m in destination.error_logs()), message="a YAML error log")

        # The fix is picked up.
        mesh.write(mesh_yaml(("198.18.0.12:8080", "198.18.0.16:8080")))
        assert addrs(s.next()) == ["198.18.0.16:8080"]
    finally:
        s.close()


def test_removed_service_ends_its_streams(destination, mesh):
    h2 = H2Streams(destination.api)
    s = H1Stream(destination.api, "/v1/resolve?authority=db.default.svc.cluster.local:5432")
    try:
        resolve = h2.open("/v1/resolve?authority=db.default.svc.cluster.local:5432")
        profile = h2.open("/v1/profile?authority=db.default.svc.cluster.local:5432")
        h2.wait_lines([resolve, profile], 1, timeout=5)
        assert s.next()["add"][0]["addr"] == "198.18.0.20:5432"
        destination.wait_metric("destination_subscribers", 3)

        text = mesh_yaml()
        mesh.write(text[:text.index("  db.default")] + "workloads: []\n")
        assert s.next() == {"no_endpoints": True}
        assert s.ended.wait(EDIT_DEADLINE)
        h2.client.pump(lambda: h2.client.responses[resolve].ended and
                       h2.client.responses[profile].ended, EDIT_DEADLINE)
        assert h2.lines(resolve)[-1] == {"no_endpoints": True}
        assert len(h2.lines(profile)) == 1
        destination.wait_metric("destination_subscribers", 0)

        # Asked again, as a proxy's watch does: unknown now, and the proxy falls back.
        status, body = destination.get("/v1/resolve?authority=db.default.svc.cluster.local:5432")
        assert status == 404 and json.loads(body)["error"] == "unknown authority"

        # Back in the file: a new stream sees it.
        mesh.write(mesh_yaml())
        wait_until(lambda: destination.metric("destination_services") == 2)
        again = h2.open("/v1/resolve?authority=db.default.svc.cluster.local:5432")
        h2.wait_lines([again], 1)
        assert h2.lines(again)[0]["add"][0]["addr"] == "198.18.0.20:5432"
    finally:
        s.close()
        h2.close()


# ---------------------------------------------------------------- errors

def test_unknown_authority_and_missing_port(destination):
    status, body = destination.get("/v1/resolve?authority=nope.default.svc.cluster.local:80")
    assert status == 404
    assert json.loads(body) == {"error": "unknown authority",
                                "detail": "no service is named nope.default.svc.cluster.local:80"}
    status, body = destination.get("/v1/profile?authority=web.default.svc.cluster.local")
    assert status == 400
    err = json.loads(body)
    assert err["error"] == "bad authority" and "no port" in err["detail"], err
    status, body = destination.get("/v1/resolve")
    assert status == 400 and "authority" in json.loads(body)["detail"]
    status, _ = destination.get("/v1/nothing")
    assert status == 404

    h2 = H2Streams(destination.api)
    try:
        unknown = h2.open("/v1/resolve?authority=nope:80")
        portless = h2.open("/v1/resolve?authority=web")
        assert h2.status(unknown) == 404
        assert h2.status(portless) == 400
    finally:
        h2.close()


# ---------------------------------------------------------------- profiles

def test_profile_stream_sends_whole_profile_on_change_only(destination, mesh):
    s = H1Stream(destination.api, "/v1/profile?authority=web:8080")
    try:
        first = s.next()
        assert first["routes"] == [{"name": "GET /users", "method": "GET",
                                    "path_regex": "/users/.*", "retryable": True,
                                    "timeout_ms": 500}]
        assert first["retry_budget"] == {"ratio": 0.2, "min_per_second": 10, "ttl_s": 10}

        mesh.write(mesh_yaml(timeout_ms=750))
        changed = s.next()
        assert changed["routes"][0]["timeout_ms"] == 750
        assert changed["retry_budget"] == first["retry_budget"]

        mesh.write(mesh_yaml(("198.18.0.30:8080",), timeout_ms=750))  # endpoints only
        assert s.silent_for(0.4)
    finally:
        s.close()

    # A service without a profile: the default one.
    h2 = H2Streams(destination.api)
    try:
        sid = h2.open("/v1/profile?authority=db.default.svc.cluster.local:5432")
        h2.wait_lines([sid], 1, timeout=5)
        assert h2.lines(sid)[0] == {"routes": [], "retry_budget": {"ratio": 0.2,
                                                                     "min_per_second": 10,
                                                                     "ttl_s": 10}}
    finally:
        h2.close()


# ---------------------------------------------------------------- observability

def test_metrics_and_ready(destination, mesh):
    assert destination.get("/ready") == (200, b"ready\n")
    assert destination.get("/live")[0] == 200
    samples = destination.metrics()
    assert metric_sum(samples, "destination_services") == 2
    assert metric_sum(samples, "destination_endpoints") == 2
    assert metric_sum(samples, "destination_reload_total", result="ok") == 1
    assert metric_sum(samples, "destination_reload_total", result="error") == 0
    assert metric_sum(samples, "destination_reload_duration_ms_count") == 1
    assert metric_sum(samples, "process_resident_memory_bytes") > 0
    assert metric_sum(samples, "lmesh_build_info", binary="lmesh-destination") == 1

    h1 = H1Stream(destination.api, "/v1/resolve?authority=web:8080")
    h2 = H2Streams(destination.api)
    try:
        h1.next()
        sids = [h2.open("/v1/profile?authority=web:8080"), h2.open("/v1/resolve?authority=web:8080")]
        h2.wait_lines(sids, 1, timeout=5)
        destination.wait_metric("destination_subscribers", 2, kind="resolve")
        destination.wait_metric("destination_subscribers", 1, kind="profile")
        assert destination.metric("destination_updates_total", kind="resolve") == 2
        assert destination.metric("destination_updates_total", kind="profile") == 1

        mesh.write(mesh_yaml(("198.18.0.12:8080", "198.18.0.13:8080", "198.18.0.14:8080")))
        h1.next()
        destination.wait_metric("destination_endpoints", 4)
        destination.wait_metric("destination_updates_total", 4, kind="resolve")

        # Clients that go away leave: an HTTP/1.1 close, an HTTP/2 RST_STREAM.
        h1.close()
        h2.client.reset(sids[0])
        destination.wait_metric("destination_subscribers", 1, kind="resolve")
        destination.wait_metric("destination_subscribers", 0, kind="profile")
    finally:
        h1.close()
        h2.close()
    destination.wait_metric("destination_subscribers", 0)


def test_many_http2_streams_all_get_a_change(destination, mesh):
    # One proxy follows many authorities on one connection: 300 streams there (far above
    # HTTP/2's customary 100) plus 100 on a second connection.
    conns = [H2Streams(destination.api) for _ in range(2)]
    try:
        sids = [[c.open("/v1/resolve?authority=web:8080") for _ in range(n)]
                for c, n in zip(conns, (300, 100))]
        for c, s in zip(conns, sids):
            c.wait_lines(s, 1, timeout=10)
        destination.wait_metric("destination_subscribers", 400, kind="resolve")
        t0 = time.monotonic()
        mesh.write(mesh_yaml(("198.18.0.12:8080", "198.18.0.40:8080")))
        for c, s in zip(conns, sids):
            c.wait_lines(s, 2, timeout=EDIT_DEADLINE + 1)
            for sid in s:
                assert addrs(c.lines(sid)[1]) == ["198.18.0.40:8080"]
        assert time.monotonic() - t0 < EDIT_DEADLINE
    finally:
        for c in conns:
            c.close()
    destination.wait_metric("destination_subscribers", 0)


# ---------------------------------------------------------------- start-up

def run(argv, timeout=10):
    done = subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout.decode() + done.stderr.decode()


def test_refuses_to_start_without_a_good_mesh_file(destination_bin, tmp_path):
    code, out = run([destination_bin, "--listen", "127.0.0.1:0"])
    assert code == 2 and "--mesh-file FILE is required" in out, out

    missing = tmp_path / "missing.yaml"
    code, out = run([destination_bin, "--listen", "127.0.0.1:0", "--mesh-file", missing])
    assert code == 1 and f"cannot open the mesh file {missing}: No such file or directory" in out, out

    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  web:8080:\n    endpoints:\n      - addr: 198.18.0.1:8080\n"
                   "        weight: 0\n")
    code, out = run([destination_bin, "--listen", "127.0.0.1:0", "--mesh-file", bad])
    assert code == 1, out
    assert f"{bad}:5: services/web:8080/endpoints/0/weight: must be between 1 and 1000000" in out, out

    code, out = run([destination_bin, "--help"])
    assert code == 0 and "--mesh-file" in out and "LMESH_DESTINATION_" in out


def test_environment_and_json_mesh_file(start_destination, tmp_path):
    f = tmp_path / "mesh.json"
    f.write_text(json.dumps({"services": {"a:1": {"endpoints": [{"addr": "127.0.0.1:1"}]}}}))
    d = start_destination(env={"LMESH_DESTINATION_MESH_FILE": str(f)})
    s = H1Stream(d.api, "/v1/resolve?authority=A:1")
    try:
        assert addrs(s.next()) == ["127.0.0.1:1"]
    finally:
        s.close()


# ---------------------------------------------------------------- pods (GET /v1/pods)

PODS = (
    "pods:\n"
    "  - name: web-12\n"
    "    service_account: web\n"
    f"    identity: {WEB_ID}\n"
    "    addr: 198.18.0.12\n"
    "  - {name: web-13, addr: 198.18.0.13, admin: '127.0.0.1:14191'}\n"
    "  - {name: db-0, workload: statefulset/db, addr: 198.18.0.20}\n"
    "  - {name: web-1, namespace: prod, addr: 198.18.1.1}\n")


def pods_of(destination, query=""):
    status, body = destination.get("/v1/pods" + query)
    return status, json.loads(body)


def names(answer):
    return [f"{p['namespace']}/{p['name']}" for p in answer["pods"]]


def test_pods_from_the_mesh_file(start_destination, mesh):
    mesh.write(mesh_yaml(extra="") + PODS)
    d = start_destination(mesh_file=mesh.path)

    status, everything = pods_of(d)
    assert status == 200
    # By namespace, then name; defaults filled in; services from the endpoints' labels.pod.
    assert names(everything) == ["default/db-0", "default/web-12", "default/web-13", "prod/web-1"]
    assert everything["pods"][1] == {
        "name": "web-12", "namespace": "default", "workload": "deploy/web",
        "service_account": "web", "identity": WEB_ID, "addr": "198.18.0.12",
        "admin": "198.18.0.12:4191", "services": [WEB]}
    assert everything["pods"][2] == {
        "name": "web-13", "namespace": "default", "workload": "deploy/web",
        "service_account": "default", "identity": "", "addr": "198.18.0.13",
        "admin": "127.0.0.1:14191", "services": []}

    assert names(pods_of(d, "?target=deploy/web")[1]) == ["default/web-12", "default/web-13"]
    assert names(pods_of(d, "?target=deployment/web&namespace=prod")[1]) == ["prod/web-1"]
    assert names(pods_of(d, "?target=deploy")[1]) == ["default/web-12", "default/web-13"]
    assert names(pods_of(d, "?target=po/db-0")[1]) == ["default/db-0"]
    assert names(pods_of(d, "?target=pods&namespace=prod")[1]) == ["prod/web-1"]
    assert names(pods_of(d, "?target=svc/web")[1]) == ["default/web-12"]
    assert names(pods_of(d, "?target=ns/prod&namespace=default")[1]) == ["prod/web-1"]
    assert names(pods_of(d, "?target=ns")[1]) == names(everything)

    assert pods_of(d, "?target=deploy/web&namespace=staging") == (
        404, {"error": "no match", "detail": "no pods for deploy/web in namespace staging"})
    assert pods_of(d, "?target=deploy/db") == (
        404, {"error": "no match", "detail": "no pods for deploy/db in namespace default"})
    for bad in ("?target=replicaset/web", "?target=deploy/a/b", "?target=deploy/Web",
                "?target=deploy/web&namespace=a.b"):
        status, answer = pods_of(d, bad)
        assert status == 400, bad
        assert answer["error"] == "bad target", bad

    # Over HTTP/2 too.
    h2 = H2Client(d.api)
    try:
        sid = h2.request("/v1/pods?target=svc/web", authority="destination")
        h2.pump(lambda: h2.responses[sid].ended, 5)
        assert h2.responses[sid].status == 200
        assert names(json.loads(bytes(h2.responses[sid].body))) == ["default/web-12"]
    finally:
        h2.close()

    assert d.metric("destination_pods") == 4
    assert d.metric("destination_pods_requests_total", code="200") == 10
    assert d.metric("destination_pods_requests_total", code="404") == 2
    assert d.metric("destination_pods_requests_total", code="400") == 4


def test_pods_follow_edits_of_the_mesh_file(start_destination, mesh):
    mesh.write(mesh_yaml() + PODS)
    d = start_destination(mesh_file=mesh.path)
    assert names(pods_of(d, "?target=deploy/web")[1]) == ["default/web-12", "default/web-13"]

    # web-13 gets an endpoint in the web service and web-14 arrives.
    mesh.write(mesh_yaml(("198.18.0.12:8080", "198.18.0.13:8080"))
               + PODS + "  - {name: web-14, addr: 198.18.0.14}\n")
    wait_until(lambda: names(pods_of(d, "?target=svc/web")[1]) == [
        "default/web-12", "default/web-13"], timeout=EDIT_DEADLINE * 5,
        message="web-13 behind svc/web after the edit")
    assert names(pods_of(d, "?target=deploy/web")[1]) == [
        "default/web-12", "default/web-13", "default/web-14"]

    # A pod named twice is a bad edit: logged with its line, and the last good state stays.
    bad = mesh_yaml() + PODS + "  - {name: web-12, addr: 198.18.0.99}\n"
    line = len(bad.splitlines())
    mesh.write(bad)
    d.wait_metric("destination_reload_total", 1, result="error")
    expected = f"{mesh.path}:{line}: pods/4/name: is the same pod as pods/0 (in namespace default)"
    wait_until(lambda: any(expected in m for m in d.error_logs()),
               message=f"an error log naming {expected}")
    assert len(pods_of(d)[1]["pods"]) == 5

    # Without pods: none, and no target is then an empty answer, not a 404.
    mesh.write(mesh_yaml())
    wait_until(lambda: pods_of(d) == (200, {"pods": []}), timeout=EDIT_DEADLINE * 5,
               message="no pods after the edit")
    assert pods_of(d, "?target=deploy/web")[0] == 404
