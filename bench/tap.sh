#!/usr/bin/env bash
# bench/tap.sh: what a live tap costs the data path, in one run, interleaved:
#   direct        h2load straight to the upstream (nginx)
#   haproxy       one HAProxy thread in front of it (the peer)
#   lmesh         lmesh-proxy, one worker, outbound HTTP/1.1, no tap open
#   lmesh-tap     the same with one tap open at its default rate limit (100 requests/s tapped)
#   lmesh-tapall  the same with one tap taking every request (max_rps=100000), read by curl
#   lmesh-base    (with --baseline PATH) a proxy binary built without the tap code, no tap
# Measured: requests/s at saturation (64 HTTP/1.1 connections) and the proxy's CPU-seconds
# per 100k requests; the report gives each as a ratio to `lmesh` and to HAProxy.
#
#   bench/tap.sh [--quick] [--reps N] [--duration S] [--proxy PATH] [--baseline PATH]
#                [--json OUT] [--keep]
{
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
TOOL="$ROOT/bench/tools/benchtool.py"
REPS=3 LOAD_S=10 JSON_OUT="$ROOT/bench/results/tap-latest.json" KEEP=0 BASELINE="" LMESH=""
ARGS="$*"
while (($#)); do
  case $1 in
    --quick) LOAD_S=2 ;;
    --reps) REPS=$2; shift ;;
    --duration) LOAD_S=$2; shift ;;
    --baseline) BASELINE=$2; shift ;;
    --proxy) LMESH=$2; shift ;;
    --json) JSON_OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "tap.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $REPS =~ ^[1-9][0-9]*$ && $LOAD_S =~ ^[1-9][0-9]*$ ]] || { echo "tap.sh: bad --reps or --duration" >&2; exit 2; }

NAME=bench-tap
source "$ROOT/bench/lib.sh"

for tool in h2load haproxy nginx taskset curl; do
  command -v "$tool" >/dev/null || die "$tool is missing: run bench/setup.sh"
done
[[ -n $LMESH ]] || LMESH=$("$PY" "$TOOL" findbin "$ROOT" src/proxy/lmesh-proxy) || die "no optimized build of lmesh-proxy (meson setup build && ninja -C build)"
[[ -z $BASELINE || -x $BASELINE ]] || die "--baseline $BASELINE is not an executable"


read -r UP PORT ADMIN _ <<<"$("$PY" "$TOOL" freeports 3)"
write_upstream_conf "$UP"
{ haproxy_head; cat; } >"$WORK/haproxy.cfg" <<EOF
frontend fe
  bind 127.0.0.1:$PORT
  default_backend be
backend be
  http-reuse always
  server up 127.0.0.1:$UP
EOF

TAP_PID=""
# start_config NAME: sets PROXY (the pid whose CPU counts; empty for direct) and TARGET
start_config() {
  PROXY="" TARGET=$PORT TAP_PID=""
  local bin=$LMESH tap=""
  case $1 in
    direct) TARGET=$UP; return 0 ;;
    haproxy) start "$PROXY_CPU" haproxy -f "$WORK/haproxy.cfg" -db; PROXY=$PID; wait_port "$PORT"; return ;;
    lmesh-base) bin=$BASELINE ;;
    lmesh-tap) tap="" ;;
    lmesh-tapall) tap="max_rps=100000" ;;
  esac
  start "$PROXY_CPU" "$bin" --workers 1 --outbound-listen "127.0.0.1:$PORT" \
    --outbound-target "127.0.0.1:$UP" --inbound-listen 127.0.0.1:0 \
    --admin-listen "127.0.0.1:$ADMIN" --log-level warn
  PROXY=$PID
  wait_port "$PORT" && wait_port "$ADMIN" || return 1
  if [[ $1 == lmesh-tap || $1 == lmesh-tapall ]]; then
    # The tap's reader runs beside the load generator, as lmesh-tap would on another host.
    start "$LOAD_CPU" curl -sN -o /dev/null "http://127.0.0.1:$ADMIN/tap?$tap"
    TAP_PID=$PID
    for _ in $(seq 100); do
      [[ $(curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '$1 == "tap_open" { print $2 }') == 1 ]] && break
      sleep 0.05
    done
  fi
}

