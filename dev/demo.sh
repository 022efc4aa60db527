#!/usr/bin/env bash
# Sets everything up, builds lmesh, and runs `lmesh up` with the built-in "books" demo mesh:
# the control plane, four services and a traffic generator, each replica beside its proxy. As
# root every replica gets its own network namespace with Linkerd's iptables interception;
# otherwise loopback mode. It prints where everything is (the dashboard and tap API included)
# and the commands to try; Ctrl-C (or `lmesh down` from another shell) stops and removes it all.
# Extra arguments go to `lmesh up` (e.g. a mesh file of your own, or --mode loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

./dev/setup.sh
if [ ! -f build/build.ninja ]; then meson setup build -Dbuildtype=release >/dev/null; fi
ninja -C build src/cli/lmesh src/proxy/lmesh-proxy src/identity/lmesh-identity \
  src/destination/lmesh-destination src/tap/lmesh-tap >/dev/null

echo "lmesh is built; starting the demo mesh (the lmesh CLI is ./build/src/cli/lmesh)"
exec ./build/src/cli/lmesh up "$@"
