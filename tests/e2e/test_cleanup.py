"""`lmesh down` leaves nothing behind: no lmesh-* network namespace, no lmh*/lmesh0 link, no
lmesh iptables rule in the root namespace, no process state.json recorded, no /etc/netns/lmesh-*
directory. Both when it asks a running `lmesh up` to stop, and when `lmesh up` was killed with
SIGKILL (then `lmesh down` undoes state.json itself)."""
import json
import os
import re
import sys
import time

import pytest

import mesh as m


def processes_mentioning(text):
    """[(pid, command line)] of processes whose command line contains `text`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            out.append((int(entry), cmdline[:160]))
    return out


def leftovers(state, state_dir):
    """What of this mesh (state.json as it was before `lmesh down`, and any process started
    with its state dir: proxies, controllers) is still there, and what lmesh-looking thing is
    there at all."""
    found = [f"process {pid}: {cmd}" for pid, cmd in processes_mentioning(str(state_dir) + "/")]
    pods = state.get("pods", [])
    netns = set(m.netns_list())
    links = set(m.link_names())
    for p in pods:
        if p["netns"] in netns:
            found.append(f"netns {p['netns']} ({p['name']})")
        if p.get("host_veth") in links:
            found.append(f"link {p['host_veth']} ({p['name']})")
        if os.path.exists(f"/etc/netns/{p['netns']}"):
            found.append(f"/etc/netns/{p['netns']} ({p['name']})")
    for label, ref in m.state_processes(state):
        if m.process_alive(ref):
            found.append(f"process {label} (pid {ref['pid']})")
    # Anything lmesh-like at all (another mesh started meanwhile would show here too: then
    # we say so instead of blaming this one).
    generic = [f"netns {n}" for n in netns if n.startswith("lmesh-")]
    generic += [f"link {n}" for n in links if n == m.BRIDGE or re.fullmatch(r"lmh\d+", n)]
    generic += [f"iptables: {line}" for line in m.iptables_lmesh_lines()]
    generic += [f"/etc/netns/{d}" for d in (os.listdir("/etc/netns")
                                           if os.path.isdir("/etc/netns") else [])
                if d.startswith("lmesh-")]
    return found, generic


def assert_clean(state, state_dir, what):
    def clean():
        found, generic = leftovers(state, state_dir)
        return not found and not generic
    try:
        m.wait_for(clean, 10, f"nothing left after {what}", interval=0.2)
    except AssertionError:
        found, generic = leftovers(state, state_dir)
        others = m.lmesh_up_processes()
        if not found and others:
            pytest.fail(f"after {what}: this mesh is gone, but another `lmesh up` runs now "
                        f"({others}) and these exist: {generic}")
        raise AssertionError(f"after {what}, still there: {found + generic}")
    print(f"after {what}: no netns, link, iptables rule, /etc/netns dir or process left "
          f"(checked {len(state['pods'])} pods, {len(m.state_processes(state))} processes)")


def snapshot_before(mesh):
    state = mesh.state()
    assert state["pods"], "no pods in state.json"
    # What a mesh has, so that the "nothing left" below is not vacuous.
    assert m.bridge_exists()
    assert all(p["netns"] in m.netns_list() for p in state["pods"])
    assert all(os.path.isdir(f"/etc/netns/{p['netns']}") for p in state["pods"])
    assert all(m.process_alive(ref) for _, ref in m.state_processes(state)), \
        [label for label, ref in m.state_processes(state) if not m.process_alive(ref)]
    rules = [line for line in m.run(["ip", "netns", "exec", state["pods"][0]["netns"],
                                     "iptables-save"], timeout=10).stdout.splitlines()
             if "4143" in line or "4140" in line]
    assert rules, "no proxy-init rule in the first pod's namespace"
    return state


@pytest.mark.deadline(90)
def test_down_removes_everything(base_dir):
    mesh_file = base_dir / "mesh.yaml"
    mesh_file.write_text((m.DEMO_DIR / "mesh.yaml").read_text())
    mesh = m.start_mesh(base_dir, mesh_file, name="down")
    try:
        state = snapshot_before(mesh)
    finally:
        t0 = time.monotonic()
        done = mesh.down()
    print(f"\nlmesh down: exit {done.returncode} in {time.monotonic() - t0:.1f} s: "
          f"{done.stdout.strip()!r}")
    m.assert_down_ok(mesh, done)
    assert "stopped" in mesh.output(), mesh.output_tail()
    assert not (mesh.state_dir / "state.json").exists()
    assert_clean(state, mesh.state_dir, "lmesh down")


@pytest.mark.deadline(90)
def test_down_cleans_up_after_lmesh_up_was_killed(base_dir):
    mesh_file = base_dir / "mesh-killed.yaml"
    mesh_file.write_text((m.DEMO_DIR / "mesh.yaml").read_text())
    mesh = m.start_mesh(base_dir, mesh_file, name="killed")
    try:
        state = snapshot_before(mesh)
        up = mesh.proc.pid
        assert state["up_pid"] == up
        m.kill9(up)
        mesh.proc.wait(timeout=10)
        time.sleep(0.5)
        orphans = [label for label, ref in m.state_processes(state) if m.process_alive(ref)]
        print(f"\nkilled lmesh up (pid {up}) with SIGKILL; still running: {len(orphans)} "
              f"processes, {len(state['pods'])} netns")
    finally:
        t0 = time.monotonic()
        done = mesh.down()
    print(f"lmesh down: exit {done.returncode} in {time.monotonic() - t0:.1f} s: "
          f"{done.stdout.strip()!r} {done.stderr.strip()!r}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert orphans, "nothing survived lmesh up: the test would prove nothing"
    assert_clean(state, mesh.state_dir, "kill -9 of lmesh up, then lmesh down")


def slow_mesh_yaml(replicas):
    py = json.dumps(sys.executable)
    app = json.dumps(str(m.E2E_DIR / "apps" / "slow_exit.py"))
    return f"""# tests/e2e/test_cleanup.py: an app that takes 3 s to stop
