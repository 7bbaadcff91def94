#!/usr/bin/env bash
# Runs deploy/slurm/sweep.sbatch as a 3-task array on this machine (the variables Slurm would
# set, each task a background process), merges the shards and checks that the merged
# summary.csv and run JSONs equal an unsharded sweep's byte for byte; the same for a report
# (MODE=report: every file of the merged report equals the unsharded one's); then one task of
# the property soak. Usage: slurm_array_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
GRID="--scenario simulations/scenarios/8b-dense-1node.json --policies every_step,async --staleness 1,2 --seeds 1,2,3 --steps 20 --no-wall"

pids=()
for k in 0 1 2; do
  SLURM_ARRAY_JOB_ID=42 SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=2 \
    SLURM_CPUS_PER_TASK=1 WEIGHTSYNC_BUILD="$BUILD" SWEEP_ARGS="$GRID" OUT="$WORK/sweep" \
    bash deploy/slurm/sweep.sbatch > "$WORK/task-$k.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
# shellcheck disable=SC2086
"$BUILD/simulations/weightsync-sim" sweep $GRID --jobs 1 --out "$WORK/full" > /dev/null
"$BUILD/simulations/weightsync-sim" merge "$WORK"/sweep/shard-* --out "$WORK/merged"
cmp "$WORK/full/summary.csv" "$WORK/merged/summary.csv"
runs=0
for f in "$WORK"/full/*.json; do
  cmp "$f" "$WORK/merged/$(basename "$f")"
  runs=$((runs + 1))
done
[ "$runs" = 9 ] || { echo "expected 9 runs, got $runs" >&2; exit 1; }

# The report as a 3-task array: merged, every file (page, PNGs, data/) equals the unsharded
# report's. Both write to "report" from their own folder, so the page quotes the same --out.
REPORT="--scenario $ROOT/simulations/scenarios/8b-dense-1node.json --seeds 1,2 --steps 12"
pids=()
for k in 0 1 2; do
  SLURM_ARRAY_JOB_ID=43 SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=2 \
    WEIGHTSYNC_BUILD="$BUILD" MODE=report REPORT_ARGS="$REPORT" OUT="$WORK/report-shards" \
    bash deploy/slurm/sweep.sbatch > "$WORK/report-task-$k.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
mkdir -p "$WORK/report-full" "$WORK/report-merged"
# shellcheck disable=SC2086
(cd "$WORK/report-full" && "$BUILD/simulations/weightsync-sim" report $REPORT --jobs 1 --out report > /dev/null)
(cd "$WORK/report-merged" && "$BUILD/simulations/weightsync-sim" merge "$WORK"/report-shards/shard-* --out report > /dev/null)
diff -r "$WORK/report-full/report" "$WORK/report-merged/report"
files=$(find "$WORK/report-full/report" -type f | wc -l)
[ "$files" = 12 ] || { echo "expected 12 report files, got $files" >&2; exit 1; }

SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=2 WEIGHTSYNC_BUILD="$BUILD" \
  MODE=properties PROPERTY_CASES=50 PROPERTY_SEED=500 bash deploy/slurm/sweep.sbatch > "$WORK/props.log" 2>&1
grep -q "WS_PROPERTY_SHARD=1/3, seed 501, 50 cases" "$WORK/props.log"
grep -q "PASSED" "$WORK/props.log"

if SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=2 \
    bash deploy/slurm/sweep.sbatch 2> "$WORK/err.txt"; then
  echo "an array not starting at 0 was accepted" >&2; exit 1
fi
grep -q "the array must start at 0" "$WORK/err.txt"
echo "slurm array of 3 tasks: merged sweep equals the unsharded one ($runs runs), merged report the unsharded report ($files files)"
