#!/usr/bin/env python3
"""e2e gRPC server workload (python3-grpcio, no generated code: bytes in, bytes out).

e2e.Echo/Say     unary: answers b"<request> from <LMESH_POD_NAME>"
e2e.Echo/Fail    unary: always NOT_FOUND ("no such thing"), to see a gRPC failure pass through
e2e.Echo/Count   server streaming: request b"<n>" -> n messages b"0".."n-1"
HTTP_PORT (optional): also HTTP/1.1 on this port, answering b"hello from <LMESH_POD_NAME>\n"
(a workload with two ports).
Env: PORT (default 9090), LMESH_LISTEN_HOST (default 0.0.0.0), LMESH_POD_NAME.
"""
import http.server
import os
import signal
import sys
import threading
from concurrent import futures

import grpc

POD = os.environ.get("LMESH_POD_NAME", "echo")


def say(request, context):
    return request + b" from " + POD.encode()


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def count(request, context):
    for i in range(int(request or b"0")):
        yield str(i).encode()


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = f"hello from {POD}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    handler = grpc.method_handlers_generic_handler("e2e.Echo", {
        "Say": grpc.unary_unary_rpc_method_handler(say),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Count": grpc.unary_stream_rpc_method_handler(count),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    host = os.environ.get("LMESH_LISTEN_HOST") or "0.0.0.0"
    port = int(os.environ.get("PORT", "9090"))
    server.add_insecure_port(f"{host}:{port}")
    server.start()
    print(f"grpc_echo: {POD} serving e2e.Echo on {host}:{port}", flush=True)
    if os.environ.get("HTTP_PORT"):
        web = http.server.ThreadingHTTPServer((host, int(os.environ["HTTP_PORT"])), Hello)
        threading.Thread(target=web.serve_forever, daemon=True).start()
        print(f"grpc_echo: {POD} serving HTTP/1.1 on {host}:{os.environ['HTTP_PORT']}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (server.stop(grace=None), sys.exit(0)))
    server.wait_for_termination()


if __name__ == "__main__":
    main()
