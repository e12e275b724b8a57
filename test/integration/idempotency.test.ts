// Docker retries and rolls back: every call must be idempotent. CreateEndpoint twice, Join over
// what a crashed attempt left (a veth, an OVS port, both), Join twice, and Leave, DeleteEndpoint,
// DeleteNetwork of what is already gone all succeed and leave exactly one of everything (or
// nothing). Against an isolated daemon: its own databases and network namespace.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { withCleanup } from '../helpers/cleanup';
import { BRIDGE, IsolatedDaemon, startIsolatedDaemon } from '../helpers/isolated-daemon';
import { randomSuffix } from '../helpers/run';
import { postPlugin } from '../helpers/stack';

function hex64(): string {
  return (randomSuffix(16) + randomSuffix(16)).slice(0, 64);
}

async function call(d: IsolatedDaemon, name: string, body: Record<string, unknown>): Promise<unknown> {
  const r = await postPlugin(d.socketPath, `/NetworkDriver.${name}`, JSON.stringify(body));
  assert.equal(r.status, 200, `${name} answered ${r.status}: ${r.body}`);
  const doc: unknown = JSON.parse(r.body);
  return doc;
}

interface Counts {
  readonly switches: number;
  readonly lsps: number;
  readonly ports: number;
  readonly ifaces: number;
  readonly links: number;
}

/** How many of each thing exists for one endpoint (by its names). */
async function counts(d: IsolatedDaemon, networkId: string, endpointId: string): Promise<Counts> {
  const host = `ovn${endpointId.slice(0, 12)}`;
  const peer = `ovc${endpointId.slice(0, 12)}`;
  const [ls, lsp, ports, ifaces, links] = await Promise.all([
    // A switch is named by (VRF, subnets) and records the network id among its external_ids.
    d.nbctl(['--bare', '--columns=external_ids', 'list', 'Logical_Switch']),
    d.nbctl(['--bare', '--columns=name', 'find', 'Logical_Switch_Port', `name=${endpointId}`]),
    d.vsctl(['--bare', '--columns=name', 'find', 'Port', `name=${host}`]),
    d.vsctl(['--bare', '--columns=name', 'find', 'Interface', `name=${host}`]),
    d.ip(['-o', 'link', 'show']),
  ]);
  const lines = (s: string): number => s.split('\n').filter((l) => l.trim() !== '').length;
  return {
    switches: ls.split('\n').filter((l) => l.includes(`=${networkId}`)).length,
    lsps: lines(lsp),
    ports: lines(ports),
    ifaces: lines(ifaces),
    links: links.split('\n').filter((l) => l.includes(`${host}@`) || l.includes(`${peer}@`)).length,
  };
}

const ONE: Counts = { switches: 1, lsps: 1, ports: 1, ifaces: 1, links: 2 };

