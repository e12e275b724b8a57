// TX checksum offload through the ethtool generic netlink family, against the real kernel (root),
// on veth pairs the test makes; `ethtool -k` (the utility) is the independent reader.

import { closeSync, openSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCleanup } from '../helpers/cleanup';
import { nodeInNetns } from '../helpers/netns-node';
import { randomSuffix, run, runResult } from '../helpers/run';
import { InvalidLinkArgumentError, NetlinkError, openLinks } from '../../src/netlink';
import { TX_CHECKSUM_FEATURES } from '../../src/netlink/ethtool-wire';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

/**
 * `ethtool -k NAME` as feature name -> on, for the indented lines: those carry the kernel's own
 * names (the unindented ones are ethtool's legacy group names such as "tx-checksumming").
 */
async function ethtoolFeatures(name: string, netns?: string): Promise<Map<string, boolean>> {
  const out = await run(netns ? 'ip' : 'ethtool', netns ? ['netns', 'exec', netns, 'ethtool', '-k', name] : ['-k', name]);
  const features = new Map<string, boolean>();
  for (const line of out.split('\n')) {
    const m = /^\t([a-z0-9_-]+): (on|off)\b/.exec(line);
    if (m?.[1] !== undefined) features.set(m[1], m[2] === 'on');
  }
  if (features.size === 0) throw new Error(`no features in ethtool -k output: ${out}`);
  return features;
}

function withPair(body: (name: string, peer: string) => Promise<void>): Promise<void> {
  const sfx = randomSuffix();
  const [name, peer] = [`ovt${sfx}h`, `ovt${sfx}c`];
  return withCleanup(async (cleanup) => {
    cleanup.add(`delete ${name}`, () => runResult('ip', ['link', 'del', name]));
    await run('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer]);
    await body(name, peer);
  });
}

test('setLinkTxChecksumOff turns tx checksumming off as ethtool -K tx off does; getLinkFeatures reads what ethtool reads', { skip, timeout: 60_000 }, async () => {
  await withPair(async (name, peer) => {
    const links = openLinks();
    try {
      const before = await ethtoolFeatures(peer);
      assert.equal(before.get('tx-checksum-ip-generic'), true, 'a new veth offloads checksums (the kernel default)');
      const read = await links.getLinkFeatures(peer);
      for (const [feature, on] of before) assert.equal(read.has(feature), on, `${feature} per getLinkFeatures vs ethtool -k`);

      await links.setLinkTxChecksumOff(peer);
      const after = await ethtoolFeatures(peer);
      for (const feature of TX_CHECKSUM_FEATURES) assert.equal(after.get(feature), false, `${feature} after`);
      // The kernel drops TSO with checksumming, as it does for ethtool; the other end is untouched.
      assert.equal(after.get('tx-tcp-segmentation'), false);
      assert.equal((await ethtoolFeatures(name)).get('tx-checksum-ip-generic'), true, 'the other end keeps its offload');
      const reread = await links.getLinkFeatures(peer);
      for (const [feature, on] of after) assert.equal(reread.has(feature), on, `${feature} after, per getLinkFeatures vs ethtool -k`);

      await links.setLinkTxChecksumOff(peer); // already off: succeeds, nothing changes
      assert.deepEqual(await ethtoolFeatures(peer), after);
    } finally {
      links.close();
    }
  });
});

test('the setting stays with the link when it moves into a namespace and is renamed, as Docker does', { skip, timeout: 60_000 }, async () => {
  const netns = `ovntest-eth-${randomSuffix()}`;
  await withPair(async (_name, peer) => {
    await withCleanup(async (cleanup) => {
      const links = openLinks();
      cleanup.add('close links', async () => links.close());
      await run('ip', ['netns', 'add', netns]);
      cleanup.add(`delete netns ${netns}`, () => run('ip', ['netns', 'del', netns]));
      const fd = openSync(`/run/netns/${netns}`, 'r');
      cleanup.add(`close fd of ${netns}`, async () => closeSync(fd));
      await links.setLinkTxChecksumOff(peer);
      await links.setLinkNetns(peer, { fd });
      await run('ip', ['-n', netns, 'link', 'set', peer, 'name', 'eth0']);
      await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
      const inside = await ethtoolFeatures('eth0', netns);
      for (const feature of TX_CHECKSUM_FEATURES) assert.equal(inside.get(feature), false, `${feature} in the sandbox`);
    });
  });
});

test('a device that keeps its checksum offload fixed on fails with EOPNOTSUPP naming the features', { skip, timeout: 60_000 }, async () => {
  // Loopback's tx-checksum-ip-generic is "on [fixed]". The gateway never enters a namespace, so a
  // child process started inside a fresh one (whose lo is the test's own) calls it there.
  const netns = `ovntest-eth-${randomSuffix()}`;
  await withCleanup(async (cleanup) => {
    await run('ip', ['netns', 'add', netns]);
    cleanup.add(`delete netns ${netns}`, () => run('ip', ['netns', 'del', netns]));
    const script = `
      const { openLinks } = require(${JSON.stringify(require.resolve('../../src/netlink'))});
      const links = openLinks();
      links.setLinkTxChecksumOff('lo').then(
        () => console.log(JSON.stringify({ ok: true })),
        (e) => console.log(JSON.stringify({ code: e.code, errno: e.errno, message: e.message })),
      ).finally(() => links.close());`;
    const result = await nodeInNetns(netns, script);
    assert.ok(typeof result === 'object' && result !== null);
    assert.equal(Reflect.get(result, 'code'), 'NETLINK_ERROR');
    assert.equal(Reflect.get(result, 'errno'), 'EOPNOTSUPP');
    assert.match(String(Reflect.get(result, 'message')), /^failed to turn off tx checksum offload of "lo": EOPNOTSUPP \(the device keeps tx-checksum-ip-generic(, tx-checksum-sctp)? on\)$/);
  });
});

test('a missing link is ENODEV, a bad name is refused before any request, a closed handle is ESHUTDOWN', { skip, timeout: 60_000 }, async () => {
  const links = openLinks();
  const missing = `ovt${randomSuffix()}x`;
  try {
    await assert.rejects(links.setLinkTxChecksumOff(missing), (e: unknown) => e instanceof NetlinkError && e.errno === 'ENODEV' && e.message.startsWith(`failed to turn off tx checksum offload of "${missing}": ENODEV`));
    await assert.rejects(links.getLinkFeatures(missing), (e: unknown) => e instanceof NetlinkError && e.errno === 'ENODEV');
    await assert.rejects(links.setLinkTxChecksumOff('a/b'), (e: unknown) => e instanceof InvalidLinkArgumentError && e.field === 'name');
  } finally {
    links.close();
  }
  await assert.rejects(links.setLinkTxChecksumOff('lo'), (e: unknown) => e instanceof NetlinkError && e.errno === 'ESHUTDOWN');
});
