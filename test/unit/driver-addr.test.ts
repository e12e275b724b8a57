// The address helpers: CIDR parsing and normalisation, pool membership, MACs we choose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseMac, networkOf, parseCidr, parseIp, parseMac, poolContains } from '../../src/driver/addr';

test('parseCidr normalises both families and rejects what is not a CIDR', () => {
  assert.deepEqual(parseCidr('198.18.010.2/24'), undefined); // leading zeros are ambiguous: node's isIPv4 refuses them
  assert.deepEqual(parseCidr('198.18.10.2/24'), { family: 4, ip: '198.18.10.2', prefix: 24 });
  assert.deepEqual(parseCidr('FD00:198:18:0000::0001/64'), { family: 6, ip: 'fd00:198:18::1', prefix: 64 });
  assert.deepEqual(parseCidr('::ffff:198.18.0.1/128'), { family: 6, ip: '::ffff:c612:1', prefix: 128 });
  assert.deepEqual(parseCidr('1:0:0:1:0:0:0:1/64'), { family: 6, ip: '1:0:0:1::1', prefix: 64 });
  assert.deepEqual(parseCidr('::/0'), { family: 6, ip: '::', prefix: 0 });
  for (const bad of ['', '/24', '198.18.0.0', '198.18.0.0/', '198.18.0.0/33', '198.18.0.0/024x', '198.18.0.0/24/1', 'fd00::/129', 'fe80::1%eth0/64', 'x/1', ' 198.18.0.0/24']) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
  assert.equal(parseIp('fd00::0:1')?.ip, 'fd00::1');
  assert.equal(parseIp('1.2.3'), undefined);
});

test('pool membership and network addresses', () => {
  const pool = parseCidr('198.18.50.0/23');
  assert.ok(pool);
  assert.ok(poolContains(pool, 4, '198.18.51.255'));
  assert.ok(!poolContains(pool, 4, '198.18.52.0'));
  assert.ok(!poolContains(pool, 6, '::1'));
  const v6 = parseCidr('fd00:51::/64');
  assert.ok(v6);
  assert.ok(poolContains(v6, 6, 'fd00:51::abcd'));
  assert.ok(!poolContains(v6, 6, 'fd00:52::1'));
  const odd = parseCidr('198.18.50.77/26');
  assert.ok(odd);
  assert.equal(networkOf(odd).ip, '198.18.50.64');
  const odd6 = parseCidr('fd00:51::1234/120');
  assert.ok(odd6);
  assert.equal(networkOf(odd6).ip, 'fd00:51::1200');
});

test('MACs: unicast only; the one we choose is locally administered and unicast', () => {
  assert.equal(parseMac('AA:BB:CC:DD:EE:FE'), 'aa:bb:cc:dd:ee:fe');
  assert.equal(parseMac('ab:bb:cc:dd:ee:fe'), undefined); // multicast bit
  assert.equal(chooseMac('198.18.50.32', 'ff'.repeat(32)), '0a:58:c6:12:32:20');
  const v6only = chooseMac(undefined, '96d2fd1f3902b1d39fdf0a90588eb25b1035733437e6491fc4fc22b3c7124709');
  assert.equal(v6only, '02:96:d2:fd:1f:39');
  for (const mac of [chooseMac('198.18.50.32', ''), v6only]) {
    const first = parseInt(mac.slice(0, 2), 16);
    assert.equal(first & 1, 0, 'unicast');
    assert.equal(first & 2, 2, 'locally administered');
    assert.equal(parseMac(mac), mac);
  }
});
