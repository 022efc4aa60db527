"""Transparent interception as in a pod: iptables REDIRECT in a network namespace, the proxy
recovering the original destination with SO_ORIGINAL_DST. Needs root (namespaces, iptables).

Layout: namespace A (client + proxy, 198.18.0.1) --veth-- namespace B (servers, 198.18.0.2).
The proxy runs as uid 2102 and iptables skips that uid, so its own upstream connections are
not redirected back to itself. Every socket to 198.18.0.0/15 is made inside a namespace.
"""
import os
import shutil
import socket
import tempfile
import time

import pytest

import upstreams
from client import get
from harness import wait_until
from netns import ADDR_B, NetnsPair, missing_tools

PROXY_UID = 2102
OUTBOUND_PORT, INBOUND_PORT = 4140, 4143

if os.geteuid() != 0:
    pytest.skip("needs root for network namespaces and iptables", allow_module_level=True)
if missing_tools():
    pytest.skip(f"needs {', '.join(missing_tools())} (Debian: iproute2, iptables, util-linux)",
                allow_module_level=True)


@pytest.fixture
def pair():
    pair = NetnsPair()
    yield pair
    pair.close()


@pytest.fixture
def proxy_copy(proxy_path):
    """The binary in a 0755 directory, so that uid 2102 can execute it wherever the build is."""
    tmp = tempfile.mkdtemp(prefix="lmesh-proxy-")
    os.chmod(tmp, 0o755)
    copy = shutil.copy2(proxy_path, os.path.join(tmp, "lmesh-proxy"))
    os.chmod(copy, 0o755)
    yield copy
    shutil.rmtree(tmp, ignore_errors=True)


def start_proxy_in(pair, ns, proxy_factory, proxy_copy, **flags):
    prefix = [*pair.exec_prefix(ns), "setpriv", f"--reuid={PROXY_UID}", f"--regid={PROXY_UID}",
              "--clear-groups"]
    return proxy_factory(cmd_prefix=prefix, binary=proxy_copy, **flags)


def serve_in(pair, ns, cls, *args, **kw):
    server = pair.in_ns(ns, cls, *args, **kw)
    pair.on_close(server.close)
    return server


def redirect_outbound(pair, port):
    pair.iptables(pair.a, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "!", "--uid-owner",
                  str(PROXY_UID), "--dport", str(port), "-j", "REDIRECT", "--to-ports", str(OUTBOUND_PORT))


def metric_in(pair, ns, proxy, name, **labels):
    """The proxy's admin port is on the namespace's loopback: scrape from inside it."""
    return pair.in_ns(ns, proxy.metric, name, **labels)


def test_outbound_http_is_intercepted(pair, proxy_factory, proxy_copy):
    app = serve_in(pair, pair.b, upstreams.HttpUpstream, host=ADDR_B, port=8080,
                   default=upstreams.fixed(200, b"answer from namespace B"))
    proxy = start_proxy_in(pair, pair.a, proxy_factory, proxy_copy,
                           outbound_listen=f"127.0.0.1:{OUTBOUND_PORT}")
    redirect_outbound(pair, 8080)

    resp = pair.in_ns(pair.a, get, (ADDR_B, 8080), "/through", [("Host", f"{ADDR_B}:8080")])
    assert (resp.status, resp.body) == (200, b"answer from namespace B"), resp
    assert app.paths() == ["/through"]
    wait_until(lambda: metric_in(pair, pair.a, proxy, "request_total", direction="outbound") == 1, 5,
               message="the proxy to count the intercepted request (did it go through the proxy?)")