measure() {  # measure REP CONFIG
  local rep=$1 cfg=$2 before=0 after=0
  log "rep $rep: $cfg"
  start_config "$cfg" || { warn "$cfg did not start"; if [[ -n $PROXY ]]; then stop "$PROXY"; fi; return 0; }
  sleep 0.2
  if [[ -n $PROXY ]]; then before=$(cpu_ticks "$PROXY"); fi
  "${RT[@]}" taskset -c "$LOAD_CPU" h2load --h1 -c 64 -t 1 -D "$LOAD_S" --warm-up-time 1 \
    "http://127.0.0.1:$TARGET/" >"$WORK/load-$cfg-$rep.txt" 2>&1 || true
  if [[ -n $PROXY ]]; then after=$(cpu_ticks "$PROXY"); fi
  local dropped=0 events=0
  if [[ -n $TAP_PID ]]; then
    local m; m=$(curl -s "http://127.0.0.1:$ADMIN/metrics")
    events=$(awk '$1 == "tap_events_total" { print $2 }' <<<"$m")
    dropped=$(awk '$1 ~ /^tap_events_dropped_total/ { n += $2 } END { print n + 0 }' <<<"$m")
    stop "$TAP_PID"
  fi
  printf '%s\n' "$("$PY" - "$rep" "$cfg" "$WORK/load-$cfg-$rep.txt" "$((after - before))" "$(getconf CLK_TCK)" "${events:-0}" "${dropped:-0}" <<'EOF'
import json, re, sys
rep, cfg, load, ticks, tck, events, dropped = sys.argv[1:]
text = open(load).read()
m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed", text)
ok, failed = (int(m.group(4)), int(m.group(5))) if m else (0, 0)
rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
print(json.dumps({"rep": int(rep), "config": cfg, "requests": ok, "failed": failed,
                  "req_per_s": float(rps.group(1)) if rps else 0.0,
                  "cpu_s": int(ticks) / int(tck), "tap_events": float(events),
                  "tap_dropped": float(dropped)}))
EOF
)" >>"$RAW"
  if [[ -n $PROXY ]]; then stop "$PROXY"; fi
}

start "$LOAD_CPU" nginx -c "$WORK/up/nginx.conf" -p "$WORK/up" -g 'daemon off;'
wait_port "$UP" || die "the upstream did not start"
CONFIGS=(direct haproxy lmesh lmesh-tap lmesh-tapall)
[[ -n $BASELINE ]] && CONFIGS+=(lmesh-base)
log "configs: ${CONFIGS[*]}; reps $REPS; ${LOAD_S}s of 64 HTTP/1.1 connections each; cpu: proxy $PROXY_CPU, load+upstream+tap reader $LOAD_CPU"
# Each rep starts one configuration later than the previous one: a position in the sequence
# (a warmer upstream, the VM's neighbours) then favours no configuration in particular.
N=${#CONFIGS[@]}
for rep in $(seq "$REPS"); do
  for i in $(seq 0 $((N - 1))); do measure "$rep" "${CONFIGS[$(((rep - 1 + i) % N))]}"; done
done

mkdir -p "$(dirname "$JSON_OUT")"
"$PY" - "$RAW" "$JSON_OUT" "$LMESH" "$ARGS" <<'EOF'
import json, statistics, sys
raw, out, binary, args = sys.argv[1:]
rows = [json.loads(l) for l in open(raw)]
configs = list(dict.fromkeys(r["config"] for r in rows))
def med(cfg, key):
    vals = [r[key] for r in rows if r["config"] == cfg and r["requests"] > 0]
    return statistics.median(vals) if vals else None
def cpu100k(cfg):
    vals = [r["cpu_s"] / r["requests"] * 1e5 for r in rows
            if r["config"] == cfg and r["requests"] > 0 and r["cpu_s"] > 0]
    return statistics.median(vals) if vals else None
summary = {}
for c in configs:
    summary[c] = {"req_per_s": med(c, "req_per_s"), "cpu_s_per_100k": cpu100k(c),
                  "failed": sum(r["failed"] for r in rows if r["config"] == c),
                  "tap_events": med(c, "tap_events"), "tap_dropped": med(c, "tap_dropped")}
def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"
print(f"{'config':<14}{'req/s':>10}{'vs lmesh':>10}{'vs haproxy':>12}{'cpu s/100k':>12}{'vs lmesh':>10}{'tapped':>10}{'dropped':>10}")
base, ha = summary.get("lmesh", {}), summary.get("haproxy", {})
for c in configs:
    s = summary[c]
    cpu = f"{s['cpu_s_per_100k']:.2f}" if s["cpu_s_per_100k"] else "-"
    ev = f"{s['tap_events'] / 3:.0f}" if s["tap_events"] else "-"
    dr = f"{s['tap_dropped']:.0f}" if s["tap_dropped"] else "-"
    print(f"{c:<14}{s['req_per_s'] or 0:>10.0f}{ratio(s['req_per_s'], base.get('req_per_s')):>10}"
          f"{ratio(s['req_per_s'], ha.get('req_per_s')):>12}{cpu:>12}"
          f"{ratio(s['cpu_s_per_100k'], base.get('cpu_s_per_100k')):>10}{ev:>10}{dr:>10}")
print("tapped: requests per run with events written (events / 3); dropped: events the reader missed")
json.dump({"command": "bench/tap.sh " + args, "binary": binary, "runs": rows, "summary": summary},
          open(out, "w"), indent=1)
print(f"results: {out}")
EOF
exit 0
}
