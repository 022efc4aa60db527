"""End-to-end tests of `lmesh up` in netns mode: the real control plane, proxies and demo apps,
every pod in its own network namespace (needs root).

Run (as root; one mesh at a time per machine):
  LMESH_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
or set LMESH_CLI, LMESH_PROXY, LMESH_IDENTITY, LMESH_DESTINATION, LMESH_TAP (meson does).
  -s shows what each test measured (shares, failure counts, timings).

- Everything is skipped when not root, when a tool is missing, or when `ip netns add` is refused.
- Each module runs its own mesh (a module-scoped fixture) and always `lmesh down`s it. Before a
  mesh starts, a running one (bridge lmesh0) is waited for up to 60 s, then the test fails
  saying so.
- Every test runs under a deadline (default 120 s; `@pytest.mark.deadline(s)`).
- A module with a failure keeps its directory (/tmp/lmesh-e2e-*: state, logs, lmesh up's
  output) and says where it is (LMESH_E2E_KEEP=1 keeps them all).

Files: mesh.py (helpers: the Mesh, load, metrics, tap, packet capture), test_demo_mtls.py (mTLS,
opaque TCP, tap, stat), test_live_edits.py (canary split, scaling), test_faults.py (kill -9 of an
app, the control plane, a proxy), test_grpc.py, test_cleanup.py (lmesh down), apps/ (the gRPC
server and client workloads, an app slow to stop).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from deadline import deadline_hook  # noqa: E402  (tests/deadline.py)

import mesh as m

DEFAULT_DEADLINE = 120.0
_failed_modules = set()


def pytest_configure(config):
    config.addinivalue_line("markers", "deadline(seconds): time limit for one test's call phase")


pytest_runtest_call = deadline_hook(DEFAULT_DEADLINE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        _failed_modules.add(item.module.__name__)


# ---------------------------------------------------------------- can this machine run it?

def _why_not():
    if os.geteuid() != 0:
        return "lmesh up netns mode needs root (network namespaces, iptables, a bridge)"
    missing = [t for t in ("ip", "iptables", "iptables-save", "setpriv") if shutil.which(t) is None]
    if missing:
        return f"missing tools: {', '.join(missing)}"
    for var, path in m.binaries().items():
        if not path.is_file():
            return (f"{var}: no binary at {path} (set {var}, or LMESH_BUILD_DIR to a build "
                    "directory)")
    probe = f"lme2e-probe-{os.getpid()}"
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True,
                           timeout=15)
    if added.returncode != 0:
        return f"`ip netns add` is refused here: {added.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=15)
    return None


@pytest.fixture(scope="session", autouse=True)
def e2e_environment():
    reason = _why_not()
    if reason:
        pytest.skip(reason)


# ---------------------------------------------------------------- meshes

@pytest.fixture(scope="module")
def base_dir(request):
    base = m.make_base_dir(f"lmesh-e2e-{request.module.__name__.removeprefix('test_')}-")
    yield base
    if request.module.__name__ in _failed_modules or os.environ.get("LMESH_E2E_KEEP"):
        print(f"\n[e2e] kept {base} (state, logs, lmesh up's output)")
    else:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_mesh(base_dir):
    """The books demo (a copy of demo/mesh.yaml that tests may edit), running."""
    mesh_file = base_dir / "mesh.yaml"
    shutil.copyfile(m.DEMO_DIR / "mesh.yaml", mesh_file)
    mesh = m.start_mesh(base_dir, mesh_file, name="demo")
    yield mesh
    m.assert_down_ok(mesh, mesh.down())


@pytest.fixture(scope="module")
def web(demo_mesh):
    """web-0's address: requests to it come from this (unmeshed) test through web's proxy."""
    return demo_mesh.pod("web-0")["ip"], 8080
