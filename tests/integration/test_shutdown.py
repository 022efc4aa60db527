"""SIGTERM/SIGINT: stop accepting, let in-flight work finish within --shutdown-grace, exit 0."""
import signal
import socket
import time

import upstreams
from client import HttpConn, build_request
from harness import hostport, wait_until
from wire import Truncated


def connect_refused(addr):
    try:
        socket.create_connection(addr, timeout=0.5).close()
        return False
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        return False  # queued on a listener as it closed: the kernel resets it; poll again


def start_slow_request(proxy, upstream, seconds):
    """A request whose upstream answers after `seconds`; returns once the upstream has it."""
    upstream.routes["/slow"] = upstreams.delayed(seconds)
    conn = HttpConn(proxy.outbound, timeout=15)
    conn.send(build_request("GET", "/slow", [("Host", "svc")]))
    wait_until(lambda: "/slow" in upstream.paths(), 5, message="the slow request to reach the upstream")
    return conn


def test_sigterm_drains_in_flight_request(proxy, upstream):
    with start_slow_request(proxy, upstream, 2.0) as conn:
        proxy.signal(signal.SIGTERM)
        wait_until(lambda: connect_refused(proxy.outbound), 1.5,
                   message="the outbound listener to close after SIGTERM")
        assert connect_refused(proxy.inbound), "the inbound listener must close after SIGTERM"
        resp = conn.read_response()
        assert (resp.status, resp.body) == (200, b"slow ok"), f"in-flight request not completed: {resp}"
    rc = proxy.wait(5)
    assert rc == 0, f"exit status {rc} after a graceful drain\n{proxy.stderr_text()[-2000:]}"


def test_shutdown_grace_bounds_slow_request(proxy_factory, upstream):
    proxy = proxy_factory(outbound_target=hostport(upstream.addr), shutdown_grace="1s")
    with start_slow_request(proxy, upstream, 10.0) as conn:
        started = time.monotonic()
        proxy.signal(signal.SIGTERM)
        rc = proxy.wait(5)
        elapsed = time.monotonic() - started
        assert rc is not None, "still running 5 s after SIGTERM with --shutdown-grace 1s"
        assert elapsed < 2.5, f"exit took {elapsed:.1f}s with --shutdown-grace 1s"
        assert rc == 0, f"exit status {rc}\n{proxy.stderr_text()[-2000:]}"
        try:
            resp = conn.read_response()
            assert resp.status != 200, "a request cut off by the grace period cannot have succeeded"
        except (Truncated, ConnectionResetError):
            pass


def test_idle_keep_alive_connection_does_not_delay_exit(proxy):
    with HttpConn(proxy.outbound) as conn:
        assert conn.request("GET", "/", [("Host", "svc")]).status == 200
        started = time.monotonic()
        proxy.signal(signal.SIGTERM)  # default --shutdown-grace 30s: an idle connection is no work
        assert conn.read_eof(timeout=3), "an idle keep-alive connection must be closed at SIGTERM"
        rc = proxy.wait(3)
    assert rc == 0, f"exit status {rc} ({time.monotonic() - started:.1f}s after SIGTERM)"


def test_sigint_is_graceful_too(proxy):
    with HttpConn(proxy.outbound) as conn:
        assert conn.request("GET", "/", [("Host", "svc")]).status == 200
    proxy.signal(signal.SIGINT)
    assert proxy.wait(5) == 0, f"SIGINT: exit status {proxy.returncode}\n{proxy.stderr_text()[-2000:]}"
