"""The host-network layer of `lmesh up` netns mode (src/cli/host/), driven through
lmesh-host-net-probe: a bridge, two pods on it, Linkerd's interception rules in each pod, the
pods' hosts files, and a clean tear-down. Needs root (namespaces, iptables).

Layout (names and a /24 picked at random per run, so that a real `lmesh up` on lmesh0 /
198.18.0.0/16 and concurrent runs of this file do not collide; all in 198.18.0.0/15):

    root namespace: bridge lmesh<N> 198.19.X.1/24
      pod A: netns lmesh-<N>a, veth lmh<N>1 / eth0 198.19.X.2
      pod B: netns lmesh-<N>b, veth lmh<N>2 / eth0 198.19.X.3

Instead of real proxies, plain listeners stand on the proxy's ports (4140 outbound, 4143
inbound, 4191 admin) and report which connections reached them, with SO_ORIGINAL_DST.

Run by hand: LMESH_HOST_NET_PROBE=build/src/cli/host/lmesh-host-net-probe \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_host_network.py
"""
import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from netns import in_ns

PROXY_UID = 2102
SO_ORIGINAL_DST = 80  # <linux/netfilter_ipv4.h>


def _skip_reason():
    if os.geteuid() != 0:
        return "needs root for network namespaces, a bridge and iptables"
    missing = [t for t in ("ip", "iptables", "iptables-restore", "setpriv", "getent", "nsenter")
               if shutil.which(t) is None]
    if missing:
        return f"needs {', '.join(missing)} (Debian: iproute2, iptables, util-linux, libc-bin)"
    probe = f"lmesh-probe{uuid.uuid4().hex[:6]}"
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if added.returncode != 0:
        return f"`ip netns add` is not permitted here: {added.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


if _skip_reason():
    pytest.skip(_skip_reason(), allow_module_level=True)


def probe_runner(prefix=()):
    path = Path(os.environ.get("LMESH_HOST_NET_PROBE", "build/src/cli/host/lmesh-host-net-probe"))
    if not path.exists():
        pytest.fail(f"lmesh-host-net-probe not found at {path} (set LMESH_HOST_NET_PROBE)")

    def run(*args, check=True):
        done = subprocess.run([*prefix, str(path.resolve()), *args], capture_output=True,
                              text=True, timeout=30)
        if check and done.returncode != 0:
            raise AssertionError(f"lmesh-host-net-probe {' '.join(args)} failed: {done.stderr}")
        return done
    return run


@pytest.fixture(scope="module")
def probe():
    return probe_runner()


def original_dst(conn):
    try:
        raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    except OSError:
        return None  # not NATed
    port, addr = struct.unpack("!2xH4s8x", raw)
    return socket.inet_ntoa(addr), port


class Listener:
    """Accepts connections on (host, port) and records (first line, SO_ORIGINAL_DST)."""

    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.seen = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(3)
                try:
                    data = conn.recv(100)
                except OSError:
                    data = b""
                with self._cond:
                    self.seen.append((data.strip().decode(errors="replace"), original_dst(conn)))
                    self._cond.notify_all()

    def wait_for(self, tag, timeout=5):
        with self._cond:
            self._cond.wait_for(lambda: any(t == tag for t, _ in self.seen), timeout)
            return next((dst for t, dst in self.seen if t == tag), "absent")

    def tags(self):
        with self._cond:
            return [t for t, _ in self.seen]

    def close(self):
        self._closed = True
        self._thread.join(timeout=2)
        self.sock.close()


class Mesh:
    def __init__(self, probe):
        self.probe = probe
        n = random.randint(1000, 99999)
        x = random.randint(200, 254)
        self.bridge = f"lmesh{n}"
        self.gateway = f"198.19.{x}.1"
        self.a, self.b = f"lmesh-{n}a", f"lmesh-{n}b"
        self.veth_a, self.veth_b = f"lmh{n}1", f"lmh{n}2"
        self.ip_a, self.ip_b = f"198.19.{x}.2", f"198.19.{x}.3"
        self.forward_rule = False
        self.listeners = []

    def names(self):
        return {self.bridge, self.a, self.b, self.veth_a, self.veth_b}

    def bridge_up(self):
        out = self.probe("bridge-up", "--name", self.bridge, "--address", self.gateway,
                         "--prefix", "24").stdout
        self.forward_rule = "forward_rule=1" in out
        return out

    def pod_up(self, ns, veth, ip, hosts_file, *extra, check=True):
        return self.probe("pod-up", ns, veth, ip, str(hosts_file), "--bridge", self.bridge,
                          "--gateway", self.gateway, "--prefix", "24", *extra, check=check)

    def listen(self, ns, host, port):
        listener = in_ns(ns, Listener, host, port)
        self.listeners.append(listener)
        return listener

    def down(self):
        for listener in self.listeners:
            listener.close()
        self.listeners.clear()
        self.probe("pod-down", self.a, self.veth_a)
        self.probe("pod-down", self.b, self.veth_b)
        self.probe("bridge-down", "--name", self.bridge,
                   *(["--forward-rule"] if self.forward_rule else []))

    def leftovers(self):
        return set(self.probe("leftovers").stdout.split())


