// Routed VRFs through OvnDriver on an in-memory Northbound (real schema, replica, garbage
// collection): the VRF's router and each network's gateway port with the switch, Join's
// gateways, --internal networks, overlapping subnets, two hosts racing on one VRF's router, and
// the routing of switches made before routing (routeExistingNetwork, NetworkUpgrader).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateNetwork } from '../../src/driver/api';
import { isDriverError } from '../../src/driver/errors';
import { gatewayMac } from '../../src/driver/names';
import { subnetsOverlap } from '../../src/driver/plan-router';
import { NetworkUpgrader } from '../../src/driver/upgrade';
import { parseCidr } from '../../src/driver/addr';
import { insert, strMap } from '../../src/ovsdb/operations';
import { CHASSIS, epReq, joinReq, NET, rig, Rig } from '../helpers/driver-rig';

const NET_B = 'b'.repeat(64);
const NET_C = 'c'.repeat(64);

function net(networkId: string, subnet: string, opts: { vrf?: string; internal?: boolean; ipv6?: string } = {}): ReturnType<typeof parseCreateNetwork> {
  return parseCreateNetwork({
    NetworkID: networkId,
    Options: { 'com.docker.network.generic': opts.vrf === undefined ? {} : { vrf: opts.vrf }, ...(opts.internal ? { 'com.docker.network.internal': true } : {}) },
    IPv4Data: [{ Pool: `${subnet}.0/24`, Gateway: `${subnet}.1/24` }],
    IPv6Data: opts.ipv6 === undefined ? [] : [{ Pool: `${opts.ipv6}/64`, Gateway: `${opts.ipv6}1/64` }],
  });
}

interface RouterRow { name: string; ports: string[]; vrf: string | undefined }
interface RouterPortRow { uuid: string; name: string; mac: string; networks: string[] }

function uuidText(v: unknown): string {
  return typeof v === 'object' && v !== null && 'value' in v ? String((v as { value: unknown }).value) : String(v);
}

function routers(r: Rig): RouterRow[] {
  return r.nb.rows('Logical_Router').map((row) => ({
    name: String(row['name']),
    ports: (row['ports'] as unknown[]).map(uuidText),
    vrf: (row['external_ids'] as Map<string, string>).get('docker:vrf'),
  }));
}

function routerPorts(r: Rig): RouterPortRow[] {
  return r.nb.rows('Logical_Router_Port').map((row) => ({
    uuid: uuidText(row['_uuid']),
    name: String(row['name']),
    mac: String(row['mac']),
    networks: [...(row['networks'] as string[])].sort(),
  })).sort((a, b) => a.name.localeCompare(b.name));
}

function routerTypePorts(r: Rig): { name: string; routerPort: string | undefined }[] {
  return r.nb.rows('Logical_Switch_Port').filter((p) => p['type'] === 'router').map((p) => ({
    name: String(p['name']),
    routerPort: (p['options'] as Map<string, string>).get('router-port'),
  })).sort((a, b) => a.name.localeCompare(b.name));
}

function switchIds(r: Rig, name: string): Map<string, string> | undefined {
  return r.nb.rows('Logical_Switch').find((s) => s['name'] === name)?.['external_ids'] as Map<string, string> | undefined;
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<string> {
  let message = '';
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isDriverError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    message = e.message;
    return true;
  });
  return message;
}

test('subnetsOverlap and gatewayMac: the rules every host applies alike', () => {
  const c = (t: string): NonNullable<ReturnType<typeof parseCidr>> => parseCidr(t) ?? assert.fail(t);
  assert.equal(subnetsOverlap(c('198.18.10.1/24'), c('198.18.10.129/25')), true);
  assert.equal(subnetsOverlap(c('198.18.10.129/25'), c('198.18.10.1/24')), true);
  assert.equal(subnetsOverlap(c('198.18.10.1/24'), c('198.18.11.1/24')), false);
  assert.equal(subnetsOverlap(c('198.18.10.1/23'), c('198.18.11.1/24')), true);
  assert.equal(subnetsOverlap(c('198.18.10.1/24'), c('fd00::1/64')), false);
  assert.equal(subnetsOverlap(c('fd00:1::1/64'), c('fd00:1::8000:0:0:1/65')), true);
  assert.equal(gatewayMac([c('fd00:51::1/64'), c('198.18.50.1/24')]), '0a:58:c6:12:32:01');
  // IPv6 only: its last four bytes.
  assert.equal(gatewayMac([c('fd00:51::a:102/64')]), '0a:58:00:0a:01:02');
});

