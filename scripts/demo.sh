#!/usr/bin/env bash
# The main job: installs what is missing, builds Release, runs a real save-and-hotload loop with
# the production WeightSyncer against the fake deployment over loopback, under faults, and then
# writes the sync-policy report of the default (8B) preset: the same library against the
# embedded fake deployment on a virtual clock, every policy over three seeds.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWEIGHTSYNC_BUILD_TESTS=OFF \
  >/dev/null
cmake --build build/release -j "$(nproc)"

echo "== save-and-hotload loop against the fake deployment (loopback HTTP, fault plan on)"
./build/release/examples/sync_loop/weightsync-sync-demo --steps 16 --replicas 2

echo "== sync-policy report for the default preset (8B dense, one node; about a minute)"
report_dir=build/report-8b
./build/release/simulations/weightsync-sim report \
  --scenario simulations/scenarios/8b-dense-1node.json --out "$report_dir"
echo "The report is in $(pwd)/$report_dir: README.md with its PNG plots (reports/ holds the"
echo "committed reports of every preset)."
