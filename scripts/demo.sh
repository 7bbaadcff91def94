#!/usr/bin/env bash
# The main job: installs what is missing, builds Release, and runs a real save-and-hotload loop
# with the production WeightSyncer against the fake deployment over loopback, under faults.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWEIGHTSYNC_BUILD_TESTS=OFF \
  >/dev/null
cmake --build build/release -j "$(nproc)"

echo "== save-and-hotload loop against the fake deployment (loopback HTTP, fault plan on)"
./build/release/examples/sync_loop/weightsync-sync-demo --steps 16 --replicas 2
