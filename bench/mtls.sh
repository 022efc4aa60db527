#!/usr/bin/env bash
# bench/mtls.sh: the mesh path with mutual TLS, against the same path built from peers, in one
# run: HTTP/1.1 client -> outbound proxy -> mTLS (TLS 1.3, ECDSA P-256, client certificates)
# -> inbound proxy -> HTTP/1.1 server, both proxies pinned to the same core.
#   lmesh:   lmesh-proxy pair, certificates from lmesh-identity, HTTP/2 between them
#   haproxy: two HAProxy instances, HTTP/1.1 over TLS between them (h2load cannot read the
#            reason-less status lines HAProxy writes when it converts from HTTP/2)
#   nginx:   two nginx instances, HTTP/1.1 over TLS between them (nginx cannot proxy h2)
#   direct:  the client straight to the server
# Measured: requests/s at saturation, CPU-seconds per 100k requests of both proxies together,
# added p50/p99 at a fixed 2,000 req/s, full handshakes/s against the inbound side at one
# worker (and its CPU per handshake), and the pair's idle RSS. Method as bench/h2.sh.
#
#   bench/mtls.sh [--quick] [--reps N] [--duration S] [--proxy PATH] [--json OUT] [--keep]
{
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
TOOL="$ROOT/bench/tools/benchtool.py"
REPS=3 LOAD_S=10 LAT_S=10 HS_S=5 QUICK=0 JSON_OUT="$ROOT/bench/results/mtls-latest.json" KEEP=0
LMESH=""
RATE=2000
while (($#)); do
  case $1 in
    --quick) QUICK=1 LOAD_S=2 LAT_S=2 HS_S=2 ;;
    --reps) REPS=$2; shift ;;
    --duration) LOAD_S=$2 LAT_S=$2; shift ;;
    --proxy) LMESH=$2; shift ;;  # e.g. a -Dallocator=system build's lmesh-proxy
    --json) JSON_OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "mtls.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

NAME=bench-mtls
source "$ROOT/bench/lib.sh"

for tool in h2load haproxy nginx taskset chrt openssl curl; do
  command -v "$tool" >/dev/null || die "$tool is missing: run bench/setup.sh"
done
find_bin() { "$PY" "$TOOL" findbin "$ROOT" "$1" || die "no optimized build of $1 (meson setup build && ninja -C build)"; }
[[ -n $LMESH ]] || LMESH=$(find_bin src/proxy/lmesh-proxy)
IDENTITY=$(find_bin src/identity/lmesh-identity)
CLI=$(find_bin src/cli/lmesh)

wait_ready() {  # wait_ready ADMIN_PORT: the proxy holds a certificate
  for _ in $(seq 200); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ready") == 200 ]] && return 0
    sleep 0.05
  done
  return 1
}
emit() { printf '%s\n' "$1" >>"$RAW"; }

read -r UP P1 P2 A1 A2 IDP _ <<<"$("$PY" "$TOOL" freeports 6)"
WEB=web.default.serviceaccount.identity.lmesh.cluster.local
API=api.default.serviceaccount.identity.lmesh.cluster.local

# ---------------------------------------------------------------- the PKI
# One CA for everyone: lmesh identity init makes it; lmesh-identity certifies the lmesh pair,
# and the issuer signs the peers' leaves with the same names and key type.
PKI="$WORK/pki"
"$CLI" identity init --out "$PKI" >/dev/null
leaf() {  # leaf NAME DNS: $PKI/NAME.key, NAME.crt (leaf + issuer), NAME.pem (both + key)
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$1.key" 2>/dev/null
  openssl req -new -key "$PKI/$1.key" -subj "/CN=$2" -out "$PKI/$1.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" >"$PKI/$1.ext"
  openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/issuer.crt" -CAkey "$PKI/issuer.key" \
    -CAcreateserial -days 2 -sha256 -extfile "$PKI/$1.ext" -out "$PKI/$1.leaf" 2>/dev/null
  cat "$PKI/$1.leaf" "$PKI/issuer.crt" >"$PKI/$1.crt"
  cat "$PKI/$1.crt" "$PKI/$1.key" >"$PKI/$1.pem"
}
leaf web "$WEB"
leaf api "$API"
printf 'web-token default/web\napi-token default/api\n' >"$PKI/tokens"
echo web-token >"$PKI/web.token"
echo api-token >"$PKI/api.token"
start "$LOAD_CPU" "$IDENTITY" --listen "127.0.0.1:$IDP" --issuer-dir "$PKI" --token-file "$PKI/tokens" --log-level warn
wait_port "$IDP" || die "lmesh-identity did not start"

