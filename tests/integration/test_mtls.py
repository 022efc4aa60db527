"""Zero-config mTLS between two proxies, with the real lmesh-identity issuing their certificates:
HTTP/1.1 client -> outbound proxy (identity web) -> HTTP/2 over TLS 1.3 -> inbound proxy
(identity api) -> HTTP/1.1 server. Readiness waits for a certificate, renewal, an identity
service outage, wrong identities and foreign CAs refused, plaintext refused on request, and
`openssl s_client` against the inbound port.

Run: LMESH_PROXY=build/src/proxy/lmesh-proxy LMESH_IDENTITY=build/src/identity/lmesh-identity \\
     LMESH_CLI=build/src/cli/lmesh /usr/bin/python3 -m pytest -q tests/integration/test_mtls.py
"""
import os
import re
import socket
import subprocess
import threading
import time

import pytest

import upstreams
from client import HttpConn, build_request
from harness import Proxy, binary, hostport, wait_until
from wire import SockReader

WEB = "web.default.serviceaccount.identity.lmesh.cluster.local"
API = "api.default.serviceaccount.identity.lmesh.cluster.local"
DB = "db.default.serviceaccount.identity.lmesh.cluster.local"
IDENTITY_SERVER = "identity.lmesh-system.serviceaccount.identity.lmesh.cluster.local"


class Identity(Proxy):
    """The real lmesh-identity on a free port (harness.Proxy does the process work)."""

    def __init__(self, ca_dir, token_file, **flags):
        super().__init__({"listen": "127.0.0.1:0", "issuer_dir": ca_dir, "token_file": token_file,
                          **flags},
                         binary=binary("LMESH_IDENTITY", "build/src/identity/lmesh-identity"),
                         expect=("api",))

    @property
    def api(self):
        return self.addrs["api"]


class Mesh:
    """A CA, a token file and an identity service in a temporary directory."""

    def __init__(self, tmp_path, name="ca", tokens=None, **identity_flags):
        self.dir = tmp_path / name
        cli = binary("LMESH_CLI", "build/src/cli/lmesh")
        done = subprocess.run([str(cli), "identity", "init", "--out", str(self.dir)],
                              capture_output=True, timeout=20)
        assert done.returncode == 0, done.stderr.decode()
        self.anchors = self.dir / "ca.crt"
        self.tokens = self.dir / "tokens"
        self.write_tokens(tokens or {"web-token": "default/web", "api-token": "default/api"})
        self.identity = Identity(self.dir, self.tokens, **identity_flags)
        self.token_files = {}

    def write_tokens(self, entries):
        tmp = self.tokens.with_name("tokens.new")
        tmp.write_text("".join(f"{t} {who}\n" for t, who in entries.items()))
        os.rename(tmp, self.tokens)

    def token_file(self, token):
        path = self.dir / f"{token}.txt"
        path.write_text(token + "\n")
        return path

    def proxy_flags(self, name, token):
        return {"identity_addr": hostport(self.identity.api), "identity_name": name,
                "identity_token_file": self.token_file(token), "trust_anchors": self.anchors}

    def stop(self):
        if self.identity.returncode is None and self.identity.proc.poll() is None:
            self.identity.stop()


@pytest.fixture
def mesh(tmp_path):
    made = []

    def make(name="ca", tokens=None, **flags):
        m = Mesh(tmp_path, name, tokens, **flags)
        made.append(m)
        return m
    yield make
    for m in made:
        m.stop()


def wait_ready(proxy, timeout=10.0):
    wait_until(lambda: proxy.admin_get("/ready").status == 200, timeout,
               message="proxy /ready with a certificate")


def pair(proxy_factory, upstream, mesh_ca, expected=API, server_ca=None, client_flags=None,
         server_flags=None):
    server_ca = server_ca or mesh_ca
    server_side = proxy_factory(inbound_forward=hostport(upstream.addr),
                                **server_ca.proxy_flags(API, "api-token"), **(server_flags or {}))
    peer = hostport(server_side.inbound)
    client_side = proxy_factory(outbound_target=peer, meshed_endpoints=f"{peer}={expected}",
                                **mesh_ca.proxy_flags(WEB, "web-token"), **(client_flags or {}))
    wait_ready(server_side)
    wait_ready(client_side)
    return client_side, server_side


def get(proxy, path="/", n=1):
    responses = []
    for _ in range(n):
        with HttpConn(proxy.outbound) as conn:
            responses.append(conn.request("GET", path, [("Host", "api.test")]))
    return responses


