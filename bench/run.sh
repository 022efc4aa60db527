#!/usr/bin/env bash
# bench/run.sh: lmesh-proxy against HAProxy and nginx on loopback, in the same run.
# What is measured and how to read the output: bench/README.md.
#
#   bench/run.sh [--quick] [--json OUT] [--proxy PATH] [--reps N] [--duration S]
#                [--latency-duration S] [--rate N] [--idle-conns N] [--only LIST] [--keep]
set -euo pipefail

# The whole script is one brace group, which bash parses completely before running it.
# Editing or checking out this file during a run then cannot make bash resume mid-line.
{

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3
TOOL=$HERE/tools/benchtool.py

usage() {
  cat <<EOF
usage: bench/run.sh [options]
  --quick               short runs (wrk 1 s, open loop 1 s per configuration): 1–1.5 minutes
  --json OUT            write results here (default: bench/results/latest.json)
  --proxy PATH          lmesh-proxy binary (default: the newest build*/src/proxy/lmesh-proxy
                        of an optimized build without sanitizers; none: peers only)
  --openloop PATH       openloop binary (default: build-bench/bench/openloop, built when
                        missing or older than its source)
  --reps N              interleaved repetitions (default 3)
  --duration S          whole seconds per wrk run (default 10, quick 1)
  --latency-duration S  seconds of open-loop load, after a warm-up (default 10, quick 1)
  --rate N              open-loop request rate (default 2000)
  --idle-conns N        idle connections held open for the memory figure (default 1000)
  --only LIST           comma-separated subset of: direct,lmesh,haproxy,nginx,l7,l4
  --proxy-cpu N / --load-cpu N   cores for the proxy / load generator + upstream (1 / 0)
  --no-rt               do not use real-time scheduling (chrt -f 50)
  --keep                keep the temporary directory (configs, logs, raw results)
EOF
}

LMESH_SRC=""
QUICK=0 REPS=3 WRK_S="" OL_S="" RATE=2000 IDLE_CONNS=1000 KEEP=0 USE_RT=1
JSON_OUT=$ROOT/bench/results/latest.json
LMESH="" OPENLOOP="" ONLY="" PROXY_CPU=1 LOAD_CPU=0
while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --json) JSON_OUT=$2; shift ;;
    --proxy) LMESH=$2; shift ;;
    --openloop) OPENLOOP=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --duration) WRK_S=$2; shift ;;
    --latency-duration) OL_S=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --idle-conns) IDLE_CONNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --proxy-cpu) PROXY_CPU=$2; shift ;;
    --load-cpu) LOAD_CPU=$2; shift ;;
    --keep) KEEP=1 ;;
    --no-rt) USE_RT=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if ((QUICK)); then
  : "${WRK_S:=1}" "${OL_S:=1}"
  OL_WARMUP=0.25s
else
  : "${WRK_S:=10}" "${OL_S:=10}"
  OL_WARMUP=1s
