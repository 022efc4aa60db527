#!/usr/bin/python3
"""Helpers for bench/run.sh (standard library only, Debian's python3).

  benchtool.py freeports N          print N free loopback TCP ports
  benchtool.py findbin ROOT REL     newest ROOT/build*/REL from an optimized, unsanitized build
  benchtool.py checkbin PATH        exit 1 if PATH links a sanitizer runtime
  benchtool.py idleconns ...        hold N keep-alive connections open, print the proxy's memory
  benchtool.py report ...           aggregate raw.jsonl: tables on stdout, JSON file
  benchtool.py show FILE            print the tables of a results JSON again
  benchtool.py tlshandshakes ...    open new mutual-TLS 1.3 connections for S seconds, print JSON
"""

import argparse
import datetime
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time

MIB = 1024.0


# ---------------------------------------------------------------- freeports

# Listening ports come from below the kernel's ephemeral range (32768-60999 here): a port the
# kernel handed out with bind(0) can later become some client's source port (a load run opens
# thousands of connections), and a proxy started on it then fails with EADDRINUSE.
FREE_PORT_RANGE = (20000, 32000)


def cmd_freeports(args):
    import random
    socks = []
    candidates = list(range(*FREE_PORT_RANGE))
    random.shuffle(candidates)
    for port in candidates:
        if len(socks) == args.n:
            break
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    if len(socks) < args.n:
        sys.exit(f"benchtool freeports: only {len(socks)} free ports in {FREE_PORT_RANGE}")
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


# ---------------------------------------------------------------- findbin

def cmd_findbin(args):
    """Prints the newest ROOT/build*/REL that comes from an optimized build without sanitizers
    (a developer's build-asan/ next to build/ must not be benchmarked by accident)."""
    import glob
    best, skipped = None, []
    for path in glob.glob(os.path.join(args.root, "build*", args.rel)):
        if not os.access(path, os.X_OK):
            continue
        build_dir = path[: -len(args.rel)].rstrip("/")
        opts = {}
        try:
            with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
                opts = {o["name"]: o["value"] for o in json.load(f)}
        except (OSError, ValueError, KeyError):
            pass  # not a meson build dir we can read: judge by the binary alone
        sanitize = opts.get("b_sanitize", "none")
        optimization = str(opts.get("optimization", "3"))
        if sanitize not in ("none", "") or optimization not in ("2", "3") or uses_sanitizer(path):
            skipped.append(f"{path} (b_sanitize={sanitize}, optimization={optimization})")
            continue
        if best is None or os.path.getmtime(path) > os.path.getmtime(best):
            best = path
    for s in skipped:
        print(f"[bench] skipping an unoptimized or sanitizer build: {s}", file=sys.stderr)
    if best:
        print(best)


def uses_sanitizer(path):
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any(lib in out for lib in ("libasan", "libubsan", "libtsan", "liblsan"))


def cmd_checkbin(args):
    """Exit 1 when a binary links a sanitizer runtime (for --proxy PATH)."""
    return 1 if uses_sanitizer(args.path) else 0


# ---------------------------------------------------------------- idleconns

def proc_kib(pid, path, field):
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def read_response(sock, deadline):
    """Reads one HTTP/1.1 response with a Content-Length; returns its status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the body")
        body += chunk
    return status


def cmd_idleconns(args):
    """Opens --count connections through the proxy, one request on each (so every connection
    has carried traffic and, for L7, the proxy holds a parsed keep-alive connection), then
    reads the proxy's memory while they sit idle."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.count * 2 + 64), hard))
    host, port = args.target.rsplit(":", 1)
    addr = (host, int(port))
    request = b"GET / HTTP/1.1\r\nHost: " + args.target.encode() + b"\r\n\r\n"
    socks, ok, failed = [], 0, 0
    deadline = time.monotonic() + args.timeout
    # Batches of 100: each batch is answered before the next one connects, so the proxy's
    # accept queue never overflows (an overflow costs a 1 s SYN retransmission).
    for start in range(0, args.count, 100):
        batch = []
        for _ in range(min(100, args.count - start)):
            s = socket.create_connection(addr, timeout=max(0.1, deadline - time.monotonic()))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            batch.append(s)
        for s in batch:
            s.sendall(request)
        for s in batch:
            try:
                status = read_response(s, deadline)
                ok += 200 <= status < 300
                failed += not 200 <= status < 300
            except (OSError, ValueError, IndexError):
                failed += 1
        socks.extend(batch)
        if time.monotonic() > deadline:
            break
    time.sleep(args.settle)
    fds = 0
    for pid in args.pids:
        try:
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    result = {
        "count": len(socks),
        "responses_ok": ok,
        "failed": failed,
        "rss_kib": sum(proc_kib(p, "status", "VmRSS") for p in args.pids),
        "hwm_kib": sum(proc_kib(p, "status", "VmHWM") for p in args.pids),
        "pss_kib": sum(proc_kib(p, "smaps_rollup", "Pss") for p in args.pids),
        "proxy_fds": fds,
    }
    print(json.dumps(result))
    for s in socks:
        s.close()


