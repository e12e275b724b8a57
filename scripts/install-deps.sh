#!/usr/bin/env bash
# Install the system packages ovn-driver needs to build, test and run, on Debian 12.
# Only what is missing is installed; `apt-get update` runs only when something is missing,
# so a second run is a few dpkg queries and nothing else.
set -euo pipefail

# Why each package is here:
#   openvswitch-switch  ovsdb-server, ovs-vswitchd (userspace datapath), ovs-vsctl
#   ovn-central         ovn-northd and the NB/SB databases (ovn-ctl start_northd)
#   ovn-host            ovn-controller, which creates br-int and sets ovn-installed
#   docker.io           dockerd and the 20.10 client at /usr/bin/docker (e2e tests, make run)
#   busybox-static      the one binary of the test image (no image can be pulled)
#   iproute2            ip netns / ip link in tests
#   openssl             TLS certificates for the OVSDB TLS tests
#   rpm                 rpmbuild for `make rpm`
#   systemd             systemd-analyze verify for the unit files (not used as init)
#   curl procps         health checks and process tools used by scripts and tests
#   logrotate binutils  the logrotate file test and objdump for the el7 addon check
#   ethtool             an independent reader of link features in the netlink tests
#   make                the build entry point (.ci/run installs it first if absent)
#   gcc libc6-dev       the SIOCETHTOOL addon (native/ethtool.c) that `make build` compiles
PACKAGES=(make gcc libc6-dev openvswitch-switch ovn-central ovn-host docker.io busybox-static iproute2 openssl rpm
  systemd curl procps logrotate binutils ethtool)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get installs system packages)" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all system packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep apt from starting the services it installs: scripts/stack.sh starts them with the options
# we need (dockerd without its default bridge or iptables, OVS on the userspace datapath).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -q
apt-get install -y -q "${missing[@]}"
echo "install-deps: done"