test('a VRF\'s networks share its router, one gateway port each; Join answers the gateways; the last network removes the router', async () => {
  const r = await rig();
  await r.driver.createNetwork(net(NET, '198.18.70', { ipv6: 'fd00:70::' }));
  await r.driver.createNetwork(net(NET_B, '198.18.71'));
  assert.deepEqual(routers(r).map((x) => [x.name, x.vrf, x.ports.length]), [['vrf/default', 'default', 2]]);
  const ports = routerPorts(r);
  assert.deepEqual(ports.map((p) => [p.name, p.mac, p.networks]), [
    ['gw/default/198.18.70.0/24', '0a:58:c6:12:46:01', ['198.18.70.1/24', 'fd00:70::1/64']],
    ['gw/default/198.18.71.0/24', '0a:58:c6:12:47:01', ['198.18.71.1/24']],
  ]);
  assert.deepEqual(new Set(routers(r)[0]?.ports), new Set(ports.map((p) => p.uuid)));
  assert.deepEqual(routerTypePorts(r), [
    { name: 'rtr/default/198.18.70.0/24', routerPort: 'gw/default/198.18.70.0/24' },
    { name: 'rtr/default/198.18.71.0/24', routerPort: 'gw/default/198.18.71.0/24' },
  ]);
  assert.equal(switchIds(r, 'default/198.18.70.0/24')?.get('ovn-driver:router'), 'vrf/default');
  assert.equal(switchIds(r, 'default/198.18.70.0/24')?.get('docker:internal'), 'false');

  await r.driver.createEndpoint(epReq());
  const j = await r.driver.join(joinReq());
  assert.equal(j.response.Gateway, '198.18.70.1');
  assert.equal(j.response.GatewayIPv6, 'fd00:70::1');
  assert.equal(j.response.DisableGatewayService, true);

  const view = r.driver.describe() as { vrfs: { vrf: string; router: string; networks: string[] }[] };
  assert.deepEqual(view.vrfs, [{ vrf: 'default', router: 'vrf/default', networks: ['default/198.18.70.0/24', 'default/198.18.71.0/24'], gateways: ['198.18.70.1/24', '198.18.71.1/24', 'fd00:70::1/64'], externalAddress: null }]);

  await r.driver.deleteEndpoint(epReq());
  await r.driver.deleteNetwork({ networkId: NET });
  assert.deepEqual(routerPorts(r).map((p) => p.name), ['gw/default/198.18.71.0/24'], 'the other network keeps its gateway port');
  assert.deepEqual(routerTypePorts(r).map((p) => p.name), ['rtr/default/198.18.71.0/24']);
  await r.driver.deleteNetwork({ networkId: NET_B });
  assert.deepEqual(routers(r), []);
  assert.deepEqual(routerPorts(r), []);
  assert.deepEqual(r.nb.rows('Logical_Switch_Port'), []);
  // Again: already gone is success, and writes nothing.
  const sent = r.nb.sent.length;
  await r.driver.deleteNetwork({ networkId: NET_B });
  assert.deepEqual(r.nb.sent.slice(sent).flat().map((o) => o.op).filter((op) => op !== 'select'), []);
});

test('--internal: no router port, Join answers no gateway, the switch records it; VRFs never share a router', async () => {
  const r = await rig();
  await r.driver.createNetwork(net(NET, '198.18.70', { internal: true }));
  assert.deepEqual(routers(r), []);
  assert.deepEqual(routerTypePorts(r), []);
  assert.equal(switchIds(r, 'default/198.18.70.0/24')?.get('docker:internal'), 'true');
  assert.equal(switchIds(r, 'default/198.18.70.0/24')?.has('ovn-driver:router'), false);
  await r.driver.createEndpoint(epReq());
  const j = await r.driver.join(joinReq());
  assert.equal(j.response.Gateway, undefined);
  assert.equal(j.response.GatewayIPv6, undefined);

  // The same subnet in two other VRFs: two routers, one port each.
  await r.driver.createNetwork(net(NET_B, '198.18.70', { vrf: 'red' }));
  await r.driver.createNetwork(net(NET_C, '198.18.70', { vrf: 'blue' }));
  assert.deepEqual(routers(r).map((x) => [x.name, x.ports.length]).sort(), [['vrf/blue', 1], ['vrf/red', 1]]);
});

