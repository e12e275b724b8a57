// Arguments checked before any request, errno names, and the shape of error messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errnoName, InvalidLinkArgumentError, linkNameProblem, NetlinkError, openLinks } from '../../src/netlink';
import { formatMac, parseMac } from '../../src/netlink/validate';

test('interface names follow the kernel rule: 1..15 bytes, no / : or whitespace, not . or ..', () => {
  for (const good of ['a', 'ovn0123456789ab', 'eth0', 'ovt-x_y.z', 'é12345678901']) {
    assert.equal(linkNameProblem(good), undefined, good);
  }
  for (const bad of ['', 'ovn0123456789abc', 'é123456789012345', '.', '..', 'a/b', 'a:b', 'a b', 'a\tb', 'a\nb', 'a\0b']) {
    assert.notEqual(linkNameProblem(bad), undefined, JSON.stringify(bad));
  }
});

test('MACs must be unicast xx:xx:xx:xx:xx:xx', () => {
  assert.deepEqual(parseMac('op', 'l', '02:00:5E:10:00:0a'), Buffer.from([2, 0, 0x5e, 0x10, 0, 0x0a]));
  for (const bad of ['', '02:00:00:00:00', '02:00:00:00:00:00:00', '02-00-00-00-00-01', '0200.0000.0001',
    '2:0:0:0:0:1', 'zz:00:00:00:00:01', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00']) {
    assert.throws(() => parseMac('set mac of', 'ovt0', bad), (err: unknown) =>
      err instanceof InvalidLinkArgumentError && err.code === 'NETLINK_INVALID_ARGUMENT' && err.field === 'mac', bad);
  }
  assert.equal(formatMac(Buffer.from([2, 0, 0xab, 0x10, 0, 0x0a])), '02:00:ab:10:00:0a');
});

test('errno numbers map to their names', () => {
  assert.equal(errnoName(17), 'EEXIST');
  assert.equal(errnoName(19), 'ENODEV');
  assert.equal(errnoName(1), 'EPERM');
  assert.equal(errnoName(22), 'EINVAL');
  assert.equal(errnoName(16), 'EBUSY');
  assert.equal(errnoName(71), 'EPROTO'); // not in the short table: from os.constants.errno
  assert.equal(errnoName(99999), 'ERRNO_99999');
});

test('errors say what failed, on which link, and what to do', () => {
  const exists = new NetlinkError('create veth pair', 'ovn0123', 'EEXIST');
  assert.equal(exists.code, 'NETLINK_ERROR');
  assert.equal(exists.errno, 'EEXIST');
  assert.match(exists.message, /^failed to create veth pair "ovn0123": EEXIST; .*ip link del/);
  assert.match(new NetlinkError('delete link', 'x', 'EPERM').message, /CAP_NET_ADMIN/);
});

test('bad arguments fail before any request, with a typed error naming the argument', async () => {
  const links = openLinks(); // opening an rtnetlink socket needs no privilege
  try {
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => links.createVethPair({ name: 'ovn0123456789abc', peerName: 'p', mtu: 1500 }), 'name'],
      [() => links.createVethPair({ name: 'ovt0', peerName: 'a/b', mtu: 1500 }), 'peerName'],
      [() => links.createVethPair({ name: 'ovt0', peerName: 'ovt0', mtu: 1500 }), 'peerName'],
      [() => links.createVethPair({ name: 'ovt0', peerName: 'ovt1', peerMac: '01:00:00:00:00:01', mtu: 1500 }), 'mac'],
      [() => links.createVethPair({ name: 'ovt0', peerName: 'ovt1', mtu: 67 }), 'mtu'],
      [() => links.createVethPair({ name: 'ovt0', peerName: 'ovt1', mtu: 1500.5 }), 'mtu'],
      [() => links.setLinkMtu('ovt0', 65536), 'mtu'],
      [() => links.setLinkMac('ovt0', 'nonsense'), 'mac'],
      [() => links.setLinkNetns('ovt0', { fd: -1 }), 'netns'],
      [() => links.setLinkNetns('ovt0', { pid: 0 }), 'netns'],
      [() => links.deleteLink('..'), 'name'],
      [() => links.getLink(''), 'name'],
      [() => links.setLinkUp('a b'), 'name'],
    ];
    for (const [call, field] of cases) {
      await assert.rejects(call(), (err: unknown) =>
        err instanceof InvalidLinkArgumentError && err.field === field && /^failed to [a-z ]+ ".*": invalid /.test(err.message));
    }
  } finally {
    links.close();
  }
});

test('a closed handle refuses calls with ESHUTDOWN', async () => {
  const links = openLinks();
  links.close();
  links.close(); // closing twice is harmless
  await assert.rejects(links.listLinks(), (err: unknown) => err instanceof NetlinkError && err.errno === 'ESHUTDOWN');
  await assert.rejects(links.getLink('lo'), (err: unknown) => err instanceof NetlinkError && err.errno === 'ESHUTDOWN');
});

test('openLinks rejects a timeout that is not a positive integer', () => {
  assert.throws(() => openLinks({ timeoutMs: 0 }), RangeError);
});
