// The daemon's Northbound monitor (monitors.ts nbMonitor) against real, private ovsdb-servers:
// other hosts' ports never reach the replica, the condition follows a renamed chassis, and
// every call on a port outside the replica (written before the rename) still reads it from the
// server: a retried CreateEndpoint, EndpointOperInfo, DeleteEndpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseCidr } from '../../src/driver/addr';
import { parseCreateEndpoint, parseCreateNetwork } from '../../src/driver/api';
import { localChassis } from '../../src/driver/chassis';
import { followChassis, nbMonitor, OVS_MONITOR } from '../../src/driver/monitors';
import { sharedSwitchName } from '../../src/driver/names';
import { OvnDriver } from '../../src/driver/service';
import { openLinks } from '../../src/netlink';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { cond, insert, mutate, select, strMap, update } from '../../src/ovsdb/operations';
import { NB_SCHEMA, startStandalone, VSWITCH_SCHEMA, withCleanup, Defer } from '../helpers/ovsdb-server';

const hex = (): string => randomBytes(32).toString('hex');
const CHASSIS_KEY = 'ovn-driver:chassis';

async function until(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rig(defer: Defer, chassis: string): Promise<{ nb: OvsdbClient; ovs: OvsdbClient; driver: OvnDriver; writer: OvsdbClient; errors: string[] }> {
  const nbServer = await startStandalone(NB_SCHEMA);
  defer(() => nbServer.close());
  const ovsServer = await startStandalone(VSWITCH_SCHEMA);
  defer(() => ovsServer.close());
  const fast = { backoff: { minMs: 50, maxMs: 200 }, requestTimeoutMs: 5000 };
  const ovs = new OvsdbClient({ remotes: ovsServer.remote, database: 'Open_vSwitch', monitor: OVS_MONITOR, ...fast });
  defer(() => ovs.close());
  await ovs.connect();
  await ovs.transact([
    insert('Bridge', { name: 'br-int' }, 'br'),
    insert('Open_vSwitch', { bridges: [namedUuid('br')], external_ids: strMap({ 'system-id': chassis }) }),
  ]);
  await until('system-id in the replica', () => localChassis(ovs.replica) === chassis);
  // As main.ts wires it.
  const nb = new OvsdbClient({ remotes: nbServer.remote, database: 'OVN_Northbound', monitor: nbMonitor(localChassis(ovs.replica)), ...fast });
  defer(() => nb.close());
  const errors: string[] = [];
  const logger = { error: (m: string): number => errors.push(m), warn: (m: string): number => errors.push(m), info(): void {}, debug(): void {} };
  const stop = followChassis(ovs.replica, nb, localChassis(ovs.replica), logger);
  defer(stop);
  await nb.connect();
  const writer = new OvsdbClient({ remotes: nbServer.remote, database: 'OVN_Northbound', ...fast });
  defer(() => writer.close());
  const links = openLinks();
  defer(() => links.close());
  const driver = new OvnDriver({
    nb, nbRemotes: nbServer.remote, ovs, ovsRemotes: ovsServer.remote, links, logger,
    config: { bridge: 'br-int', mtu: 1442, readyTimeoutMs: 100, dbTimeoutMs: 5000 },
  });
  return { nb, ovs, driver, writer, errors };
}

function netReq(networkId: string): ReturnType<typeof parseCreateNetwork> {
  return parseCreateNetwork({ NetworkID: networkId, Options: {}, IPv4Data: [{ Pool: '198.18.71.0/24', Gateway: '198.18.71.1/24' }], IPv6Data: [] });
}
const epReq = (networkId: string, endpointId: string, n: number): ReturnType<typeof parseCreateEndpoint> =>
  parseCreateEndpoint({ NetworkID: networkId, EndpointID: endpointId, Interface: { Address: `198.18.71.${n}/24`, AddressIPv6: '', MacAddress: '' } });

/** The endpoints' ports in the replica (router-type ports are all monitored: one per routed network and VRF way out). */
function replicaPorts(nb: OvsdbClient): string[] {
  return [...nb.replica.table('Logical_Switch_Port').values()].filter((r) => r['type'] !== 'router').map((r) => String(r['name'])).sort();
}

async function serverPorts(c: OvsdbClient, name: string): Promise<number> {
  const [r] = await c.transact([select('Logical_Switch_Port', [cond('name', '==', name)], ['name'])]);
  return r?.rows?.length ?? 0;
}

/** The logical switch every host's network of netReq's (VRF, subnet) shares. */
const SWITCH = ((): string => {
  const subnet = parseCidr('198.18.71.0/24');
  assert.ok(subnet);
  return sharedSwitchName('default', [subnet]);
})();

/** Ports of other chassis on the network's switch, as other hosts' drivers write them. */
async function otherHostsPorts(r: { writer: OvsdbClient }, n: number, switchName = SWITCH): Promise<string[]> {
  const names = Array.from({ length: n }, () => hex());
  await r.writer.transact([
    ...names.map((name, i) => insert('Logical_Switch_Port', { name, external_ids: strMap({ [CHASSIS_KEY]: `other-${i % 5}`, 'ovn-driver:owner': 'ovn-driver' }) }, `p${i}`)),
    mutate('Logical_Switch', [cond('name', '==', switchName)], [['ports', 'insert', names.map((_, i) => namedUuid(`p${i}`))]]),
  ]);
  return names;
}

test("other hosts' ports never reach the replica; this host's do", async () =>
  withCleanup(async (defer) => {
    const r = await rig(defer, 'host-a');
    const net = hex();
    await r.driver.createNetwork(netReq(net));
    const others = await otherHostsPorts(r, 40);
    const ep = hex();
    await r.driver.createEndpoint(epReq(net, ep, 5));
    await until('own port', () => replicaPorts(r.nb).includes(ep));
    // The other ports were committed before ours: had they been sent, they would be here.
    assert.deepEqual(replicaPorts(r.nb), [ep]);
    assert.equal(await serverPorts(r.writer, others[0] ?? ''), 1);
    assert.equal(r.nb.replica.table('Logical_Switch').size, 1, 'every switch is monitored');
    assert.deepEqual([...r.nb.replica.table('Logical_Switch_Port').values()].filter((p) => p['type'] === 'router').map((p) => p['name']), [`rtr/${SWITCH}`], 'and every router-type port');
    // Status counts this host's ports, and says so.
    const described = r.driver.describe() as { networks: Record<string, unknown>[]; endpoints: Record<string, unknown>[] };
    assert.deepEqual(described.networks.map((n) => [n['networkId'], n['portsOnThisHost']]), [[net, 1]]);
    assert.deepEqual(described.endpoints.map((e) => e['endpointId']), [ep]);
  }));

test('a renamed chassis: the replica follows it, and ports written under the old name are still served from the server', async () =>
  withCleanup(async (defer) => {
    const r = await rig(defer, 'host-old');
    const net = hex();
    // A network of the previous release (its switch named by the network id): a shared switch
    // records its hosts by chassis name, so a renamed host no longer finds its ref there.
    await r.writer.transact([insert('Logical_Switch', { name: net, external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'docker:network-id': net, 'docker:subnets': '198.18.71.0/24' }) })]);
    const ep = hex();
    const created = await r.driver.createEndpoint(epReq(net, ep, 6));
    await until('port under the old chassis', () => replicaPorts(r.nb).includes(ep));
    // A port another tool wrote for the new name already (e.g. a peer's migration).
    const [mine] = await otherHostsPorts(r, 1, net);
    assert.ok(mine !== undefined);
    await r.writer.transact([update('Logical_Switch_Port', [cond('name', '==', mine)], { external_ids: strMap({ [CHASSIS_KEY]: 'host-new', 'ovn-driver:owner': 'ovn-driver' }) })]);

    await r.ovs.transact([update('Open_vSwitch', [], { external_ids: strMap({ 'system-id': 'host-new' }) })]);
    await until('replica on the new chassis', () => replicaPorts(r.nb).join() === mine);
    assert.deepEqual(r.errors, []);

    // The endpoint's port is outside the replica now: every call still finds it.
    assert.deepEqual(await r.driver.createEndpoint(epReq(net, ep, 6)), created, 'a retried CreateEndpoint is idempotent');
    assert.equal(await serverPorts(r.writer, ep), 1);
    const info = await r.driver.endpointOperInfo({ networkId: net, endpointId: ep });
    assert.equal((info.Value as Record<string, unknown>)['ovn.chassis'], 'host-old');
    await r.driver.deleteEndpoint({ networkId: net, endpointId: ep });
    assert.equal(await serverPorts(r.writer, ep), 0, 'DeleteEndpoint removed the port it read from the server');
    await r.driver.deleteEndpoint({ networkId: net, endpointId: ep });
  }));
