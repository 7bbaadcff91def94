#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then configures, builds and runs
# examples/consumer against it: the package (the client library and the test kit) works for a
# project outside this tree.
set -euo pipefail
build_dir=$(realpath "$1")
src_dir=$(realpath "$(dirname "$0")/..")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$src_dir/examples/consumer" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
"$work/build/consumer_fake_sync"
