"""A stand-in for lmesh-tap's API (src/tap/README.md) for the CLI's tests: canned answers to
`GET /v1/tap` (an ndjson stream, chunked HTTP/1.1) and `GET /v1/stat` (one JSON body), on
127.0.0.1 and a free port. It records every request's path and query so that tests can check
what the CLI asked for.

A tap answer is a list of steps: a dict is one event (sent as one JSON line, flushed), a number
is a pause in seconds, and HOLD keeps the stream open (until stop(), at most HOLD_LIMIT s) instead
of ending it, for tests that end the CLI with SIGINT.
"""
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOLD = "hold"
HOLD_LIMIT = 20.0


class Answer:
    """`status` and, for a tap stream, `steps`; for anything else, `body` (a JSON value)."""

    def __init__(self, status=200, steps=None, body=None):
        self.status = status
        self.steps = steps
        self.body = body


def error_answer(status, error, detail):
    return Answer(status, body={"error": error, "detail": detail})


class FakeTap:
    def __init__(self):
        self.answers = {}  # "/v1/tap" | "/v1/stat" -> Answer
        self.requests = []  # (path, {param: value}) in arrival order
        self.stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                fake.requests.append((url.path, params))
                answer = fake.answers.get(url.path) or error_answer(404, "not found", url.path)
                if answer.steps is not None and answer.status == 200:
                    self._stream(answer.steps)
                else:
                    self._whole(answer)

            def _whole(self, answer):
                # lmesh's API server ends every JSON body with a newline.
                data = (json.dumps(answer.body) + "\n").encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _chunk(self, data):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def _stream(self, steps):
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                try:
                    for step in steps:
                        if step == HOLD:
                            fake.stopping.wait(HOLD_LIMIT)
                        elif isinstance(step, (int, float)):
                            time.sleep(step)
                        else:
                            self._chunk((json.dumps(step) + "\n").encode())
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the CLI went away first (SIGINT)
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.addr = "%s:%d" % self.server.server_address
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


if __name__ == "__main__":
    # By hand: a server that streams one request forever-ish, to point `lmesh tap` at.
    fake = FakeTap()
    fake.answers["/v1/tap"] = Answer(steps=[{"kind": "request_init", "id": "0:1"}, HOLD])
    print(fake.addr, flush=True)
    fake.stopping.wait(HOLD_LIMIT)
    fake.stop()
