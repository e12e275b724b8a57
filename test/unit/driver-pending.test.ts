// PendingDriver: what the daemon answers before its databases are reached, and the hand-over to
// the real driver (a call waiting meanwhile goes on to it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DriverApi } from '../../src/driver/calls';
import { isDriverError } from '../../src/driver/errors';
import { formatPoolId, parseRequestAddress, parseRequestPool } from '../../src/driver/api-ipam';
import { IPAM_STATELESS_CALLS } from '../../src/driver/ipam';
import { PendingDriver, PendingIpam } from '../../src/driver/pending';
import { STATELESS_CALLS } from '../../src/driver/service';

const NET = { networkId: 'cd'.repeat(32) };

function target(log: string[]): DriverApi {
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  return {
    ...STATELESS_CALLS,
    createNetwork: async (req) => (log.push(`createNetwork ${req.networkId}`), {}),
    deleteNetwork: async (req) => (log.push(`deleteNetwork ${req.networkId}`), {}),
    createEndpoint: unused,
    deleteEndpoint: unused,
    endpointOperInfo: unused,
    join: unused,
    leave: unused,
    programExternalConnectivity: unused,
    revokeExternalConnectivity: unused,
    describe: () => ({ state: 'ready' }),
  };
}

test('before it is ready: Activate and GetCapabilities answer as the driver does; a call that needs the databases fails after waitMs, saying what is awaited', async () => {
  const p = new PendingDriver({ waitingFor: () => 'the local Open_vSwitch database at unix:/nowhere (last error: ENOENT)', waitMs: 30, constant: STATELESS_CALLS });
  assert.deepEqual(p.activate(), STATELESS_CALLS.activate());
  assert.deepEqual(p.getCapabilities(), STATELESS_CALLS.getCapabilities());
  assert.equal(p.isReady, false);
  assert.deepEqual(p.describe(), { state: 'starting', waitingFor: 'the local Open_vSwitch database at unix:/nowhere (last error: ENOENT)' });
  const started = Date.now();
  await assert.rejects(p.deleteNetwork(NET), (e: unknown) => {
    assert.ok(isDriverError(e, 'DATABASE_UNAVAILABLE'), String(e));
    assert.match(e.message, /failed to delete network "cdcd.*": the driver is still waiting for the local Open_vSwitch database at unix:\/nowhere \(last error: ENOENT\), so nothing was done/);
    return true;
  });
  assert.ok(Date.now() - started >= 25, 'it failed before waiting');
  assert.throws(() => p.allocateNetwork(NET), (e: unknown) => isDriverError(e, 'NOT_SUPPORTED'));
});

test('a call made before the driver is ready goes on to it once ready; later calls go straight to it', async () => {
  const log: string[] = [];
  const p = new PendingDriver({ waitingFor: () => 'x', waitMs: 5_000, constant: STATELESS_CALLS });
  const early = p.deleteNetwork(NET);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(log, []);
  p.ready(target(log));
  assert.deepEqual(await early, {});
  assert.deepEqual(await p.deleteNetwork({ networkId: 'ef'.repeat(32) }), {});
  assert.deepEqual(log, [`deleteNetwork ${NET.networkId}`, `deleteNetwork ${'ef'.repeat(32)}`]);
  assert.deepEqual(p.describe(), { state: 'ready' });
});

test('the IPAM before it is ready: GetCapabilities and GetDefaultAddressSpaces answer (Docker asks them when it registers the plugin); address calls wait, then say what is awaited', async () => {
  const p = new PendingIpam({ waitingFor: () => 'the local Open_vSwitch database at unix:/nowhere', waitMs: 30, constant: IPAM_STATELESS_CALLS });
  assert.deepEqual(p.getCapabilities(), IPAM_STATELESS_CALLS.getCapabilities());
  assert.deepEqual(p.getDefaultAddressSpaces(), IPAM_STATELESS_CALLS.getDefaultAddressSpaces());
  const pool = parseRequestPool({ AddressSpace: 'LocalDefault', Pool: '198.18.90.0/24', SubPool: '', Options: {}, V6: false });
  assert.throws(() => p.requestPool(pool), (e: unknown) => isDriverError(e, 'DATABASE_UNAVAILABLE') && /failed to request pool "198\.18\.90\.0\/24": the driver is still waiting for the local Open_vSwitch database/.test(e.message));
  const poolId = formatPoolId(pool);
  const req = parseRequestAddress({ PoolID: poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': '02:42:c6:12:5a:02' } });
  await assert.rejects(p.requestAddress(req), (e: unknown) => isDriverError(e, 'DATABASE_UNAVAILABLE') && /failed to request an address in pool "198\.18\.90\.0\/24": the driver is still waiting/.test(e.message));
});
