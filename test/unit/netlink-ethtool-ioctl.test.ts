// The SIOCETHTOOL fallback without root: the addon's own argument checks, errno numbers becoming
// NetlinkError errno names, a missing or foreign addon becoming EthtoolAddonError, and the options
// that choose the path. The ioctls themselves run against the kernel in
// test/integration/netlink-ethtool-ioctl.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { EthtoolAddonError, NetlinkError, openLinks } from '../../src/netlink';
import { ethtoolAddonPath } from '../../src/netlink/addon-location';
import { EthtoolIoctl, ioctlErrno } from '../../src/netlink/ethtool-ioctl';

const OP = 'turn off tx checksum offload of';

function errnoError(errno: number): Error {
  return Object.assign(new Error(`ioctl failed with ${errno}`), { errno, syscall: 'ioctl' });
}

test('the addon make build compiled is where the gateway looks, and refuses bad names itself', async () => {
  assert.equal(ethtoolAddonPath(), path.join(__dirname, '..', '..', 'native', 'ethtool.node'));
  const addon: unknown = require(ethtoolAddonPath());
  assert.ok(typeof addon === 'object' && addon !== null);
  const get: unknown = Reflect.get(addon, 'txChecksum');
  const off: unknown = Reflect.get(addon, 'txChecksumOff');
  assert.ok(typeof get === 'function' && typeof off === 'function');
  for (const bad of [undefined, 3, '', 'x'.repeat(16), 'é'.repeat(8), 'a\0b']) {
    for (const fn of [get, off]) {
      assert.throws(() => fn.call(addon, bad), (e: unknown) => e instanceof TypeError && Reflect.get(e, 'code') === 'ERR_INVALID_ARG_VALUE', JSON.stringify(bad));
    }
  }
  // ETHTOOL_GTXCSUM needs no privilege: a link that does not exist is the kernel's ENODEV, as a number.
  await assert.rejects(get.call(addon, 'ovt-none-0'), (e: unknown) => e instanceof Error && Reflect.get(e, 'errno') === 19 && Reflect.get(e, 'syscall') === 'ioctl'
    && e.message === 'ioctl(SIOCETHTOOL, ETHTOOL_GTXCSUM) on "ovt-none-0": No such device');
});

test('errno numbers of the addon become the names NetlinkError carries', () => {
  assert.equal(ioctlErrno(errnoError(19)), 'ENODEV');
  assert.equal(ioctlErrno(errnoError(95)), 'EOPNOTSUPP');
  assert.equal(ioctlErrno(errnoError(1)), 'EPERM');
  assert.equal(ioctlErrno(errnoError(71)), 'EPROTO');
  for (const odd of [new Error('no errno'), errnoError(0), errnoError(-19), { errno: '19' }, undefined, 'ENODEV']) {
    assert.equal(ioctlErrno(odd), 'EIO', String(odd));
  }
});

test('an addon call that fails is a NetlinkError naming the op, the link and the errno', async () => {
  const ioctl = new EthtoolIoctl('/fake/ethtool.node', () => ({
    txChecksumOff: (name: string) => Promise.reject(errnoError(name === 'gone0' ? 19 : 1)),
    txChecksum: () => Promise.resolve(true),
  }));
  await assert.rejects(ioctl.txChecksumOff(OP, 'gone0'), (e: unknown) => e instanceof NetlinkError && e.code === 'NETLINK_ERROR'
    && e.errno === 'ENODEV' && e.op === OP && e.link === 'gone0' && e.message.startsWith('failed to turn off tx checksum offload of "gone0": ENODEV (ioctl failed with 19)'));
  await assert.rejects(ioctl.txChecksumOff(OP, 'veth0'), (e: unknown) => e instanceof NetlinkError && e.errno === 'EPERM' && /run it as root$/.test(e.message));
});

test('a device that keeps TX checksumming on after ETHTOOL_STXCSUM fails with EOPNOTSUPP; one that drops it succeeds', async () => {
  const on = new Map([['fixed0', true], ['veth0', true]]);
  const ioctl = new EthtoolIoctl('/fake/ethtool.node', () => ({
    txChecksumOff: async (name: string) => { if (name !== 'fixed0') on.set(name, false); },
    txChecksum: async (name: string) => on.get(name),
  }));
  await ioctl.txChecksumOff(OP, 'veth0');
  assert.equal(await ioctl.txChecksum('get tx checksumming of', 'veth0'), false);
  await assert.rejects(ioctl.txChecksumOff(OP, 'fixed0'), (e: unknown) => e instanceof NetlinkError && e.errno === 'EOPNOTSUPP'
    && e.message === 'failed to turn off tx checksum offload of "fixed0": EOPNOTSUPP (the device keeps part of its TX checksumming on)');
});

