"""Stand-ins for lmesh-tap's peers in tests/integration/test_tap_service.py.

- FakeProxy: a proxy's admin port as lmesh-tap sees it: GET /tap answers a chunked
  newline-delimited JSON stream whose lines the test pushes (and which the test can end
  cleanly or cut), GET /metrics answers Prometheus text the test sets. It records the request
  targets it was asked for.
Everything listens on 127.0.0.1 with a port the kernel picks.
"""
import http.server
import json
import queue
import socket
import threading
import urllib.parse

STREAM_IDLE_POLL = 0.05  # how often a /tap stream checks whether it was told to end


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeProxy:
    def __init__(self):
        self.metrics_text = ""
        self.targets = []  # every request target, in order
        self._streams = []  # one queue per open /tap stream
        self._lock = threading.Lock()
        self.tap_opened = threading.Event()
        self.tap_closed = threading.Event()
        self.refuse_status = None  # answer /tap with this status instead of a stream
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with owner._lock:
                    owner.targets.append(self.path)
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body = owner.metrics_text.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif path == "/tap" and owner.refuse_status:
                    body = b'{"error":"forbidden","detail":"not the tap identity"}'
                    self.send_response(owner.refuse_status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif path == "/tap":
                    self._stream()
                else:
                    self.send_error(404)

            def _stream(self):
                lines = queue.Queue()
                with owner._lock:
                    owner._streams.append(lines)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                owner.tap_opened.set()
                try:
                    while True:
                        try:
                            item = lines.get(timeout=STREAM_IDLE_POLL)
                        except queue.Empty:
                            # A client that left shows up as a readable EOF.
                            if _peer_closed(self.connection):
                                return
                            continue
                        if item == "END":
                            self.wfile.write(b"0\r\n\r\n")
                            self.wfile.flush()
                            return
                        if item == "CUT":
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        data = (item + "\n").encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                except OSError:
                    return
                finally:
                    with owner._lock:
                        if lines in owner._streams:
                            owner._streams.remove(lines)
                    self.close_connection = True
                    owner.tap_closed.set()

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.addr = self._server.server_address
        self.admin = f"{self.addr[0]}:{self.addr[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def open_streams(self):
        with self._lock:
            return len(self._streams)

    def send(self, event):
        """Writes one event (a dict) to every open /tap stream."""
        self._put(json.dumps(event))

    def end_streams(self):
        self._put("END")

    def cut_streams(self):
        self._put("CUT")

    def _put(self, item):
        with self._lock:
            for q in self._streams:
                q.put(item)

    def tap_queries(self):
        """The query parameters of every /tap request, as dicts."""
        with self._lock:
            targets = list(self.targets)
        return [dict(urllib.parse.parse_qsl(t.split("?", 1)[1])) for t in targets
                if t.startswith("/tap?")]

    def close(self):
        self.cut_streams()
        self._server.shutdown()
        self._server.server_close()


def _peer_closed(sock):
    try:
        sock.setblocking(False)
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        finally:
            sock.setblocking(True)
    except BlockingIOError:
        return False
    except OSError:
        return True
