#!/usr/bin/env bash
# Builds the libFuzzer targets (router request handling, delta decoder) with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer in their own build directory, runs each for a
# bounded time from the committed seeds, and prints how many inputs each executed.
#
#   scripts/fuzz.sh                      # 30 s per target
#   FUZZ_RUNS=50000 scripts/fuzz.sh      # a fixed number of inputs per target: with the fixed
#                                        # seed the same run everywhere (the CTest "fuzz" test)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh    # the longer run; the corpus grows in build/fuzz/corpus
#
# A crash stops the script with libFuzzer's report and the input saved as crash-* in the
# build directory; replay it with: build/fuzz/fakeserver/fuzz/weightsync_fuzz_<target> <file>.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${FUZZ_BUILD_DIR:-build/fuzz}
seconds=${FUZZ_SECONDS:-30}
seed=${FUZZ_SEED:-1}
# A time bound explores as far as the machine's speed allows, so two runs differ; a run count
# with the fixed seed does not, which is what CI wants.
budget=(-max_total_time="$seconds")
what="${seconds}s"
if [ -n "${FUZZ_RUNS:-}" ]; then
  budget=(-runs="$FUZZ_RUNS")
  what="$FUZZ_RUNS inputs"
fi

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DWEIGHTSYNC_FUZZ=ON >/dev/null
cmake --build "$dir" -j "${FUZZ_JOBS:-2}" --target weightsync_fuzz_router weightsync_fuzz_delta

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
total=0
for target in router delta; do
  corpus="$dir/corpus/$target"
  mkdir -p "$corpus"
  log="$dir/fuzz-$target.log"
  echo "== fuzz $target for $what (seed $seed)"
  if ! (cd "$dir" && "fakeserver/fuzz/weightsync_fuzz_$target" -seed="$seed" \
      "${budget[@]}" -print_final_stats=1 -max_len=4096 \
      "corpus/$target" "$OLDPWD/fakeserver/fuzz/seeds/$target") >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz $target: FAILED (seed $seed); the crashing input is in $dir"
    exit 1
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  echo "fuzz $target: $runs executions ($what), no crash"
  total=$((total + runs))
done
echo "fuzz: $total executions in total, no crash"
