#!/usr/bin/env bash
# bench/up.sh: what a whole mesh run by `lmesh up` (netns mode) costs, for the issue "the whole
# control plane should fit in less memory than one Envoy sidecar, ~40 MB":
#   demo        demo/mesh.yaml as shipped (6 pods, traffic at 5 req/s): time to all-ready
#   demo-idle   the same with TRAFFIC_RPS "0": time, then memory at rest (after --settle s)
#   demo-load   the same with TRAFFIC_RPS --load-rps: memory after --load-s s of traffic
#   many        --pods single-replica workloads, each a tiny HTTP server behind its own
#               service: time to all-ready, then memory at rest
# Time: from starting `lmesh up` to its "N of N pods ready" line. Memory: RSS and PSS
# (/proc/PID/smaps_rollup) of every lmesh process listed in <state>/state.json: the three
# controllers (their sum is "the control plane"), lmesh up itself, each proxy; the apps are
# shown for scale. Repetitions are interleaved (rep 1 runs every scenario, then rep 2, ...).
# Needs root. Ports 8080/8086/8088 and the bridge lmesh0 are fixed: one mesh at a time.
#
#   bench/up.sh [--quick] [--reps N] [--pods N] [--load-rps R] [--load-s S] [--settle S]
#               [--only demo,demo-idle,demo-load,many] [--lmesh PATH] [--json OUT] [--keep]
{
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
TOOL="$ROOT/bench/tools/benchtool.py"
REPS=3 PODS=50 LOAD_RPS=50 LOAD_S=20 SETTLE_S=5 READY_TIMEOUT=120 KEEP=0 LMESH=""
ONLY="demo,demo-idle,demo-load,many" JSON_OUT="$ROOT/bench/results/up-latest.json"
ARGS="$*"
while (($#)); do
  case $1 in
    --quick) REPS=1 LOAD_S=5 SETTLE_S=2 ;;
    --reps) REPS=$2; shift ;;
    --pods) PODS=$2; shift ;;
    --load-rps) LOAD_RPS=$2; shift ;;
    --load-s) LOAD_S=$2; shift ;;
    --settle) SETTLE_S=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --lmesh) LMESH=$2; shift ;;
    --json) JSON_OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for v in "$REPS" "$PODS" "$LOAD_RPS" "$LOAD_S" "$SETTLE_S"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "up.sh: option values must be integers (got '$v')" >&2; exit 2; }
done
((REPS >= 1 && REPS <= 20 && PODS >= 1 && PODS <= 200 && LOAD_S <= 600 && SETTLE_S <= 120)) ||
  { echo "up.sh: --reps 1..20, --pods 1..200, --load-s ≤ 600, --settle ≤ 120" >&2; exit 2; }
if ((EUID != 0)); then
  echo "up.sh: needs root: lmesh up's netns mode makes network namespaces, veths, a bridge and iptables rules (run it with sudo)" >&2
  exit 1
fi

NAME=bench-up
source "$ROOT/bench/lib.sh"
chmod 755 "$WORK"  # the proxies run as uid 2102 and must reach their token files under it

for tool in ip iptables iptables-restore setpriv curl; do
  command -v "$tool" >/dev/null || die "$tool is missing (iproute2, iptables, util-linux, curl)"
done
if [[ -z $LMESH ]]; then
  LMESH=$("$PY" "$TOOL" findbin "$ROOT" src/cli/lmesh) ||
    die "no optimized build of lmesh (meson setup build -Dbuildtype=release && ninja -C build)"
fi
[[ -x $LMESH ]] || die "no lmesh binary at '$LMESH'"
"$PY" "$TOOL" checkbin "$LMESH" || warn "$LMESH links a sanitizer: memory figures are meaningless"
# lmesh up takes its controllers and proxy from beside itself unless these say otherwise.
for v in LMESH_PROXY LMESH_IDENTITY LMESH_DESTINATION LMESH_TAP LMESH_STATE_DIR; do unset "$v"; done