workloads:
  - name: slow
    replicas: {replicas}
    command: [{py}, "-B", {app}]
    env: {{PORT: "8080", EXIT_DELAY_S: "3"}}
    ports:
      - {{port: 8080, protocol: http1}}
"""


@pytest.mark.deadline(60)
def test_edit_while_stopping_does_not_hang_down(base_dir):
    """The mesh file changes while lmesh up stops (a user saves it and presses Ctrl-C; here:
    `lmesh down`, then an edit while an app takes 3 s to exit). lmesh up must still stop by
    itself, without starting anything, and leave nothing behind."""
    mesh_file = base_dir / "mesh-slow.yaml"
    mesh_file.write_text(slow_mesh_yaml(1))
    mesh = m.start_mesh(base_dir, mesh_file, name="slow", demo_dir=None)
    state = mesh.state()
    down = mesh.begin_down(stop_timeout="12s")
    try:
        m.wait_for(lambda: "stopping the mesh" in mesh.output(), 10, "lmesh up to start stopping")
        m.write_atomic(mesh_file, slow_mesh_yaml(2))
        edited_at = time.monotonic() - down.t0
    finally:
        done = mesh.finish_down(down)
    said = [line for line in mesh.output().splitlines()
            if "stopping the mesh" in line or "changed" in line or "stopped" in line]
    killed = " (it killed lmesh up at its 12 s timeout)" if done.killed_up else ""
    print(f"\nlmesh down, then an edit {edited_at:.2f} s later: exit {done.returncode} in "
          f"{done.seconds:.1f} s{killed}\nlmesh up said: " + "\n  ".join(said)
          + f"\nlmesh down said: {done.stdout.strip()}")
    try:
        m.assert_down_ok(mesh, done)
        assert done.seconds < 10, f"lmesh down took {done.seconds:.1f} s"
    finally:
        assert_clean(state, mesh.state_dir, "lmesh down with an edit while stopping")
