#!/usr/bin/env bash
# Line and branch coverage of the production library (lib/src) by its unit tests (ctest -L lib).
#
# Branch figures leave out two kinds of branch that are not decisions of our code:
#   --exclude-throw-branches        the exception edges gcc adds to every call that may throw;
#   --exclude-unreachable-branches  branches on lines gcov marks as never executable.
# Environment: BUILD_DIR (default build/coverage), JOBS (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build=${BUILD_DIR:-build/coverage}
jobs=${JOBS:-$(nproc)}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWEIGHTSYNC_COVERAGE=ON \
  -DWEIGHTSYNC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target weightsync_lib_tests
# Counters from an earlier run would inflate this one.
find "$build" -name '*.gcda' -delete
# A failing test still leaves counters worth reading; its status is this script's exit status.
tests_status=0
ctest --test-dir "$build" -L lib --output-on-failure || tests_status=$?

gcovr_args=(--root . --object-directory "$build" --filter 'lib/src/'
  --exclude-throw-branches --exclude-unreachable-branches)
echo "== line coverage of lib/src"
gcovr "${gcovr_args[@]}" --txt
echo "== branch coverage of lib/src (throw and unreachable branches excluded)"
gcovr "${gcovr_args[@]}" --txt --branches --print-summary
exit "$tests_status"