def test_requests_cross_over_mutual_tls(proxy_factory, upstream, mesh):
    ca = mesh()
    client_side, server_side = pair(proxy_factory, upstream, ca)
    for r in get(client_side, n=10):
        assert r.status == 200 and r.body == b"hello from upstream"
    # The inbound proxy terminated TLS and knows the requests came over it.
    server_side.wait_metric("request_total", 10, direction="inbound", tls="true", client_id=WEB)
    assert server_side.metric("response_total", direction="inbound", client_id=WEB,
                              classification="success") == 10
    assert server_side.metric("tls_handshake_total", direction="inbound", result="success") >= 1
    assert client_side.metric("tls_handshake_total", direction="outbound", result="success") >= 1
    assert server_side.metric("tcp_open_total", direction="inbound", peer="src", tls="true") >= 1
    assert server_side.metric("tcp_open_total", direction="inbound", peer="src", tls="false") == 0
    # Both proxies hold a certificate and say when it expires.
    for p in (client_side, server_side):
        expiry = p.metric("identity_cert_expiration_timestamp_seconds")
        assert time.time() + 23 * 3600 < expiry < time.time() + 25 * 3600
        assert p.metric("identity_cert_refresh_total", result="success") == 1


def test_a_new_connection_resumes_the_tls_session(proxy_factory, upstream, mesh):
    ca = mesh()
    # One client worker: tickets are kept per worker, as everything else on the data path.
    client_side, server_side = pair(proxy_factory, upstream, ca,
                                    client_flags={"pool_idle_timeout": "200ms", "workers": 1})
    assert get(client_side)[0].status == 200
    # The pooled connection closes when idle; the next request opens another and resumes.
    wait_until(lambda: server_side.metric("tcp_open_connections", direction="inbound",
                                          peer="src", tls="true") == 0, 5)
    assert get(client_side)[0].status == 200
    client_side.wait_metric("tls_handshake_total", 1, direction="outbound", result="resumed")
    server_side.wait_metric("tls_handshake_total", 1, direction="inbound", result="resumed")
    assert server_side.metric("tls_handshake_total", direction="inbound", result="success") == 1


def test_a_server_with_the_wrong_identity_is_refused(proxy_factory, upstream, mesh):
    ca = mesh()
    client_side, _ = pair(proxy_factory, upstream, ca, expected=DB)
    r = get(client_side)[0]
    assert r.status == 502
    assert r.headers.get("lmesh-proxy-error") == "tls identity mismatch"
    assert client_side.metric("http_errors_total", direction="outbound",
                              reason="tls_identity_mismatch") == 1
    assert client_side.metric("tls_handshake_total", direction="outbound",
                              result="identity_mismatch") == 1
    assert upstream.requests == []


def test_a_certificate_from_another_ca_is_refused(proxy_factory, upstream, mesh):
    ca = mesh("ca")
    other = mesh("other")
    client_side, server_side = pair(proxy_factory, upstream, ca, server_ca=other)
    r = get(client_side)[0]
    assert r.status == 502
    assert r.headers.get("lmesh-proxy-error") == "tls handshake failed"
    assert client_side.metric("tls_handshake_total", direction="outbound", result="untrusted") == 1
    assert upstream.requests == []


def test_ready_waits_for_a_certificate(proxy_factory, upstream, mesh):
    ca = mesh(tokens={"api-token": "default/api"})  # web's token is unknown for now
    proxy = proxy_factory(**ca.proxy_flags(WEB, "web-token"))
    wait_until(lambda: proxy.metric("identity_cert_refresh_total", result="failure") >= 1, 10)
    assert proxy.admin_get("/ready").status == 503
    ca.write_tokens({"api-token": "default/api", "web-token": "default/web"})
    wait_ready(proxy, timeout=20)
    assert proxy.metric("identity_cert_refresh_total", result="success") == 1


def test_certificates_are_renewed_before_they_expire(proxy_factory, upstream, mesh):
    ca = mesh(issuance_lifetime="10s")
    client_side, server_side = pair(proxy_factory, upstream, ca)
    first = client_side.metric("identity_cert_expiration_timestamp_seconds")
    # Renewal at ~70 % of 10 s: two renewals within 20 s, traffic fine throughout.
    deadline = time.time() + 20
    while time.time() < deadline and client_side.metric("identity_cert_refresh_total",
                                                         result="success") < 3:
        assert all(r.status == 200 for r in get(client_side))
        time.sleep(0.5)
    assert client_side.metric("identity_cert_refresh_total", result="success") >= 3
    assert client_side.metric("identity_cert_expiration_timestamp_seconds") > first
    # After the first certificate expired, new connections still work (new certificates).
    assert all(r.status == 200 for r in get(client_side, n=3))


def test_an_identity_outage_does_not_fail_requests(proxy_factory, upstream, mesh):
    ca = mesh()
    client_side, server_side = pair(proxy_factory, upstream, ca)
    assert get(client_side)[0].status == 200
    ca.identity.kill()
    for r in get(client_side, n=20):
        assert r.status == 200
    # A fresh connection after the outage began still handshakes with the current certificate.
    assert client_side.admin_get("/ready").status == 200


