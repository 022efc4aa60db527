#!/usr/bin/env bash
# Sets everything up and runs every test: a release build running all tests, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build running the unit and integration tests,
# a build against OpenSSL 3 instead of BoringSSL, and a formatting check. Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

./dev/setup.sh || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
count() {  # count LOGFILE: adds meson test's Ok/Fail counts to the totals
  local ok fail
  ok=$(grep -E '^Ok: ' "$1" | awk '{print $2}' | tail -1)
  fail=$(grep -E '^(Fail|Timeout|Unexpected Pass): ' "$1" | awk '{s += $2} END {print s + 0}')
  passed=$((passed + ${ok:-0}))
  failed=$((failed + ${fail:-0}))
}

run_build() {  # run_build DIR SUITE_ARGS... -- MESON_SETUP_ARGS...
  local dir=$1; shift
  local suites=()
  while [ "$1" != "--" ]; do suites+=("$1"); shift; done
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; failed=$((failed + 1)); return; }
  fi
  if ! ninja -C "$dir"; then
    echo "build in $dir failed"
    failed=$((failed + 1))
    return
  fi
  local log="$dir/test-summary.log"
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${suites[@]}" | tee "$log"
  count "$log"
}

# Release: every test.
run_build build -- -Dwerror=true -Dbuildtype=release

# Sanitizers: unit and integration tests (benchmarks and the formatting check need not run twice).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_build build-asan --suite unit --suite integration -- -Dwerror=true -Dbuildtype=debugoptimized \
  -Db_sanitize=address,undefined -Db_lundef=false

# OpenSSL 3: every TLS call sits behind src/common/tls so that this variant builds too
# (DESIGN.md); it is compiled here, the tests run on BoringSSL above. It also links the other
# allocator (-Dallocator=mimalloc), so that both build options stay buildable.
if [ ! -f build-openssl/build.ninja ]; then
  meson setup build-openssl -Dtls=openssl -Dallocator=mimalloc -Dtests=false -Dwerror=true -Dbuildtype=debug \
    >build-openssl.setup.log 2>&1 || cat build-openssl.setup.log
fi
if ninja -C build-openssl >build-openssl.log 2>&1; then
  echo "openssl build: ok"
  passed=$((passed + 1))
else
  tail -40 build-openssl.log
  echo "openssl build: failed"
  failed=$((failed + 1))
fi

# Formatting: every C++ file as .clang-format says.
mapfile -t sources < <(git ls-files '*.cc' '*.h' 2>/dev/null || find src tests bench -name '*.cc' -o -name '*.h')
if clang-format --dry-run -Werror "${sources[@]}" >/dev/null 2>format.log; then
  echo "format check: ok"
  passed=$((passed + 1))
else
  echo "format check: these files differ from .clang-format:"
  grep -oE '^[^: ]+\.(cc|h):' format.log | tr -d ':' | sort -u
  failed=$((failed + 1))
fi
rm -f format.log

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
