#!/usr/bin/env python3
"""books demo: the ratings service (HTTP/1.1). One program, two versions.

GET /ratings/<id>  200 {"id":1,"stars":4,"version":"v1","pod":"ratings-v1-0"}; unknown id 404
GET /healthz       200

Env: PORT (default 8080), LMESH_LISTEN_HOST, LMESH_POD_NAME, RATINGS_VERSION (v1 | v2, default
v1), RATINGS_FAIL_PERCENT (0-100, default 0: share of /ratings answers that are 500),
RATINGS_DELAY_MS (default 0: added before every /ratings answer).
"""
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshenv  # noqa: E402

# v2 is the "new algorithm": it also weighs recent reviews, so its stars differ.
STARS = {
    "v1": {1: 5, 2: 4, 3: 4, 4: 3},
    "v2": {1: 4.5, 2: 4.5, 3: 3.5, 4: 4},
}
RATING_PATH = re.compile(r"^/ratings/([0-9]{1,9})$")


def load_config():
    version = os.environ.get("RATINGS_VERSION", "").strip() or "v1"
    if version not in STARS:
        meshenv.die(f"RATINGS_VERSION={version!r} must be one of {', '.join(sorted(STARS))}")
    return {
        "version": version,
        "pod": meshenv.pod_name(f"ratings-{version}"),
        "fail_percent": meshenv.env_float("RATINGS_FAIL_PERCENT", 0.0, 0, 100),
        "delay": meshenv.env_int("RATINGS_DELAY_MS", 0, 0, 600_000) / 1000.0,
        "host": meshenv.listen_host(),
        "port": meshenv.listen_port(8080),
    }


CONFIG = {}


class RatingsHandler(meshenv.Handler):
    def route(self, path):
        if path == "/healthz":
            return self.send_body(200, b"ok\n", "text/plain; charset=utf-8")
        match = RATING_PATH.match(path)
        if not match:
            return self.send_json(404, {"error": "not found", "path": path})
        version, pod = CONFIG["version"], CONFIG["pod"]
        if CONFIG["delay"]:
            time.sleep(CONFIG["delay"])
        if CONFIG["fail_percent"] and random.random() * 100 < CONFIG["fail_percent"]:
            return self.send_json(500, {"error": "injected failure (RATINGS_FAIL_PERCENT)",
                                        "version": version, "pod": pod})
        book = int(match.group(1))
        stars = STARS[version].get(book)
        if stars is None:
            return self.send_json(404, {"error": "unknown book", "id": book,
                                        "version": version, "pod": pod})
        self.send_json(200, {"id": book, "stars": stars, "version": version, "pod": pod})


def main():
    CONFIG.update(load_config())
    faults = ""
    if CONFIG["fail_percent"] or CONFIG["delay"]:
        faults = (f" (faults: {CONFIG['fail_percent']:g}% errors, "
                  f"{CONFIG['delay'] * 1000:g} ms delay)")
    meshenv.serve_http(RatingsHandler, CONFIG["host"], CONFIG["port"],
                       f"ratings {CONFIG['version']} pod {CONFIG['pod']}{faults}")


if __name__ == "__main__":
    main()
