"""Two throw-away network namespaces joined by a veth pair (needs root, iproute2, iptables).

Namespace A has 198.18.0.1/30, namespace B 198.18.0.2/30 (the benchmarking range, never
routed). Python code runs "inside" a namespace on a helper thread that setns()es first: the
network namespace is per thread, and sockets keep the namespace they were created in, so a
server created by in_ns() keeps serving B after the helper thread is gone.
"""
import ctypes
import os
import shutil
import subprocess
import threading
import uuid

CLONE_NEWNET = 0x40000000
ADDR_A, ADDR_B = "198.18.0.1", "198.18.0.2"
_libc = ctypes.CDLL(None, use_errno=True)


def missing_tools():
    return [t for t in ("ip", "iptables", "setpriv") if shutil.which(t) is None]


def sh(*cmd):
    done = subprocess.run(cmd, capture_output=True, timeout=15)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.decode().strip()}")
    return done.stdout.decode()


def in_ns(ns, fn, *args, **kw):
    """fn(*args, **kw) on a thread inside network namespace `ns` (per thread; a socket keeps the
    namespace it was made in); returns its result or raises what it raised."""
    result = {}

    def run():
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns({ns})")
            finally:
                os.close(fd)
            result["value"] = fn(*args, **kw)
        except BaseException as e:  # re-raised on the caller's thread
            result["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=60)
    if t.is_alive():
        raise TimeoutError(f"{fn} in {ns} still running after 60s")
    if "error" in result:
        raise result["error"]
    return result["value"]


class NetnsPair:
    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.a, self.b = f"lmt-{tag}-a", f"lmt-{tag}-b"
        self._cleanups = []
        try:
            for ns, addr, veth in ((self.a, ADDR_A, f"lmv{tag}a"), (self.b, ADDR_B, f"lmv{tag}b")):
                sh("ip", "netns", "add", ns)
                self._cleanups.append(lambda ns=ns: sh("ip", "netns", "del", ns))
            sh("ip", "link", "add", f"lmv{tag}a", "netns", self.a, "type", "veth",
               "peer", "name", f"lmv{tag}b", "netns", self.b)
            for ns, addr, veth in ((self.a, ADDR_A, f"lmv{tag}a"), (self.b, ADDR_B, f"lmv{tag}b")):
                sh("ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", veth)
                sh("ip", "-n", ns, "link", "set", veth, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
        except Exception:
            self.close()
            raise

    def exec_prefix(self, ns):
        return ["ip", "netns", "exec", ns]

    def iptables(self, ns, *rule):
        sh(*self.exec_prefix(ns), "iptables", *rule)

    def in_ns(self, ns, fn, *args, **kw):
        """fn(*args, **kw) on a thread inside namespace `ns`; returns its result or raises."""
        return in_ns(ns, fn, *args, **kw)

    def on_close(self, fn):
        self._cleanups.append(fn)

    def close(self):
        errors = []
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:
                errors.append(e)
        self._cleanups.clear()
        if errors:
            raise RuntimeError(f"network namespace cleanup failed: {errors}")
