// The IPAM (src/driver/ipam.ts) against a real Northbound ovsdb-server: two "hosts" (two
// clients, two chassis names) allocating from one pool at the same instant never get one
// address twice nor the gateway's; the gateway and aux addresses are shared by the hosts that
// name them; --ip, --ip-range, VRFs, IPv6, exhaustion, release and reclaim of a gone host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReleaseAddress, parseRequestAddress, parseRequestPool, MAC_OPTION, REQUEST_ADDRESS_TYPE, GATEWAY_TYPE } from '../../src/driver/api-ipam';
import { DriverError } from '../../src/driver/errors';
import { OvnIpam } from '../../src/driver/ipam';
import { IPAM_TABLE } from '../../src/driver/plan-ipam';
import { OvsdbClient } from '../../src/ovsdb/client';
import { select } from '../../src/ovsdb/operations';
import { NB_SCHEMA, startStandalone, withCleanup } from '../helpers/ovsdb-server';
import type { Defer } from '../helpers/ovsdb-server';
import type { Logger } from '../../src/util/logger';

const quiet: Logger = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };

interface Host {
  readonly ipam: OvnIpam;
  readonly client: OvsdbClient;
}

async function host(remote: string, chassis: string, defer: Defer): Promise<Host> {
  const client = new OvsdbClient({ remotes: remote, database: 'OVN_Northbound', requestTimeoutMs: 5000 });
  defer(() => client.close());
  await client.connect();
  return { client, ipam: new OvnIpam({ nb: client, nbRemotes: remote, chassis: () => chassis, logger: quiet, dbTimeoutMs: 5000 }) };
}

function poolId(h: Host, subnet: string, opts: { vrf?: string; range?: string } = {}): string {
  return h.ipam.requestPool(parseRequestPool({ AddressSpace: 'ovn-local', Pool: subnet, SubPool: opts.range ?? '', Options: opts.vrf ? { vrf: opts.vrf } : {}, V6: false })).PoolID;
}

/** A private Northbound and two hosts (chassis-a, chassis-b) using it. */
async function twoHosts(defer: Defer): Promise<[Host, Host]> {
  const s = await startStandalone(NB_SCHEMA);
  defer(() => s.close());
  return [await host(s.remote, 'chassis-a', defer), await host(s.remote, 'chassis-b', defer)];
}

let macs = 0;
function mac(): string {
  macs++;
  return `02:42:00:00:${((macs >> 8) & 0xff).toString(16).padStart(2, '0')}:${(macs & 0xff).toString(16).padStart(2, '0')}`;
}

async function endpoint(h: Host, pool: string, address = ''): Promise<string> {
  const r = await h.ipam.requestAddress(parseRequestAddress({ PoolID: pool, Address: address, Options: { [MAC_OPTION]: mac() } }));
  return r.Address;
}

async function gateway(h: Host, pool: string, address = ''): Promise<string> {
  return (await h.ipam.requestAddress(parseRequestAddress({ PoolID: pool, Address: address, Options: { [REQUEST_ADDRESS_TYPE]: GATEWAY_TYPE } }))).Address;
}

async function release(h: Host, pool: string, address: string): Promise<void> {
  await h.ipam.releaseAddress(parseReleaseAddress({ PoolID: pool, Address: address.replace(/\/\d+$/, '') }));
}

async function rows(h: Host): Promise<number> {
  const [r] = await h.client.transact([select(IPAM_TABLE, [], ['name'])]);
  return r?.rows?.length ?? 0;
}

function conflict(re: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof DriverError, String(e));
    assert.equal(e.code, 'CONFLICT', e.message);
    assert.match(e.message, re);
    return true;
  };
}

test('two hosts allocating from one pool at the same instant: no address twice, never the gateway; the gateway is shared', () =>
  withCleanup(async (defer) => {
    const [a, b] = await twoHosts(defer);
    const pool = poolId(a, '198.18.200.0/24');
    assert.equal(poolId(b, '198.18.200.0/24'), pool, 'the same pool id on every host');

    // Both hosts create the network: one gateway row, held by both.
    assert.equal(await gateway(a, pool), '198.18.200.1/24');
    assert.equal(await gateway(b, pool), '198.18.200.1/24');
    assert.equal(await rows(a), 1);

    const per = 120;
    const [fromA, fromB] = await Promise.all([a, b].map((h) => Promise.all(Array.from({ length: per }, () => endpoint(h, pool)))));
    const all = [...(fromA ?? []), ...(fromB ?? [])];
    assert.equal(all.length, 2 * per);
    assert.equal(new Set(all).size, all.length, 'no address twice');
    assert.ok(!all.includes('198.18.200.1/24'), 'never the gateway');
    for (const ip of all) assert.match(ip, /^198\.18\.200\.(\d+)\/24$/);
    assert.ok(!all.includes('198.18.200.0/24') && !all.includes('198.18.200.255/24'));
    assert.equal(await rows(a), 2 * per + 1);

    // Releases: a host frees its own; the gateway goes with its last holder.
    await Promise.all((fromB ?? []).map((ip) => release(b, pool, ip)));
    assert.equal(await rows(a), per + 1);
    // B's cache: the freed addresses are reused.
    await release(a, pool, fromA?.[0] ?? '');
    await release(a, pool, '198.18.200.1');
    assert.equal(await rows(a), per, 'B still holds the gateway');
    await release(b, pool, '198.18.200.1');
    await release(b, pool, '198.18.200.1');
    assert.equal(await rows(a), per - 1, 'the last holder removed it; a second release is success');
    // A host never frees another host's container address.
    await release(b, pool, fromA?.[1] ?? '');
    assert.equal(await rows(a), per - 1);
  }));

