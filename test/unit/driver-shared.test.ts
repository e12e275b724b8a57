// Shared networks through OvnDriver: two hosts (two drivers with their own chassis, local
// databases and links) on one in-memory Northbound. Refs, conflicts, concurrent creation and
// removal, networks of the previous release, and duplicate addresses of Docker's default IPAM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateEndpoint, parseCreateNetwork, parseJoin } from '../../src/driver/api';
import { isDriverError } from '../../src/driver/errors';
import { insert, strMap } from '../../src/ovsdb/operations';
import { CHASSIS, EP, epReq, HOST, joinReq, NET, netReq, req, rig, Rig } from '../helpers/driver-rig';

const SW = 'default/198.18.70.0/24';
const NET2 = 'b'.repeat(64); // host 2's Docker network id for the same network
const EP2 = 'c'.repeat(64);

async function twoHosts(): Promise<[Rig, Rig]> {
  const h1 = await rig();
  const h2 = await rig({ nb: h1.nb, chassis: 'chassis-two' });
  return [h1, h2];
}

const net2Req = (gateway = '198.18.70.1/24', mtu?: string): ReturnType<typeof parseCreateNetwork> => parseCreateNetwork({
  NetworkID: NET2, Options: { 'com.docker.network.generic': mtu === undefined ? {} : { mtu } }, IPv4Data: [{ Pool: '198.18.70.0/24', Gateway: gateway }],
});
const ep2Req = (n = 3, endpointId = EP2): ReturnType<typeof parseCreateEndpoint> =>
  parseCreateEndpoint({ NetworkID: NET2, EndpointID: endpointId, Interface: { Address: `198.18.70.${n}/24` } });

function switches(r: Rig): { name: string; refs: Record<string, string> }[] {
  return r.nb.rows('Logical_Switch').map((row) => {
    const ids = row['external_ids'] as Map<string, string>;
    const refs = Object.fromEntries([...ids].filter(([k]) => k.startsWith('ovn-driver:network-id:')).map(([k, v]) => [k.slice('ovn-driver:network-id:'.length), v]));
    return { name: String(row['name']), refs };
  });
}

/** The endpoints' ports (not a routed switch's router-type port). */
function portNames(r: Rig): string[] {
  return r.nb.rows('Logical_Switch_Port').filter((p) => p['type'] !== 'router').map((p) => String(p['name'])).sort();
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isDriverError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

test('the same (VRF, subnet) on two hosts is one switch recording both network ids; each host finds it by its own id', async () => {
  const [h1, h2] = await twoHosts();
  await h1.driver.createNetwork(netReq());
  await h2.driver.createNetwork(net2Req());
  assert.deepEqual(switches(h1), [{ name: SW, refs: { [CHASSIS]: NET, 'chassis-two': NET2 } }]);
  await h1.driver.createEndpoint(epReq(EP, 2));
  await h2.driver.createEndpoint(ep2Req(3));
  await h2.driver.join(parseJoin({ NetworkID: NET2, EndpointID: EP2, SandboxKey: '/var/run/docker/netns/0123456789ab' }));
  assert.equal(h2.links.links.get('ovncccccccccccc')?.mtu, 1442);
  assert.equal(h1.links.links.get(HOST), undefined, 'host 2\'s Join made nothing on host 1');
  const view = h2.driver.describe() as { endpoints: { endpointId: string; networkId: string }[]; networks: { networkId: string; logicalSwitch: string }[] };
  assert.deepEqual(view.endpoints.map((e) => [e.endpointId, e.networkId]), [[EP2, NET2]]);
  assert.deepEqual(view.networks.map((n) => [n.logicalSwitch, n.networkId]), [[SW, NET2]]);
});

test('DeleteNetwork removes this host\'s ref and leaves the other host\'s ports; the last one removes the switch', async () => {
  const [h1, h2] = await twoHosts();
  await h1.driver.createNetwork(netReq());
  await h2.driver.createNetwork(net2Req());
  await h2.driver.createEndpoint(ep2Req(3));
  await h1.driver.deleteNetwork({ networkId: NET });
  assert.deepEqual(switches(h1), [{ name: SW, refs: { 'chassis-two': NET2 } }]);
  assert.deepEqual(portNames(h1), [EP2], 'host 2\'s port is untouched');
  await h1.driver.deleteNetwork({ networkId: NET }); // gone from this host: success
  await h2.driver.deleteEndpoint({ networkId: NET2, endpointId: EP2 });
  await h2.driver.deleteNetwork({ networkId: NET2 });
  assert.deepEqual(switches(h1), []);
  assert.deepEqual(portNames(h1), []);
});

test('two hosts creating the same network at once end with one switch and both refs', async () => {
  const [h1, h2] = await twoHosts();
  await Promise.all([h1.driver.createNetwork(netReq()), h2.driver.createNetwork(net2Req())]);
  assert.deepEqual(switches(h1), [{ name: SW, refs: { [CHASSIS]: NET, 'chassis-two': NET2 } }]);
});

test('two hosts removing the same network at once: the switch goes, none is left without refs', async () => {
  const [h1, h2] = await twoHosts();
  await h1.driver.createNetwork(netReq());
  await h2.driver.createNetwork(net2Req());
  await Promise.all([h1.driver.deleteNetwork({ networkId: NET }), h2.driver.deleteNetwork({ networkId: NET2 })]);
  assert.deepEqual(switches(h1), []);
});

test('a host adding its ref while the last other host removes the switch: the removal plans again and keeps the switch', async () => {
  const [h1, h2] = await twoHosts();
  await h1.driver.createNetwork(netReq());
  let raced = false;
  h1.nb.beforeTransact = async (ops): Promise<void> => {
    if (raced || !ops.some((o) => o.op === 'delete')) return;
    raced = true;
    await h2.driver.createNetwork(net2Req()); // commits between host 1's read and its delete
  };
  await h1.driver.deleteNetwork({ networkId: NET });
  assert.equal(raced, true);
  assert.deepEqual(switches(h1), [{ name: SW, refs: { 'chassis-two': NET2 } }]);
});

test('another gateway or MTU for the same (VRF, subnet) is CONFLICT naming the existing network; a second network on one host too', async () => {
  const [h1, h2] = await twoHosts();
  await h1.driver.createNetwork(netReq());
  await rejectsWith(h2.driver.createNetwork(net2Req('198.18.70.254/24')), 'CONFLICT', new RegExp(`logical switch "default/198\\.18\\.70\\.0/24" \\(Docker network ${NET} on host ${CHASSIS}\\) with subnets 198\\.18\\.70\\.0/24, gateways 198\\.18\\.70\\.1/24`));
  await rejectsWith(h2.driver.createNetwork(net2Req(undefined, '1400')), 'CONFLICT', /MTU the driver default, not .*MTU 1400/);
  const again = { ...net2Req(), networkId: 'd'.repeat(64) };
  await rejectsWith(h1.driver.createNetwork(again), 'CONFLICT', new RegExp(`this host \\(${CHASSIS}\\) already has Docker network ${NET}`));
  assert.deepEqual(switches(h1), [{ name: SW, refs: { [CHASSIS]: NET } }], 'nothing changed');
  // Another VRF is another network.
  await h2.driver.createNetwork(parseCreateNetwork({ NetworkID: NET2, Options: { 'com.docker.network.generic': { vrf: 'red' } }, IPv4Data: [{ Pool: '198.18.70.0/24', Gateway: '198.18.70.1/24' }] }));
  assert.deepEqual(switches(h1).map((s) => s.name).sort(), [SW, 'red/198.18.70.0/24']);
});

test('a network of the previous release (switch named by its id) keeps working: CreateNetwork replay, endpoints, Join, DeleteNetwork', async () => {
  const h1 = await rig();
  await h1.nb.transact([insert('Logical_Switch', { name: NET, external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'docker:network-id': NET, 'docker:subnets': '198.18.70.0/24', 'docker:mtu': '1400' }) })]);
  await h1.driver.createNetwork(netReq());
  assert.deepEqual(switches(h1).map((s) => s.name), [NET], 'no shared switch beside it');
  await h1.driver.createEndpoint(epReq());
  await h1.driver.join(joinReq());
  assert.equal(h1.links.links.get(HOST)?.mtu, 1400, 'the MTU the legacy switch records');
  await h1.driver.leave(req());
  await h1.driver.deleteEndpoint(req());
  await h1.driver.deleteNetwork({ networkId: NET });
  assert.deepEqual(switches(h1), []);
});

