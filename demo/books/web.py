#!/usr/bin/env python3
"""books demo: the web front end (HTTP/1.1). Calls ratings over HTTP/1.1, stock over opaque TCP.

GET /                HTML page: the books, their ratings (with version and pod) and stock
GET /api/books       [{"id":1,"title":..,"author":..,"rating":{..ratings' answer..},"stock":3}, ...]
GET /api/rating/<id> ratings' JSON answer as-is (200, or ratings' 404), for canary checks
GET /healthz         200 ok
A failing dependency gives 502 {"error":"ratings unavailable","detail":...} (or "stock ...").

Env: PORT (default 8080), LMESH_LISTEN_HOST, LMESH_POD_NAME, LMESH_SERVICE_RATINGS,
LMESH_SERVICE_STOCK, LMESH_OUTBOUND (+ LMESH_OUTBOUND_STOCK) in loopback mode: see meshenv.py.
Each server thread (one per client connection) keeps its own keep-alive connection to ratings
and its own persistent connection to stock, reconnecting when one fails.
"""
import html
import http.client
import json
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshenv  # noqa: E402

TIMEOUT = 2.0
BOOKS = [
    {"id": 1, "title": "The Left Hand of Darkness", "author": "Ursula K. Le Guin"},
    {"id": 2, "title": "Dune", "author": "Frank Herbert"},
    {"id": 3, "title": "Neuromancer", "author": "William Gibson"},
    {"id": 4, "title": "The Dispossessed", "author": "Ursula K. Le Guin"},
]
RATING_PATH = re.compile(r"^/api/rating/([0-9]{1,9})$")
STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)  # incl. RemoteDisconnected


class DependencyError(Exception):
    def __init__(self, service, detail):
        super().__init__(f"{service}: {detail}")
        self.service, self.detail = service, detail


def describe(exc, target):
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {TIMEOUT:g} s ({target.host}:{target.port})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused ({target.host}:{target.port})"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {target.host}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc} ({target.host}:{target.port})"


class RatingsClient:
    """One keep-alive HTTP/1.1 connection to ratings; reconnects (and retries once) when a
    reused connection turns out to be closed."""

    def __init__(self, target):
        self.target, self.conn, self.used = target, None, False

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def get(self, path):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.target.host, self.target.port,
                                                       timeout=TIMEOUT)
                self.used = False
            reused = self.used
            try:
                self.conn.request("GET", path, headers={"Host": self.target.authority,
                                                        "Accept": "application/json"})
                response = self.conn.getresponse()
                body = response.read()
            except STALE as e:
                self.close()
                if reused and attempt == 1:
                    continue                # the keep-alive connection died while idle
                raise DependencyError("ratings", describe(e, self.target)) from e
            except (OSError, http.client.HTTPException) as e:
                self.close()
                raise DependencyError("ratings", describe(e, self.target)) from e
            self.used = True
            if response.will_close:
                self.close()
            return response.status, body
        raise AssertionError("unreachable")

    def rating(self, book):
        """GET /ratings/<book> -> (status, parsed JSON) for 200/404; DependencyError otherwise."""
        status, body = self.get(f"/ratings/{book}")
        if status not in (200, 404):
            snippet = body[:200].decode("utf-8", "replace").strip()
            raise DependencyError("ratings", f"GET /ratings/{book} answered {status}: {snippet}")
        try:
            answer = json.loads(body)
        except ValueError:
            raise DependencyError("ratings", f"GET /ratings/{book} answered non-JSON") from None
        return status, answer


class StockClient:
    """One persistent TCP connection to stock, pipelining `STOCK <id>` lines."""

    def __init__(self, target):
        self.target, self.sock, self.rfile, self.used = target, None, None, False

    def close(self):
        if self.sock is not None:
            self.rfile.close()
            self.sock.close()
        self.sock = self.rfile = None

    def counts(self, ids):
        """{id: count}, or {id: None} when stock is unroutable (loopback mode, no route)."""
        if self.target.host is None:
            return {i: None for i in ids}
        request = "".join(f"STOCK {i}\n" for i in ids).encode()
        for attempt in (1, 2):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection((self.target.host, self.target.port),
                                                         timeout=TIMEOUT)
                    self.rfile = self.sock.makefile("rb")
                    self.used = False
            except OSError as e:
                self.close()
                raise DependencyError("stock", describe(e, self.target)) from e
            reused = self.used
            try:
                self.sock.sendall(request)
                lines = []
                for _ in ids:
                    line = self.rfile.readline(1025)
                    if not line:
                        raise ConnectionResetError("stock closed the connection")
                    if not line.endswith(b"\n"):
                        raise ValueError("answer line too long")
                    lines.append(line)
            except STALE as e:
                self.close()
                if reused and attempt == 1:
                    continue
                raise DependencyError("stock", describe(e, self.target)) from e
            except (OSError, ValueError) as e:
                self.close()
                raise DependencyError("stock", describe(e, self.target)) from e
            self.used = True
            return {i: self._parse(i, line) for i, line in zip(ids, lines)}
        raise AssertionError("unreachable")

    @staticmethod
    def _parse(book, line):
        text = line.decode("ascii", "replace").strip()
        parts = text.split()
        if len(parts) == 2 and parts[0] == str(book) and parts[1].isdigit():
            return int(parts[1])
        raise DependencyError("stock", f"STOCK {book} answered {text[:200]!r}")


