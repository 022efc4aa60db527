#!/usr/bin/env bash
# bench/h2.sh: HTTP/2 (h2c) through lmesh-proxy, HAProxy and nginx, one hop and two hops (the
# mesh path), in the same run, with h2load. Method as bench/run.sh: pinned cores, real-time
# priority where allowed, interleaved repetitions, medians, peers measured fresh each time.
# What is measured and how to read it: bench/README.md, "HTTP/2".
#
#   bench/h2.sh [--quick] [--reps N] [--duration S] [--proxy PATH] [--json OUT] [--keep]
{
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
TOOL="$ROOT/bench/tools/benchtool.py"
REPS=3 LOAD_S=10 LAT_S=10 QUICK=0 LMESH="" JSON_OUT="$ROOT/bench/results/h2-latest.json" KEEP=0
RATE=2000   # fixed request rate of the latency run (all clients together)
while (($#)); do
  case $1 in
    --quick) QUICK=1 LOAD_S=2 LAT_S=2 ;;
    --reps) REPS=$2; shift ;;
    --duration) LOAD_S=$2 LAT_S=$2; shift ;;
    --proxy) LMESH=$2; shift ;;
    --json) JSON_OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "h2.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

NAME=bench-h2
source "$ROOT/bench/lib.sh"

for tool in h2load haproxy nginx taskset chrt; do
  command -v "$tool" >/dev/null || die "$tool is missing: run bench/setup.sh"
done
[[ -n $LMESH ]] || LMESH=$("$PY" "$TOOL" findbin "$ROOT" src/proxy/lmesh-proxy) ||
  die "no optimized lmesh-proxy build found (meson setup build && ninja -C build)"

hwm_kib() {
  local sum=0 pid
  for pid in $(tree "$1"); do
    sum=$((sum + $(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
emit() { printf '%s\n' "$1" >>"$RAW"; }

read -r UP2 UP1 P1 P2 _ <<<"$("$PY" "$TOOL" freeports 4)"
BODY=$(printf 'x%.0s' $(seq 99))

# ---------------------------------------------------------------- configs
# The upstream: one nginx worker answering a fixed 100-byte body over h2c (UP2) and HTTP/1.1
# (UP1, for nginx as the proxy: its proxy_pass speaks only HTTP/1.x to upstreams).
mkdir -p "$WORK/up"
cat >"$WORK/up/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/up/nginx.pid;
error_log $WORK/up/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  http2_max_requests 100000000;
  http2_max_concurrent_streams 1000;
  server {
    listen 127.0.0.1:$UP2 http2 backlog=4096;
    listen 127.0.0.1:$UP1 backlog=4096;
    location / { default_type text/plain; return 200 "$BODY\n"; }
  }
}
EOF

haproxy_conf() {  # haproxy_conf FILE LISTEN_PORT SERVER_PORT
  { haproxy_head; cat; } >"$1" <<EOF
frontend fe
  bind 127.0.0.1:$2 proto h2
  default_backend be
backend be
  http-reuse always
  server up 127.0.0.1:$3 proto h2
EOF
}

nginx_conf() {  # nginx_conf DIR
  mkdir -p "$1"
  cat >"$1/nginx.conf" <<EOF
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  http2_max_requests 100000000;
  http2_max_concurrent_streams 1000;
  upstream backend { server 127.0.0.1:$UP1; keepalive 256; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$P1 http2 backlog=4096;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
}

lmesh() {  # lmesh LISTEN TARGET [inbound]: one worker
  if [[ ${3:-} == inbound ]]; then
    start "$PROXY_CPU" "$LMESH" --workers 1 --inbound-listen "127.0.0.1:$1" --inbound-forward \
      "127.0.0.1:$2" --outbound-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --log-level warn
  else
    start "$PROXY_CPU" "$LMESH" --workers 1 --outbound-listen "127.0.0.1:$1" --outbound-target \
      "127.0.0.1:$2" --inbound-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --log-level warn
  fi
}

# start_config NAME: sets PIDS (the proxies) and PORT (where the load goes)
start_config() {
  PIDS=() PORT=$P1
  case $1 in
    direct) PORT=$UP2 ;;
    lmesh) lmesh "$P1" "$UP2"; PIDS=("$PID") ;;
    haproxy) haproxy_conf "$WORK/h1.cfg" "$P1" "$UP2"; start "$PROXY_CPU" haproxy -f "$WORK/h1.cfg" -db; PIDS=("$PID") ;;
    nginx) nginx_conf "$WORK/ng"; start "$PROXY_CPU" nginx -c "$WORK/ng/nginx.conf" -p "$WORK/ng" -g 'daemon off;'; PIDS=("$PID") ;;
    lmesh-2hop)
      lmesh "$P2" "$UP2" inbound; PIDS=("$PID"); wait_port "$P2" || return 1
      lmesh "$P1" "$P2"; PIDS+=("$PID") ;;
    haproxy-2hop)
      haproxy_conf "$WORK/h2a.cfg" "$P2" "$UP2"; start "$PROXY_CPU" haproxy -f "$WORK/h2a.cfg" -db; PIDS=("$PID")
      haproxy_conf "$WORK/h2b.cfg" "$P1" "$P2"; start "$PROXY_CPU" haproxy -f "$WORK/h2b.cfg" -db; PIDS+=("$PID") ;;
  esac
  wait_port "$PORT"
}

