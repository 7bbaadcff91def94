#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and compiles every installed header on its own,
# one translation unit per header: each one includes what it uses. Also checks that nothing
# internal was installed (the JSON reader, the deployment API's server half).
# Usage: check-installed-headers.sh <build dir> [C++ compiler]
set -euo pipefail
build_dir=$(realpath "$1")
cxx=${2:-c++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
include="$work/prefix/include"
mapfile -t headers < <(cd "$include" && find weightsync -name '*.h' | sort)
if [ "${#headers[@]}" -eq 0 ]; then
  echo "expected installed headers under $include, got none"
  exit 1
fi
if [ -e "$include/weightsync/internal" ]; then
  echo "expected no weightsync/internal headers in the install, got:"
  ls "$include/weightsync/internal"
  exit 1
fi
server_side='decode_hotload_request|decode_deployment_config|decode_deployment_update|encode_account_list|decode_completion_request|encode_error'
if grep -rnE "$server_side" "$include"; then
  echo "expected the server-side wire functions above to stay internal"
  exit 1
fi
failed=0
for header in "${headers[@]}"; do
  if ! printf '#include <%s>\n' "$header" |
      "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Wshadow -Wconversion \
        -Wno-sign-conversion -Werror -I"$include" -x c++ -; then
    echo "not self-contained: $header"
    failed=1
  fi
done
echo "${#headers[@]} installed headers, each compiled on its own"
exit "$failed"