CONFIG = {}


class WebHandler(meshenv.Handler):
    ratings = stock = None

    def setup(self):
        super().setup()
        # this handler lives as long as its client connection, on its own thread
        self.ratings = RatingsClient(CONFIG["ratings"])
        self.stock = StockClient(CONFIG["stock"])

    def finish(self):
        try:
            super().finish()
        finally:
            self.ratings.close()
            self.stock.close()

    def route(self, path):
        try:
            if path == "/healthz":
                return self.send_body(200, b"ok\n", "text/plain; charset=utf-8")
            if path == "/api/books":
                return self.send_json(200, self.books())
            match = RATING_PATH.match(path)
            if match:
                status, answer = self.ratings.rating(int(match.group(1)))
                return self.send_json(status, answer)
            if path in ("/", "/index.html"):
                return self.send_body(200, render(self.books()).encode(),
                                      "text/html; charset=utf-8",
                                      [("Cache-Control", "no-store")])
            self.send_json(404, {"error": "not found", "path": path})
        except DependencyError as e:
            self.send_json(502, {"error": f"{e.service} unavailable", "detail": e.detail})

    def books(self):
        ratings = {}
        for book in BOOKS:
            status, answer = self.ratings.rating(book["id"])
            if status != 200:
                raise DependencyError("ratings", f"no rating for book {book['id']}: {answer}")
            ratings[book["id"]] = answer
        stock = self.stock.counts([b["id"] for b in BOOKS])
        return [{**b, "rating": ratings[b["id"]], "stock": stock[b["id"]]} for b in BOOKS]


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>books · lmesh demo</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 46em; color: #222; }}
h1 {{ font-size: 1.4em; margin-bottom: .2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .45em .6em; border-bottom: 1px solid #ddd; }}
th {{ font-weight: 600; color: #555; }}
.stars {{ color: #c80; white-space: nowrap; }}
.v {{ font: 12px monospace; padding: .1em .4em; border-radius: 3px; background: #e4ecf7; }}
.v2 {{ background: #fde2c8; }}
.pod, footer {{ color: #888; font-size: .85em; }}
.out {{ color: #b00; }}
</style></head><body>
<h1>books</h1>
<p class="pod">served by {pod} · reload to watch the ratings split (v1 90% / v2 10%)</p>
<table>
<tr><th>Book</th><th>Rating</th><th>From</th><th>In stock</th></tr>
{rows}
</table>
<footer><p>JSON: <a href="/api/books">/api/books</a> ·
<a href="/api/rating/1">/api/rating/1</a></p></footer>
</body></html>
"""
ROW = ('<tr><td><b>{title}</b><br><span class="pod">{author}</span></td>'
       '<td class="stars">{stars}</td>'
       '<td><span class="v {version}">{version}</span> <span class="pod">{rpod}</span></td>'
       '<td>{stock}</td></tr>')


def stars_text(stars):
    try:
        value = float(stars)
    except (TypeError, ValueError):
        return "?"
    full = int(value)
    return "★" * full + ("½" if value - full >= 0.5 else "") + f" {value:g}"


def render(books):
    rows = []
    for b in books:
        r = b["rating"]
        stock = b["stock"]
        stock_html = ("n/a" if stock is None else
                      '<span class="out">sold out</span>' if stock == 0 else str(stock))
        rows.append(ROW.format(title=html.escape(b["title"]), author=html.escape(b["author"]),
                               stars=html.escape(stars_text(r.get("stars"))),
                               version=html.escape(str(r.get("version", "?"))),
                               rpod=html.escape(str(r.get("pod", ""))), stock=stock_html))
    return PAGE.format(pod=html.escape(CONFIG["pod"]), rows="\n".join(rows))


def main():
    CONFIG.update({
        "host": meshenv.listen_host(),
        "port": meshenv.listen_port(8080),
        "pod": meshenv.pod_name("web"),
        "ratings": meshenv.HttpTarget("ratings"),
        "stock": meshenv.TcpTarget("stock"),
    })
    if CONFIG["stock"].host is None:
        meshenv.log(f"warning: {CONFIG['stock'].reason}; stock shows as n/a")
    meshenv.serve_http(WebHandler, CONFIG["host"], CONFIG["port"],
                       f"web pod {CONFIG['pod']}: {CONFIG['ratings']!r}, {CONFIG['stock']!r}")


if __name__ == "__main__":
    main()