# ---------------------------------------------------------------- report

PROXY_ORDER = ["direct", "lmesh", "haproxy", "nginx"]
MODE_TITLES = {"l7": "L7 (HTTP/1.1 hop)", "l4": "L4 (opaque TCP hop)"}

# key, title, unit, format, ratio columns wanted
METRICS = [
    ("cpu_per_100k_c32", "proxy CPU-seconds per 100k requests, wrk 32 connections", "CPU-s", "{:.2f}"),
    ("cpu_per_100k_c128", "proxy CPU-seconds per 100k requests, wrk 128 connections", "CPU-s", "{:.2f}"),
    ("cpu_util_c32", "proxy CPU use during wrk, 32 connections (100 = its core saturated)", "%", "{:.0f}"),
    ("cpu_util_c128", "proxy CPU use during wrk, 128 connections", "%", "{:.0f}"),
    ("rps_c32", "requests/s, wrk 32 connections", "req/s", "{:,.0f}"),
    ("rps_c128", "requests/s, wrk 128 connections", "req/s", "{:,.0f}"),
    ("added_p50", "added latency p50 over direct, open loop", "µs", "{:+.0f}"),
    ("added_p90", "added latency p90 over direct, open loop", "µs", "{:+.0f}"),
    ("added_p99", "added latency p99 over direct, open loop", "µs", "{:+.0f}"),
    ("added_p999", "added latency p99.9 over direct, open loop", "µs", "{:+.0f}"),
    ("rss_idle_mib", "RSS idle, after start", "MiB", "{:.1f}"),
    ("rss_peak_mib", "RSS peak under load (VmHWM after wrk)", "MiB", "{:.1f}"),
    ("rss_conns_mib", "RSS with {idle_conns:,} idle keep-alive connections open", "MiB", "{:.1f}"),
]


def per_rep_values(raw):
    """{mode: {proxy: {metric: {rep: value}}}} from the raw records."""
    out = {}

    def put(mode, proxy, metric, rep, value):
        out.setdefault(mode, {}).setdefault(proxy, {}).setdefault(metric, {})[rep] = value

    latency = {}  # (mode, proxy, rep) -> latency_us dict
    for r in raw:
        mode, proxy, rep, kind = r["mode"], r["proxy"], r["rep"], r["kind"]
        if kind == "wrk":
            c = r["conns"]
            if r["secs"] > 0 and r["requests"] > 0:
                put(mode, proxy, f"rps_c{c}", rep, r["requests"] / r["secs"])
                if r["cpu_measured"]:
                    cpu_s = r["cpu_ticks"] / r["clk_tck"]
                    put(mode, proxy, f"cpu_per_100k_c{c}", rep, cpu_s / r["requests"] * 1e5)
                    # CPU is read around the whole wrk process, so divide by its wall time
                    wall = r.get("wall_secs") or r["secs"]
                    put(mode, proxy, f"cpu_util_c{c}", rep, 100.0 * cpu_s / wall)
        elif kind == "openloop":
            res = r["result"]
            latency[(mode, proxy, rep)] = res["latency_us"]
            for p in ("p50", "p90", "p99", "p999", "max"):
                put(mode, proxy, f"lat_{p}", rep, res["latency_us"][p])
            put(mode, proxy, "latency_errors", rep, res["errors"])
            put(mode, proxy, "latency_queued", rep, res["queued"])
        elif kind == "rss_idle":
            put(mode, proxy, "rss_idle_mib", rep, r["rss_kib"] / MIB)
            put(mode, proxy, "pss_idle_mib", rep, r["pss_kib"] / MIB)
        elif kind == "rss_peak":
            put(mode, proxy, "rss_peak_mib", rep, r["hwm_kib"] / MIB)
        elif kind == "idle_conns":
            res = r["result"]
            put(mode, proxy, "rss_conns_mib", rep, res["rss_kib"] / MIB)
            put(mode, proxy, "pss_conns_mib", rep, res["pss_kib"] / MIB)
            put(mode, proxy, "idle_conns_held", rep, res["count"])
            put(mode, proxy, "idle_conns_failed", rep, res["failed"])
    # Direct runs once per repetition and serves both modes.
    direct = out.pop("any", {}).get("direct")
    for mode in list(out):
        if direct:
            out[mode]["direct"] = direct
        for proxy, metrics in out[mode].items():
            if proxy == "direct":
                continue
            for (m, pr, rep), lat in latency.items():
                if m != mode or pr != proxy or ("any", "direct", rep) not in latency:
                    continue
                base = latency[("any", "direct", rep)]
                for p in ("p50", "p90", "p99", "p999"):
                    metrics.setdefault(f"added_{p}", {})[rep] = lat[p] - base[p]
    if not out and direct:
        out["l7"] = {"direct": direct}
    return out