test('a subnet overlapping another network of its VRF is CONFLICT naming that network, and nothing is created', async () => {
  const r = await rig();
  await r.driver.createNetwork(net(NET, '198.18.70'));
  const before = JSON.stringify([r.nb.rows('Logical_Switch'), r.nb.rows('Logical_Router'), r.nb.rows('Logical_Router_Port'), r.nb.rows('Logical_Switch_Port')]);
  const overlapping = parseCreateNetwork({ NetworkID: NET_B, Options: {}, IPv4Data: [{ Pool: '198.18.70.128/25', Gateway: '198.18.70.129/25' }] });
  const msg = await rejectsWith(r.driver.createNetwork(overlapping), 'CONFLICT', /198\.18\.70\.128\/25 overlaps 198\.18\.70\.0\/24 of network "default\/198\.18\.70\.0\/24"/);
  assert.match(msg, new RegExp(`Docker network ${NET} on host ${CHASSIS}`));
  assert.match(msg, /another -o vrf=/);
  assert.equal(JSON.stringify([r.nb.rows('Logical_Switch'), r.nb.rows('Logical_Router'), r.nb.rows('Logical_Router_Port'), r.nb.rows('Logical_Switch_Port')]), before);
  // Another VRF may hold it.
  await r.driver.createNetwork(parseCreateNetwork({ NetworkID: NET_B, Options: { 'com.docker.network.generic': { vrf: 'red' } }, IPv4Data: [{ Pool: '198.18.70.128/25', Gateway: '198.18.70.129/25' }] }));
});

test('a router of the VRF\'s name that the driver did not make is CONFLICT, and left alone', async () => {
  const r = await rig();
  await r.nb.transact([insert('Logical_Router', { name: 'vrf/default' })]);
  await rejectsWith(r.driver.createNetwork(net(NET, '198.18.70')), 'CONFLICT', /logical router "vrf\/default" exists and the ovn driver did not create it/);
  assert.deepEqual(r.nb.rows('Logical_Switch'), []);
  assert.equal(routers(r).length, 1);
});

test('two hosts creating networks of one VRF at once: one creates the router, the other\'s wait fails and it adds its port to that router', async () => {
  const h1 = await rig();
  const h2 = await rig({ nb: h1.nb, chassis: 'chassis-two' });
  // The replica has not seen host 1's router when host 2 plans.
  h1.nb.lag(true);
  await h1.driver.createNetwork(net(NET, '198.18.70'));
  await h2.driver.createNetwork(net(NET_B, '198.18.71'));
  h1.nb.lag(false);
  assert.deepEqual(routers(h1).map((x) => [x.name, x.ports.length]), [['vrf/default', 2]]);
  assert.deepEqual(routerPorts(h1).map((p) => p.name), ['gw/default/198.18.70.0/24', 'gw/default/198.18.71.0/24']);
  // Host 2's overlapping subnet is refused even while its replica lags.
  h1.nb.lag(true);
  await rejectsWith(h2.driver.createNetwork(parseCreateNetwork({ NetworkID: NET_C, Options: {}, IPv4Data: [{ Pool: '198.18.70.0/23', Gateway: '198.18.70.1/23' }] })), 'CONFLICT', /overlaps/);
  h1.nb.lag(false);
});

