#!/usr/bin/env python3
"""e2e workload that takes its time to stop: accepts TCP connections on PORT (and closes them),
and on SIGTERM waits EXIT_DELAY_S seconds (default 3) before exiting 0, as an app draining its
work would. Env: PORT (default 8080), LMESH_LISTEN_HOST, EXIT_DELAY_S."""
import os
import signal
import socket
import sys
import time


def main():
    delay = float(os.environ.get("EXIT_DELAY_S", "3"))

    def on_term(signum, frame):
        time.sleep(delay)
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    host = os.environ.get("LMESH_LISTEN_HOST") or "0.0.0.0"
    server = socket.create_server((host, int(os.environ.get("PORT", "8080"))), reuse_port=False)
    print(f"slow_exit: listening on {host}, {delay:g} s to stop", flush=True)
    while True:
        conn, _ = server.accept()
        conn.close()


if __name__ == "__main__":
    main()
