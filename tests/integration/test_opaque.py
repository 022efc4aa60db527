"""Opaque TCP relaying: --opaque-ports, the detection fallback for non-HTTP and
server-speaks-first protocols, half-close both ways, idle timeout, TLS passthrough."""
import os
import socket
import ssl
import subprocess
import time

import pytest

import upstreams
from harness import hostport, wait_until
from wire import SockReader


def connect(addr, timeout=5.0):
    sock = socket.create_connection(addr, timeout=timeout)
    return sock, SockReader(sock)


def opaque_proxy(proxy_factory, server, **flags):
    """A proxy whose outbound target is `server`, with that port marked opaque."""
    flags.setdefault("opaque_ports", str(server.port))
    return proxy_factory(outbound_target=hostport(server.addr), **flags)


def test_opaque_port_skips_detection(proxy_factory, serve):
    echo = serve(upstreams.EchoServer, banner=b"220 ready\r\n")
    proxy = opaque_proxy(proxy_factory, echo, detect_timeout="10s")
    sock, reader = connect(proxy.outbound, timeout=3)
    with sock:
        assert reader.read_exact(11) == b"220 ready\r\n", \
            "a server-speaks-first banner must flow at once on an opaque port (no 10 s detection wait)"
        sock.sendall(b"HELO x\r\n")
        assert reader.read_exact(8) == b"HELO x\r\n"


def test_non_http_bytes_fall_back_to_opaque(proxy_factory, serve):
    echo = serve(upstreams.EchoServer)
    proxy = proxy_factory(outbound_target=hostport(echo.addr))
    payload = b"\x00\x01\x02 not http \xff\xfe" + os.urandom(100000)
    sock, reader = connect(proxy.outbound)
    with sock:
        sock.sendall(payload)
        assert reader.read_exact(len(payload)) == payload, "non-HTTP bytes must be relayed unchanged"


def test_inbound_non_http_bytes_fall_back_to_opaque(proxy_factory, serve):
    echo = serve(upstreams.EchoServer)
    proxy = proxy_factory(inbound_forward=hostport(echo.addr))
    sock, reader = connect(proxy.inbound)
    with sock:
        sock.sendall(b"\x13binary-protocol\x00")
        assert reader.read_exact(17) == b"\x13binary-protocol\x00"


def test_server_speaks_first_after_detect_timeout(proxy_factory, serve):
    echo = serve(upstreams.EchoServer, banner=b"* OK IMAP ready\r\n")
    proxy = proxy_factory(outbound_target=hostport(echo.addr), detect_timeout="1s")
    started = time.monotonic()
    sock, reader = connect(proxy.outbound, timeout=5)
    with sock:
        banner = reader.read_exact(17)  # the client sends nothing: the server must speak
        elapsed = time.monotonic() - started
        assert banner == b"* OK IMAP ready\r\n"
        assert elapsed < 4, f"banner took {elapsed:.1f}s with --detect-timeout 1s"
        sock.sendall(b"a1 LOGOUT\r\n")
        assert reader.read_exact(11) == b"a1 LOGOUT\r\n"


@pytest.mark.parametrize("mode", ["opaque-port", "detected"])
def test_client_half_close_still_receives(proxy_factory, serve, mode):
    echo = serve(upstreams.EchoServer, on_eof=b"|bye")
    if mode == "opaque-port":
        proxy = opaque_proxy(proxy_factory, echo)
    else:
        proxy = proxy_factory(outbound_target=hostport(echo.addr), detect_timeout="10s")
    sock, reader = connect(proxy.outbound)
    with sock:
        sock.sendall(b"\x00last request")
        sock.shutdown(socket.SHUT_WR)
        assert reader.read_to_eof() == b"\x00last request|bye", \
            "after the client's FIN the upstream's remaining bytes must still arrive"


def test_server_half_close_client_keeps_sending(proxy_factory, serve):
    server = serve(upstreams.SpeakThenListen, greeting=b"greeting-then-FIN")
    proxy = opaque_proxy(proxy_factory, server)
    sock, reader = connect(proxy.outbound)
    with sock:
        assert reader.read_to_eof() == b"greeting-then-FIN", "server FIN must reach the client as EOF"
        sock.sendall(b"client still talking")
        sock.shutdown(socket.SHUT_WR)
        wait_until(lambda: server.heard, 5, message="the server to see the client's EOF")
    assert server.heard == [b"client still talking"], "bytes sent after the server's FIN were lost"


def test_idle_timeout_closes_idle_relay(proxy_factory, serve):
    echo = serve(upstreams.EchoServer)
    proxy = opaque_proxy(proxy_factory, echo, idle_timeout="1s")
    sock, reader = connect(proxy.outbound)
    with sock:
        sock.sendall(b"once")
        assert reader.read_exact(4) == b"once"
        started = time.monotonic()
        sock.settimeout(5)
        try:
            closed = reader.read_some() == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        elapsed = time.monotonic() - started
    assert closed, "an idle relay must be closed by --idle-timeout 1s"
    assert 0.5 < elapsed < 4, f"idle relay closed after {elapsed:.1f}s, expected about 1s"
    wait_until(lambda: echo.eofs == 1, 5, message="the upstream side of the idle relay to close")


def test_idle_timeout_spares_active_relay(proxy_factory, serve):
    echo = serve(upstreams.EchoServer)
    proxy = opaque_proxy(proxy_factory, echo, idle_timeout="1s")
    sock, reader = connect(proxy.outbound)
    with sock:
        for i in range(8):  # 2.4 s of traffic, never idle for 1 s
            msg = b"tick%d" % i
            sock.sendall(msg)
            assert reader.read_exact(len(msg)) == msg, f"active relay closed at tick {i}"
            time.sleep(0.3)


# ---------------------------------------------------------------- TLS passthrough

@pytest.fixture
def tls_echo(serve, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=echo.test",
                    "-addext", "subjectAltName=DNS:echo.test", "-days", "1"],
                   check=True, capture_output=True, timeout=20)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def handle(sock):
        with ctx.wrap_socket(sock, server_side=True) as tls:
            while data := tls.recv(65536):
                tls.sendall(data)
    server = serve(upstreams.TcpServer, handle)
    server.cafile = cert
    return server


@pytest.mark.parametrize("side", ["outbound", "inbound"])
def test_tls_is_relayed_as_passthru(proxy_factory, tls_echo, side):
    proxy = proxy_factory(outbound_target=hostport(tls_echo.addr), inbound_forward=hostport(tls_echo.addr))
    ctx = ssl.create_default_context(cafile=tls_echo.cafile)
    with socket.create_connection(getattr(proxy, side), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="echo.test") as tls:
            tls.sendall(b"secret through the proxy")
            assert tls.recv(100) == b"secret through the proxy"
    wait_until(lambda: proxy.metric("tcp_open_total", direction=side, tls="passthru") >= 1, 5,
               message=f'tcp_open_total{{direction="{side}",tls="passthru"}} >= 1')