# ---------------------------------------------------------------- configs
write_upstream_conf "$UP"

haproxy_out() {
  { haproxy_head; cat; } >"$WORK/ha-out.cfg" <<EOF
frontend fe
  bind 127.0.0.1:$P1
  default_backend be
backend be
  http-reuse always
  server in 127.0.0.1:$P2 ssl crt $PKI/web.pem ca-file $PKI/ca.crt verify required sni str($API) verifyhost $API alpn http/1.1 ssl-min-ver TLSv1.3
EOF
}
haproxy_in() {
  { haproxy_head; cat; } >"$WORK/ha-in.cfg" <<EOF
frontend fe
  bind 127.0.0.1:$P2 ssl crt $PKI/api.pem ca-file $PKI/ca.crt verify required alpn h2,http/1.1 ssl-min-ver TLSv1.3
  default_backend be
backend be
  http-reuse always
  server up 127.0.0.1:$UP
EOF
}
nginx_pair() {
  mkdir -p "$WORK/ng-out" "$WORK/ng-in"
  cat >"$WORK/ng-out/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/ng-out/nginx.pid;
error_log $WORK/ng-out/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  upstream inbound { server 127.0.0.1:$P2; keepalive 256; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$P1 backlog=4096;
    location / {
      proxy_pass https://inbound; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_ssl_certificate $PKI/web.crt; proxy_ssl_certificate_key $PKI/web.key;
      proxy_ssl_trusted_certificate $PKI/ca.crt; proxy_ssl_verify on; proxy_ssl_verify_depth 3;
      proxy_ssl_name $API; proxy_ssl_server_name on; proxy_ssl_protocols TLSv1.3;
      proxy_ssl_session_reuse on;
    }
  }
}
EOF
  cat >"$WORK/ng-in/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/ng-in/nginx.pid;
error_log $WORK/ng-in/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  upstream app { server 127.0.0.1:$UP; keepalive 256; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$P2 ssl backlog=4096;
    ssl_certificate $PKI/api.crt; ssl_certificate_key $PKI/api.key;
    ssl_client_certificate $PKI/ca.crt; ssl_verify_client on; ssl_verify_depth 3;
    ssl_protocols TLSv1.3;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
}

# start_config NAME: sets PIDS (outbound, inbound) and PORT (where the load goes)
start_config() {
  PIDS=() PORT=$P1
  case $1 in
    direct) PORT=$UP ;;
    lmesh)
      start "$PROXY_CPU" "$LMESH" --workers 1 --inbound-listen "127.0.0.1:$P2" \
        --inbound-forward "127.0.0.1:$UP" --outbound-listen 127.0.0.1:0 --admin-listen "127.0.0.1:$A2" \
        --identity-addr "127.0.0.1:$IDP" --identity-name "$API" --identity-token-file "$PKI/api.token" \
        --trust-anchors "$PKI/ca.crt" --log-level warn
      PIDS=("$PID")
      start "$PROXY_CPU" "$LMESH" --workers 1 --outbound-listen "127.0.0.1:$P1" \
        --outbound-target "127.0.0.1:$P2" --meshed-endpoints "127.0.0.1:$P2=$API" \
        --inbound-listen 127.0.0.1:0 --admin-listen "127.0.0.1:$A1" \
        --identity-addr "127.0.0.1:$IDP" --identity-name "$WEB" --identity-token-file "$PKI/web.token" \
        --trust-anchors "$PKI/ca.crt" --log-level warn
      PIDS=("$PID" "${PIDS[0]}")
      wait_ready "$A1" && wait_ready "$A2" || return 1 ;;
    haproxy)
      haproxy_in; start "$PROXY_CPU" haproxy -f "$WORK/ha-in.cfg" -db; local in=$PID
      haproxy_out; start "$PROXY_CPU" haproxy -f "$WORK/ha-out.cfg" -db; PIDS=("$PID" "$in") ;;
    nginx)
      nginx_pair
      start "$PROXY_CPU" nginx -c "$WORK/ng-in/nginx.conf" -p "$WORK/ng-in" -g 'daemon off;'; local in=$PID
      start "$PROXY_CPU" nginx -c "$WORK/ng-out/nginx.conf" -p "$WORK/ng-out" -g 'daemon off;'
      PIDS=("$PID" "$in") ;;
  esac
  wait_port "$PORT"
}