fi
[[ $WRK_S =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --duration takes whole seconds (wrk)" >&2; exit 2; }
[[ $OL_S =~ ^[0-9]+(\.[0-9]+)?$ && $RATE =~ ^[1-9][0-9]*$ && $REPS =~ ^[1-9][0-9]*$ &&
  $IDLE_CONNS =~ ^[0-9]+$ ]] || { echo "run.sh: bad --latency-duration, --rate, --reps or --idle-conns" >&2; exit 2; }

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '[bench %s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

only_has() { [[ ,$ONLY, == *,$1,* ]]; }

# ---------------------------------------------------------------- tools
for tool in wrk haproxy nginx taskset chrt ss pgrep; do
  command -v "$tool" >/dev/null || die "$tool not found: run bench/setup.sh"
done
[[ -x $PY ]] || die "$PY not found: run bench/setup.sh"
[[ -e /usr/lib/nginx/modules/ngx_stream_module.so ]] ||
  die "nginx stream module missing (libnginx-mod-stream): run bench/setup.sh"

# The newest build*/REL from an optimized build without sanitizers (build-asan/ is skipped).
find_bin() { "$PY" "$TOOL" findbin "$ROOT" "$1"; }

# openloop lives in its own release build dir, rebuilt when missing or older than its source
# (other build dirs may be debug or sanitizer builds, or stale).
if [[ -z $OPENLOOP ]]; then
  OPENLOOP=$ROOT/build-bench/bench/openloop
  if [[ ! -x $OPENLOOP || $HERE/openloop/openloop.cc -nt $OPENLOOP ]]; then
    log "building openloop in $ROOT/build-bench"
    WORK_LOG=$(mktemp /tmp/lmesh-bench-build.XXXXXX.log)
    if ! { { [[ -f $ROOT/build-bench/build.ninja ]] ||
      meson setup --buildtype=release "$ROOT/build-bench" "$ROOT" >"$WORK_LOG" 2>&1; } &&
      ninja -C "$ROOT/build-bench" bench/openloop >>"$WORK_LOG" 2>&1; }; then
      # The rest of the tree may be mid-edit; openloop is one self-contained file.
      warn "meson/ninja failed (see $WORK_LOG); compiling openloop directly with g++"
      mkdir -p "$ROOT/build-bench/bench"
      g++ -O2 -std=c++2b -o "$OPENLOOP" "$HERE/openloop/openloop.cc"
    else
      rm -f "$WORK_LOG"
    fi
  fi
fi
[[ -x $OPENLOOP ]] || die "openloop not found at $OPENLOOP"

if [[ -z $LMESH ]]; then
  LMESH=$(find_bin src/proxy/lmesh-proxy)
elif [[ -x $LMESH ]] && ! "$PY" "$TOOL" checkbin "$LMESH"; then
  warn "$LMESH links a sanitizer runtime: its CPU and memory figures mean nothing"
fi
# --only names proxies and/or modes; naming none of one kind selects all of that kind.
named_proxy=0 named_mode=0
for p in direct lmesh haproxy nginx; do if only_has "$p"; then named_proxy=1; fi; done
for m in l7 l4; do if only_has "$m"; then named_mode=1; fi; done
selected_proxy() { ((!named_proxy)) || only_has "$1"; }
PROXIES=() MODES=()
if [[ -n $LMESH && -x $LMESH ]]; then
  if selected_proxy lmesh; then PROXIES+=(lmesh); fi
else
  log "lmesh-proxy not found (optimized build*/src/proxy/lmesh-proxy, or --proxy PATH): measuring peers only"
  LMESH=""
fi
for p in haproxy nginx; do if selected_proxy "$p"; then PROXIES+=("$p"); fi; done
for m in l7 l4; do if ((!named_mode)) || only_has "$m"; then MODES+=("$m"); fi; done
RUN_DIRECT=0
if selected_proxy direct; then RUN_DIRECT=1; else warn "direct not measured: no added latency"; fi

# ---------------------------------------------------------------- environment
ulimit -n "$(ulimit -Hn)" || true
(($(ulimit -n) >= 4 * IDLE_CONNS + 1024)) || warn "ulimit -n is $(ulimit -n): may be too low for $IDLE_CONNS idle connections"

RT=(chrt -f 50)
if ((!USE_RT)); then
  RT=()
elif ! "${RT[@]}" true 2>/dev/null; then
  warn "chrt -f 50 not permitted: running with normal scheduling (tails will be noisier)"
  RT=()
fi

busy_percent() {  # share of all CPUs busy over half a second
  local u n s i w q sq st t1 b1
  read -r _ u n s i w q sq st _ </proc/stat
  t1=$((u + n + s + i + w + q + sq + st)) b1=$((u + n + s + q + sq + st))
  sleep 0.5
  read -r _ u n s i w q sq st _ </proc/stat
  echo $((100 * (u + n + s + q + sq + st - b1) / (u + n + s + i + w + q + sq + st - t1 + 1)))
}
busy=$(busy_percent)
if ((busy > 10)); then
  warn "the CPUs are already ${busy}% busy: other work on this machine will distort the figures"
fi

WORK=$(mktemp -d /tmp/lmesh-bench.XXXXXX)
RAW=$WORK/raw.jsonl
: >"$RAW"
CHILDREN=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${CHILDREN[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CHILDREN[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((KEEP)); then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LMESH_SHA=""
if [[ -n $LMESH ]]; then
  # Run a private copy: a rebuild of build/ during the run must not mix two versions.
  # A binary with $ORIGIN-relative libraries only works in place.
  if readelf -d "$LMESH" 2>/dev/null | grep -q 'ORIGIN'; then
    warn "$LMESH uses \$ORIGIN-relative libraries: running it in place"
  else
    cp "$LMESH" "$WORK/lmesh-proxy"
    LMESH_SRC=$LMESH LMESH=$WORK/lmesh-proxy
  fi
  LMESH_SHA=$(sha256sum "$LMESH" | cut -c1-16)
fi


# start NAME CPU CMD...: run CMD in the background on CPU (real-time if allowed);
# sets PID to the command's own pid (chrt and taskset exec it).
start() {
  local name=$1 cpu=$2
  shift 2
  "${RT[@]}" taskset -c "$cpu" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  CHILDREN+=("$PID")
}

forget() {  # forget PID: drop it from CHILDREN
  local keep=() p
  for p in "${CHILDREN[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  CHILDREN=("${keep[@]}")
}

stop() {  # stop PID: TERM, then KILL after 3 s
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# run_load OUT CMD...: run a load tool on the load core (real-time if allowed), stdout to OUT,
# stderr to OUT.err. It runs in the background and is waited for, because bash defers a
# trapped signal until a foreground command ends, while `wait` returns at once: Ctrl-C or a
# TERM then stops the whole benchmark immediately.
run_load() {
  local out=$1 pid rc=0
  shift
  "${RT[@]}" taskset -c "$LOAD_CPU" "$@" >"$out" 2>"$out.err" &
  pid=$!
  CHILDREN+=("$pid")
  wait "$pid" || rc=$?
  forget "$pid"
  return "$rc"
}

wait_listening() {  # wait_listening PID PORT NAME: until PORT listens or PID dies (10 s)
  local pid=$1 port=$2 name=$3
  for _ in $(seq 200); do
    [[ -n $(ss -Hltn "sport = :$port") ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  warn "$name did not start listening on $port; its stderr:"
  sed 's/^/    /' "$WORK/$name.err" >&2 || true
  return 1
}

tree() {  # a process and its children (nginx: master + worker)
  printf '%s\n' "$1"
  pgrep -P "$1" || true
}

cpu_ticks() {  # utime + stime of a process tree, in clock ticks (all threads included)
  local total=0 p t
  for p in $(tree "$1"); do
    # fields after "(comm) ": state ppid ... utime is the 12th, stime the 13th
    t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=0
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

mem_kib() {  # mem_kib PID FIELD: sum of a /proc/PID/status field (VmRSS, VmHWM) over the tree
  local total=0 p v
  for p in $(tree "$1"); do
    v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null) || v=0
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

pss_kib() {  # proportional set size of the tree: shared pages counted once (smaps_rollup)
  local total=0 p v
  for p in $(tree "$1"); do
    v=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || v=0
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

emit() { printf '%s\n' "$1" >>"$RAW"; }

# ---------------------------------------------------------------- configs
BODY=$(printf 'x%.0s' $(seq 99))  # 99 bytes + "\n" = a 100-byte body

PORTS=$("$PY" "$TOOL" freeports 3)
read -r UPSTREAM_PORT PROXY_PORT _ <<<"$PORTS"

write_upstream_conf() {
  mkdir -p "$WORK/upstream"
  cat >"$WORK/upstream/nginx.conf" <<EOF
# The upstream every path hits: one nginx worker answering a fixed 100-byte body.
worker_processes 1;
worker_rlimit_nofile 65536;
pid $WORK/upstream/nginx.pid;
error_log $WORK/upstream/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$UPSTREAM_PORT backlog=4096;
    location / { default_type text/plain; return 200 "$BODY\n"; }
  }
}
EOF
}

# Peers are tuned the way a production deployment would be: one worker (to match the single
# pinned core), no logging, keep-alive on both sides for L7, and keep-alive limits raised
# so that connections are not recycled every 1,000 requests (nginx's default).
write_nginx_conf() {  # write_nginx_conf DIR MODE
  local dir=$1 mode=$2
  mkdir -p "$dir"
  {
    [[ $mode == l4 ]] && echo "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
    cat <<EOF
worker_processes 1;
worker_rlimit_nofile 65536;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
EOF
    if [[ $mode == l7 ]]; then
      cat <<EOF
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  upstream backend {
    server 127.0.0.1:$UPSTREAM_PORT;
    keepalive 64;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$PROXY_PORT backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
    else
      cat <<EOF
stream {
  server {
    listen 127.0.0.1:$PROXY_PORT backlog=4096;
    proxy_pass 127.0.0.1:$UPSTREAM_PORT;
  }
}
EOF
    fi
  } >"$dir/nginx.conf"
}

write_haproxy_conf() {  # write_haproxy_conf FILE MODE
  local file=$1 mode=$2
  local hmode=http
  [[ $mode == l4 ]] && hmode=tcp
  cat >"$file" <<EOF
global
  nbthread 1
  maxconn 8000

defaults
  mode $hmode
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s

frontend fe
  bind 127.0.0.1:$PROXY_PORT
  default_backend be

backend be
  server up 127.0.0.1:$UPSTREAM_PORT
EOF
}

# start_proxy PROXY MODE: sets PID, or returns 1
start_proxy() {
  local proxy=$1 mode=$2 name="$1-$2"
  case $proxy in
    lmesh)
      local extra=()
      [[ $mode == l4 ]] && extra=(--opaque-ports "$UPSTREAM_PORT")
      start "$name" "$PROXY_CPU" "$LMESH" --workers 1 \
        --outbound-listen "127.0.0.1:$PROXY_PORT" --outbound-target "127.0.0.1:$UPSTREAM_PORT" \
        --inbound-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --log-level warn "${extra[@]}"
      ;;
    haproxy)
      write_haproxy_conf "$WORK/$name.cfg" "$mode"
      start "$name" "$PROXY_CPU" haproxy -f "$WORK/$name.cfg" -db
      ;;
    nginx)
      write_nginx_conf "$WORK/$name" "$mode"
      start "$name" "$PROXY_CPU" nginx -c "$WORK/$name/nginx.conf" -p "$WORK/$name" -g 'daemon off;'
      ;;
  esac
  wait_listening "$PID" "$PROXY_PORT" "$name"
}

# ---------------------------------------------------------------- measurements
CLK_TCK=$(getconf CLK_TCK)

# run_wrk REP MODE PROXY PORT CONNS PROXY_PID
run_wrk() {
  local rep=$1 mode=$2 proxy=$3 port=$4 conns=$5 ppid=${6:-}
  local before=0 after=0 out t0 t1
  [[ -n $ppid ]] && before=$(cpu_ticks "$ppid")
  t0=$(date +%s%N)
  run_load "$WORK/wrk.out" wrk -t1 -c"$conns" -d"${WRK_S}s" "http://127.0.0.1:$port/" ||
    { warn "wrk failed: $(cat "$WORK/wrk.out" "$WORK/wrk.out.err")"; return 0; }
  t1=$(date +%s%N)
  [[ -n $ppid ]] && after=$(cpu_ticks "$ppid")
  out=$(<"$WORK/wrk.out")
  local requests secs errors non2xx
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  secs=$(awk '/requests in/ { v = $4; sub(/,$/, "", v); m = 1
    if (v ~ /ms$/) { m = 0.001; sub(/ms$/, "", v) } else if (v ~ /m$/) { m = 60; sub(/m$/, "", v) }
    else sub(/s$/, "", v); print v * m }' <<<"$out")
  errors=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' <<<"$out")
  non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  emit "{\"rep\":$rep,\"mode\":\"$mode\",\"proxy\":\"$proxy\",\"kind\":\"wrk\",\"conns\":$conns,\"requests\":${requests:-0},\"secs\":${secs:-0},\"wall_secs\":$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", ns / 1e9 }'),\"socket_errors\":${errors:-0},\"non_2xx\":${non2xx:-0},\"cpu_ticks\":$((after - before)),\"clk_tck\":$CLK_TCK,\"cpu_measured\":$([[ -n $ppid ]] && echo true || echo false)}"
  if ((${errors:-0} + ${non2xx:-0} > 0)); then
    warn "$proxy $mode wrk -c$conns: ${errors:-0} socket errors, ${non2xx:-0} non-2xx"
  fi
  log "  $proxy $mode wrk -c$conns: $(awk '/Requests\/sec/ { print $2 }' <<<"$out") req/s${ppid:+, proxy CPU $(((after - before) * 1000 / CLK_TCK)) ms}"
}

run_openloop() {  # run_openloop REP MODE PROXY PORT
  local rep=$1 mode=$2 proxy=$3 port=$4 out
  run_load "$WORK/openloop.out" "$OPENLOOP" --target "127.0.0.1:$port" \
    --rate "$RATE" --duration "${OL_S}s" --warmup "$OL_WARMUP" --connections 16 ||
    { warn "openloop failed: $(cat "$WORK/openloop.out.err")"; return 0; }
  out=$(<"$WORK/openloop.out")
  emit "{\"rep\":$rep,\"mode\":\"$mode\",\"proxy\":\"$proxy\",\"kind\":\"openloop\",\"result\":$out}"
  log "  $proxy $mode open loop: $("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); l=d["latency_us"]
print("p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f us, %d errors" % (l["p50"], l["p90"], l["p99"], l["p999"], d["errors"]))' "$out")"
}

run_idle_conns() {  # run_idle_conns REP MODE PROXY PORT PROXY_PID
  local rep=$1 mode=$2 proxy=$3 port=$4 ppid=$5 out pids
  mapfile -t pids < <(tree "$ppid")
  run_load "$WORK/idleconns.out" "$PY" "$TOOL" idleconns --target "127.0.0.1:$port" \
    --count "$IDLE_CONNS" --settle 0.3 --pids "${pids[@]}" ||
    { warn "idle connections failed: $(tail -3 "$WORK/idleconns.out.err")"; return 0; }
  out=$(<"$WORK/idleconns.out")
  emit "{\"rep\":$rep,\"mode\":\"$mode\",\"proxy\":\"$proxy\",\"kind\":\"idle_conns\",\"result\":$out}"
}

# measure REP MODE PROXY: one configuration, from start to stop
measure() {
  local rep=$1 mode=$2 proxy=$3 port ppid=""
  if [[ $proxy == direct ]]; then log "rep $rep: direct"; else log "rep $rep: $proxy $mode"; fi
  if [[ $proxy == direct ]]; then
    port=$UPSTREAM_PORT
  else
    start_proxy "$proxy" "$mode" || { emit "{\"rep\":$rep,\"mode\":\"$mode\",\"proxy\":\"$proxy\",\"kind\":\"failed\"}"; return 0; }
    ppid=$PID
    port=$PROXY_PORT
    sleep 0.2  # let it finish starting up (threads, first allocations) before reading RSS
    emit "{\"rep\":$rep,\"mode\":\"$mode\",\"proxy\":\"$proxy\",\"kind\":\"rss_idle\",\"rss_kib\":$(mem_kib "$ppid" VmRSS),\"pss_kib\":$(pss_kib "$ppid"),\"processes\":$(tree "$ppid" | wc -l)}"
  fi
  # Latency first, on a quiet machine: right after a saturating wrk run the kernel is still
  # catching up (deferred work, timers), which showed up as noise in the tails.
  run_openloop "$rep" "$mode" "$proxy" "$port"
  run_wrk "$rep" "$mode" "$proxy" "$port" 32 "$ppid"
  run_wrk "$rep" "$mode" "$proxy" "$port" 128 "$ppid"
  if [[ -n $ppid ]]; then
    emit "{\"rep\":$rep,\"mode\":\"$mode\",\"proxy\":\"$proxy\",\"kind\":\"rss_peak\",\"hwm_kib\":$(mem_kib "$ppid" VmHWM),\"rss_kib\":$(mem_kib "$ppid" VmRSS)}"
  fi
  if [[ -n $ppid ]]; then
    run_idle_conns "$rep" "$mode" "$proxy" "$port" "$ppid"
    kill -0 "$ppid" 2>/dev/null || warn "$proxy $mode exited during the run"
    stop "$ppid"
  fi
}

# ---------------------------------------------------------------- run
write_upstream_conf
start upstream "$LOAD_CPU" nginx -c "$WORK/upstream/nginx.conf" -p "$WORK/upstream" -g 'daemon off;'
UPSTREAM_PID=$PID
wait_listening "$UPSTREAM_PID" "$UPSTREAM_PORT" upstream || die "upstream did not start"

log "proxies: ${PROXIES[*]:-none}; modes: ${MODES[*]:-none}; reps $REPS; wrk ${WRK_S}s x2, open loop ${OL_S}s at $RATE req/s; cpu: proxy $PROXY_CPU, load+upstream $LOAD_CPU; ${RT[*]:-no real-time}"
T0=$SECONDS
for rep in $(seq "$REPS"); do
  if ((RUN_DIRECT)); then measure "$rep" any direct; fi
  for mode in "${MODES[@]}"; do
    for proxy in "${PROXIES[@]}"; do
      measure "$rep" "$mode" "$proxy"
    done
  done
done
ELAPSED=$((SECONDS - T0))
kill -0 "$UPSTREAM_PID" 2>/dev/null || warn "the upstream exited during the run"

mkdir -p "$(dirname "$JSON_OUT")"
"$PY" "$TOOL" report --raw "$RAW" --out "$JSON_OUT" --elapsed "$ELAPSED" \
  --lmesh "${LMESH_SRC:-$LMESH}" --lmesh-sha256 "$LMESH_SHA" --quick "$QUICK" --reps "$REPS" --wrk-seconds "$WRK_S" \
  --latency-seconds "$OL_S" --rate "$RATE" --idle-conns "$IDLE_CONNS" \
  --realtime "$([[ ${#RT[@]} -gt 0 ]] && echo 1 || echo 0)" \
  --proxy-cpu "$PROXY_CPU" --load-cpu "$LOAD_CPU" --busy-before "$busy"
log "results: $JSON_OUT (${ELAPSED}s of measurement)"
exit 0
}