test('the last network of a VRF removed while another host adds one: the router is made again, never left without ports or lost', async () => {
  const h1 = await rig();
  const h2 = await rig({ nb: h1.nb, chassis: 'chassis-two' });
  await h1.driver.createNetwork(net(NET, '198.18.70'));
  // Host 2 plans with the router as it is (one port); host 1 then removes it before host 2 commits.
  let once = true;
  h1.nb.beforeTransact = async (ops): Promise<void> => {
    if (!once || !ops.some((o) => o.op === 'mutate' && o.table === 'Logical_Router')) return;
    once = false;
    h1.nb.beforeTransact = undefined;
    await h1.driver.deleteNetwork({ networkId: NET });
  };
  await h2.driver.createNetwork(net(NET_B, '198.18.71'));
  assert.deepEqual(routers(h1).map((x) => [x.name, x.ports.length]), [['vrf/default', 1]]);
  assert.deepEqual(routerPorts(h1).map((p) => p.name), ['gw/default/198.18.71.0/24']);
});

test('--internal must agree across the hosts of one switch', async () => {
  const h1 = await rig();
  const h2 = await rig({ nb: h1.nb, chassis: 'chassis-two' });
  await h1.driver.createNetwork(net(NET, '198.18.70', { internal: true }));
  await rejectsWith(h2.driver.createNetwork(net(NET_B, '198.18.70')), 'CONFLICT', /--internal/);
  await h2.driver.createNetwork(net(NET_B, '198.18.70', { internal: true }));
});

/** A switch as the release before routing wrote it: no docker:internal, no router. */
async function previousReleaseSwitch(r: Rig, name: string, networkId: string, subnet: string, vrf = 'default'): Promise<void> {
  await r.nb.transact([insert('Logical_Switch', {
    name,
    external_ids: strMap({
      'ovn-driver:owner': 'ovn-driver', [`ovn-driver:network-id:${CHASSIS}`]: networkId, 'docker:vrf': vrf,
      'docker:subnets': `${subnet}.0/24`, 'docker:gateways': `${subnet}.1/24`, 'docker:options': '{}',
    }),
  })]);
}

test('routeExistingNetwork: a switch of the previous release gets its router port (or, internal, only the mark); a second call finds it done', async () => {
  const r = await rig();
  await previousReleaseSwitch(r, 'default/198.18.70.0/24', NET, '198.18.70');
  await previousReleaseSwitch(r, 'default/198.18.71.0/24', NET_B, '198.18.71');
  await r.driver.createEndpoint(epReq());
  let j = await r.driver.join(joinReq());
  assert.equal(j.response.Gateway, undefined, 'not routed yet');

  assert.equal(await r.driver.routeExistingNetwork(NET, false), 'routed');
  assert.equal(await r.driver.routeExistingNetwork(NET, false), 'done');
  assert.equal(await r.driver.routeExistingNetwork(NET_B, true), 'routed');
  assert.equal(await r.driver.routeExistingNetwork(NET_C, false), 'gone');
  assert.deepEqual(routerPorts(r).map((p) => p.name), ['gw/default/198.18.70.0/24']);
  assert.deepEqual(routerTypePorts(r).map((p) => p.name), ['rtr/default/198.18.70.0/24']);
  assert.equal(switchIds(r, 'default/198.18.70.0/24')?.get('docker:internal'), 'false');
  assert.equal(switchIds(r, 'default/198.18.71.0/24')?.get('docker:internal'), 'true');
  assert.equal(switchIds(r, 'default/198.18.71.0/24')?.has('ovn-driver:router'), false);
  // The endpoint port made before stays on the switch, beside the router-type port.
  const sw = r.nb.rows('Logical_Switch').find((s) => s['name'] === 'default/198.18.70.0/24');
  assert.equal((sw?.['ports'] as unknown[]).length, 2);
  j = await r.driver.join(joinReq());
  assert.equal(j.response.Gateway, '198.18.70.1');
});

