"""The `lmesh up` environment contract, as the books demo apps read it (stdlib only).

lmesh up gives every workload process:
  LMESH_POD_NAME, LMESH_NAMESPACE, LMESH_POD_IP
  LMESH_LISTEN_HOST      address to listen on (0.0.0.0 in netns mode, 127.18.x.y in loopback mode)
  LMESH_OUTBOUND         empty in netns mode; in loopback mode the proxy's outbound host:port
  LMESH_OUTBOUND_<SVC>   loopback mode, opaque TCP: where to connect for service SVC (optional)
  LMESH_SERVICE_<NAME>   every service's authority, e.g. ratings.default.svc.cluster.local:8080
plus the workload's own env (PORT, RATINGS_VERSION, ...).

How to reach a service:
  netns mode    connect to the authority's host:port itself (iptables sends it through the proxy)
  loopback mode HTTP: connect to LMESH_OUTBOUND and send the authority in Host;
                opaque TCP: connect to LMESH_OUTBOUND_<SVC> (no such route -> unreachable)
"""
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import time

PROG = os.path.splitext(os.path.basename(sys.argv[0] or "app"))[0]


def die(message):
    """Bad configuration: say so on stderr and exit 2."""
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()
    raise SystemExit(2)


def log(message):
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {PROG}: {message}\n")
    sys.stderr.flush()


def env_name(service):
    """ratings-v1 -> RATINGS_V1 (the suffix of LMESH_SERVICE_* / LMESH_OUTBOUND_*)."""
    return service.upper().replace("-", "_").replace(".", "_")


# ---------------------------------------------------------------- typed env values

def env_int(name, default, lo=None, hi=None):
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        die(f"{name}={raw!r} is not an integer")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        die(f"{name}={value} is out of range [{lo}, {hi}]")
    return value


