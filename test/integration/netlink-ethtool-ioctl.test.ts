// TX checksum offload through the SIOCETHTOOL ioctl (the fallback for kernels without the ethtool
// netlink family), forced on this kernel with openLinks({ ethtool: 'ioctl' }), against the real
// kernel (root), on veth pairs the test makes. `ethtool -k` (the utility) and the genetlink path of
// the same gateway are the independent readers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCleanup } from '../helpers/cleanup';
import { nodeInNetns } from '../helpers/netns-node';
import { randomSuffix, run, runResult } from '../helpers/run';
import { EthtoolAddonError, EthtoolUnsupportedError, InvalidLinkArgumentError, NetlinkError, openLinks } from '../../src/netlink';
import { TX_CHECKSUM_FEATURES } from '../../src/netlink/ethtool-wire';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

/** `ethtool -k NAME`: every line, the legacy group names ("tx-checksumming") and the kernel's own. */
async function ethtoolFeatures(name: string): Promise<Map<string, boolean>> {
  const out = await run('ethtool', ['-k', name]);
  const features = new Map<string, boolean>();
  for (const line of out.split('\n')) {
    const m = /^\t?([a-z0-9_-]+): (on|off)\b/.exec(line);
    if (m?.[1] !== undefined) features.set(m[1], m[2] === 'on');
  }
  if (!features.has('tx-checksumming')) throw new Error(`no tx-checksumming in ethtool -k output: ${out}`);
  return features;
}

/** Two veth pairs, deleted afterwards whatever happens; body gets the container-side ends. */
function withPairs(body: (a: { name: string; peer: string }, b: { name: string; peer: string }) => Promise<void>): Promise<void> {
  const sfx = randomSuffix();
  const a = { name: `ovi${sfx}ah`, peer: `ovi${sfx}ac` };
  const b = { name: `ovi${sfx}bh`, peer: `ovi${sfx}bc` };
  return withCleanup(async (cleanup) => {
    for (const pair of [a, b]) {
      cleanup.add(`delete ${pair.name}`, () => runResult('ip', ['link', 'del', pair.name]));
      await run('ip', ['link', 'add', pair.name, 'type', 'veth', 'peer', 'name', pair.peer]);
    }
    await body(a, b);
  });
}

test('forced onto the ioctl, setLinkTxChecksumOff turns off exactly what the genetlink path does (ethtool -K tx off)', { skip, timeout: 60_000 }, async () => {
  await withPairs(async (a, b) => {
    const ioctl = openLinks({ ethtool: 'ioctl' });
    const genl = openLinks();
    try {
      assert.equal(await ioctl.txChecksumMechanism(), 'ioctl');
      assert.equal(await genl.txChecksumMechanism(), 'genetlink', 'this kernel has the family');
      const before = await ethtoolFeatures(a.peer);
      assert.equal(before.get('tx-checksumming'), true, 'a new veth offloads checksums (the kernel default)');
      assert.equal(await ioctl.getLinkTxChecksum(a.peer), true, 'ETHTOOL_GTXCSUM reads what ethtool reads');

      await ioctl.setLinkTxChecksumOff(a.peer);
      await genl.setLinkTxChecksumOff(b.peer);
      const viaIoctl = await ethtoolFeatures(a.peer);
      for (const feature of ['tx-checksumming', ...TX_CHECKSUM_FEATURES]) assert.equal(viaIoctl.get(feature), false, `${feature} after the ioctl`);
      // The kernel drops TSO with checksumming, as for ethtool; every other feature is as the
      // genetlink path leaves its own pair: the same change by the other mechanism.
      assert.equal(viaIoctl.get('tx-tcp-segmentation'), false);
      assert.deepEqual(viaIoctl, await ethtoolFeatures(b.peer));
      assert.equal((await ethtoolFeatures(a.name)).get('tx-checksumming'), true, 'the other end keeps its offload');

      // Both readers of the gateway agree with ethtool, whichever path turned it off.
      for (const links of [ioctl, genl]) {
        assert.equal(await links.getLinkTxChecksum(a.peer), false);
        assert.equal(await links.getLinkTxChecksum(a.name), true);
      }
      const features = await genl.getLinkFeatures(a.peer);
      for (const feature of TX_CHECKSUM_FEATURES) assert.equal(features.has(feature), false, `${feature} per getLinkFeatures`);

      await ioctl.setLinkTxChecksumOff(a.peer); // already off: succeeds, nothing changes
      assert.deepEqual(await ethtoolFeatures(a.peer), viaIoctl);
    } finally {
      ioctl.close();
      genl.close();
    }
  });
});

