#!/usr/bin/env node
// The managed plugin's config.json (Docker plugin API v2), printed on stdout.
// Usage: node scripts/plugin-config.js   (needs dist/: the settable environment is generated
// from the daemon's own option table, dist/src/config.js OPTIONS, so it cannot drift from it)
//
// What Docker gets, and why:
//   interface   docker.networkdriver/1.0 and docker.ipamdriver/1.0 on ovn.sock (dockerd dials it
//               as /run/docker/plugins/<plugin id>/ovn.sock). Docker 20.10 registers an IPAM
//               driver per declared type without failing on GetCapabilities; the IPAM calls
//               are answered with an error until the daemon implements them.
//   network     host: the host ends of the veths and br-int live in the host's namespace.
//   capabilities CAP_NET_ADMIN only (rtnetlink: veth pairs, MTU, MAC, link up, delete), on top
//               of Docker's default set for plugins.
//   mounts      the OVS and OVN run directories (database and control sockets), /etc/openvswitch
//               (TLS files the SSL row names), /var/log/openvswitch (the log file) and Docker's
//               API socket (reconciliation asks Docker which endpoints still exist); each source
//               is settable: docker plugin set ovn-driver ovs-run.source=/other/dir
//   env         DEBUG=1 (debug logs) and every daemon option but the socket, as OVN_DRIVER_*;
//               empty means the daemon's default.
'use strict';

const path = require('node:path');

const root = path.join(__dirname, '..');
let OPTIONS;
try {
  ({ OPTIONS } = require(path.join(root, 'dist', 'src', 'config.js')));
} catch (err) {
  process.stderr.write(`plugin-config: failed to load dist/src/config.js (${err && err.message ? err.message : err}): run \`make build\` first\n`);
  process.exit(1);
}

// Fixed by the plugin's layout: Docker dials ovn.sock in the plugin's socket directory, the
// Docker socket is the mount below, and the plugin API stays off TCP.
const FIXED = new Set(['socket', 'socket-group', 'docker-socket', 'tcp-listen']);
// Values the plugin sets where the daemon's default is not what a plugin wants.
// Its own file: the RPM's logrotate signals only the systemd daemon, which writes ovn-driver.log.
const PLUGIN_VALUE = { 'log-file': '/var/log/openvswitch/ovn-driver-plugin.log' };

const mount = (name, dir, description, type = 'bind') => ({
  name,
  description,
  source: dir,
  destination: dir,
  type,
  options: ['rbind'],
  settable: ['source'],
});

const config = {
  description: 'OVN network driver for Docker: each network an OVN logical switch, each container a port on br-int',
  documentation: 'https://github.com/ovn-driver/ovn-driver#install-as-a-docker-managed-plugin',
  entrypoint: ['/usr/bin/node', '--max-semi-space-size=1', '/usr/lib/ovn-driver/ovn-driver.js'],
  workdir: '/',
  interface: { types: ['docker.networkdriver/1.0', 'docker.ipamdriver/1.0'], socket: 'ovn.sock' },
  network: { type: 'host' },
  linux: { capabilities: ['CAP_NET_ADMIN'] },
  mounts: [
    mount('ovs-run', '/var/run/openvswitch', 'Open vSwitch run directory (db.sock)'),
    mount('ovn-run', '/var/run/ovn', 'OVN run directory (ovnnb_db.sock on a central node)'),
    mount('ovs-etc', '/etc/openvswitch', 'Open vSwitch configuration (TLS key, certificate and CA)'),
    mount('ovs-log', '/var/log/openvswitch', 'where ovn-driver.log is written'),
    mount('docker-sock', '/var/run/docker.sock', 'Docker API socket: reconciliation asks which endpoints Docker still has'),
  ],
  env: [
    { name: 'DEBUG', description: '1 = debug logs (each request with its id and duration), 0 = info', value: '0', settable: ['value'] },
    ...OPTIONS.filter((o) => !FIXED.has(o.flag)).map((o) => ({
      name: o.env,
      description: `${o.describe}${o.defaultText !== undefined ? ` (empty = ${o.defaultText})` : ''}`,
      value: PLUGIN_VALUE[o.flag] ?? '',
      settable: ['value'],
    })),
    // The RPM launcher's malloc settings (see spec/ovn-driver.spec): about 30 MB less RSS.
    { name: 'MALLOC_ARENA_MAX', description: 'glibc malloc arenas', value: '2', settable: ['value'] },
    { name: 'MALLOC_MMAP_THRESHOLD_', description: 'glibc malloc mmap threshold (bytes)', value: '32768', settable: ['value'] },
  ],
};

process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