@pytest.fixture(scope="module")
def mesh(probe, tmp_path_factory):
    m = Mesh(probe)
    hosts = tmp_path_factory.mktemp("hosts") / "hosts"
    hosts.write_text(f"{m.ip_b} podb.test.svc.cluster.local podb\n198.19.0.7 vip.test\n")
    try:
        assert "created=1" in m.bridge_up()
        m.pod_up(m.a, m.veth_a, m.ip_a, hosts)
        m.pod_up(m.b, m.veth_b, m.ip_b, hosts)
        # In A: the outbound and inbound "proxy" and a loopback-only app. In B: the inbound
        # "proxy", the admin port and the app's own port.
        m.a_out = m.listen(m.a, "0.0.0.0", 4140)
        m.a_in = m.listen(m.a, "0.0.0.0", 4143)
        m.a_local = m.listen(m.a, "127.0.0.1", 9999)
        m.b_in = m.listen(m.b, "0.0.0.0", 4143)
        m.b_admin = m.listen(m.b, "0.0.0.0", 4191)
        m.b_app = m.listen(m.b, "0.0.0.0", 8080)
        yield m
    finally:
        m.down()


def connect_as_root(mesh, ns, addr, tag):
    def go():
        with socket.create_connection(addr, timeout=5) as s:
            s.sendall(tag.encode() + b"\n")
    in_ns(ns, go)


def connect_as_proxy_uid(ns, addr, tag):
    code = ("import socket,sys\n"
            "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
            "s.sendall(sys.argv[3].encode() + b'\\n'); s.close()\n")
    cmd = ["ip", "netns", "exec", ns, "setpriv", f"--reuid={PROXY_UID}", f"--regid={PROXY_UID}",
           "--clear-groups", "--", "/usr/bin/python3", "-c", code, addr[0], str(addr[1]), tag]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=15, cwd="/")
    assert done.returncode == 0, done.stderr


def test_bridge_up_again_changes_nothing(mesh):
    assert "created=0" in mesh.bridge_up()


def test_app_outbound_goes_to_its_outbound_port(mesh):
    connect_as_root(mesh, mesh.a, (mesh.ip_b, 8080), "app-out")
    assert mesh.a_out.wait_for("app-out") == (mesh.ip_b, 8080)
    assert "app-out" not in mesh.b_app.tags() + mesh.b_in.tags()


def test_proxy_uid_goes_out_directly_and_lands_on_the_peers_inbound_port(mesh):
    connect_as_proxy_uid(mesh.a, (mesh.ip_b, 8080), "proxy-out")
    assert mesh.b_in.wait_for("proxy-out") == (mesh.ip_b, 8080)
    assert "proxy-out" not in mesh.a_out.tags() + mesh.b_app.tags()


def test_admin_port_is_not_redirected(mesh):
    connect_as_proxy_uid(mesh.a, (mesh.ip_b, 4191), "admin")
    assert mesh.b_admin.wait_for("admin") in (None, (mesh.ip_b, 4191))
    assert "admin" not in mesh.b_in.tags()


def test_proxy_to_its_own_pod_ip_goes_through_inbound(mesh):
    # proxy-init's redirect-non-loopback-local-traffic: the proxy's connection to its own pod
    # leaves through lo but must still pass the inbound side.
    connect_as_proxy_uid(mesh.a, (mesh.ip_a, 8080), "self")
    assert mesh.a_in.wait_for("self") == (mesh.ip_a, 8080)


def test_socket_in_netns_reaches_the_pods_loopback_unredirected(mesh):
    assert mesh.probe("connect", mesh.a, "9999").stdout.strip() == "connected"
    assert mesh.a_local.wait_for("probe") in (None, ("127.0.0.1", 9999))
    assert "probe" not in mesh.a_out.tags()


