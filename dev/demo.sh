#!/usr/bin/env bash
# Sets everything up, builds lmesh, and runs lmesh-proxy in front of a small demo application,
# then prints what to try. Ctrl-C stops everything. (Until `lmesh up` lands, this is the main
# job: one proxy, one application, real traffic through it.)
set -euo pipefail
cd "$(dirname "$0")/.."

./dev/setup.sh
if [ ! -f build/build.ninja ]; then meson setup build -Dbuildtype=release >/dev/null; fi
ninja -C build src/proxy/lmesh-proxy >/dev/null

APP_PORT=${APP_PORT:-8080}
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

/usr/bin/python3 dev/demo_upstream.py "$APP_PORT" &
pids+=($!)
./build/src/proxy/lmesh-proxy \
  --outbound-listen 127.0.0.1:4140 --inbound-listen 127.0.0.1:4143 --admin-listen 127.0.0.1:4191 \
  --outbound-target "127.0.0.1:$APP_PORT" --inbound-forward "127.0.0.1:$APP_PORT" &
pids+=($!)

for _ in $(seq 50); do
  curl -sf http://127.0.0.1:4191/ready >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

lmesh-proxy is running in front of a demo application on 127.0.0.1:$APP_PORT.

  curl -s http://127.0.0.1:4140/hello          # outbound: app -> proxy -> destination
  curl -s http://127.0.0.1:4143/hello          # inbound: client -> proxy -> app
  curl -s http://127.0.0.1:4191/metrics | grep -E '^(request|response)_total'

Dashboard: not yet (lmesh-tap serves it in a later release); metrics at http://127.0.0.1:4191/metrics
Ctrl-C stops the proxy and the application.
MSG
wait "${pids[1]}"
