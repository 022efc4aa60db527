# bench/lib.sh: what every comparison script shares (sourced by h2.sh, mtls.sh, tap.sh):
# logging, pinning to cores at real-time priority, child processes killed on exit, waiting
# for ports, and reading a process tree's CPU time and memory from /proc.
# Before sourcing: NAME (the log prefix) and KEEP (1 keeps the work directory).

log() { printf '[%s %s] %s\n' "$NAME" "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '[%s %s] WARNING: %s\n' "$NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$NAME" "$*" >&2; exit 1; }

# The load generator, the upstream and the proxy under test each get a core when there are
# two; with one core everything shares it.
NCPU=$(nproc)
LOAD_CPU=0 PROXY_CPU=$((NCPU > 1 ? 1 : 0))
RT=(chrt -f 50)
"${RT[@]}" true 2>/dev/null || { warn "chrt refused: running without real-time priority"; RT=(); }

WORK=$(mktemp -d "/tmp/lmesh-$NAME.XXXXXX")
RAW="$WORK/raw.jsonl"
CHILDREN=()
cleanup() {
  for pid in "${CHILDREN[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ((KEEP)); then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # start CPU CMD...: background, pinned; sets PID
  local cpu=$1; shift
  "${RT[@]}" taskset -c "$cpu" "$@" >"$WORK/$(basename "$1").$RANDOM.log" 2>&1 &
  PID=$!
  CHILDREN+=("$PID")
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wait_port() {  # wait_port PORT: until something listens on 127.0.0.1:PORT (10 s)
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
tree() { echo "$1"; pgrep -P "$1" || true; }  # a process and its children (nginx's workers)
cpu_ticks() {  # cpu_ticks PID: user + system ticks of the tree
  local sum=0 pid
  for pid in $(tree "$1"); do
    [[ -r /proc/$pid/stat ]] || continue
    sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$sum"
}
mem_kib() {  # mem_kib PID FIELD: a /proc/PID/smaps_rollup field (Rss, Pss, Pss_Anon) summed
  local sum=0 pid
  for pid in $(tree "$1"); do
    sum=$((sum + $(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}

# The upstream the HTTP/1.1 benchmarks hit: one nginx worker answering a fixed 100-byte body
# on 127.0.0.1:PORT, keep-alive without limits; its config goes to $WORK/up/nginx.conf.
write_upstream_conf() {  # write_upstream_conf PORT
  local body
  body=$(printf 'x%.0s' $(seq 99))  # 99 bytes + "\n"
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
  server {
    listen 127.0.0.1:$1 backlog=4096;
    location / { default_type text/plain; return 200 "$body\n"; }
  }
}
EOF
}

haproxy_head() {  # the global and defaults sections every HAProxy peer uses: one thread, HTTP mode, long timeouts
  cat <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
EOF
}
