"""lmesh-tap with an identity, every part real: lmesh-identity issues the certificates of two
lmesh-proxy pods of deploy/web (identity web) and of lmesh-tap (identity tap, the proxies'
default --tap-identity); lmesh-destination lists the pods with their `identity`. A proxy with
an identity serves GET /tap only over mTLS to the tap service's identity, so:
- lmesh-tap with identity: `lmesh tap deploy/web` shows both pods' requests; /ready waited for
  the certificate, /metrics has the identity client's metrics;
- lmesh-tap without identity, same proxies: each proxy's stream is a proxy_error naming the 403;
- a pod listed with an identity its proxy does not hold: proxy_error (identity mismatch) and no
  events, the handshake fails before anything is asked; its scrapes fail the same way;
- lmesh-tap with identity but no certificate (its token refused): /ready 503, and each stream
  to a pod with an identity is a proxy_error at once.

Run: LMESH_PROXY=build/src/proxy/lmesh-proxy LMESH_IDENTITY=build/src/identity/lmesh-identity \\
     LMESH_CLI=build/src/cli/lmesh LMESH_DESTINATION=build/src/destination/lmesh-destination \\
     LMESH_TAP=build/src/tap/lmesh-tap /usr/bin/python3 -m pytest -q tests/integration/test_tap_mtls.py
"""
import json

import pytest

import upstreams
from client import HttpConn
from harness import MeshFile, binary, hostport, metric_sum, parse_prometheus, wait_until
from test_live_traffic import TapService, cli_tap, send
from test_mtls import API, WEB, mesh, wait_ready  # noqa: F401  (mesh is a fixture)

TAP_ID = "tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local"
TOKENS = {"web-token": "default/web", "tap-token": "lmesh-system/tap"}


@pytest.fixture
def meshed(tmp_path, proxy_factory, serve, start_destination, mesh):  # noqa: F811
    """(mesh CA, {pod: proxy}, lmesh-destination). deploy/web: web-1 and web-2, each a proxy
    with identity web. deploy/imposter: imposter-1, listed as api but served by web-1's proxy."""
    mesh_ca = mesh(tokens=TOKENS)
    upstream = serve(upstreams.HttpUpstream, routes={"/fast": upstreams.fixed(200, b"fast")})
    pods = {name: proxy_factory(inbound_forward=hostport(upstream.addr),
                                **mesh_ca.proxy_flags(WEB, "web-token"))
            for name in ("web-1", "web-2")}
    for proxy in pods.values():
        wait_ready(proxy)
    mesh_file = MeshFile(tmp_path / "mesh.yaml")
    pod_list = "".join(
        f"  - {{name: {name}, namespace: default, workload: deploy/web, addr: 127.0.0.1, "
        f"identity: {WEB}, admin: \"{hostport(p.admin)}\"}}\n" for name, p in pods.items())
    pod_list += (f"  - {{name: imposter-1, namespace: default, workload: deploy/imposter, "
                 f"addr: 127.0.0.1, identity: {API}, admin: \"{hostport(pods['web-1'].admin)}\"}}\n")
    mesh_file.write("pods:\n" + pod_list)
    return mesh_ca, pods, start_destination(mesh_file=mesh_file.path)


@pytest.fixture
def tap_services():
    started = []

    def start(destination, **flags):
        tap = TapService(destination, **flags)
        started.append(tap)
        return tap
    yield start
    for tap in started:
        tap.stop()


def get(tap, target):
    with HttpConn(tap.api, timeout=15) as conn:
        return conn.request("GET", target, [("Host", "tap")])


def wait_tap_ready(tap):
    wait_until(lambda: get(tap, "/ready").status == 200, 15,
               message="lmesh-tap /ready with a certificate")


def tap_until_it_ends(tap, target):
    """The whole /v1/tap stream of a tap whose every proxy stream fails (it then ends)."""
    resp = get(tap, f"/v1/tap?target={target}&namespace=default")
    assert resp.status == 200, resp
    return [json.loads(line) for line in resp.body.decode().splitlines() if line]


def test_with_identity_lmesh_tap_shows_both_pods_over_mtls(meshed, tap_services):
    mesh_ca, pods, destination = meshed
    tap = tap_services(destination, **mesh_ca.proxy_flags(TAP_ID, "tap-token"))
    wait_tap_ready(tap)
    metrics = parse_prometheus(get(tap, "/metrics").body.decode())
    assert metric_sum(metrics, "identity_cert_expiration_timestamp_seconds") > 0, metrics
    with cli_tap(tap, "deploy/web", "-n", "default", "-o", "json") as lines:
        seen = set()

        def both_pods_seen():
            for proxy in pods.values():
                send(proxy, "/fast", 1)
            for line in list(lines):
                event = json.loads(line)
                assert event.get("kind") != "proxy_error", event
                if event.get("kind") == "request_init":
                    seen.add(event["proxy"]["pod"])
            return seen >= {"web-1", "web-2"}
        wait_until(both_pods_seen, 15, interval=0.2, message="requests of both pods in `lmesh tap`")


def test_without_identity_each_proxy_refuses_with_403(meshed, tap_services):
    _, pods, destination = meshed
    tap = tap_services(destination)
    events = tap_until_it_ends(tap, "deploy/web")
    errors = [e for e in events if e["kind"] == "proxy_error"]
    assert {e["proxy"]["pod"] for e in errors} == {"web-1", "web-2"}, events
    assert all("403" in e["error"] for e in errors), errors
    assert [e for e in events if e["kind"] != "proxy_error"] == []


def test_a_pod_whose_proxy_proves_another_identity_is_refused(meshed, tap_services):
    mesh_ca, pods, destination = meshed
    tap = tap_services(destination, **mesh_ca.proxy_flags(TAP_ID, "tap-token"))
    wait_tap_ready(tap)
    events = tap_until_it_ends(tap, "deploy/imposter")
    assert [e["kind"] for e in events] == ["proxy_error"], events
    assert events[0]["proxy"]["pod"] == "imposter-1"
    assert "identity mismatch" in events[0]["error"], events
    # web-1's proxy never saw a tap: the handshake failed before any request.
    assert pods["web-1"].metric("tap_open") == 0
    # Scrapes check the identity too: the imposter's /metrics (web-1's, served in plaintext
    # as well) is not read, while the real pods' are, over mTLS.
    imposter = json.loads(get(tap, "/v1/stat?target=deploy/imposter&namespace=default").body)
    assert imposter["rows"][0]["meshed"] == "0/1", imposter
    web = json.loads(get(tap, "/v1/stat?target=deploy/web&namespace=default").body)
    assert web["rows"][0]["meshed"] == "2/2", web


def test_before_a_certificate_taps_of_pods_with_identity_fail_at_once(meshed, tap_services):
    mesh_ca, _, destination = meshed
    flags = mesh_ca.proxy_flags(TAP_ID, "tap-token")
    flags["identity_token_file"] = mesh_ca.token_file("unknown-token")  # refused: never a cert
    tap = tap_services(destination, **flags)
    wait_until(lambda: b"no certificate" in get(tap, "/ready").body, 10,
               message="lmesh-tap /ready refused for want of a certificate")
    events = tap_until_it_ends(tap, "deploy/web")
    assert {e["proxy"]["pod"] for e in events if e["kind"] == "proxy_error"} == {"web-1", "web-2"}
    assert all("no certificate" in e["error"] for e in events), events
    assert get(tap, "/ready").status == 503
