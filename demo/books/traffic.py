#!/usr/bin/env python3
"""books demo: a steady load generator. GETs web's `/` and `/api/books`, alternately, at
TRAFFIC_RPS requests per second over one keep-alive connection (reconnecting after an error),
until SIGTERM. Logs one line per failed request, at most one line a second (the rest are counted
and reported with the next line).

Env: TRAFFIC_RPS (float, default 5; 0 = idle), LMESH_SERVICE_WEB, LMESH_OUTBOUND (loopback mode).
"""
import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshenv  # noqa: E402

PATHS = ["/", "/api/books"]
TIMEOUT = 5.0


class ErrorLog:
    """One line per error, at most one a second; suppressed ones are counted."""

    def __init__(self, interval=1.0):
        self.interval, self.last, self.suppressed = interval, -1e9, 0

    def error(self, message):
        now = time.monotonic()
        if now - self.last < self.interval:
            self.suppressed += 1
            return
        more = f" (+{self.suppressed} more errors)" if self.suppressed else ""
        meshenv.log(f"error: {message}{more}")
        self.last, self.suppressed = now, 0


class Client:
    def __init__(self, target):
        self.target, self.conn = target, None

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def get(self, path):
        """Returns None on success, else an error message."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.target.host, self.target.port,
                                                   timeout=TIMEOUT)
        try:
            self.conn.request("GET", path, headers={"Host": self.target.authority})
            response = self.conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return f"GET {path}: {type(e).__name__}: {e} ({self.target.host}:{self.target.port})"
        if response.will_close:
            self.close()
        if response.status != 200:
            snippet = body[:200].decode("utf-8", "replace").strip()
            return f"GET {path}: {response.status} {snippet}"
        return None


def main():
    rps = meshenv.env_float("TRAFFIC_RPS", 5.0, 0, 10000)
    target = meshenv.HttpTarget("web")
    meshenv.exit_on_sigterm()
    meshenv.log(f"{rps:g} requests/s to {target!r}")
    client, errors = Client(target), ErrorLog()
    try:
        if rps == 0:
            while True:
                time.sleep(3600)
        period = 1.0 / rps
        due = time.monotonic()
        n = 0
        while True:
            error = client.get(PATHS[n % len(PATHS)])
            if error:
                errors.error(error)
            n += 1
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:
                due = time.monotonic()    # far behind (slow answers): don't burst to catch up
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        client.close()
    raise SystemExit(0)


if __name__ == "__main__":
    main()