# ---------------------------------------------------------------- mesh files
DEMO="$ROOT/demo/mesh.yaml"
[[ -r $DEMO ]] || die "no $DEMO"
with_rps() {  # with_rps RPS OUT: the demo mesh with the traffic workload's TRAFFIC_RPS set
  sed -E "s/TRAFFIC_RPS: *\"[0-9.]*\"/TRAFFIC_RPS: \"$1\"/" "$DEMO" >"$2"
  grep -q "TRAFFIC_RPS: \"$1\"" "$2" || die "could not set TRAFFIC_RPS in a copy of $DEMO"
}
with_rps 0 "$WORK/demo-idle.yaml"
with_rps "$LOAD_RPS" "$WORK/demo-load.yaml"

# The many-workload mesh's app: busybox httpd where busybox is installed, else a minimal
# accept/answer/close loop on Debian's python3 without site-packages (-S).
if command -v busybox >/dev/null && busybox --list 2>/dev/null | grep -qx httpd; then
  APP_KIND=busybox-httpd
  mkdir -p "$WORK/www" && echo ok >"$WORK/www/index.html"
  APP_CMD="[$(command -v busybox), httpd, -f, -p, \"8080\", -h, $WORK/www]"
else
  APP_KIND="python3 -S socket loop"
  cat >"$WORK/tinyhttp.py" <<'EOF'
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((os.environ.get("LMESH_LISTEN_HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080"))))
s.listen(64)
reply = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2)
        c.recv(65536)
        c.sendall(reply)
    except OSError:
        pass
    finally:
        c.close()
EOF
  chmod 644 "$WORK/tinyhttp.py"
  APP_CMD="[$PY, -S, -B, $WORK/tinyhttp.py]"
fi
{
  echo "# bench/up.sh: $PODS single-replica workloads ($APP_KIND), each behind its own service"
  echo "workloads:"
  for i in $(seq -w 1 "$PODS"); do
    printf '  - name: tiny-%s\n    command: %s\n    env: {PORT: "8080"}\n' "$i" "$APP_CMD"
    printf '    ports:\n      - {port: 8080, protocol: http1}\n'
  done
} >"$WORK/many.yaml"

# ---------------------------------------------------------------- one mesh at a time
UP_PID="" STATE=""
busy() {  # what keeps another mesh from starting now ("" = nothing)
  if ip link show lmesh0 >/dev/null 2>&1; then echo "bridge lmesh0"; return; fi
  local p
  for p in 8080 8086 8088; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p"; return; fi
  done
}
wait_clear() {  # up to 60 s for another mesh (another session's, or our last) to be gone
  local what i
  for i in $(seq 600); do
    what=$(busy)
    if [[ -z $what ]]; then
      ((i == 1)) || log "  ... free after $((i / 10)) s"
      return 0
    fi
    ((i == 1)) && log "  waiting for $what to be released (another mesh?), at most 60 s"
    sleep 0.1
  done
  die "$what is still in use after 60 s: another mesh is running (lmesh down --state-dir ...)"
}
mesh_down() {  # stops our mesh, if one is up; bounded: lmesh down's own 60 s, then 10 s
  [[ -n $STATE ]] || return 0
  "$LMESH" down --state-dir "$STATE" --timeout 60s >>"$WORK/down.log" 2>&1 ||
    warn "lmesh down failed (see $WORK/down.log)"
  if [[ -n $UP_PID ]]; then
    for _ in $(seq 100); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$UP_PID" 2>/dev/null; then
      warn "lmesh up (pid $UP_PID) still running: killing it and cleaning up from state.json"
      kill -9 "$UP_PID" 2>/dev/null || true
      sleep 0.3
      "$LMESH" down --state-dir "$STATE" --timeout 10s >>"$WORK/down.log" 2>&1 || true
    fi
    wait "$UP_PID" 2>/dev/null || true
  fi
  UP_PID="" STATE=""
}
SLEEP_PID=""
pause() {  # sleep that a signal interrupts at once (the trap runs, then the mesh goes down)
  sleep "$1" &
  SLEEP_PID=$!
  wait "$SLEEP_PID" || true
  SLEEP_PID=""
}
finish() {
  local rc=$?
  if [[ -n $SLEEP_PID ]]; then kill "$SLEEP_PID" 2>/dev/null || true; fi
  mesh_down
  ((rc == 0)) || KEEP=1  # keep the logs of a failed run
  cleanup
}
trap finish EXIT

