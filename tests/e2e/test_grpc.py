"""gRPC through `lmesh up`: a gRPC server workload (2 replicas, port 9090 declared http2) and a
client workload calling it by service name (apps/grpc_client.py, python3-grpcio) through both
proxies. Unary calls, a gRPC error status (NOT_FOUND) and a server-streaming call arrive intact,
over mTLS, and the server proxies count them with their grpc_status_code."""
import json
import re
import sys

import pytest

import mesh as m

CALLS = 40          # the client's loop: every 5th call is Fail (NOT_FOUND), then one Count
FAILS = CALLS // 5


def mesh_yaml():
    py = json.dumps(sys.executable)
    app = lambda name: json.dumps(str(m.E2E_DIR / "apps" / name))  # noqa: E731
    return f"""# tests/e2e/test_grpc.py: a gRPC server and a client calling it through the mesh
workloads:
  - name: echo
    replicas: 2
    command: [{py}, "-B", {app("grpc_echo.py")}]
    env: {{PORT: "9090"}}
    ports:
      - {{port: 9090, protocol: http2}}
  - name: echo-client
    replicas: 1
    command: [{py}, "-B", {app("grpc_client.py")}]
    env: {{CALLS: "{CALLS}", INTERVAL_MS: "20", GRPC_DNS_RESOLVER: "native"}}
    ports: []
    services: []
"""


@pytest.fixture(scope="module")
def grpc_mesh(base_dir):
    pytest.importorskip("grpc", reason="python3-grpcio is not installed")
    mesh_file = base_dir / "grpc.yaml"
    mesh_file.write_text(mesh_yaml())
    mesh = m.start_mesh(base_dir, mesh_file, name="grpc", demo_dir=None)
    yield mesh
    m.assert_down_ok(mesh, mesh.down())


@pytest.mark.deadline(90)
def test_grpc_calls_through_the_mesh_over_mtls(grpc_mesh):
    mesh = grpc_mesh
    log = m.wait_for(lambda: (lambda text: "done " in text and text)(
        mesh.log("echo-client-0.default.app")), 60, "the gRPC client's `done` line")
    lines = log.splitlines()
    print("\n" + "\n".join(lines[:3] + ["..."] + lines[-4:]))
    done = re.search(r"done calls=(\d+) ok=(\d+) errors=(\d+)", log)
    served = {}
    for line in lines:
        hit = re.match(r"ok say \d+ hello \d+ from (\S+)", line)
        if hit:
            served[hit.group(1)] = served.get(hit.group(1), 0) + 1
    client_id = m.identity("echo-client")
    grpc_ok = grpc_not_found = plain = 0
    for pod in mesh.pods("echo"):
        samples = m.scrape(pod["admin"])
        grpc_ok += m.total(samples, "response_total", direction="inbound", tls="true",
                           client_id=client_id, grpc_status_code="0", classification="success")
        grpc_not_found += m.total(samples, "response_total", direction="inbound", tls="true",
                                  client_id=client_id, grpc_status_code="5",
                                  classification="failure")
        plain += m.total(samples, "request_total", direction="inbound", tls="false")
    client_proxy = m.scrape(mesh.pod("echo-client-0")["admin"])
    out_ok = m.total(client_proxy, "response_total", direction="outbound", grpc_status_code="0")
    print(f"Say answered by {served}; echo proxies, inbound over mTLS from echo-client: "
          f"grpc-status 0 x{grpc_ok:.0f}, NOT_FOUND x{grpc_not_found:.0f}, plaintext requests "
          f"{plain:.0f}; echo-client's proxy outbound grpc-status 0 x{out_ok:.0f}")
    assert done, log
    calls, ok, errors = map(int, done.groups())
    assert (calls, ok, errors) == (CALLS + 1, CALLS + 1, 0), log
    assert "ok count 5" in log
    assert sum(served.values()) == CALLS - FAILS
    assert set(served) <= {"echo-0", "echo-1"}
    # Say, Count and the warm-up call(s) are gRPC OK; every Fail is NOT_FOUND, counted as failure.
    assert grpc_ok >= CALLS - FAILS + 2
    assert grpc_not_found == FAILS
    assert plain == 0
