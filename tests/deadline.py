"""A time limit on each test's call phase, shared by the pytest suites (tests/integration,
tests/e2e): a hung test fails with its traceback at the limit instead of holding the run until
meson's timeout. `@pytest.mark.deadline(seconds)` sets it per test; each suite's conftest
chooses the default and takes the hook with

    pytest_runtest_call = deadline_hook(DEFAULT_DEADLINE)
"""
import signal

import pytest


def seconds_for(item, default):
    marker = item.get_closest_marker("deadline")
    return float(marker.args[0]) if marker else default


def deadline_hook(default):
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):
        seconds = seconds_for(item, default)

        def expired(signum, frame):
            pytest.fail(f"test exceeded its {seconds:.0f}s deadline", pytrace=True)
        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return pytest_runtest_call
