// Shared networks against a real Northbound ovsdb-server: two OvnDrivers (two hosts, each with
// its own Northbound connection and replica and its own Open_vSwitch database and chassis)
// racing each other, so the waits the plans rely on are checked by ovsdb-server itself.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseCreateEndpoint, parseCreateNetwork } from '../../src/driver/api';
import { isDriverError } from '../../src/driver/errors';
import { NB_MONITOR, OVS_MONITOR } from '../../src/driver/monitors';
import { OvnDriver } from '../../src/driver/service';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { cond, insert, select, strMap } from '../../src/ovsdb/operations';
import { FakeLinks } from '../helpers/fake-links';
import { NB_SCHEMA, startStandalone, VSWITCH_SCHEMA, withCleanup, Defer } from '../helpers/ovsdb-server';

const hex = (): string => randomBytes(32).toString('hex');
const SW = 'default/198.18.72.0/24';
const fast = { backoff: { minMs: 50, maxMs: 200 }, requestTimeoutMs: 5000 };

interface Host {
  readonly driver: OvnDriver;
  readonly chassis: string;
  readonly networkId: string;
}

async function cluster(defer: Defer): Promise<{ nb: OvsdbClient; hosts: [Host, Host] }> {
  const nbServer = await startStandalone(NB_SCHEMA);
  defer(() => nbServer.close());
  const observer = new OvsdbClient({ remotes: nbServer.remote, database: 'OVN_Northbound', monitor: NB_MONITOR, ...fast });
  defer(() => observer.close());
  await observer.connect();
  const host = async (chassis: string): Promise<Host> => {
    const ovsServer = await startStandalone(VSWITCH_SCHEMA);
    defer(() => ovsServer.close());
    const nb = new OvsdbClient({ remotes: nbServer.remote, database: 'OVN_Northbound', monitor: NB_MONITOR, ...fast });
    defer(() => nb.close());
    const ovs = new OvsdbClient({ remotes: ovsServer.remote, database: 'Open_vSwitch', monitor: OVS_MONITOR, ...fast });
    defer(() => ovs.close());
    await Promise.all([nb.connect(), ovs.connect()]);
    await ovs.transact([insert('Bridge', { name: 'br-int' }, 'br'), insert('Open_vSwitch', { bridges: [namedUuid('br')], external_ids: strMap({ 'system-id': chassis }) })]);
    const logger = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };
    const driver = new OvnDriver({
      nb, nbRemotes: nbServer.remote, ovs, ovsRemotes: ovsServer.remote, links: new FakeLinks(), logger,
      config: { bridge: 'br-int', mtu: 1442, readyTimeoutMs: 1, dbTimeoutMs: 5000 },
    });
    return { driver, chassis, networkId: hex() };
  };
  return { nb: observer, hosts: [await host('host-one'), await host('host-two')] };
}

const netReq = (networkId: string): ReturnType<typeof parseCreateNetwork> => parseCreateNetwork({
  NetworkID: networkId, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ Pool: '198.18.72.0/24', Gateway: '198.18.72.1/24' }],
});

async function switches(nb: OvsdbClient): Promise<{ name: string; refs: string[] }[]> {
  const [r] = await nb.transact([select('Logical_Switch', [], ['name', 'external_ids'])]);
  return (r?.rows ?? []).map((row) => {
    const ids = row['external_ids'];
    const refs = ids instanceof Map ? [...ids.keys()].filter((k): k is string => typeof k === 'string' && k.startsWith('ovn-driver:network-id:')).map((k) => k.slice('ovn-driver:network-id:'.length)).sort() : [];
    return { name: String(row['name']), refs };
  });
}

test('two hosts creating and removing the same network at once, ten rounds: one switch with both refs, then none', async () => {
  await withCleanup(async (defer) => {
    const { nb, hosts: [h1, h2] } = await cluster(defer);
    for (let round = 0; round < 10; round++) {
      await Promise.all([h1.driver.createNetwork(netReq(h1.networkId)), h2.driver.createNetwork(netReq(h2.networkId))]);
      assert.deepEqual(await switches(nb), [{ name: SW, refs: ['host-one', 'host-two'] }], `round ${round}`);
      await Promise.all([h1.driver.deleteNetwork({ networkId: h1.networkId }), h2.driver.deleteNetwork({ networkId: h2.networkId })]);
      assert.deepEqual(await switches(nb), [], `round ${round}`);
    }
  });
});

test('one host adding its ref while the other removes the last one, ten rounds: the switch ends with the adder\'s ref only', async () => {
  await withCleanup(async (defer) => {
    const { nb, hosts: [h1, h2] } = await cluster(defer);
    for (let round = 0; round < 10; round++) {
      await h1.driver.createNetwork(netReq(h1.networkId));
      await Promise.all([h1.driver.deleteNetwork({ networkId: h1.networkId }), h2.driver.createNetwork(netReq(h2.networkId))]);
      assert.deepEqual(await switches(nb), [{ name: SW, refs: ['host-two'] }], `round ${round}`);
      await h2.driver.deleteNetwork({ networkId: h2.networkId });
    }
  });
});

test('two hosts giving endpoints the same address at once, ten rounds: one port, the other CONFLICT naming --ipam-driver ovn', async () => {
  await withCleanup(async (defer) => {
    const { nb, hosts: [h1, h2] } = await cluster(defer);
    await h1.driver.createNetwork(netReq(h1.networkId));
    await h2.driver.createNetwork(netReq(h2.networkId));
    for (let round = 0; round < 10; round++) {
      const ep = (h: Host): ReturnType<typeof parseCreateEndpoint> => parseCreateEndpoint({ NetworkID: h.networkId, EndpointID: hex(), Interface: { Address: `198.18.72.${10 + round}/24` } });
      const results = await Promise.allSettled([h1.driver.createEndpoint(ep(h1)), h2.driver.createEndpoint(ep(h2))]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], `round ${round}`);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
      assert.ok(isDriverError(failed, 'CONFLICT') && /already taken on network .* on host host-(one|two); .*--ipam-driver ovn/.test(failed.message), String(failed));
    }
    const [ports] = await nb.transact([select('Logical_Switch_Port', [cond('type', '!=', 'router')], ['name'])]);
    assert.equal(ports?.rows?.length, 10);
  });
});