test('--ip, --ip-range, --aux-address, VRFs and IPv6; a full pool is said so after reading it again', () =>
  withCleanup(async (defer) => {
    const [a, b] = await twoHosts(defer);
    const pool = poolId(a, '198.18.201.0/24');
    assert.equal(await endpoint(a, pool, '198.18.201.50'), '198.18.201.50/24');
    await assert.rejects(endpoint(b, pool, '198.18.201.50'), conflict(/address 198\.18\.201\.50 in subnet 198\.18\.201\.0\/24 of VRF "default": it is in use by a container on chassis "chassis-a"; give --ip another address/));
    await assert.rejects(gateway(b, pool, '198.18.201.50'), conflict(/as the gateway .* in use by a container/));
    // The same subnet in another VRF is another pool.
    const red = poolId(b, '198.18.201.0/24', { vrf: 'red' });
    assert.notEqual(red, pool);
    assert.equal(await endpoint(b, red, '198.18.201.50'), '198.18.201.50/24');

    // An aux address (no MAC option) is shared like the gateway; a container cannot have it.
    const aux = (h: Host): Promise<string> => h.ipam.requestAddress(parseRequestAddress({ PoolID: pool, Address: '198.18.201.60', Options: {} })).then((r) => r.Address);
    assert.equal(await aux(a), '198.18.201.60/24');
    assert.equal(await aux(b), '198.18.201.60/24');
    await assert.rejects(endpoint(b, pool, '198.18.201.60'), conflict(/an --aux-address of the network \(held by "chassis-a", "chassis-b"\)/));

    // --ip-range: containers get addresses of the range only; --ip may lie outside it.
    const ranged = poolId(a, '198.18.202.0/24', { range: '198.18.202.128/30' });
    assert.equal(await gateway(a, ranged), '198.18.202.1/24');
    const byA = [await endpoint(a, ranged)];
    const byB = [await endpoint(b, ranged)];
    byA.push(await endpoint(a, ranged));
    byB.push(await endpoint(b, ranged));
    assert.deepEqual([...byA, ...byB].sort(), ['198.18.202.128/24', '198.18.202.129/24', '198.18.202.130/24', '198.18.202.131/24']);
    await assert.rejects(endpoint(a, ranged), conflict(/\(--ip-range 198\.18\.202\.128\/30\): every address is taken/));
    assert.equal(await endpoint(a, ranged, '198.18.202.5'), '198.18.202.5/24');
    // A's cache believes the range full; B frees its two: A reads the pool again and finds them.
    for (const ip of byB) await release(b, ranged, ip);
    const again = [await endpoint(a, ranged), await endpoint(a, ranged)].sort();
    assert.deepEqual(again, [...byB].sort());
    await assert.rejects(endpoint(b, ranged), conflict(/every address is taken/));

    // IPv6.
    const v6 = b.ipam.requestPool(parseRequestPool({ AddressSpace: 'ovn-local', Pool: 'fd00:198:18:203::/64', Options: {}, V6: true })).PoolID;
    assert.equal(await gateway(b, v6), 'fd00:198:18:203::1/64');
    const six = await Promise.all([endpoint(a, v6), endpoint(b, v6), endpoint(a, v6), endpoint(b, v6)]);
    assert.equal(new Set(six).size, 4);
    for (const ip of six) assert.match(ip, /^fd00:198:18:203:[0-9a-f:]+\/64$/);
    assert.ok(!six.includes('fd00:198:18:203::1/64'));
  }));

test('reclaim: a gone host\'s container addresses are freed and its holds dropped; refused while its ports are in the Northbound', () =>
  withCleanup(async (defer) => {
    const [a, b] = await twoHosts(defer);
    const pool = poolId(a, '198.18.204.0/24');
    const onlyA = poolId(a, '198.18.205.0/24');
    await gateway(a, pool);
    await gateway(b, pool);
    await gateway(a, onlyA);
    const mine = [await endpoint(a, pool), await endpoint(a, onlyA)];
    const theirs = await endpoint(b, pool);
    assert.equal(await rows(a), 5);

    // A logical port of chassis-a in the Northbound: the host may still run.
    const { insert, strMap } = await import('../../src/ovsdb/operations');
    const { namedUuid } = await import('../../src/ovsdb/data');
    await a.client.transact([
      insert('Logical_Switch_Port', { name: 'lsp-reclaim-test', external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'ovn-driver:chassis': 'chassis-a' }) }, 'p'),
      insert('Logical_Switch', { name: 'ls-reclaim-test', ports: [namedUuid('p')] }),
    ]);
    await assert.rejects(b.ipam.reclaim('chassis-a'), conflict(/still has 1 logical port\(s\) of its containers.*--force/));
    assert.equal(await rows(a), 5, 'a refused reclaim changes nothing');

    const r = await b.ipam.reclaim('chassis-a', true);
    assert.deepEqual(r, { released: 2, unheld: 2, deleted: 1, portsLeft: 1 });
    // Left: the shared gateway (B holds it) and B's container.
    assert.equal(await rows(a), 2);
    // The freed address is handed out again, and a late release by A's Docker cannot take it back.
    const reused = await endpoint(b, pool, mine[0]?.replace(/\/\d+$/, ''));
    assert.equal(reused, mine[0]);
    await release(a, pool, mine[0] ?? '');
    assert.equal(await rows(a), 3);
    assert.notEqual(theirs, reused);
  }));