# ---------------------------------------------------------------- measurements
CLK_TCK=$(getconf CLK_TCK)
run_h2load() {
  local out=$1; shift
  "${RT[@]}" taskset -c "$LOAD_CPU" h2load --h1 "$@" >"$out.txt" 2>&1 || true
}

measure() {  # measure REP CONFIG
  local rep=$1 cfg=$2 before=0 after=0 pid rss=0 pss=0 anon=0 hs_before=0 hs_after=0
  log "rep $rep: $cfg"
  start_config "$cfg" || { warn "$cfg did not start"; for pid in "${PIDS[@]}"; do stop "$pid"; done; return 0; }
  sleep 0.3
  # RSS counts the shared libraries' pages once per process; PSS splits them among the
  # processes that map them; Pss_Anon is the pair's own memory.
  for pid in "${PIDS[@]}"; do
    rss=$((rss + $(mem_kib "$pid" Rss)))
    pss=$((pss + $(mem_kib "$pid" Pss)))
    anon=$((anon + $(mem_kib "$pid" Pss_Anon)))
  done
  local lat="$WORK/lat-$cfg-$rep"
  run_h2load "$lat" -c 16 -t 1 --rps $((RATE / 16)) -D "$LAT_S" --warm-up-time 1 \
    --log-file "$lat.log" "http://127.0.0.1:$PORT/"
  for pid in "${PIDS[@]}"; do before=$((before + $(cpu_ticks "$pid"))); done
  local load="$WORK/load-$cfg-$rep"
  run_h2load "$load" -c 64 -t 1 -D "$LOAD_S" --warm-up-time 1 "http://127.0.0.1:$PORT/"
  for pid in "${PIDS[@]}"; do after=$((after + $(cpu_ticks "$pid"))); done
  # Full handshakes against the inbound side (the one that terminates the mesh's TLS).
  local hs="$WORK/hs-$cfg-$rep.json" hs_ticks=0
  if [[ $cfg != direct ]]; then
    hs_before=$(cpu_ticks "${PIDS[1]}")
    local alpn=h2
    [[ $cfg == nginx ]] && alpn=http/1.1  # nginx refuses a ClientHello offering only what it lacks
    "${RT[@]}" taskset -c "$LOAD_CPU" "$PY" "$TOOL" tlshandshakes --target "127.0.0.1:$P2" \
      --sni "$API" --cert "$PKI/web.crt" --key "$PKI/web.key" --cafile "$PKI/ca.crt" --alpn "$alpn" \
      --seconds "$HS_S" >"$hs" 2>/dev/null || echo '{}' >"$hs"
    hs_after=$(cpu_ticks "${PIDS[1]}")
    hs_ticks=$((hs_after - hs_before))
  else
    echo '{}' >"$hs"
  fi
  emit "$("$PY" - "$rep" "$cfg" "$lat" "$load" "$((after - before))" "$CLK_TCK" "$rss" "$hs" "$hs_ticks" "$pss" "$anon" <<'EOF'
import json, re, sys
rep, cfg, lat, load, ticks, tck, rss, hs, hs_ticks, pss, anon = sys.argv[1:]
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
ok, failed = (int(m.group(4)), int(m.group(5))) if m else (0, 0)
rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
h = json.load(open(hs))
print(json.dumps({"rep": int(rep), "config": cfg, "p50_us": pct(0.5), "p99_us": pct(0.99),
                  "requests": ok, "failed": failed,
                  "req_per_s": float(rps.group(1)) if rps else 0.0,
                  "cpu_s": int(ticks) / int(tck), "idle_rss_kib": int(rss),
                  "idle_pss_kib": int(pss), "idle_anon_kib": int(anon),
                  "handshakes": h.get("handshakes"), "handshake_failed": h.get("failed"),
                  "handshake_s": h.get("seconds"), "handshake_cpu_s": int(hs_ticks) / int(tck)}))
EOF
)"
  for pid in "${PIDS[@]}"; do stop "$pid"; done
}

start "$LOAD_CPU" nginx -c "$WORK/up/nginx.conf" -p "$WORK/up" -g 'daemon off;'
UPSTREAM=$PID
wait_port "$UP" || die "the upstream did not start"
CONFIGS=(direct lmesh haproxy nginx)
log "configs: ${CONFIGS[*]}; reps $REPS; load ${LOAD_S}s (64 HTTP/1.1 conns), latency ${LAT_S}s at $RATE req/s, handshakes ${HS_S}s; cpu: proxies $PROXY_CPU, load+upstream $LOAD_CPU"
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

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

