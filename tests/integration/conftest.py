"""Fixtures for the lmesh-proxy integration tests.

Run: LMESH_PROXY=build/src/proxy/lmesh-proxy /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
(point LMESH_PROXY at an ASan/UBSan build to turn every test into a memory-safety probe;
test_transparent.py needs root and is skipped otherwise).

- proxy_factory(**flags) starts the real binary (all listeners on 127.0.0.1:0, 2 workers, JSON
  logs) and stops it at teardown, failing the test on a non-zero exit or a sanitizer report.
- serve(cls, ...) starts a test server from upstreams.py and closes it at teardown.
- upstream / proxy: an HttpUpstream with common routes, and a proxy whose outbound target and
  inbound forward both point at it.
- every test runs under a deadline (default 30 s, `@pytest.mark.deadline(s)` to change it),
  and the whole session under a watchdog that dumps stacks and exits if it overruns.
"""
import faulthandler
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from deadline import deadline_hook, seconds_for  # noqa: E402  (tests/deadline.py)

import upstreams
from harness import BASE_FLAGS, Destination, Proxy, binary, hostport, proxy_binary

DEFAULT_DEADLINE = 30.0


# ---------------------------------------------------------------- time bounds

def pytest_configure(config):
    config.addinivalue_line("markers", "deadline(seconds): time limit for one test's call phase")


def pytest_collection_modifyitems(session, config, items):
    # Whole-run watchdog: every test's deadline plus setup/teardown slack. faulthandler prints
    # every thread's stack and exits, so a wedged run is diagnosable instead of killed silently.
    budget = sum(seconds_for(i, DEFAULT_DEADLINE) + 15 for i in items) + 30
    faulthandler.dump_traceback_later(budget, exit=True, file=sys.stderr)


def pytest_unconfigure(config):
    faulthandler.cancel_dump_traceback_later()


pytest_runtest_call = deadline_hook(DEFAULT_DEADLINE)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def proxy_path():
    path = proxy_binary()
    if not path.exists():
        pytest.fail(f"lmesh-proxy binary not found at {path} (set LMESH_PROXY)")
    return path


@pytest.fixture
def proxy_factory(proxy_path):
    started = []

    def start(env=None, cmd_prefix=(), binary=None, expect=("outbound", "inbound", "admin"), **flags):
        proxy = Proxy({**BASE_FLAGS, **flags}, env=env, cmd_prefix=cmd_prefix,
                      binary=binary or proxy_path, expect=expect)
        started.append(proxy)
        return proxy

    yield start
    failures = []
    for proxy in started:
        try:
            proxy.stop()
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture
def serve():
    made = []

    def make(cls=upstreams.HttpUpstream, *args, **kw):
        server = cls(*args, **kw)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def upstream(serve):
    return serve(upstreams.HttpUpstream, routes={
        "/": upstreams.fixed(200, b"hello from upstream"),
        "/echo": upstreams.echo(),
    })


@pytest.fixture
def proxy(proxy_factory, upstream):
    return proxy_factory(outbound_target=hostport(upstream.addr),
                         inbound_forward=hostport(upstream.addr))


@pytest.fixture(scope="session")
def destination_bin():
    return binary("LMESH_DESTINATION", "build/src/destination/lmesh-destination")


@pytest.fixture
def start_destination(destination_bin):
    started = []

    def start(env=None, **flags):
        d = Destination(destination_bin, flags, env=env)
        started.append(d)
        return d
    yield start
    failures = []
    for d in started:
        try:
            d.stop()
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