test('a missing or foreign addon is EthtoolAddonError with its path, tried again on the next call', async () => {
  let loads = 0;
  let present = false;
  const ioctl = new EthtoolIoctl('/opt/x/ethtool.node', () => {
    loads += 1;
    if (!present) throw new Error("Cannot find module '/opt/x/ethtool.node'\nRequire stack:\n- here");
    return { txChecksumOff: async () => undefined, txChecksum: async () => false };
  });
  await assert.rejects(ioctl.txChecksumOff(OP, 'veth0'), (e: unknown) => e instanceof EthtoolAddonError && e.code === 'NETLINK_ETHTOOL_ADDON_UNAVAILABLE'
    && e.path === '/opt/x/ethtool.node' && e.link === 'veth0'
    && e.message.startsWith(`failed to turn off tx checksum offload of "veth0": the SIOCETHTOOL addon, used where the kernel has no ethtool netlink family, could not be loaded from /opt/x/ethtool.node (Cannot find module '/opt/x/ethtool.node'); it ships as ethtool.node beside netlink.node`));
  present = true;
  await ioctl.txChecksumOff(OP, 'veth0');
  assert.equal(await ioctl.txChecksum('get tx checksumming of', 'veth0'), false);
  assert.equal(loads, 2, 'loaded again after the failure, then kept');

  for (const foreign of [undefined, 42, {}, { txChecksumOff: () => undefined }]) {
    const wrong = new EthtoolIoctl('/opt/y/ethtool.node', () => foreign);
    assert.throws(() => wrong.ensureLoaded(OP, 'veth0'), (e: unknown) => e instanceof EthtoolAddonError && /could not be loaded from \/opt\/y\/ethtool\.node \(it (exports no object|does not export txChecksumOff and txChecksum: not native\/ethtool\.c)\)/.test(e.message), String(foreign));
  }
  const liar = new EthtoolIoctl('/opt/z/ethtool.node', () => ({ txChecksumOff: async () => undefined, txChecksum: async () => 'yes' }));
  await assert.rejects(liar.txChecksum('get tx checksumming of', 'veth0'), (e: unknown) => e instanceof NetlinkError && e.errno === 'EIO' && /answered string, not a boolean/.test(e.message));
});

test('openLinks: ethtool is "auto" or "ioctl", the addon path non-empty; a forced ioctl with no addon sends nothing', async () => {
  for (const ethtool of ['netlink', '', 'IOCTL']) {
    assert.throws(() => openLinks({ ethtool: ethtool as 'auto' }), (e: unknown) => e instanceof RangeError && e.message === `netlink ethtool must be "auto" or "ioctl", got ${JSON.stringify(ethtool)}`);
  }
  assert.throws(() => openLinks({ ethtoolAddonPath: '' }), /ethtoolAddonPath must be a non-empty path/);
  const links = openLinks({ ethtool: 'ioctl', ethtoolAddonPath: '/nonexistent/ethtool.node' });
  try {
    await assert.rejects(links.txChecksumMechanism(), (e: unknown) => e instanceof EthtoolAddonError && e.path === '/nonexistent/ethtool.node');
    await assert.rejects(links.setLinkTxChecksumOff('ovt-any0'), (e: unknown) => e instanceof EthtoolAddonError && e.op === OP && e.link === 'ovt-any0');
    await assert.rejects(links.getLinkTxChecksum('ovt-any0'), (e: unknown) => e instanceof EthtoolAddonError && e.op === 'get tx checksumming of');
    // Names are checked before the addon is even looked for.
    await assert.rejects(links.setLinkTxChecksumOff('a/b'), (e: unknown) => e instanceof Error && Reflect.get(e, 'code') === 'NETLINK_INVALID_ARGUMENT');
  } finally {
    links.close();
  }
  const closed = openLinks({ ethtool: 'ioctl' });
  closed.close();
  await assert.rejects(closed.getLinkTxChecksum('lo'), (e: unknown) => e instanceof NetlinkError && e.errno === 'ESHUTDOWN');
  await assert.rejects(closed.setLinkTxChecksumOff('lo'), (e: unknown) => e instanceof NetlinkError && e.errno === 'ESHUTDOWN');
});
