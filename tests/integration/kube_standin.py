"""A STAND-IN for the Kubernetes API server, for tests. It is NOT a cluster and runs no
Kubernetes code: it replays recorded, real-shaped LIST responses (tests/fixtures/kubernetes/,
shaped like the API server's own JSON), holds WATCH streams open (chunked HTTP/1.1, one JSON
event per line, as the API server writes them), and lets a test push events or raw lines into
them, end them, hold a LIST back, or answer 404 for a resource whose CRD "is not installed".

Every request is recorded (path, query, headers), so a test can assert the resourceVersion a
watch resumes from and the bearer token it was sent. HTTPS with a cluster CA made at test time
(make_cluster_pki, openssl CLI, RSA as kubeadm makes them), or plain HTTP. Loopback only.
"""
import copy
import http.server
import json
import queue
import ssl
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubernetes"
LIST_RV = 48213  # the recorded lists' resourceVersion

# API path -> resource (the fixture's name and the metrics' kind label).
RESOURCES = {
    "/api/v1/services": "services",
    "/apis/discovery.k8s.io/v1/endpointslices": "endpointslices",
    "/api/v1/pods": "pods",
    "/apis/lmesh.io/v1alpha1/serviceprofiles": "serviceprofiles",
}
KINDS = {"services": ("Service", "v1"), "endpointslices": ("EndpointSlice", "discovery.k8s.io/v1"),
         "pods": ("Pod", "v1"), "serviceprofiles": ("ServiceProfile", "lmesh.io/v1alpha1")}
_END = object()


def status(code, reason, message):
    """A meta/v1 Status, as the API server answers errors."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def make_cluster_pki(directory):
    """A cluster CA and an API server certificate for 127.0.0.1 (openssl CLI)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)

    def openssl(*args):
        done = subprocess.run(["openssl", *map(str, args)], capture_output=True, timeout=30)
        assert done.returncode == 0, f"openssl {args}: {done.stderr.decode()}"

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "ca.key", "-out",
            d / "ca.crt", "-subj", "/CN=kubernetes", "-days", "2")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "apiserver.key", "-out",
            d / "apiserver.csr", "-subj", "/CN=kube-apiserver")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\n")
    openssl("x509", "-req", "-in", d / "apiserver.csr", "-CA", d / "ca.crt", "-CAkey", d / "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", d / "ext", "-out", d / "apiserver.crt")
    return d


@dataclass
class Request:
    method: str
    path: str
    resource: str
    query: dict
    headers: dict

    @property
    def watch(self):
        return self.query.get("watch") == "1"


@dataclass
class _Stream:
    resource: str
    lines: queue.Queue = field(default_factory=queue.Queue)


class KubeStandIn:
    """See the module docstring. `token`: the bearer token every request must carry (401
    otherwise); `missing`: resources answered 404, as for a CRD that is not installed."""

    def __init__(self, tls_dir=None, token=None, missing=()):
        self.lists = {r: json.loads((FIXTURES / f"{r}.json").read_text()) for r in RESOURCES.values()}
        self.rv = LIST_RV
        self.token = token
        self.missing = set(missing)
        self.requests = []
        self.streams = []
        self.gates = {r: threading.Event() for r in RESOURCES.values()}
        for g in self.gates.values():
            g.set()
        self.lock = threading.Lock()
        self.closing = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                outer._serve(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls_dir is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(Path(tls_dir) / "apiserver.crt", Path(tls_dir) / "apiserver.key")
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls_dir is not None else "http"
        self.port = self.server.server_address[1]
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ the test's side

    def push(self, resource, event_type, obj):
        """An ADDED/MODIFIED/DELETED event to every open watch of `resource`, with the next
        resourceVersion; the recorded list follows it, so a later LIST sees the same state."""
        obj = copy.deepcopy(obj)
        with self.lock:
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._store(resource, event_type, obj)
        kind, api_version = KINDS[resource]
        self.push_line(resource, json.dumps({"type": event_type,
                                             "object": {"kind": kind, "apiVersion": api_version, **obj}}))
        return str(self.rv)

    def change_silently(self, resource, event_type, obj):
        """Changes the list without telling the watches: what a client misses when its watch
        expires; only a re-list finds it."""
        obj = copy.deepcopy(obj)
        with self.lock:
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._store(resource, event_type, obj)

    def bookmark(self, resource):
        with self.lock:
            self.rv += 1
            rv = str(self.rv)
        kind, api_version = KINDS[resource]
        self.push_line(resource, json.dumps({"type": "BOOKMARK", "object": {
            "kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": rv}}}))
        return rv

    def expire(self, resource):
        """The watch's resourceVersion is too old now: an ERROR 410 event, then the end."""
        self.push_line(resource, json.dumps({"type": "ERROR", "object": status(
            410, "Expired", f"too old resource version: {LIST_RV} ({self.rv})")}))
        self.end_watches(resource)

    def push_line(self, resource, line):
        """A raw line (malformed ones too) to every open watch of `resource`."""
        for s in self._open(resource):
            s.lines.put(line)

    def end_watches(self, resource):
        for s in self._open(resource):
            s.lines.put(_END)

    def hold_lists(self, resource):
        self.gates[resource].clear()

    def release_lists(self, resource):
        self.gates[resource].set()

    def requests_for(self, resource, watch=None):
        with self.lock:
            return [r for r in self.requests
                    if r.resource == resource and (watch is None or r.watch == watch)]

    def wait_requests(self, resource, count, watch=None, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests_for(resource, watch)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"stand-in: fewer than {count} {'watch' if watch else 'list'} "
                             f"requests of {resource}: {self.requests_for(resource)}")

    def wait_watching(self, resource, count=1, timeout=5.0):
        """Until `count` watch streams of `resource` are open."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self._open(resource)) >= count:
                return
            time.sleep(0.01)
        raise AssertionError(f"stand-in: no open watch of {resource}")

    def close(self):
        self.closing.set()
        for g in self.gates.values():
            g.set()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ the server's side

    def _open(self, resource):
        with self.lock:
            return [s for s in self.streams if s.resource == resource]

    def _store(self, resource, event_type, obj):
        items = self.lists[resource]["items"]
        key = (obj["metadata"].get("namespace"), obj["metadata"].get("name"))
        items[:] = [i for i in items
                    if (i["metadata"].get("namespace"), i["metadata"].get("name")) != key]
        if event_type != "DELETED":
            items.append(obj)

    def _serve(self, h):
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        resource = RESOURCES.get(url.path)
        with self.lock:
            self.requests.append(Request("GET", url.path, resource, query,
                                         {k.lower(): v for k, v in h.headers.items()}))
        if self.token is not None and h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(h, 401, status(401, "Unauthorized", "Unauthorized"))
        if resource is None or resource in self.missing:
            return self._json(h, 404, status(404, "NotFound",
                                             "the server could not find the requested resource"))
        if query.get("watch") == "1":
            return self._watch(h, resource)
        self.gates[resource].wait(30)
        with self.lock:
            body = copy.deepcopy(self.lists[resource])
            body["metadata"]["resourceVersion"] = str(self.rv)
        self._json(h, 200, body)

    def _json(self, h, code, doc):
        body = json.dumps(doc).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _watch(self, h, resource):
        stream = _Stream(resource)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        with self.lock:
            self.streams.append(stream)
        try:
            while not self.closing.is_set():
                try:
                    line = stream.lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if line is _END:
                    h.wfile.write(b"0\r\n\r\n")
                    break
                data = line.encode() + b"\n"
                h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        except OSError:
            pass
        finally:
            with self.lock:
                self.streams.remove(stream)
            h.close_connection = True
