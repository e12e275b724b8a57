// The IPAM's request parsing, pool ids and address choice (no server), and the server's
// IpamDriver answers: failures as 200 {"Error": "..."} with the stable code in a header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPoolId, parsePoolId, parseRequestAddress, parseRequestPool, MAC_OPTION, REQUEST_ADDRESS_TYPE, GATEWAY_TYPE } from '../../src/driver/api-ipam';
import { DriverError } from '../../src/driver/errors';
import { defaultGateway, nextFree } from '../../src/driver/plan-ipam';
import { buildServer, ERROR_CODE_HEADER } from '../../src/server/server';
import type { DriverApi, IpamApi } from '../../src/driver/calls';

const invalid = (re: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof DriverError, String(e));
  assert.equal(e.code, 'INVALID_REQUEST');
  assert.match(e.message, re);
  return true;
};

test('RequestPool: the VRF is part of the pool id; bad pools, ranges and options are refused naming the flag', () => {
  const blue = parseRequestPool({ AddressSpace: 'ovn-local', Pool: '198.18.5.7/24', SubPool: '198.18.5.128/25', Options: { vrf: 'blue' } });
  assert.equal(formatPoolId(blue), 'ovn;vrf=blue;pool=198.18.5.0/24;range=198.18.5.128/25');
  const dflt = parseRequestPool({ AddressSpace: 'ovn-local', Pool: '198.18.5.0/24' });
  assert.equal(formatPoolId(dflt), 'ovn;vrf=default;pool=198.18.5.0/24');
  assert.deepEqual(parsePoolId('x', formatPoolId(blue)), { vrf: 'blue', pool: blue.pool, range: blue.range });
  assert.throws(() => parseRequestPool({ AddressSpace: 'a', Pool: '' }), invalid(/no IPv4 subnet given.*--subnet/));
  assert.throws(() => parseRequestPool({ AddressSpace: 'a', Pool: '198.18.5.0/24', SubPool: '198.18.6.0/25' }), invalid(/--ip-range 198\.18\.6\.0\/25 is not inside the subnet 198\.18\.5\.0\/24/));
  assert.throws(() => parseRequestPool({ AddressSpace: 'a', Pool: '198.18.5.0/31' }), invalid(/too small/));
  assert.throws(() => parseRequestPool({ AddressSpace: 'a', Pool: '198.18.5.0/24', Options: { color: 'red' } }), invalid(/unknown IPAM option "color".*--ipam-opt vrf=/));
  assert.throws(() => parseRequestPool({ AddressSpace: 'a', Pool: '198.18.5.0/24', Options: { vrf: 'a b' } }), invalid(/IPAM option "vrf"/));
  assert.throws(() => parsePoolId('RequestAddress', 'LocalDefault/198.18.5.0/24'), invalid(/not a pool of the ovn IPAM driver.*another --ipam-driver/));
  assert.throws(() => parsePoolId('RequestAddress', 'ovn;vrf=blue;pool=198.18.5.1/24'), invalid(/not a pool of the ovn IPAM driver/));
});

test('RequestAddress: the gateway, an endpoint (MAC option) and an aux address (no options) are told apart; addresses outside the subnet refused', () => {
  const pool = 'ovn;vrf=default;pool=198.18.5.0/24';
  assert.equal(parseRequestAddress({ PoolID: pool, Address: '', Options: { [REQUEST_ADDRESS_TYPE]: GATEWAY_TYPE } }).kind, 'gateway');
  const ep = parseRequestAddress({ PoolID: pool, Address: '198.18.5.9', Options: { [MAC_OPTION]: '02:42:C6:12:05:09' } });
  assert.deepEqual([ep.kind, ep.address, ep.mac], ['endpoint', '198.18.5.9', '02:42:c6:12:05:09']);
  assert.equal(parseRequestAddress({ PoolID: pool, Address: '198.18.5.9', Options: {} }).kind, 'aux');
  assert.equal(parseRequestAddress({ PoolID: pool, Address: '' }).kind, 'endpoint', 'no address, no options: the exclusive kind');
  assert.throws(() => parseRequestAddress({ PoolID: pool, Address: '198.18.6.9' }), invalid(/198\.18\.6\.9 is not in the subnet 198\.18\.5\.0\/24/));
  assert.throws(() => parseRequestAddress({ PoolID: pool, Address: 'fd00::1' }), invalid(/IPv4 address of the subnet/));
});