def summarize(values):
    v = list(values.values())
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v),
            "values": [values[k] for k in sorted(values)]}


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def median_of(summary, mode, proxy, metric):
    try:
        return summary[mode][proxy][metric]["median"]
    except KeyError:
        return None


def fmt_cell(s, fmt):
    if s is None:
        return "—"
    med = fmt.format(s["median"])
    lo, hi = fmt.format(s["min"]), fmt.format(s["max"])
    return f"{med} [{lo} – {hi}]"


def print_tables(summary, modes, proxies, meta):
    print()
    print(f"lmesh bench: {meta['reps']} interleaved repetitions, medians [min – max]; "
          f"wrk {meta['wrk_seconds']} s per run, open loop {meta['latency_seconds']} s at "
          f"{meta['rate']} req/s; proxy on cpu {meta['proxy_cpu']}, load + upstream on cpu "
          f"{meta['load_cpu']}; {'SCHED_FIFO 50' if meta['realtime'] else 'normal scheduling'}")
    if meta["cpu_busy_before_pct"] > 10:
        print(f"NOTE: the CPUs were {meta['cpu_busy_before_pct']}% busy with other work before the run: "
              "expect noisier figures, tails especially")
    for key, title, unit, fmt in METRICS:
        cpu_metric = key.startswith("cpu") or key.startswith("rss")
        print()
        print(f"{title.format(idle_conns=meta.get('idle_conns', 1000))} ({unit})")
        header = f"  {'':9}"
        for mode in modes:
            width = 28 + 9 + (9 if mode == "l4" else 0)
            header += f"  {MODE_TITLES[mode]:<{width}}"
        print(header.rstrip())
        sub = f"  {'':9}"
        for mode in modes:
            sub += f"  {'median [min – max]':<28} {'×haproxy':>8}"
            if mode == "l4":
                sub += f" {'×nginx':>8}"
        print(sub)
        for proxy in proxies:
            if proxy == "direct" and cpu_metric:
                continue
            line = f"  {proxy:<9}"
            for mode in modes:
                s = summary.get(mode, {}).get(proxy, {}).get(key)
                if s is None and proxy == "direct" and key.startswith("added_"):
                    p = key.split("_", 1)[1]
                    s = summary.get(mode, {}).get("direct", {}).get(f"lat_{p}")
                    cell = "(" + fmt_cell(s, "{:.0f}") + ")" if s else "—"
                else:
                    cell = fmt_cell(s, fmt)
                rh = ratio(s and s["median"], median_of(summary, mode, "haproxy", key))
                line += f"  {cell:<28} {'' if rh is None or proxy == 'direct' else f'{rh:.2f}':>8}"
                if mode == "l4":
                    rn = ratio(s and s["median"], median_of(summary, mode, "nginx", key))
                    line += f" {'' if rn is None or proxy == 'direct' else f'{rn:.2f}':>8}"
            print(line.rstrip())
    print()
    print("  direct's row under added latency is its absolute latency, in parentheses.")


