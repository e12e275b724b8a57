#!/usr/bin/env bash
# Build the ovn-driver RPM with rpmbuild (Debian's `rpm` package works), for el7 and newer.
# Usage: scripts/build-rpm.sh [--out DIR] [--release N]    (prints the path of the .rpm)
#   --out      where the .rpm goes (default build/rpm)
#   --release  RPM release number (default 1); tests build 1 and 2 to exercise an upgrade
# Needs dist/ (tsc -p tsconfig.json). Payload: the esbuild bundle of dist/src/main.js, the netlink
# and SIOCETHTOOL (ethtool.node) addons built for glibc 2.17 by Zig, the unit, sysconfig and
# logrotate files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/rpm"
release=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --release) release=$2; shift 2 ;;
    *) echo "build-rpm: unknown argument \"$1\"; usage: build-rpm.sh [--out DIR] [--release N]" >&2; exit 2 ;;
  esac
done
if [ ! -f "$root/dist/src/main.js" ]; then
  echo "build-rpm: failed to find dist/src/main.js: run \`make build\` first" >&2
  exit 1
fi
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")

mkdir -p "$root/.tmp"
# A fresh topdir per run, so `make rpm` and the RPM test can run at the same time.
top=$(mktemp -d "$root/.tmp/rpmbuild.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SOURCES" "$top/RPMS" "$top/BUILD" "$top/BUILDROOT" "$top/SPECS" "$top/SRPMS"
node "$root/scripts/build-bundle.js" "$root/dist/src/main.js" "$top/SOURCES/ovn-driver.js" >/dev/null
# Writes SOURCES/ethtool.node beside it.
"$root/scripts/build-addon-el7.sh" "$top/SOURCES/netlink.node" >/dev/null
cp "$root/systemd/ovn-driver.service" "$root/systemd/ovn-driver.sysconfig" "$root/systemd/ovn-driver.logrotate" "$top/SOURCES/"

rpmbuild -bb --quiet \
  --define "_topdir $top" \
  --define "_dbpath $top/rpmdb" \
  --define "ovn_version $version" \
  --define "ovn_release $release" \
  "$root/spec/ovn-driver.spec" >&2

mkdir -p "$out"
rpm_file=$(find "$top/RPMS" -name "ovn-driver-$version-$release*.rpm" | head -n 1)
if [ -z "$rpm_file" ]; then
  echo "build-rpm: rpmbuild produced no ovn-driver-$version-$release RPM under $top/RPMS" >&2
  exit 1
fi
cp "$rpm_file" "$out/"
echo "$out/$(basename "$rpm_file")"
