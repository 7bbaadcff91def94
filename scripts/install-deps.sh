#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever the build, tests, benchmarks and reports need
# and this machine lacks. Idempotent: a machine that has everything is left untouched.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev          # libFuzzer targets, sanitizer runtimes
  libgtest-dev libgmock-dev         # unit tests
  librapidcheck-dev                 # property tests
  libbenchmark-dev                  # benchmarks
  libcpp-httplib-dev                # the library's HTTP transport
  libboost-dev                      # Asio + Beast (header-only): the fake's event-driven server
  nlohmann-json3-dev                # JSON on the wire
  zlib1g-dev                        # the reference Adler-32 the fake's own is tested against
  libzstd-dev                       # delta compression
  libcli11-dev                      # command lines
  gcovr                             # coverage
  gnuplot-nox                       # report plots
  python3 curl                      # outside-client example
  python3-httpx                     # bench/fakeserver_load.py: latency as the reference SDK's client sees it
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