def added(cfg, key):
    d = {r["rep"]: r[key] for r in by.get("direct", []) if r.get(key) is not None}
    return med([r[key] - d[r["rep"]] for r in by.get(cfg, []) if r.get(key) is not None and r["rep"] in d])

summary = {}
for cfg, rs in by.items():
    summary[cfg] = {
        "req_per_s": med([r["req_per_s"] for r in rs]),
        "cpu_s_per_100k": med([r["cpu_s"] / r["requests"] * 1e5 for r in rs if r["requests"]]),
        "added_p50_us": added(cfg, "p50_us"), "added_p99_us": added(cfg, "p99_us"),
        "idle_rss_mib": med([r["idle_rss_kib"] / 1024 for r in rs]),
        "idle_pss_mib": med([r["idle_pss_kib"] / 1024 for r in rs]),
        "idle_anon_mib": med([r["idle_anon_kib"] / 1024 for r in rs]),
        "handshakes_per_s": med([r["handshakes"] / r["handshake_s"] for r in rs if r.get("handshakes")]),
        "cpu_us_per_handshake": med([r["handshake_cpu_s"] / r["handshakes"] * 1e6 for r in rs if r.get("handshakes")]),
        "failed": sum(r["failed"] for r in rs) + sum(r.get("handshake_failed") or 0 for r in rs)}

f = lambda v, p="{:.2f}": "-" if v is None else p.format(v)
print("\nmesh path with mTLS, medians of %s reps (%s)" % (reps, "quick" if quick == "1" else "full"))
print(f"{'config':8} {'req/s':>8} {'CPU-s/100k':>10} {'+p50 us':>8} {'+p99 us':>8} {'hs/s':>7} {'CPU us/hs':>9} {'RSS MiB':>8} {'PSS MiB':>8} {'anon MiB':>8} {'failed':>6}")
for cfg in ["direct", "lmesh", "haproxy", "nginx"]:
    s = summary.get(cfg)
    if not s:
        continue
    print(f"{cfg:8} {f(s['req_per_s'], '{:.0f}'):>8} {f(s['cpu_s_per_100k']):>10} "
          f"{f(s['added_p50_us'], '{:.0f}'):>8} {f(s['added_p99_us'], '{:.0f}'):>8} "
          f"{f(s['handshakes_per_s'], '{:.0f}'):>7} {f(s['cpu_us_per_handshake'], '{:.0f}'):>9} "
          f"{f(s['idle_rss_mib'], '{:.1f}'):>8} {f(s['idle_pss_mib'], '{:.1f}'):>8} "
          f"{f(s['idle_anon_mib'], '{:.1f}'):>8} {s['failed']:>6}")
g = lambda c, k: (summary.get(c) or {}).get(k)
def best(key, hi):
    vals = [v for v in (g("haproxy", key), g("nginx", key)) if v is not None]
    return (max(vals) if hi else min(vals)) if vals else None
def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}x"
print("\nlmesh against the better pair:")
print("  requests/s:          ", ratio(g("lmesh", "req_per_s"), best("req_per_s", True)), " target >= 1.20x")
print("  CPU per request:     ", ratio(g("lmesh", "cpu_s_per_100k"), best("cpu_s_per_100k", False)), " target <= 0.80x")
print("  added p99:           ", f(g("lmesh", "added_p99_us"), "{:.0f}"), "us vs", f(best("added_p99_us", False), "{:.0f}"), "us  target <=")
print("  CPU per handshake:   ", ratio(g("lmesh", "cpu_us_per_handshake"), best("cpu_us_per_handshake", False)))
print("  idle RSS of the pair:", f(g("lmesh", "idle_rss_mib"), "{:.1f}"), "MiB  target < 14 MiB",
      f"(PSS {f(g('lmesh', 'idle_pss_mib'), '{:.1f}')} MiB, own anonymous memory {f(g('lmesh', 'idle_anon_mib'), '{:.1f}')} MiB)")
json.dump({"settings": {"quick": quick == "1", "reps": int(reps), "load_s": int(load_s),
                        "latency_s": int(lat_s), "rate": int(rate)},
           "summary": summary, "raw": rows}, open(out, "w"), indent=1)
print(f"\nresults: {out}")
EOF
exit 0
}