test('NetworkUpgrader: asks Docker which of this host\'s networks are internal, routes them, tries again while Docker is away, and skips other hosts\' switches', async () => {
  const r = await rig();
  await previousReleaseSwitch(r, 'default/198.18.70.0/24', NET, '198.18.70');
  await previousReleaseSwitch(r, 'default/198.18.72.0/24', NET_C, '198.18.72');
  // Another host's shared switch of the previous release: not this host's to route.
  await r.nb.transact([insert('Logical_Switch', { name: 'default/198.18.71.0/24', external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'ovn-driver:network-id:other-host': NET_B, 'docker:gateways': '198.18.71.1/24' }) })]);
  let dockerUp = false;
  const asked: string[] = [];
  const docker = {
    inspectNetwork: async (id: string): Promise<{ internal: boolean } | undefined> => {
      asked.push(id);
      if (!dockerUp) throw new Error('dial unix /var/run/docker.sock: connect: no such file or directory');
      return id === NET ? { internal: false } : id === NET_C ? { internal: true } : undefined;
    },
  };
  const logger = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };
  const up = new NetworkUpgrader({ nb: r.nb, ovs: r.ovs, driver: r.driver, docker, logger });
  assert.deepEqual(up.candidates().sort(), [NET, NET_C].sort());

  const failed = await up.pass();
  assert.equal(failed.errors.length, 2);
  assert.match(failed.errors[0] ?? '', /no such file/);
  assert.deepEqual(routers(r), [], 'nothing changed while Docker could not say');

  dockerUp = true;
  const done = await new NetworkUpgrader({ nb: r.nb, ovs: r.ovs, driver: r.driver, docker, logger }).pass();
  assert.deepEqual({ routed: [...done.routed].sort(), errors: done.errors }, { routed: [NET, NET_C].sort(), errors: [] });
  assert.deepEqual(routerPorts(r).map((p) => p.name), ['gw/default/198.18.70.0/24']);
  assert.equal(switchIds(r, 'default/198.18.72.0/24')?.get('docker:internal'), 'true');
  assert.equal(switchIds(r, 'default/198.18.71.0/24')?.has('docker:internal'), false, 'the other host\'s switch is left to it');
  assert.deepEqual(up.candidates(), []);
  assert.ok(!asked.includes(NET_B));
});

test('NetworkUpgrader.start: a failed attempt is scheduled again, and a clean one schedules nothing', async () => {
  const r = await rig();
  await previousReleaseSwitch(r, 'default/198.18.70.0/24', NET, '198.18.70');
  let dockerUp = false;
  const docker = { inspectNetwork: async (): Promise<{ internal: boolean }> => {
    if (!dockerUp) throw new Error('Docker is away');
    return { internal: false };
  } };
  const scheduled: { fn: () => void; ms: number }[] = [];
  const warnings: string[] = [];
  const logger = { error: (m: string): number => warnings.push(m), warn: (m: string): number => warnings.push(m), info(): void {}, debug(): void {} };
  const up = new NetworkUpgrader({ nb: r.nb, ovs: r.ovs, driver: r.driver, docker, logger, retryMs: 1234, schedule: (fn, ms) => (scheduled.push({ fn, ms }), () => undefined) });
  up.start();
  for (let i = 0; i < 5 && scheduled.length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(scheduled.length, 1);
  assert.equal(scheduled[0]?.ms, 1234);
  assert.match(warnings.join('\n'), /failed to route a network of the previous release: network a+: Docker is away; trying again in 1\.234 s/);
  dockerUp = true;
  scheduled[0]?.fn();
  for (let i = 0; i < 10 && routers(r).length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
  await up.stop();
  assert.equal(scheduled.length, 1, 'done: nothing scheduled');
  assert.deepEqual(routers(r).map((x) => x.name), ['vrf/default']);
});

test('20 networks of one VRF created at once on one host all succeed (they take turns on the VRF router) and are removed at once', async () => {
  const r = await rig();
  const ids = Array.from({ length: 20 }, (_, i) => (i + 10).toString(16).padStart(2, '0').repeat(32));
  // The replica lags behind the commits, as a real one may: each plan's wait on the router fails
  // once and is made again from the server.
  r.nb.lag(true);
  await Promise.all(ids.map((id, i) => r.driver.createNetwork(net(id, `198.18.${100 + i}`))));
  r.nb.lag(false);
  assert.deepEqual(routers(r).map((x) => [x.name, x.ports.length]), [['vrf/default', 20]]);
  await Promise.all(ids.map((id) => r.driver.deleteNetwork({ networkId: id })));
  assert.deepEqual(routers(r), []);
  assert.deepEqual(r.nb.rows('Logical_Switch'), []);
});