def test_hosts_file_is_seen_in_the_pod(mesh):
    for ns in (mesh.a, mesh.b):
        out = subprocess.run(["ip", "netns", "exec", ns, "getent", "hosts", "podb"],
                             capture_output=True, text=True, timeout=10).stdout
        assert out.split()[:2] == [mesh.ip_b, "podb.test.svc.cluster.local"], out
        vip = subprocess.run(["ip", "netns", "exec", ns, "getent", "hosts", "vip.test"],
                             capture_output=True, text=True, timeout=10).stdout
        assert vip.split()[:1] == ["198.19.0.7"], vip
    assert oct(os.stat(f"/etc/netns/{mesh.a}/hosts").st_mode & 0o777) == "0o644"


def test_names_missing_from_the_hosts_file_fail_fast(mesh):
    # Pods cannot reach a DNS server; their resolv.conf makes DNS refuse at once instead of
    # stalling every lookup (and `getent hosts`'s IPv6 try) for the resolver's timeout.
    started = time.monotonic()
    done = subprocess.run(["ip", "netns", "exec", mesh.a, "getent", "hosts", "nothing.invalid"],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 2 and time.monotonic() - started < 3


def test_failed_pod_set_up_leaves_nothing(mesh, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("")
    ns, veth = f"{mesh.a}x", f"{mesh.veth_a}9"
    # A gateway outside the pod's subnet: the default route fails after the namespace, the veth
    # and the addresses were made.
    done = mesh.pod_up(ns, veth, mesh.ip_a.rsplit(".", 1)[0] + ".9", hosts, "--gateway",
                       "198.18.255.254", check=False)
    assert done.returncode != 0
    assert "route add default via 198.18.255.254" in done.stderr, done.stderr
    assert not {ns, veth} & mesh.leftovers()
    assert not os.path.exists(f"/etc/netns/{ns}")


def test_down_leaves_nothing(probe, tmp_path):
    m = Mesh(probe)
    hosts = tmp_path / "hosts"
    hosts.write_text("198.19.0.1 web\n")
    try:
        m.bridge_up()
        m.pod_up(m.a, m.veth_a, m.ip_a, hosts)
        m.pod_up(m.b, m.veth_b, m.ip_b, hosts)
        assert m.names() <= m.leftovers()
    finally:
        m.down()
    assert not m.names() & m.leftovers()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in m.names():
        assert name not in links and name not in netns
    assert not os.path.exists(f"/etc/netns/{m.a}") and not os.path.exists(f"/etc/netns/{m.b}")
    m.down()  # idempotent


def test_forward_rule_lets_pods_talk_when_the_forward_policy_drops(tmp_path):
    # A Docker host, without touching this host: the bridge lives in a throw-away namespace
    # whose FORWARD policy is DROP. With br_netfilter, frames between two bridge ports pass that
    # chain, so the pods can talk only through the ACCEPT rule ensure_bridge() adds.
    # nsenter, not `ip netns exec`: the latter also makes a mount namespace, in which the pods'
    # namespaces would be mounted out of everyone else's sight.
    outer = f"lmesh-{random.randint(1000, 99999)}fw"
    subprocess.run(["ip", "netns", "add", outer], check=True)
    enter = ["nsenter", f"--net=/run/netns/{outer}", "--"]
    m = None
    try:
        nf_call = subprocess.run([*enter, "cat", "/proc/sys/net/bridge/bridge-nf-call-iptables"],
                                 capture_output=True, text=True)
        if nf_call.stdout.strip() != "1":
            pytest.skip("br_netfilter is not loaded (or does not call iptables): no FORWARD risk")
        subprocess.run([*enter, "iptables", "-P", "FORWARD", "DROP"], check=True)
        m = Mesh(probe_runner(enter))
        hosts = tmp_path / "hosts"
        hosts.write_text("")
        assert "forward_rule=1" in m.bridge_up()
        assert "forward_rule=1" in m.bridge_up()  # found again, still reported as ours
        m.pod_up(m.a, m.veth_a, m.ip_a, hosts)
        m.pod_up(m.b, m.veth_b, m.ip_b, hosts)
        b_in = m.listen(m.b, "0.0.0.0", 4143)
        connect_as_proxy_uid(m.a, (m.ip_b, 8080), "through-forward")
        assert b_in.wait_for("through-forward") == (m.ip_b, 8080)
        m.down()
        assert not m.names() & m.leftovers()
        rules = subprocess.run([*enter, "iptables", "-S", "FORWARD"],
                               capture_output=True, text=True, check=True).stdout
        assert "lmesh" not in rules and "-P FORWARD DROP" in rules, rules
    finally:
        if m is not None:
            m.down()
        subprocess.run(["ip", "netns", "del", outer], check=True)