# ---------------------------------------------------------------- measurements
CLK_TCK=$(getconf CLK_TCK)

run_h2load() {  # run_h2load OUT ARGS...: on the load core
  local out=$1; shift
  "${RT[@]}" taskset -c "$LOAD_CPU" h2load "$@" >"$out.txt" 2>&1 || true
}

measure() {  # measure REP CONFIG
  local rep=$1 cfg=$2 before=0 after=0 pid hwm=0
  log "rep $rep: $cfg"
  start_config "$cfg" || { warn "$cfg did not start"; return 0; }
  sleep 0.2
  # Latency at a fixed rate: 16 clients, one stream each, RATE req/s in all; per-request
  # times from h2load's log (microseconds from send to the end of the response).
  local lat="$WORK/lat-$cfg-$rep"
  run_h2load "$lat" -c 16 -m 1 -t 1 --rps $((RATE / 16)) -D "$LAT_S" --warm-up-time 1 \
    --log-file "$lat.log" "http://127.0.0.1:$PORT/"
  # CPU per request at saturation, and memory, with 100 connections x 100 streams.
  for pid in "${PIDS[@]}"; do before=$((before + $(cpu_ticks "$pid"))); done
  local load="$WORK/load-$cfg-$rep"
  local t0 t1
  t0=$(date +%s%N)
  run_h2load "$load" -c 100 -m 100 -t 1 -D "$LOAD_S" --warm-up-time 1 "http://127.0.0.1:$PORT/"
  t1=$(date +%s%N)
  for pid in "${PIDS[@]}"; do
    after=$((after + $(cpu_ticks "$pid")))
    hwm=$((hwm + $(hwm_kib "$pid")))
  done
  emit "$("$PY" - "$rep" "$cfg" "$lat" "$load" "$((after - before))" "$CLK_TCK" "$hwm" "$((t1 - t0))" <<'EOF'
import json, re, sys
rep, cfg, lat, load, ticks, tck, hwm, wall_ns = sys.argv[1:]
times = []
try:
    for line in open(lat + ".log"):
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "200":
            times.append(int(parts[2]))
except FileNotFoundError:
    pass
times.sort()
pct = lambda p: times[min(len(times) - 1, int(p * len(times)))] if times else None
text = open(load + ".txt").read()
m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed", text)
done, ok, failed = (int(m.group(3)), int(m.group(4)), int(m.group(5))) if m else (0, 0, 0)
rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
print(json.dumps({"rep": int(rep), "config": cfg, "lat_count": len(times), "p50_us": pct(0.5),
                  "p99_us": pct(0.99), "requests": ok, "failed": failed,
                  "req_per_s": float(rps.group(1)) if rps else 0.0,
                  "cpu_s": int(ticks) / int(tck), "hwm_kib": int(hwm),
                  "wall_s": int(wall_ns) / 1e9}))
EOF
)"
  for pid in "${PIDS[@]}"; do stop "$pid"; done
}

start "$LOAD_CPU" nginx -c "$WORK/up/nginx.conf" -p "$WORK/up" -g 'daemon off;'
UPSTREAM=$PID
wait_port "$UP2" || die "the upstream did not start"
CONFIGS=(direct lmesh haproxy nginx lmesh-2hop haproxy-2hop)
log "configs: ${CONFIGS[*]}; reps $REPS; load ${LOAD_S}s (100 conns x 100 streams), latency ${LAT_S}s at $RATE req/s; cpu: proxy $PROXY_CPU, load+upstream $LOAD_CPU"
for rep in $(seq "$REPS"); do
  for cfg in "${CONFIGS[@]}"; do measure "$rep" "$cfg"; done