test('ioctl path: a missing link is ENODEV, a bad name is refused before any request, a closed handle is ESHUTDOWN', { skip, timeout: 60_000 }, async () => {
  const links = openLinks({ ethtool: 'ioctl' });
  const missing = `ovi${randomSuffix()}x`;
  try {
    await assert.rejects(links.setLinkTxChecksumOff(missing), (e: unknown) => e instanceof NetlinkError && e.errno === 'ENODEV'
      && e.message === `failed to turn off tx checksum offload of "${missing}": ENODEV (ioctl(SIOCETHTOOL, ETHTOOL_STXCSUM) on "${missing}": No such device)`);
    await assert.rejects(links.getLinkTxChecksum(missing), (e: unknown) => e instanceof NetlinkError && e.errno === 'ENODEV' && e.op === 'get tx checksumming of');
    for (const bad of ['a/b', '', 'ovi0123456789abc']) {
      await assert.rejects(links.setLinkTxChecksumOff(bad), (e: unknown) => e instanceof InvalidLinkArgumentError && e.field === 'name', bad);
    }
  } finally {
    links.close();
  }
  await assert.rejects(links.setLinkTxChecksumOff('lo'), (e: unknown) => e instanceof NetlinkError && e.errno === 'ESHUTDOWN');
});

test('ioctl path: loopback, whose checksumming is fixed on, fails with EOPNOTSUPP and stays as it was', { skip, timeout: 60_000 }, async () => {
  // The addon acts in the process's own namespace, so a child started inside a fresh namespace
  // (whose lo is the test's own) calls it there.
  const netns = `ovntest-ioc-${randomSuffix()}`;
  await withCleanup(async (cleanup) => {
    await run('ip', ['netns', 'add', netns]);
    cleanup.add(`delete netns ${netns}`, () => run('ip', ['netns', 'del', netns]));
    const script = `
      const { openLinks } = require(${JSON.stringify(require.resolve('../../src/netlink'))});
      const links = openLinks({ ethtool: 'ioctl' });
      links.setLinkTxChecksumOff('lo').then(
        () => ({ ok: true }),
        (e) => ({ code: e.code, errno: e.errno, message: e.message }),
      ).then(async (result) => console.log(JSON.stringify({ ...result, after: await links.getLinkTxChecksum('lo') })))
        .finally(() => links.close());`;
    const result = await nodeInNetns(netns, script);
    assert.ok(typeof result === 'object' && result !== null);
    assert.equal(Reflect.get(result, 'code'), 'NETLINK_ERROR');
    assert.equal(Reflect.get(result, 'errno'), 'EOPNOTSUPP');
    assert.equal(Reflect.get(result, 'message'), 'failed to turn off tx checksum offload of "lo": EOPNOTSUPP (ioctl(SIOCETHTOOL, ETHTOOL_STXCSUM) on "lo": Operation not supported)');
    assert.equal(Reflect.get(result, 'after'), true, 'lo still checksums');
  });
});

test('ioctl path without the addon: EthtoolAddonError, and the link is left as it was', { skip, timeout: 60_000 }, async () => {
  await withPairs(async (a) => {
    const file = `/nonexistent/ovn-driver-${randomSuffix()}/ethtool.node`;
    const links = openLinks({ ethtool: 'ioctl', ethtoolAddonPath: file });
    try {
      await assert.rejects(links.setLinkTxChecksumOff(a.peer), (e: unknown) => e instanceof EthtoolAddonError
        && e.code === 'NETLINK_ETHTOOL_ADDON_UNAVAILABLE' && e.path === file && e.message.includes(`could not be loaded from ${file} (Cannot find module '${file}')`));
      assert.equal((await ethtoolFeatures(a.peer)).get('tx-checksumming'), true, 'nothing changed');
    } finally {
      links.close();
    }
  });
});

test('auto: where nlctrl knows no ethtool family (a kernel before 5.6), the gateway turns to the ioctl, and asks nlctrl once', { skip, timeout: 60_000 }, async () => {
  await withPairs(async (a) => {
    const said: string[] = [];
    const logger = { error: () => undefined, warn: () => undefined, debug: () => undefined, info: (msg: string) => { said.push(msg); } };
    // A family no kernel has plays the older kernel's nlctrl answer (ENOENT).
    const links = openLinks({ logger }, `ovn-none-${randomSuffix()}`);
    try {
      assert.equal(await links.txChecksumMechanism(), 'ioctl');
      assert.equal(await links.getLinkTxChecksum(a.peer), true);
      await links.setLinkTxChecksumOff(a.peer);
      const after = await ethtoolFeatures(a.peer);
      for (const feature of ['tx-checksumming', ...TX_CHECKSUM_FEATURES]) assert.equal(after.get(feature), false, `${feature} after`);
      assert.equal(await links.getLinkTxChecksum(a.peer), false);
      // The full feature list needs the family: the older kernel's answer, said as such.
      await assert.rejects(links.getLinkFeatures(a.peer), (e: unknown) => e instanceof EthtoolUnsupportedError && e.code === 'NETLINK_ETHTOOL_UNSUPPORTED');
      assert.deepEqual(said, ['this kernel has no ethtool netlink family: TX checksum offload goes through the SIOCETHTOOL ioctl addon'], 'nlctrl asked once, its answer kept');
    } finally {
      links.close();
    }
  });
});
