// Many requests in flight on one handle (root): each answer must reach its own request, and
// nothing may leak.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCleanup } from '../helpers/cleanup';
import { randomSuffix, run, runResult } from '../helpers/run';
import { NetlinkError, openLinks } from '../../src/netlink';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

async function kernelLinkNames(): Promise<string[]> {
  const parsed: unknown = JSON.parse(await run('ip', ['-j', 'link', 'show']));
  if (!Array.isArray(parsed)) throw new Error('unexpected ip output');
  return parsed.map((l: unknown) => (typeof l === 'object' && l !== null && 'ifname' in l ? String(Reflect.get(l, 'ifname')) : ''));
}

test('200 veth pairs created, checked and deleted concurrently, with dumps running alongside', { skip, timeout: 120_000 }, async () => {
  const sfx = randomSuffix();
  const prefix = `ovt${sfx}`;
  const n = 200;
  const names = Array.from({ length: n }, (_, i) => `${prefix}h${i}`);
  const links = openLinks({ timeoutMs: 20_000 });
  try {
    await withCleanup(async (cleanup) => {
      cleanup.add(`delete ${prefix}h*`, async () => {
        for (const name of names) await runResult('ip', ['link', 'del', name]);
      });
      const start = process.hrtime.bigint();
      const lifecycles = names.map(async (name, i) => {
        const peerName = `${prefix}c${i}`;
        const mtu = 1280 + i; // a distinct MTU per pair shows each answer went to its own request
        await links.createVethPair({ name, peerName, mtu });
        const got = await links.getLink(peerName);
        assert.equal(got?.name, peerName);
        assert.equal(got?.mtu, mtu);
        assert.equal(got?.up, true);
        assert.equal(await links.getLink(`${prefix}x${i}`), undefined); // a miss between hits
        await links.deleteLink(name);
        assert.equal(await links.getLink(name), undefined);
      });
      const dumps = Array.from({ length: 5 }, () => links.listLinks());
      await Promise.all(lifecycles);
      const listed = await Promise.all(dumps);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      console.log(`${n} concurrent create/get/delete lifecycles + 5 dumps: ${ms.toFixed(0)} ms`);
      for (const list of listed) assert.ok(list.some((l) => l.name === 'lo'));

      const leftovers = (await kernelLinkNames()).filter((name) => name.startsWith(prefix));
      assert.deepEqual(leftovers, []);
      assert.deepEqual((await links.listLinks()).filter((l) => l.name.startsWith(prefix)), []);
    });
  } finally {
    links.close();
  }
});

test('concurrent creates of the same name: exactly one wins, the others get EEXIST', { skip, timeout: 60_000 }, async () => {
  const sfx = randomSuffix();
  const name = `ovt${sfx}h`;
  const links = openLinks();
  try {
    await withCleanup(async (cleanup) => {
      cleanup.add(`delete ${name}`, () => runResult('ip', ['link', 'del', name]));
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
        links.createVethPair({ name, peerName: `ovt${sfx}c${i}`, mtu: 1500 })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof NetlinkError && r.reason.errno === 'EEXIST', String(r.reason));
      }
      const peers = (await links.listLinks()).filter((l) => l.name.startsWith(`ovt${sfx}c`));
      assert.equal(peers.length, 1, 'the losers left no peer behind');
    });
  } finally {
    links.close();
  }
});