def evaluate_targets(summary, modes):
    """The issue's targets for lmesh-proxy, judged on medians."""
    targets = []

    def spread(proxy, mode, metric):
        try:
            s = summary[mode][proxy][metric]
            return s["max"] - s["min"]
        except KeyError:
            return 0.0

    def add(name, mode, metric, limit, reference, ref_desc):
        value = median_of(summary, mode, "lmesh", metric)
        if value is None or limit is None:
            result = "n/a"
        else:
            result = "PASS" if value <= limit else "MISS"
            # Closer than the repetitions' own scatter: the verdict could flip on a rerun.
            noise = max(spread("lmesh", mode, metric),
                        spread(ref_desc, mode, metric) if ref_desc in ("haproxy", "nginx") else 0.0)
            if abs(value - limit) < noise:
                result += " (within noise)"
        targets.append({"target": name, "mode": mode, "metric": metric, "lmesh": value,
                        "limit": limit, "reference": reference, "reference_desc": ref_desc,
                        "result": result})

    for mode, peer in (("l7", "haproxy"), ("l4", "nginx")):
        if mode not in modes:
            continue
        for c in (32, 128):
            key = f"cpu_per_100k_c{c}"
            ref = median_of(summary, mode, peer, key)
            add(f"{mode.upper()} CPU per request ≤ 0.8× {peer} ({c} conns)", mode, key,
                ref and 0.8 * ref, ref, peer)
    for mode in modes:
        for p in ("p50", "p99"):
            key = f"added_{p}"
            peers = {pr: median_of(summary, mode, pr, key) for pr in ("haproxy", "nginx")}
            peers = {k: v for k, v in peers.items() if v is not None}
            best = min(peers, key=peers.get) if peers else None
            add(f"{mode.upper()} added {p} ≤ the better peer's", mode, key,
                peers.get(best), peers.get(best), best)
    for mode in modes:
        add(f"{mode.upper()} idle RSS ≤ 6 MiB", mode, "rss_idle_mib", 6.0, None, "fixed")
        add(f"{mode.upper()} RSS with 1,000 idle connections ≤ 24 MiB", mode, "rss_conns_mib",
            24.0, None, "fixed")
    return targets


def print_targets(targets, have_lmesh):
    print()
    print("targets (lmesh-proxy, medians)" + ("" if have_lmesh else ": lmesh-proxy was not measured"))
    print(f"  {'target':<52} {'lmesh':>9} {'limit':>9}  {'reference':<16} result")
    for t in targets:
        v = "—" if t["lmesh"] is None else f"{t['lmesh']:.2f}"
        lim = "—" if t["limit"] is None else f"{t['limit']:.2f}"
        ref = t["reference_desc"] or "—"
        if t["reference"] is not None:
            ref = f"{ref} {t['reference']:.2f}"
        print(f"  {t['target']:<52} {v:>9} {lim:>9}  {ref:<16} {t['result']}")


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        text = (out.stdout + out.stderr).strip().splitlines()
        return text[0] if text else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def cmd_report(args):
    with open(args.raw) as f:
        raw = [json.loads(line) for line in f if line.strip()]
    values = per_rep_values(raw)
    summary = {mode: {proxy: {m: summarize(v) for m, v in metrics.items() if v}
                      for proxy, metrics in proxies.items()}
               for mode, proxies in values.items()}
    modes = [m for m in ("l7", "l4") if m in summary]
    proxies = [p for p in PROXY_ORDER if any(p in summary[m] for m in modes)]
    ratios = {}
    for mode in modes:
        for proxy in summary[mode]:
            for metric in summary[mode][proxy]:
                v = median_of(summary, mode, proxy, metric)
                entry = {"vs_haproxy": ratio(v, median_of(summary, mode, "haproxy", metric))}
                if mode == "l4":
                    entry["vs_nginx"] = ratio(v, median_of(summary, mode, "nginx", metric))
                ratios.setdefault(mode, {}).setdefault(proxy, {})[metric] = entry
    failed = [r for r in raw if r["kind"] == "failed"]
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "quick": bool(args.quick),
        "reps": args.reps,
        "wrk_seconds": args.wrk_seconds,
        "latency_seconds": args.latency_seconds,
        "rate": args.rate,
        "idle_conns": args.idle_conns,
        "realtime": bool(args.realtime),
        "proxy_cpu": args.proxy_cpu,
        "load_cpu": args.load_cpu,
        "elapsed_s": args.elapsed,
        "cpu_busy_before_pct": args.busy_before,
        "lmesh_proxy": args.lmesh or None,
        "lmesh_proxy_sha256_prefix": args.lmesh_sha256 or None,
        "versions": {
            "haproxy": tool_version(["haproxy", "-v"]),
            "nginx": tool_version(["nginx", "-v"]),
            "wrk": tool_version(["wrk", "-v"]),
        },
        "failed_starts": failed,
    }
    print_tables(summary, modes, proxies, meta)
    targets = evaluate_targets(summary, modes)
    print_targets(targets, "lmesh" in proxies)
    for f in failed:
        print(f"  note: {f['proxy']} {f['mode']} failed to start in rep {f['rep']}")
    for r in raw:
        where = f"{r['proxy']} {r['mode'] if r['proxy'] != 'direct' else ''} rep {r['rep']}"
        if r["kind"] == "wrk" and r["socket_errors"] + r["non_2xx"] > 0:
            print(f"  note: {where}: wrk -c{r['conns']} saw {r['socket_errors']} socket errors, "
                  f"{r['non_2xx']} non-2xx responses")
        elif r["kind"] == "openloop" and r["result"]["errors"] > 0:
            print(f"  note: {where}: open loop saw {r['result']['errors']} errors")
        elif r["kind"] == "idle_conns" and r["result"]["failed"] > 0:
            print(f"  note: {where}: {r['result']['failed']} of the idle connections failed")
    result = {"meta": meta, "summary": summary, "ratios": ratios, "targets": targets,
              "raw": raw}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