test('nextFree: skips the subnet address, broadcast and taken ones, stays in the range, wraps after the cursor', () => {
  const ref = parsePoolId('t', 'ovn;vrf=default;pool=198.18.5.0/29');
  assert.equal(defaultGateway(ref), '198.18.5.1');
  const taken = new Set(['198.18.5.1']);
  assert.equal(nextFree(ref, taken, undefined)?.ip, '198.18.5.2');
  for (const ip of ['198.18.5.2', '198.18.5.3', '198.18.5.4', '198.18.5.5']) taken.add(ip);
  assert.equal(nextFree(ref, taken, undefined)?.ip, '198.18.5.6');
  taken.add('198.18.5.6');
  assert.equal(nextFree(ref, taken, undefined), undefined, '.7 is the broadcast');
  taken.delete('198.18.5.3');
  assert.equal(nextFree(ref, taken, 5n + (198n << 24n) + (18n << 16n) + (5n << 8n))?.ip, '198.18.5.3', 'wraps around');
  const ranged = parsePoolId('t', 'ovn;vrf=default;pool=198.18.5.0/24;range=198.18.5.252/30');
  assert.equal(nextFree(ranged, new Set(['198.18.5.252', '198.18.5.253', '198.18.5.254']), undefined), undefined, 'the range ends at the broadcast');
  const v6 = parsePoolId('t', 'ovn;vrf=default;pool=fd00:198:18::/64');
  assert.equal(nextFree(v6, new Set(['fd00:198:18::1']), undefined)?.ip, 'fd00:198:18::2');
});

test('server: IpamDriver failures answer 200 {"Error"} with the code in a header; Activate names IpamDriver', async () => {
  const driver = { activate: () => ({ Implements: ['NetworkDriver'] }) } as unknown as DriverApi;
  const ipam: IpamApi = {
    getCapabilities: () => ({ RequiresMACAddress: true, RequiresRequestReplay: false }),
    getDefaultAddressSpaces: () => ({ LocalDefaultAddressSpace: 'ovn-local', GlobalDefaultAddressSpace: 'ovn-global' }),
    requestPool: (r) => ({ PoolID: formatPoolId(r), Pool: '198.18.5.0/24', Data: {} }),
    releasePool: () => ({}),
    requestAddress: async () => {
      throw new DriverError('CONFLICT', 'failed to allocate address 198.18.5.9: it is in use');
    },
    releaseAddress: async () => ({}),
  };
  const logger = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };
  const app = buildServer({ driver, ipam, logger });
  const post = async (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
  assert.deepEqual((await post('/Plugin.Activate', {})).json(), { Implements: ['NetworkDriver', 'IpamDriver'] });
  assert.deepEqual((await post('/IpamDriver.GetCapabilities', {})).json(), { RequiresMACAddress: true, RequiresRequestReplay: false });
  const pool = await post('/IpamDriver.RequestPool', { AddressSpace: 'ovn-local', Pool: '198.18.5.0/24', Options: { vrf: 'blue' } });
  assert.deepEqual(pool.json(), { PoolID: 'ovn;vrf=blue;pool=198.18.5.0/24', Pool: '198.18.5.0/24', Data: {} });
  const taken = await post('/IpamDriver.RequestAddress', { PoolID: 'ovn;vrf=blue;pool=198.18.5.0/24', Address: '198.18.5.9' });
  assert.equal(taken.statusCode, 200);
  assert.equal(taken.headers[ERROR_CODE_HEADER], 'CONFLICT');
  assert.deepEqual(taken.json(), { Error: 'failed to allocate address 198.18.5.9: it is in use' });
  const bad = await post('/IpamDriver.RequestPool', { AddressSpace: 'ovn-local', Pool: 'nonsense' });
  assert.equal(bad.headers[ERROR_CODE_HEADER], 'INVALID_REQUEST');
  assert.match(String(bad.json().Error), /--subnet must be a subnet like/);
  await app.close();
});