def test_inbound_require_identity_refuses_plaintext(proxy_factory, upstream, mesh):
    ca = mesh()
    client_side, server_side = pair(proxy_factory, upstream, ca,
                                    server_flags={"inbound_require_identity": "true"})
    assert get(client_side)[0].status == 200  # mTLS still passes
    # A plaintext client straight to the inbound port is refused.
    with pytest.raises((ConnectionError, OSError, AssertionError)):
        with HttpConn(server_side.inbound, timeout=5) as conn:
            r = conn.request("GET", "/", [("Host", "api.test")])
            assert r.status == 200, "plaintext passed"
    server_side.wait_metric("http_errors_total", 1, direction="inbound", reason="identity_required")
    assert len(upstream.requests) == 1


def test_openssl_sees_tls13_and_the_identity(proxy_factory, upstream, mesh):
    ca = mesh()
    _, server_side = pair(proxy_factory, upstream, ca)
    host, port = server_side.inbound
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"{host}:{port}", "-servername", API, "-alpn", "h2",
         "-CAfile", str(ca.anchors), "-verify_hostname", API, "-showcerts"],
        input=b"", capture_output=True, timeout=20)
    out = done.stdout.decode()
    assert "TLSv1.3" in out, out
    assert "ALPN protocol: h2" in out, out
    assert "Verify return code: 0 (ok)" in out, out
    leaf = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S).group(0)
    sans = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"],
                          input=leaf.encode(), capture_output=True, timeout=10).stdout.decode()
    assert f"DNS:{API}" in sans
    assert "URI:spiffe://cluster.local/ns/default/sa/api" in sans


def test_opaque_tcp_crosses_over_mutual_tls(proxy_factory, serve, mesh):
    ca = mesh()
    # A server-speaks-first application: the banner must come back before the client speaks.
    echo = serve(upstreams.EchoServer, banner=b"220 ready\r\n")
    server_side = proxy_factory(inbound_forward=hostport(echo.addr),
                                **ca.proxy_flags(API, "api-token"))
    peer = hostport(server_side.inbound)
    client_side = proxy_factory(outbound_target=peer, meshed_endpoints=f"{peer}={API}",
                                opaque_ports=str(server_side.inbound[1]),
                                **ca.proxy_flags(WEB, "web-token"))
    wait_ready(server_side)
    wait_ready(client_side)
    with socket.create_connection(client_side.outbound, timeout=5) as s:
        reader = SockReader(s)
        assert reader.read_exact(11) == b"220 ready\r\n"
        payload = os.urandom(200_000)
        sender = threading.Thread(target=s.sendall, args=(payload,), daemon=True)
        sender.start()
        assert reader.read_exact(len(payload)) == payload
        sender.join(5)
    server_side.wait_metric("tcp_open_total", 1, direction="inbound", peer="src", tls="true")
    assert server_side.metric("tls_handshake_total", direction="inbound", result="success") == 1
    assert client_side.metric("tcp_open_total", direction="outbound", peer="dst", tls="true") == 1
    assert client_side.metric("tcp_open_total", direction="outbound", peer="dst", tls="false") == 0


def test_each_application_port_has_its_own_inbound_listener(proxy_factory, upstream, serve,
                                                            mesh):
    """Without iptables (lmesh up's loopback mode) nothing tells the inbound proxy which of the
    application's ports a connection is for: one listener per port does. HTTP and opaque TCP
    (Linkerd's opaque transport, which names a port in its header) each reach the application
    port their listener stands for, not --inbound-forward's."""
    ca = mesh()
    first = serve(upstreams.EchoServer, banner=b"220 first port\r\n")
    other = serve(upstreams.EchoServer, banner=b"221 other port\r\n")
    http_app, opaque_app = hostport(upstream.addr), hostport(other.addr)
    server_side = proxy_factory(
        inbound_forward=hostport(first.addr),
        inbound_forward_listen=f"127.0.0.1:0={http_app},127.0.0.1:0={opaque_app}",
        **ca.proxy_flags(API, "api-token"))
    http_port = hostport(server_side.addrs[f"inbound for={http_app}"])
    opaque_port = hostport(server_side.addrs[f"inbound for={opaque_app}"])
    http_client = proxy_factory(outbound_target=http_port,
                                meshed_endpoints=f"{http_port}={API}",
                                **ca.proxy_flags(WEB, "web-token"))
    opaque_client = proxy_factory(outbound_target=opaque_port,
                                  meshed_endpoints=f"{opaque_port}={API}",
                                  opaque_ports=opaque_port.rsplit(":", 1)[1],
                                  **ca.proxy_flags(WEB, "web-token"))
    for p in (server_side, http_client, opaque_client):
        wait_ready(p)
    for r in get(http_client, n=3):
        assert r.status == 200 and r.body == b"hello from upstream"
    with socket.create_connection(opaque_client.outbound, timeout=5) as s:
        reader = SockReader(s)
        assert reader.read_exact(16) == b"221 other port\r\n"
        s.sendall(b"ping")
        assert reader.read_exact(4) == b"ping"
    server_side.wait_metric("request_total", 3, direction="inbound", tls="true", client_id=WEB)
    assert server_side.metric("tcp_open_total", direction="inbound", peer="src",
                              tls="false") == 0


