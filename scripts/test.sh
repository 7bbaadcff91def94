#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with CTest: first a normal build, then
# again under AddressSanitizer + UndefinedBehaviorSanitizer. The output ends with CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=$(nproc)
configure() {  # build-dir, extra cmake args...
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

echo "== build and test (RelWithDebInfo)"
configure build/test
ctest --test-dir build/test -j "$jobs" --output-on-failure --timeout 900

echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
configure build/asan -DWEIGHTSYNC_SANITIZE=ON -DWEIGHTSYNC_BUILD_BENCH=OFF
# The fuzz targets already run under ASan + UBSan in their own clang build.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build/asan -j "$jobs" --output-on-failure --timeout 900 -LE "install|fuzz"
