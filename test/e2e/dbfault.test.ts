// Database outages during container starts (the calls Docker sends for one: CreateEndpoint, then
// Join): the Northbound or the local ovsdb-server is stopped (SIGKILL, by pid) for 10 s and then
// started again on the same database file. Within --db-timeout the calls wait and succeed;
// past it they fail with an error that names the database, and leave nothing half made.
// Against isolated daemons with their own ovsdb-servers, so the shared stack keeps serving the
// other e2e files while these databases are down.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { withCleanup } from '../helpers/cleanup';
import { BRIDGE, IsolatedDaemon, startIsolatedDaemon } from '../helpers/isolated-daemon';
import { randomSuffix, sleep, waitFor } from '../helpers/run';
import { postPlugin, PluginReply } from '../helpers/stack';

const OUTAGE_MS = 10_000;

function hex64(): string {
  return (randomSuffix(16) + randomSuffix(16)).slice(0, 64);
}

function call(d: IsolatedDaemon, name: string, body: object): Promise<PluginReply> {
  return postPlugin(d.socketPath, `/NetworkDriver.${name}`, JSON.stringify(body), 60_000);
}

async function createNetwork(d: IsolatedDaemon): Promise<string> {
  const networkId = hex64();
  const r = await call(d, 'CreateNetwork', { NetworkID: networkId, Options: {}, IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '198.19.230.0/24', Gateway: '198.19.230.1/24' }], IPv6Data: [] });
  assert.equal(r.status, 200, r.body);
  return networkId;
}

function endpoint(networkId: string, n: number): { NetworkID: string; EndpointID: string; Interface: object; Options: object } {
  return { NetworkID: networkId, EndpointID: hex64(), Interface: { Address: `198.19.230.${10 + n}/24`, AddressIPv6: '', MacAddress: '' }, Options: {} };
}

function join(ep: { NetworkID: string; EndpointID: string }): object {
  return { NetworkID: ep.NetworkID, EndpointID: ep.EndpointID, SandboxKey: `/var/run/docker/netns/${ep.EndpointID.slice(0, 12)}`, Options: {} };
}

function errOf(r: PluginReply): string {
  const doc: unknown = JSON.parse(r.body);
  if (typeof doc !== 'object' || doc === null || !('Err' in doc) || typeof doc.Err !== 'string') throw new Error(`no Err in ${r.body}`);
  return doc.Err;
}

/** One logical port, one OVS port, one veth pair for the endpoint, or none of them. */
async function state(d: IsolatedDaemon, endpointId: string): Promise<{ lsps: number; ports: number; links: number }> {
  const host = `ovn${endpointId.slice(0, 12)}`;
  const count = (s: string): number => s.split('\n').filter((l) => l.trim() !== '').length;
  return {
    lsps: count(await d.nbctl(['--bare', '--columns=name', 'find', 'Logical_Switch_Port', `name=${endpointId}`])),
    ports: count(await d.vsctl(['--bare', '--columns=name', 'find', 'Port', `name=${host}`])),
    links: (await d.ip(['-o', 'link', 'show'])).split('\n').filter((l) => l.includes(`${host}@`) || l.includes(`ovc${endpointId.slice(0, 12)}@`)).length,
  };
}

/**
 * Docker's retry, after the database is back: the client may still be in its reconnect backoff
 * (up to 8 s) for a moment, during which a call fails fast with 503 again.
 */
async function retried(send: () => Promise<PluginReply>): Promise<void> {
  const last = await waitFor('the retried call to succeed', async () => {
    const r = await send();
    return r.status === 200 ? r : r.status === 503 ? undefined : r;
  }, 60_000, 500);
  assert.equal(last.status, 200, last.body);
}

/** Stops a server by pid for OUTAGE_MS while `during` runs, then starts it again. */
async function outage<T>(server: { kill(): Promise<void>; start(): Promise<void> }, during: () => Promise<T>): Promise<{ result: T; waitedMs: number }> {
  await server.kill();
  const started = Date.now();
  const pending = during().then((result) => ({ result, waitedMs: Date.now() - started }));
  await sleep(OUTAGE_MS);
  await server.start();
  return pending;
}

test('database outages within --db-timeout: container starts wait and succeed', { timeout: 180_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const d = await startIsolatedDaemon(cleanup, { extraArgs: ['--db-timeout', '30'] });
    const networkId = await createNetwork(d);

    // Northbound down: CreateEndpoint waits for it.
    const a = endpoint(networkId, 1);
    const nbOut = await outage(d.nb.server, () => call(d, 'CreateEndpoint', a));
    assert.equal(nbOut.result.status, 200, nbOut.result.body);
    assert.equal((await call(d, 'Join', join(a))).status, 200);
    assert.deepEqual(await state(d, a.EndpointID), { lsps: 1, ports: 1, links: 2 });

    // Local database down: Join waits for it.
    const b = endpoint(networkId, 2);
    assert.equal((await call(d, 'CreateEndpoint', b)).status, 200);
    const ovsOut = await outage(d.ovs.server, () => call(d, 'Join', join(b)));
    assert.equal(ovsOut.result.status, 200, ovsOut.result.body);
    assert.deepEqual(await state(d, b.EndpointID), { lsps: 1, ports: 1, links: 2 });
    process.stdout.write(`FIGURE: dbfault survived NB outage ${OUTAGE_MS} ms (CreateEndpoint answered after ${nbOut.waitedMs} ms) and local OVSDB outage ${OUTAGE_MS} ms (Join answered after ${ovsOut.waitedMs} ms) (node --test dist/test/e2e/dbfault.test.js)\n`);
    assert.equal(d.alive(), true);
    assert.match(await d.vsctl(['list-ports', BRIDGE]), new RegExp(`ovn${b.EndpointID.slice(0, 12)}`));
  });
});

test('database outages past --db-timeout: a clear error, nothing half made, the retry succeeds', { timeout: 180_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const d = await startIsolatedDaemon(cleanup, { extraArgs: ['--db-timeout', '3'] });
    const networkId = await createNetwork(d);

    const a = endpoint(networkId, 1);
    const nbOut = await outage(d.nb.server, () => call(d, 'CreateEndpoint', a));
    assert.equal(nbOut.result.status, 503, nbOut.result.body);
    assert.match(errOf(nbOut.result), /^failed to .*the Northbound database .*(unreachable|may or may not).*ovn-driver doctor/);
    // Either nothing was made, or (reply lost after sending) the retry finds it: one, never two.
    assert.ok((await state(d, a.EndpointID)).lsps <= 1);
    await retried(() => call(d, 'CreateEndpoint', a));
    assert.deepEqual(await state(d, a.EndpointID), { lsps: 1, ports: 0, links: 0 });

    const ovsOut = await outage(d.ovs.server, () => call(d, 'Join', join(a)));
    assert.equal(ovsOut.result.status, 503, ovsOut.result.body);
    assert.match(errOf(ovsOut.result), /^failed to .*the local Open_vSwitch database .*ovn-driver doctor/);
    // The veth made before the local transaction was removed again.
    assert.deepEqual(await state(d, a.EndpointID), { lsps: 1, ports: 0, links: 0 });
    await retried(() => call(d, 'Join', join(a)));
    assert.deepEqual(await state(d, a.EndpointID), { lsps: 1, ports: 1, links: 2 });
    process.stdout.write(`FIGURE: dbfault past the 3 s timeout: NB answered 503 after ${nbOut.waitedMs} ms, local answered 503 after ${ovsOut.waitedMs} ms, no partial state, retries succeeded\n`);
  });
});