def test_a_websocket_upgrade_crosses_over_mutual_tls(proxy_factory, upstream, mesh):
    ca = mesh()
    client_side, server_side = pair(proxy_factory, upstream, ca)
    upstream.routes["/ws"] = upstreams.upgrade_echo()
    with HttpConn(client_side.outbound) as conn:
        conn.send(build_request("GET", "/ws", [("Host", "svc"), ("Connection", "Upgrade"),
                                               ("Upgrade", "websocket")]))
        resp = conn.read_response()
        assert resp.status == 101, resp
        conn.send(b"\x81\x05hello")
        assert conn.reader.read_exact(7) == b"\x81\x05hello"
    # The upgrade went over its own HTTP/1.1 connection, inside mutual TLS.
    assert server_side.metric("tcp_open_total", direction="inbound", peer="src", tls="false") == 0
    assert client_side.metric("tcp_open_total", direction="outbound", peer="dst", tls="false") == 0


def test_no_certificate_means_no_plaintext_fallback(proxy_factory, upstream, mesh):
    ca = mesh(tokens={"api-token": "default/api"})  # web never gets a certificate
    server_side = proxy_factory(inbound_forward=hostport(upstream.addr),
                                **ca.proxy_flags(API, "api-token"))
    peer = hostport(server_side.inbound)
    client_side = proxy_factory(outbound_target=peer, meshed_endpoints=f"{peer}={API}",
                                **ca.proxy_flags(WEB, "web-token"))
    r = get(client_side)[0]
    assert r.status == 503
    assert r.headers.get("lmesh-proxy-error") == "no identity certificate"
    assert upstream.requests == []


def test_a_bundle_of_two_roots_trusts_both_during_a_rotation(proxy_factory, upstream, mesh,
                                                              tmp_path):
    old = mesh("old")
    new = mesh("new")
    bundle = tmp_path / "bundle.crt"
    bundle.write_text(old.anchors.read_text() + new.anchors.read_text())
    # The server already has a certificate from the new root, the client still one from the old.
    server_side = proxy_factory(inbound_forward=hostport(upstream.addr),
                                **{**new.proxy_flags(API, "api-token"), "trust_anchors": bundle})
    peer = hostport(server_side.inbound)
    client_side = proxy_factory(outbound_target=peer, meshed_endpoints=f"{peer}={API}",
                                **{**old.proxy_flags(WEB, "web-token"), "trust_anchors": bundle})
    wait_ready(server_side)
    wait_ready(client_side)
    for r in get(client_side, n=3):
        assert r.status == 200
    server_side.wait_metric("request_total", 3, direction="inbound", tls="true")
    # Without the old root, the server refuses the client's certificate.
    strict = proxy_factory(inbound_forward=hostport(upstream.addr),
                           **new.proxy_flags(API, "api-token"))
    wait_ready(strict)
    strict_peer = hostport(strict.inbound)
    client2 = proxy_factory(outbound_target=strict_peer, meshed_endpoints=f"{strict_peer}={API}",
                            **{**old.proxy_flags(WEB, "web-token"), "trust_anchors": bundle})
    wait_ready(client2)
    assert get(client2)[0].status == 502
    strict.wait_metric("tls_handshake_total", 1, direction="inbound", result="untrusted")


def test_the_token_goes_only_to_the_identity_service_it_expects(proxy_factory, mesh):
    ca = mesh()
    host, port = ca.identity.api
    # lmesh-identity answers TLS with a certificate for its own identity, from its issuer.
    done = subprocess.run(["openssl", "s_client", "-connect", f"{host}:{port}", "-alpn", "h2",
                           "-CAfile", str(ca.anchors), "-verify_hostname", IDENTITY_SERVER],
                          input=b"", capture_output=True, timeout=20)
    out = done.stdout.decode()
    assert "TLSv1.3" in out and "Verify return code: 0 (ok)" in out, out
    # A proxy expecting another name never sends its token there and never becomes ready.
    proxy = proxy_factory(**ca.proxy_flags(WEB, "web-token"),
                          identity_server_name="impostor.default.serviceaccount.identity.lmesh.cluster.local")
    wait_until(lambda: proxy.metric("identity_cert_refresh_total", result="failure") >= 1, 10)
    assert proxy.admin_get("/ready").status == 503
    assert proxy.metric("identity_cert_refresh_total", result="success") == 0