def cmd_show(args):
    """Prints the tables of a results JSON written by `report`."""
    with open(args.file) as f:
        result = json.load(f)
    summary = result["summary"]
    modes = [m for m in ("l7", "l4") if m in summary]
    proxies = [p for p in PROXY_ORDER if any(p in summary[m] for m in modes)]
    result["meta"].setdefault("cpu_busy_before_pct", 0)
    print_tables(summary, modes, proxies, result["meta"])
    print_targets(result["targets"], "lmesh" in proxies)


# ---------------------------------------------------------------- tlshandshakes

def cmd_tlshandshakes(args):
    """Full TLS 1.3 handshakes (no resumption) with a client certificate, one after another,
    for `seconds`: the server's cost per handshake is its CPU time over the count."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(args.cafile)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.check_hostname = True
    ctx.set_alpn_protocols([args.alpn])
    host, port = args.target.rsplit(":", 1)
    done = failed = 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, int(port)), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname=args.sni) as tls:
                    tls.do_handshake()
                    done += 1
        except (OSError, ssl.SSLError):
            failed += 1
    print(json.dumps({"handshakes": done, "failed": failed, "seconds": args.seconds}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("freeports")
    p.add_argument("n", type=int)
    p.set_defaults(fn=cmd_freeports)
    p = sub.add_parser("findbin")
    p.add_argument("root")
    p.add_argument("rel")
    p.set_defaults(fn=cmd_findbin)
    p = sub.add_parser("checkbin")
    p.add_argument("path")
    p.set_defaults(fn=cmd_checkbin)
    p = sub.add_parser("idleconns")
    p.add_argument("--target", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--pids", type=int, nargs="+", required=True)
    p.add_argument("--settle", type=float, default=0.5)
    p.add_argument("--timeout", type=float, default=20.0)
    p.set_defaults(fn=cmd_idleconns)
    p = sub.add_parser("tlshandshakes")
    p.add_argument("--target", required=True)
    p.add_argument("--sni", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--alpn", default="h2")
    p.add_argument("--seconds", type=float, default=5.0)
    p.set_defaults(fn=cmd_tlshandshakes)
    p = sub.add_parser("show")
    p.add_argument("file")
    p.set_defaults(fn=cmd_show)
    p = sub.add_parser("report")
    p.add_argument("--raw", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--elapsed", type=int, default=0)
    p.add_argument("--lmesh", default="")
    p.add_argument("--lmesh-sha256", default="")
    for name in ("quick", "reps", "rate", "idle-conns", "realtime", "proxy-cpu", "load-cpu",
                 "busy-before"):
        p.add_argument("--" + name, type=int, default=0)
    for name in ("wrk-seconds", "latency-seconds"):
        p.add_argument("--" + name, type=float, default=0)
    p.set_defaults(fn=cmd_report)
    args = ap.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `benchtool.py show … | head` ends quietly
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
