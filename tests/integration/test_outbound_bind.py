"""--outbound-bind: where pods share one network namespace (lmesh up's loopback mode), each
proxy calls out from its own pod's address, so that servers (and their proxies, taps and logs)
see which pod called. Every kind of upstream connection takes it: HTTP/1, the HTTP/2 mesh hop
and opaque relays; connections to the local application (inbound) do not. (An address the
host does not have stops the start: test_config.py.)

Run: LMESH_PROXY=build/src/proxy/lmesh-proxy /usr/bin/python3 -m pytest -q tests/integration/test_outbound_bind.py
"""
import socket

import pytest

import upstreams
from client import HttpConn
from harness import hostport, wait_until

POD_IP = "127.0.0.7"  # any loopback address works without setup on Linux


@pytest.fixture
def echo_server(serve):
    return serve(upstreams.EchoServer)


def test_http1_requests_come_from_the_bound_address(proxy_factory, upstream):
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), outbound_bind=POD_IP)
    for _ in range(3):  # new client connections: pooled upstream ones are reused or new
        with HttpConn(proxy.outbound) as conn:
            assert conn.request("GET", "/", [("Host", "web.test")]).status == 200
    assert upstream.peers and {ip for ip, _ in upstream.peers} == {POD_IP}


def test_the_mesh_hop_comes_from_the_bound_address(proxy_factory, serve):
    # A stand-in for the server's proxy that only notes who called: the HTTP/2 hop fails there,
    # after connecting.
    hop = serve(upstreams.EchoServer)
    peer = hostport(hop.addr)
    proxy = proxy_factory(outbound_target=peer, meshed_endpoints=peer, outbound_bind=POD_IP)
    with HttpConn(proxy.outbound) as conn:
        assert conn.request("GET", "/", [("Host", "web.test")]).status >= 500
    assert hop.peers and {ip for ip, _ in hop.peers} == {POD_IP}


def test_connections_to_the_application_are_not_bound(proxy_factory, upstream):
    proxy = proxy_factory(inbound_forward=hostport(upstream.addr), outbound_bind=POD_IP)
    with HttpConn(proxy.inbound) as conn:
        assert conn.request("GET", "/", [("Host", "web.test")]).status == 200
    assert {ip for ip, _ in upstream.peers} == {"127.0.0.1"}


def test_opaque_relays_come_from_the_bound_address(proxy_factory, echo_server):
    proxy = proxy_factory(outbound_target=hostport(echo_server.addr),
                          opaque_ports=str(echo_server.port), outbound_bind=POD_IP)
    with socket.create_connection(proxy.outbound, timeout=5) as sock:
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
    wait_until(lambda: echo_server.peers, timeout=5)
    assert {ip for ip, _ in echo_server.peers} == {POD_IP}
