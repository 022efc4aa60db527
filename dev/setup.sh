#!/usr/bin/env bash
# Installs what lmesh needs to build, test and benchmark, from Debian 12's packages only.
# Idempotent: installs nothing when everything is already there.
set -euo pipefail

packages=(
  # build
  g++ meson ninja-build pkg-config
  # the product's libraries (see ../shared/DEPS.md)
  libuv1-dev android-libboringssl-dev node-llhttp libnghttp2-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev catch2
  # the mesh file (YAML, with line numbers for every field an error names)
  libyaml-cpp-dev
  # service-profile route patterns (linear-time regular expressions)
  libre2-dev
  # mimalloc, for lmesh-proxy's -Dallocator=mimalloc (CI's OpenSSL variant links it)
  libmimalloc-dev
  # the -Dtls=openssl variant, compiled in CI
  libssl-dev
  # tests: real clients and peers, network namespaces, formatting
  python3 python3-pytest python3-h2 python3-grpcio curl nghttp2-client nghttp2-server iproute2
  iptables util-linux clang-format
  # the web dashboard's browser test: headless Chromium driven by Selenium
  chromium chromium-driver python3-selenium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