# stamp: each line of lmesh up's stdout with the wall-clock time it arrived
stamp() { while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

# run_up MESHFILE DIR: starts lmesh up and waits for its summary line (at most the ready
# timeout + 30 s); sets UP_PID and STATE. Returns 1 if no summary came.
run_up() {
  wait_clear
  mkdir -p "$2"
  chmod 755 "$2"
  STATE="$2/state"
  echo "$EPOCHREALTIME $(cut -d' ' -f1 /proc/loadavg)" >"$2/t0"
  "$LMESH" up "$1" --state-dir "$STATE" --demo-dir "$ROOT/demo" --ready-timeout "${READY_TIMEOUT}s" \
    --log-level debug > >(stamp >"$2/up.out") 2>"$2/up.err" &
  UP_PID=$!
  for _ in $(seq $(((READY_TIMEOUT + 30) * 10))); do
    grep -q 'pods ready in' "$2/up.out" 2>/dev/null && return 0
    kill -0 "$UP_PID" 2>/dev/null || break
    sleep 0.1
  done
  warn "no summary line from lmesh up; its stderr ends:"
  tail -5 "$2/up.err" >&2 || true
  return 1
}

inbound_requests() {  # inbound_requests ADMIN: requests a proxy has taken in (0 if unreachable)
  curl -s -m 2 "http://$1/metrics" 2>/dev/null |
    awk '/^request_total\{direction="inbound"/ { n += $NF } END { printf "%d\n", n }'
}

# snapshot PHASE REP DIR [LOAD_JSON]: one JSON line to raw.jsonl: readiness, a timeline of the
# start-up from the logs, and the memory of every process state.json lists.
snapshot() {
  "$PY" - "$1" "$2" "$3" "$4" "$(getconf CLK_TCK)" >>"$RAW" <<'EOF'
import datetime, glob, json, os, re, sys, time
phase, rep, run, load, tck = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5])
state_dir = os.path.join(run, "state")
t0, load1 = (float(x) for x in open(os.path.join(run, "t0")).read().split())
out = [l.rstrip("\n").split(" ", 1) for l in open(os.path.join(run, "up.out"))]
rec = {"phase": phase, "rep": rep, "loadavg_1m": load1}
for stamp, text in out:
    m = re.search(r"(\d+) of (\d+) pods ready in ([\d.]+) s", text)
    if m:
        rec.update(ready=int(m.group(1)), pods=int(m.group(2)), lmesh_ready_s=float(m.group(3)),
                   ready_s=float(stamp) - t0)
    m = re.search(r"control plane ready in ([\d.]+) s", text)
    if m:
        rec["controllers_ready_s"] = float(m.group(1))

def wall(ts):  # spdlog's 2026-12-06T23:41:00.189838Z
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()

def first(path, needle):
    try:
        for line in open(path, errors="replace"):
            if needle in line:
                return wall(line.split(" ", 1)[0]) - t0
    except (OSError, ValueError):
        pass
    return None

err = open(os.path.join(run, "up.err"), errors="replace").read().splitlines()
ns_add = [wall(l.split(" ", 1)[0]) - t0 for l in err if "running `ip netns add" in l]
ns_up = [wall(l.split(" ", 1)[0]) - t0 for l in err if "network namespace" in l and "is up" in l]

state = json.load(open(os.path.join(state_dir, "state.json")))
uptime = float(open("/proc/uptime").read().split()[0])
now = time.time()