def env_float(name, default, lo=None, hi=None):
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        die(f"{name}={raw!r} is not a number")
    if value != value or value in (float("inf"), float("-inf")):
        die(f"{name}={raw!r} is not a finite number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        die(f"{name}={value:g} is out of range [{lo}, {hi}]")
    return value


def listen_port(default):
    return env_int("PORT", default, 1, 65535)


def listen_host():
    host = os.environ.get("LMESH_LISTEN_HOST", "").strip() or "0.0.0.0"
    if any(c.isspace() for c in host) or ":" in host and not _is_ipv6(host):
        die(f"LMESH_LISTEN_HOST={host!r} is not an address")
    return host


def pod_name(fallback):
    return os.environ.get("LMESH_POD_NAME", "").strip() or fallback


# ---------------------------------------------------------------- addresses

def _is_ipv6(host):
    return host.count(":") >= 2


def split_hostport(text, what):
    """'host:port' or '[v6]:port' -> (host, port); dies naming `what` if malformed."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            die(f"{what}={text!r} is not host:port")
        host, port_s = text[1:end], text[end + 2:]
    else:
        host, sep, port_s = text.rpartition(":")
        if not sep or not host or ":" in host:
            die(f"{what}={text!r} is not host:port")
    if not port_s.isdigit() or not 1 <= int(port_s) <= 65535:
        die(f"{what}={text!r} has a bad port")
    if any(c.isspace() for c in host):
        die(f"{what}={text!r} is not host:port")
    return host, int(port_s)


def service_authority(service):
    """The authority of a mesh service, from LMESH_SERVICE_<NAME> (dies if unset/malformed)."""
    var = "LMESH_SERVICE_" + env_name(service)
    value = os.environ.get(var, "").strip()
    if not value:
        die(f"{var} is not set (lmesh up sets it for every service in the mesh; "
            f"by hand, e.g. {var}=127.0.0.1:8080)")
    split_hostport(value, var)
    return value


def loopback_outbound():
    """(host, port) of the proxy's outbound listener in loopback mode, None in netns mode."""
    value = os.environ.get("LMESH_OUTBOUND", "").strip()
    return split_hostport(value, "LMESH_OUTBOUND") if value else None


class HttpTarget:
    """Where to connect to reach an HTTP service, and what to send in Host."""

    def __init__(self, service):
        self.service = service
        self.authority = service_authority(service)
        outbound = loopback_outbound()
        self.host, self.port = outbound or split_hostport(self.authority, "authority")
        self.via = "outbound proxy" if outbound else "direct"

    def __repr__(self):
        return f"{self.service}={self.authority} ({self.via} {self.host}:{self.port})"


class TcpTarget:
    """Where to connect to reach an opaque TCP service; `host` is None when unroutable."""

    def __init__(self, service):
        self.service = service
        self.authority = service_authority(service)
        self.reason = None
        if loopback_outbound() is None:
            self.host, self.port = split_hostport(self.authority, "authority")
            self.via = "direct"
        else:
            var = "LMESH_OUTBOUND_" + env_name(service)
            value = os.environ.get(var, "").strip()
            if value:
                self.host, self.port = split_hostport(value, var)
                self.via = "outbound proxy"
            else:
                self.host = self.port = None
                self.via = "unroutable"
                self.reason = (f"loopback mode has no route for opaque service {service} "
                               f"({var} is not set)")

    def __repr__(self):
        where = f"{self.host}:{self.port}" if self.host else self.reason
        return f"{self.service}={self.authority} ({self.via} {where})"


# ---------------------------------------------------------------- signals

def exit_on_sigterm():
    """SIGTERM/SIGINT -> SystemExit(0) in the main thread (unblocks select/sleep at once)."""
    def handler(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# ---------------------------------------------------------------- HTTP/1.1 servers

class Handler(http.server.BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, Content-Length always, GET/HEAD only, quiet (errors only).

    Subclasses implement route(path) and answer with send_json/send_body."""
    protocol_version = "HTTP/1.1"
    # The head and the body go out as two writes: with Nagle on, the body waits for the
    # peer's delayed ACK (40 ms) on every request after a connection's first.
    disable_nagle_algorithm = True
    server_version = "lmesh-books/1"
    timeout = 300            # idle keep-alive connections are dropped after this many seconds
    max_request_body = 65536

    def log_message(self, fmt, *args):
        pass                 # no per-request logging

    def log_error(self, fmt, *args):
        message = fmt % args
        if "timed out" not in message:     # idle keep-alive connections are not errors
            log(f"{self.client_address[0]}: {message}")

    def send_body(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=()):
        body = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.send_body(status, body, "application/json", headers)

    def _discard_request_body(self):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True         # not worth decoding chunks we would ignore
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.max_request_body:
            self.close_connection = True
        elif length:
            self.rfile.read(length)

    def do_GET(self):
        self._discard_request_body()
        path = self.path.split("?", 1)[0]
        try:
            self.route(path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:                   # a bug: answer 500, keep serving
            log(f"error handling {self.command} {self.path}: {e!r}")
            self.close_connection = True
            try:
                self.send_json(500, {"error": "internal error", "detail": repr(e)})
            except OSError:
                pass

    do_HEAD = do_GET

    def _not_allowed(self):
        self._discard_request_body()
        self.send_json(405, {"error": "method not allowed"}, [("Allow", "GET, HEAD")])

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def route(self, path):
        raise NotImplementedError


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), a DNS lookup that can stall in a pod
        # namespace without a resolver; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def serve_http(handler, host, port, banner):
    """Listen on host:port, serve until SIGTERM/SIGINT, then exit 0."""
    server_cls = type("Server", (_Server,), {
        "address_family": socket.AF_INET6 if ":" in host else socket.AF_INET})
    try:
        server = server_cls((host, port), handler)
    except OSError as e:
        die(f"cannot listen on {host}:{port}: {e.strerror or e}")
    exit_on_sigterm()
    log(f"{banner}, listening on {host}:{port}")
    try:
        server.serve_forever()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.server_close()
    raise SystemExit(0)