test('Docker\'s default IPAM on two hosts: an address another host\'s port holds is refused, naming the host and --ipam-driver ovn', async () => {
  const [h1, h2] = await twoHosts();
  await h1.driver.createNetwork(netReq());
  await h2.driver.createNetwork(net2Req());
  await h1.driver.createEndpoint(epReq(EP, 2));
  await rejectsWith(h2.driver.createEndpoint(ep2Req(2)), 'CONFLICT', new RegExp(`address 198\\.18\\.70\\.2 is already taken on network "${SW.replace(/[./]/g, '\\$&')}" by endpoint ${EP} on host ${CHASSIS}; .*--ipam-driver ovn`));
  assert.deepEqual(portNames(h1), [EP], 'no second port');
  // A free address works, and the freed one can be taken again.
  await h2.driver.createEndpoint(ep2Req(3));
  await h1.driver.deleteEndpoint(req());
  await h2.driver.createEndpoint(ep2Req(2, 'e'.repeat(64)));
  assert.deepEqual(portNames(h1), [EP2, 'e'.repeat(64)].sort());
});

test('two hosts creating endpoints with the same address at once: one succeeds, the other is CONFLICT', async () => {
  const [h1, h2] = await twoHosts();
  await h1.driver.createNetwork(netReq());
  await h2.driver.createNetwork(net2Req());
  const results = await Promise.allSettled([h1.driver.createEndpoint(epReq(EP, 5)), h2.driver.createEndpoint(ep2Req(5))]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.ok(isDriverError(failed?.reason, 'CONFLICT'), String(failed?.reason));
  assert.equal(portNames(h1).length, 1);
});

test('a host whose replica still shows the switch as its own skips the address scan, but a host that joined meanwhile fails its wait: planned again, the duplicate is refused', async () => {
  const [h1, h2] = await twoHosts();
  await h1.driver.createNetwork(netReq());
  // Host 1's replica does not see host 2 join, nor host 2's port.
  h1.nb.lag(true);
  await h2.driver.createNetwork(net2Req());
  await h2.driver.createEndpoint(ep2Req(2));
  await rejectsWith(h1.driver.createEndpoint(epReq(EP, 2)), 'CONFLICT', new RegExp(`address 198\\.18\\.70\\.2 is already taken .* by endpoint ${EP2} on host chassis-two`));
  // A free address, with the switch as read now (two hosts): created on the plan made again.
  await h1.driver.createEndpoint(epReq(EP, 4));
  h1.nb.lag(false);
  assert.deepEqual(portNames(h1), [EP, EP2].sort());
});