def test_outbound_opaque_port_is_intercepted(pair, proxy_factory, proxy_copy):
    serve_in(pair, pair.b, upstreams.EchoServer, banner=b"db ready\n", host=ADDR_B, port=5432)
    proxy = start_proxy_in(pair, pair.a, proxy_factory, proxy_copy,
                           outbound_listen=f"127.0.0.1:{OUTBOUND_PORT}", detect_timeout="10s")
    redirect_outbound(pair, 5432)  # 5432 is in the default --opaque-ports

    def talk():
        with socket.create_connection((ADDR_B, 5432), timeout=3) as sock:
            started = time.monotonic()
            banner = sock.recv(100)
            waited = time.monotonic() - started
            sock.sendall(b"SELECT 1")
            return banner, waited, sock.recv(100)
    banner, waited, echoed = pair.in_ns(pair.a, talk)
    assert banner == b"db ready\n" and waited < 2, \
        f"server-first banner {banner!r} after {waited:.1f}s: opaque ports must skip detection"
    assert echoed == b"SELECT 1"
    wait_until(lambda: metric_in(pair, pair.a, proxy, "tcp_open_total", direction="outbound", peer="src") >= 1,
               5, message="the proxy to count the intercepted opaque connection")
    assert metric_in(pair, pair.a, proxy, "request_total") == 0, "an opaque port was parsed as HTTP"


def test_inbound_is_intercepted_to_local_port(pair, proxy_factory, proxy_copy):
    # The application listens on B's loopback only; inbound traffic reaches it through the proxy.
    app = serve_in(pair, pair.b, upstreams.HttpUpstream, host="127.0.0.1", port=8080,
                   default=upstreams.fixed(200, b"app behind inbound proxy"))
    proxy = start_proxy_in(pair, pair.b, proxy_factory, proxy_copy,
                           inbound_listen=f"0.0.0.0:{INBOUND_PORT}")
    pair.iptables(pair.b, "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "8080",
                  "-j", "REDIRECT", "--to-ports", str(INBOUND_PORT))

    resp = pair.in_ns(pair.a, get, (ADDR_B, 8080), "/in", [("Host", f"{ADDR_B}:8080")])
    assert (resp.status, resp.body) == (200, b"app behind inbound proxy"), resp
    assert app.paths() == ["/in"]
    wait_until(lambda: metric_in(pair, pair.b, proxy, "request_total", direction="inbound") == 1, 5,
               message="the proxy to count the inbound request")


def test_outbound_opaque_connections_are_balanced_by_discovery(pair, proxy_factory, proxy_copy,
                                                               tmp_path):
    # The application dials 198.18.0.2:5432; the destination service knows that address as the
    # service `db`, whose only endpoint listens on port 5433: the proxy connects there.
    from harness import Proxy, binary, hostport
    serve_in(pair, pair.b, upstreams.EchoServer, banner=b"wrong: dialled directly\n", host=ADDR_B,
             port=5432)
    serve_in(pair, pair.b, upstreams.EchoServer, banner=b"db endpoint\n", host=ADDR_B, port=5433)
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text("services:\n"
                    "  db.test.svc.cluster.local:5432:\n"
                    f"    aliases: [\"{ADDR_B}:5432\"]\n"
                    f"    endpoints: [{{addr: \"{ADDR_B}:5433\", protocol: opaque}}]\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(mesh, 0o644)
    dst = Proxy({"listen": "127.0.0.1:0", "log_format": "json", "mesh_file": str(mesh)},
                cmd_prefix=pair.exec_prefix(pair.a),
                binary=binary("LMESH_DESTINATION", "build/src/destination/lmesh-destination"),
                expect=("api",))
    pair.on_close(dst.stop)
    proxy = start_proxy_in(pair, pair.a, proxy_factory, proxy_copy,
                           outbound_listen=f"127.0.0.1:{OUTBOUND_PORT}",
                           destination_addr=hostport(dst.addrs["api"]))
    redirect_outbound(pair, 5432)

    def talk():
        with socket.create_connection((ADDR_B, 5432), timeout=3) as sock:
            banner = sock.recv(100)
            sock.sendall(b"SELECT 1")
            return banner, sock.recv(100)
    for _ in range(3):
        assert pair.in_ns(pair.a, talk) == (b"db endpoint\n", b"SELECT 1")
    assert metric_in(pair, pair.a, proxy, "discovery_authorities", state="resolved") == 1