test('every call is idempotent under retries, rollbacks and crashed attempts', { timeout: 120_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const d = await startIsolatedDaemon(cleanup);
    const networkId = hex64();
    const octet = 1 + Math.floor(Math.random() * 250);
    const create = {
      NetworkID: networkId,
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: `198.18.${octet}.0/24`, Gateway: `198.18.${octet}.1/24` }],
      IPv6Data: [],
    };
    await call(d, 'CreateNetwork', create);
    await call(d, 'CreateNetwork', create);

    // Three endpoints, each joined over a different crashed attempt.
    const eps = ['veth-left', 'port-left', 'both-left'].map((what, i) => ({ what, id: hex64(), ip: `198.18.${octet}.${10 + i}/24` }));
    for (const ep of eps) {
      const req = { NetworkID: networkId, EndpointID: ep.id, Interface: { Address: ep.ip, AddressIPv6: '', MacAddress: '' }, Options: {} };
      const first = await call(d, 'CreateEndpoint', req);
      const second = await call(d, 'CreateEndpoint', req);
      assert.deepEqual(second, first, 'a retried CreateEndpoint answers the same');
      assert.deepEqual(await counts(d, networkId, ep.id), { switches: 1, lsps: 1, ports: 0, ifaces: 0, links: 0 });
      const lsps = await d.nbctl(['lsp-list', `default/198.18.${octet}.0/24`]); // the network's switch
      assert.equal(lsps.split('\n').filter((l) => l.includes(ep.id)).length, 1, 'the switch lists the port once');

      const host = `ovn${ep.id.slice(0, 12)}`;
      const peer = `ovc${ep.id.slice(0, 12)}`;
      if (ep.what !== 'port-left') {
        // As a crash between the veth and the OVS transaction leaves it (with another MAC).
        await d.ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      }
      if (ep.what !== 'veth-left') {
        await d.vsctl(['add-port', BRIDGE, host, '--', 'set', 'Interface', host, `external_ids:iface-id=${ep.id}`, 'external_ids:"ovn-driver:owner"=ovn-driver']);
      }
      const join = { NetworkID: networkId, EndpointID: ep.id, SandboxKey: `/var/run/docker/netns/${randomSuffix(6)}`, Options: {} };
      const j1 = await call(d, 'Join', join);
      assert.deepEqual(await counts(d, networkId, ep.id), ONE, `${ep.what}: one of everything after Join`);
      const j2 = await call(d, 'Join', join);
      assert.deepEqual(j2, j1, 'a retried Join answers the same');
      assert.deepEqual(await counts(d, networkId, ep.id), ONE, `${ep.what}: one of everything after a second Join`);
      // The container end carries the logical port's MAC (a leftover's MAC was not kept).
      const mac = (await d.nbctl(['lsp-get-addresses', ep.id])).trim().split(' ')[0] ?? '';
      assert.match(await d.ip(['-o', 'link', 'show', peer]), new RegExp(`link/ether ${mac} `));
      const ports = (await d.vsctl(['list-ports', BRIDGE])).split('\n').filter((p) => p === host);
      assert.equal(ports.length, 1, `${host} is on ${BRIDGE} once`);
    }

    const [a, b, c] = eps;
    assert.ok(a && b && c);
    const ep = (e: { id: string }): Record<string, unknown> => ({ NetworkID: networkId, EndpointID: e.id });
    // Leave twice.
    await call(d, 'Leave', ep(a));
    await call(d, 'Leave', ep(a));
    assert.deepEqual(await counts(d, networkId, a.id), { switches: 1, lsps: 1, ports: 0, ifaces: 0, links: 0 });
    // DeleteEndpoint twice, after Leave.
    await call(d, 'DeleteEndpoint', ep(a));
    await call(d, 'DeleteEndpoint', ep(a));
    assert.deepEqual(await counts(d, networkId, a.id), { switches: 1, lsps: 0, ports: 0, ifaces: 0, links: 0 });
    // DeleteEndpoint without Leave (a crash skipped it): the local port and veth go too.
    await call(d, 'DeleteEndpoint', ep(b));
    assert.deepEqual(await counts(d, networkId, b.id), { switches: 1, lsps: 0, ports: 0, ifaces: 0, links: 0 });
    // The veth already gone (deleted behind the driver's back), then Leave and DeleteEndpoint.
    await d.ip(['link', 'del', `ovn${c.id.slice(0, 12)}`]);
    await call(d, 'Leave', ep(c));
    assert.deepEqual(await counts(d, networkId, c.id), { switches: 1, lsps: 1, ports: 0, ifaces: 0, links: 0 });
    await call(d, 'DeleteEndpoint', ep(c));
    // Never-created endpoint: Leave and DeleteEndpoint succeed.
    await call(d, 'Leave', { NetworkID: networkId, EndpointID: hex64() });
    await call(d, 'DeleteEndpoint', { NetworkID: networkId, EndpointID: hex64() });
    // DeleteNetwork twice.
    await call(d, 'DeleteNetwork', { NetworkID: networkId });
    await call(d, 'DeleteNetwork', { NetworkID: networkId });
    for (const e of eps) assert.deepEqual(await counts(d, networkId, e.id), { switches: 0, lsps: 0, ports: 0, ifaces: 0, links: 0 });
    assert.equal((await d.vsctl(['list-ports', BRIDGE])).trim(), '', 'no OVS port left');
    assert.equal(d.alive(), true);
  });
});
