#!/usr/bin/env bash
# bench/setup.sh: install what bench/run.sh and bench/h2.sh need from Debian's packages.
# Idempotent: packages already present are left alone, and apt-get runs only when something
# is missing.
# The nginx and haproxy packages install system services; the bench never uses them (it runs
# both as foreground children from generated configs), so they are stopped if the package
# scripts started them.
set -euo pipefail

# package → a file it provides (checked instead of asking dpkg, which is slower)
declare -A provides=(
  [wrk]=/usr/bin/wrk
  [haproxy]=/usr/sbin/haproxy
  [nginx-light]=/usr/sbin/nginx
  [libnginx-mod-stream]=/usr/lib/nginx/modules/ngx_stream_module.so
  [util-linux]=/usr/bin/taskset
  [procps]=/usr/bin/pgrep
  [iproute2]=/usr/bin/ss
  [python3]=/usr/bin/python3
  [meson]=/usr/bin/meson
  [ninja-build]=/usr/bin/ninja
  [g++]=/usr/bin/g++
  [pkg-config]=/usr/bin/pkg-config
  [libuv1-dev]=/usr/include/uv.h
  [nghttp2-client]=/usr/bin/h2load
)

missing=()
for pkg in "${!provides[@]}"; do
  [[ -e ${provides[$pkg]} ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "bench/setup.sh: everything is installed"
else
  if [[ $(id -u) != 0 ]]; then
    echo "bench/setup.sh: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "bench/setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101 keeps the packages' maintainer scripts from starting the services.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# Stop the system services if something started them (we never use them, and a system
# nginx or haproxy would compete for the CPUs being measured).
for svc in nginx haproxy; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  elif [[ -x /etc/init.d/$svc ]] && /etc/init.d/"$svc" status >/dev/null 2>&1; then
    /etc/init.d/"$svc" stop || true
  fi
done