def proc(pid, start_time):
    """Memory and start of PID, if it is still the process state.json recorded."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
        f = stat[stat.rindex(")") + 2:].split()
        if start_time and int(f[19]) != start_time:
            return None
        r = {"pid": pid, "comm": stat[stat.index("(") + 1:stat.rindex(")")],
             "exe": os.readlink(f"/proc/{pid}/exe"),
             "start_s": now - (uptime - int(f[19]) / tck) - t0,
             "cpu_s": (int(f[11]) + int(f[12])) / tck,
             "children_cpu_s": (int(f[13]) + int(f[14])) / tck,
             "threads": int(f[17])}
        for line in open(f"/proc/{pid}/smaps_rollup"):
            k, _, v = line.partition(":")
            if k in ("Rss", "Pss", "Pss_Anon", "Private_Clean", "Private_Dirty", "Anonymous"):
                r[k.lower()] = int(v.split()[0])
        r["uss"] = r.pop("private_clean", 0) + r.pop("private_dirty", 0)
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                r["hwm"] = int(line.split()[1])
        return r
    except (OSError, ValueError, IndexError):
        return None

procs = []
up = proc(state["up_pid"], state.get("up_start_time"))
if up:
    procs.append(dict(up, role="up", pod=""))
for name, c in state["controllers"].items():
    p = proc(c["pid"], c.get("start_time"))
    if p:
        procs.append(dict(p, role=name, pod=""))
certs = []
for pod in state["pods"]:
    for role in ("proxy", "app"):
        p = proc(pod[role]["pid"], pod[role].get("start_time"))
        if p:
            procs.append(dict(p, role=role, pod=pod["name"]))
    certs.append(first(os.path.join(state_dir, "logs", f"{pod['name']}.{pod['namespace']}.proxy.log"),
                       "certificate issued"))

def last(role):
    v = [p["start_s"] for p in procs if p["role"] == role]
    return max(v) if v else None

rec["timeline_s"] = {
    "controllers_ready": rec.get("controllers_ready_s"),
    "first_netns": min(ns_add) if ns_add else None,
    "last_netns_up": max(ns_up) if ns_up else None,
    "last_proxy_start": last("proxy"),
    "last_proxy_cert": max(c for c in certs if c is not None) if any(c is not None for c in certs) else None,
    "missing_certs": sum(c is None for c in certs),
    "last_app_start": last("app"),
    "ready": rec.get("ready_s"),
}
rec["procs"] = procs
rec["load"] = load
print(json.dumps(rec))
EOF
}

# ---------------------------------------------------------------- scenarios
errs_at() {  # error lines the demo's traffic workload has logged so far
  local n
  n=$(grep -c 'error' "$STATE/logs/traffic-0.default.app.log" 2>/dev/null || true)
  echo "${n:-0}"
}
scenario() {  # scenario PHASE REP
  local phase=$1 rep=$2 dir="$WORK/$1-$2" file load="{}"
  case $phase in
    demo) file=$DEMO ;;
    demo-idle) file=$WORK/demo-idle.yaml ;;
    demo-load) file=$WORK/demo-load.yaml ;;
    many) file=$WORK/many.yaml ;;
    *) die "unknown scenario $phase" ;;
  esac
  log "rep $rep: $phase ($(grep -c '^  - name:' "$file") workloads)"
  if ! run_up "$file" "$dir"; then
    warn "$phase rep $rep: lmesh up gave no summary; skipped"
    mesh_down
    return 0
  fi
  log "  $(sed -n 's/^[0-9.]* \(lmesh up: [0-9]* of [0-9]* pods ready in [0-9.]* s\).*/\1/p' "$dir/up.out")"
  case $phase in
    demo-idle | many) pause "$SETTLE_S" ;;
    demo-load)
      local admin before after t1 t2 errs
      admin=$("$PY" -c 'import json,sys; print(next((p["admin"] for p in json.load(open(sys.argv[1]))["pods"] if p["name"] == "web-0"), ""))' "$STATE/state.json")
      before=$(inbound_requests "$admin") t1=$EPOCHREALTIME errs=$(errs_at)
      pause "$LOAD_S"
      after=$(inbound_requests "$admin") t2=$EPOCHREALTIME errs=$(($(errs_at) - errs))
      load=$(printf '{"target_rps": %s, "web_inbound_requests": %s, "window_s": %s, "traffic_error_lines_in_window": %s}' \
        "$LOAD_RPS" "$((after - before))" "$("$PY" -c "print(round($t2 - $t1, 3))")" "${errs:-0}")
      log "  web-0 took $((after - before)) requests in ${LOAD_S} s (target $LOAD_RPS/s); traffic error lines meanwhile: ${errs:-0}"
      ;;
  esac
  snapshot "$phase" "$rep" "$dir" "$load"
  mesh_down
}

IFS=, read -r -a PHASES <<<"$ONLY"
for p in "${PHASES[@]}"; do
  case $p in demo | demo-idle | demo-load | many) ;; *) die "--only: unknown scenario '$p'" ;; esac
done
log "lmesh: $LMESH; scenarios: ${PHASES[*]}; reps $REPS; $PODS tiny workloads ($APP_KIND); load $LOAD_RPS req/s for $LOAD_S s; settle $SETTLE_S s; $NCPU cpus"
for rep in $(seq "$REPS"); do
  for p in "${PHASES[@]}"; do scenario "$p" "$rep"; done
done

# ---------------------------------------------------------------- report
mkdir -p "$(dirname "$JSON_OUT")"
"$PY" - "$RAW" "$JSON_OUT" "$LMESH" "$ARGS" "$APP_KIND" "$PODS" <<'EOF'
import json, statistics, sys
raw, out, binary, args, app_kind, npods = sys.argv[1:]
rows = [json.loads(l) for l in open(raw)]
TARGET_MB = 40
TARGET_KIB = TARGET_MB * 1e6 / 1024
MiB = lambda kib: kib / 1024
med = lambda v: statistics.median(v) if v else None
fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
phases = list(dict.fromkeys(r["phase"] for r in rows))
names = {"demo": "demo (5 req/s)", "demo-idle": "demo, idle", "demo-load": "demo under load",
         "many": f"{npods} tiny workloads"}
summary = {}

print("\nTime from starting `lmesh up` to its summary line (s)")
print(f"{'mesh':<22}{'pods':>6}{'ready':>7}{'runs':>6}{'median':>8}{'min':>7}{'max':>7}{'lmesh':>7}{'ctl>2s':>8}{'load1':>7}")
for ph in phases:
    rs = [r for r in rows if r["phase"] == ph and "ready_s" in r]
    if not rs:
        continue
    t = [r["ready_s"] for r in rs]
    s = summary.setdefault(ph, {})
    s["ready_s"] = {"median": med(t), "min": min(t), "max": max(t), "runs": len(t),
                    "lmesh_reported_median": med([r["lmesh_ready_s"] for r in rs]),
                    "all_ready_runs": sum(r["ready"] == r["pods"] for r in rs),
                    "slow_controller_runs": sum((r.get("controllers_ready_s") or 0) > 2 for r in rs)}
    print(f"{names.get(ph, ph):<22}{rs[0]['pods']:>6}{min(r['ready'] for r in rs):>7}{len(rs):>6}"
          f"{med(t):>8.2f}{min(t):>7.2f}{max(t):>7.2f}{s['ready_s']['lmesh_reported_median']:>7.1f}"
          f"{s['ready_s']['slow_controller_runs']:>8}"
          f"{med([r['loadavg_1m'] for r in rs]):>7.1f}")
print("ready: fewest pods ready at the summary; lmesh: the time lmesh up printed (from its own start);\n"
      "ctl>2s: runs whose control plane took over 2 s to be ready (see the timeline); load1: the"
      " machine's 1-minute\nload average at the start")

keys = ["controllers_ready", "first_netns", "last_netns_up", "last_proxy_start", "last_proxy_cert",
        "last_app_start", "ready"]
print("\nWhere the start-up goes: seconds after `lmesh up` started, median over runs")
print(f"{'mesh':<22}" + "".join(f"{k.replace('last_', '').replace('_', ' '):>15}" for k in keys))
for ph in phases:
    rs = [r for r in rows if r["phase"] == ph and "ready_s" in r]
    if not rs:
        continue
    tl = {k: med([r["timeline_s"][k] for r in rs if r["timeline_s"].get(k) is not None]) for k in keys}
    summary[ph]["timeline_s"] = tl
    print(f"{names.get(ph, ph):<22}" + "".join(f"{fmt(tl[k], 2):>15}" for k in keys))
print("controllers ready: lmesh up's own figure; netns: `ip netns add` of the first pod, the last pod's"
      " network done;\nproxy start / app start: the last one's exec (/proc start time); proxy cert: the"
      " last proxy's \"certificate issued\" log line")

print(f"\nMemory (MiB) after the start-up settled; sums and medians over runs; reference: the issue's "
      f"{TARGET_MB} MB (= {MiB(TARGET_KIB):.1f} MiB), an Envoy sidecar")
print(f"{'mesh':<22}{'ctl RSS':>9}{'ctl PSS':>9}{'ctl USS':>9}{'vs 40MB':>9}{'ident':>7}{'dest':>7}{'tap':>7}"
      f"{'up':>7}{'proxy RSS med/max':>19}{'proxy PSS med/max':>19}{'proxy USS':>10}{'app RSS':>9}")
for ph in phases:
    rs = [r for r in rows if r["phase"] == ph and r.get("procs") and ph != "demo"]
    if not rs:
        continue
    def per_run(role, key):
        return [sum(p.get(key, 0) for p in r["procs"] if p["role"] in role) for r in rs]
    ctl = ("identity", "destination", "tap")
    m = {"control_plane_rss_kib": med(per_run(ctl, "rss")), "control_plane_pss_kib": med(per_run(ctl, "pss")),
         "control_plane_uss_kib": med(per_run(ctl, "uss"))}
    for c in ctl + ("up",):
        m[f"{c}_rss_kib"] = med(per_run((c,), "rss"))
        m[f"{c}_pss_kib"] = med(per_run((c,), "pss"))
        m[f"{c}_hwm_kib"] = med(per_run((c,), "hwm"))
    px = [p for r in rs for p in r["procs"] if p["role"] == "proxy"]
    apps = [p for r in rs for p in r["procs"] if p["role"] == "app"]
    for k in ("rss", "pss", "uss", "hwm"):
        v = [p[k] for p in px if k in p]
        m[f"proxy_{k}_kib"] = {"median": med(v), "max": max(v) if v else None, "n": len(v)}
    m["proxies_total_rss_kib"] = med([sum(p["rss"] for p in r["procs"] if p["role"] == "proxy") for r in rs])
    m["proxies_total_pss_kib"] = med([sum(p["pss"] for p in r["procs"] if p["role"] == "proxy") for r in rs])
    m["app_rss_kib_median"] = med([p["rss"] for p in apps])
    m["control_plane_vs_target"] = m["control_plane_rss_kib"] / TARGET_KIB
    summary[ph]["memory"] = m
    pr, pp = m["proxy_rss_kib"], m["proxy_pss_kib"]
    print(f"{names.get(ph, ph):<22}{MiB(m['control_plane_rss_kib']):>9.1f}{MiB(m['control_plane_pss_kib']):>9.1f}"
          f"{MiB(m['control_plane_uss_kib']):>9.1f}{m['control_plane_vs_target']:>8.2f}x"
          f"{MiB(m['identity_rss_kib']):>7.1f}{MiB(m['destination_rss_kib']):>7.1f}{MiB(m['tap_rss_kib']):>7.1f}"
          f"{MiB(m['up_rss_kib']):>7.1f}{MiB(pr['median']):>10.1f} / {MiB(pr['max']):<6.1f}"
          f"{MiB(pp['median']):>10.1f} / {MiB(pp['max']):<6.1f}{MiB(m['proxy_uss_kib']['median']):>10.1f}"
          f"{MiB(m['app_rss_kib_median'] or 0):>9.1f}")
print("ctl: lmesh-identity + lmesh-destination + lmesh-tap (RSS counts their shared libraries once per"
      " process, PSS splits\nthem among every process mapping them, USS is their private memory); vs 40MB:"
      " control-plane RSS / 40 MB;\nident/dest/tap/up: RSS each (up = the lmesh up supervisor, not in ctl);"
      " proxies pooled over runs\n(USS: median); app RSS: median of the workloads' own processes, for scale.\nNo Envoy or Linkerd is installed on this machine: the 40 MB target is the"
      " only reference, not a measured peer.")
for ph in phases:
    for r in rows:
        if r["phase"] == ph and r.get("load"):
            l = r["load"]
            print(f"{names.get(ph, ph)} rep {r['rep']}: web-0's proxy took {l['web_inbound_requests']} requests"
                  f" in {l['window_s']:.1f} s = {l['web_inbound_requests'] / l['window_s']:.1f}/s"
                  f" (target {l['target_rps']}/s); traffic error lines meanwhile: {l['traffic_error_lines_in_window']}")
exes = sorted({p["exe"] for r in rows for p in r.get("procs", []) if p["role"] != "app"})
for r in rows:  # the paths once, above, rather than in every process's record
    for p in r.get("procs", []):
        p.pop("exe", None)
json.dump({"command": "bench/up.sh " + args, "binary": binary, "executables": exes,
           "many_app": app_kind, "runs": rows, "summary": summary}, open(out, "w"), indent=1)
print(f"results: {out}")
EOF
exit 0
}