done
kill -0 "$UPSTREAM" 2>/dev/null || warn "the upstream exited during the run"

mkdir -p "$(dirname "$JSON_OUT")"
"$PY" - "$RAW" "$JSON_OUT" "$QUICK" "$REPS" "$LOAD_S" "$LAT_S" "$RATE" <<'EOF'
import json, statistics, sys
raw, out, quick, reps, load_s, lat_s, rate = sys.argv[1:]
rows = [json.loads(l) for l in open(raw)]
by = {}
for r in rows:
    by.setdefault(r["config"], []).append(r)

def med(cfg, key):
    vals = [r[key] for r in by.get(cfg, []) if r.get(key) is not None]
    return statistics.median(vals) if vals else None

def cpu100k(cfg):
    vals = [r["cpu_s"] / r["requests"] * 1e5 for r in by.get(cfg, []) if r["requests"]]
    return statistics.median(vals) if vals else None

def added(cfg, key):
    d = {r["rep"]: r[key] for r in by.get("direct", []) if r.get(key) is not None}
    vals = [r[key] - d[r["rep"]] for r in by.get(cfg, []) if r.get(key) is not None and r["rep"] in d]
    return statistics.median(vals) if vals else None

summary = {}
for cfg in by:
    summary[cfg] = {"cpu_s_per_100k": cpu100k(cfg), "req_per_s": med(cfg, "req_per_s"),
                    "hwm_kib": med(cfg, "hwm_kib"), "p50_us": med(cfg, "p50_us"),
                    "p99_us": med(cfg, "p99_us"), "added_p50_us": added(cfg, "p50_us"),
                    "added_p99_us": added(cfg, "p99_us"),
                    "failed": sum(r["failed"] for r in by[cfg])}

def fmt(v, f="{:.2f}"):
    return "-" if v is None else f.format(v)

def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}x"

print("\nHTTP/2, medians of %s reps (%s)" % (reps, "quick" if quick == "1" else "full"))
print(f"{'config':14} {'CPU-s/100k':>10} {'req/s':>9} {'HWM MiB':>8} {'+p50 us':>8} {'+p99 us':>8} {'failed':>6}")
for cfg in ["direct", "lmesh", "haproxy", "nginx", "lmesh-2hop", "haproxy-2hop"]:
    s = summary.get(cfg)
    if not s:
        continue
    print(f"{cfg:14} {fmt(s['cpu_s_per_100k']):>10} {fmt(s['req_per_s'], '{:.0f}'):>9} "
          f"{fmt(s['hwm_kib'] and s['hwm_kib'] / 1024, '{:.1f}'):>8} "
          f"{fmt(s['added_p50_us'], '{:.0f}'):>8} {fmt(s['added_p99_us'], '{:.0f}'):>8} {s['failed']:>6}")
g = lambda c, k: (summary.get(c) or {}).get(k)
peers1 = [v for v in (g("haproxy", "cpu_s_per_100k"), g("nginx", "cpu_s_per_100k")) if v]
best1 = min(peers1) if peers1 else None
print("\nratios (lmesh / better peer):")
print("  CPU per request, one hop:  ", ratio(g("lmesh", "cpu_s_per_100k"), best1), " target <= 0.80x")
print("  CPU per request, two hops: ", ratio(g("lmesh-2hop", "cpu_s_per_100k"), g("haproxy-2hop", "cpu_s_per_100k")), " target <= 0.80x")
p99s = [v for v in (g("haproxy", "added_p99_us"), g("nginx", "added_p99_us")) if v is not None]
print("  added p99, one hop:        ", fmt(g("lmesh", "added_p99_us"), "{:.0f}"), "us vs", fmt(min(p99s) if p99s else None, "{:.0f}"), "us (better peer)")
print("  added p99, two hops:       ", fmt(g("lmesh-2hop", "added_p99_us"), "{:.0f}"), "us vs", fmt(g("haproxy-2hop", "added_p99_us"), "{:.0f}"), "us (HAProxy x2)")
json.dump({"settings": {"quick": quick == "1", "reps": int(reps), "load_s": int(load_s),
                        "latency_s": int(lat_s), "rate": int(rate)},
           "summary": summary, "raw": rows}, open(out, "w"), indent=1)
print(f"\nresults: {out}")
EOF
exit 0
}
