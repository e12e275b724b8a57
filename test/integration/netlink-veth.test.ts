// veth pairs against the real kernel (root): what createVethPair makes is checked with iproute2.

import { closeSync, openSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCleanup } from '../helpers/cleanup';
import { randomSuffix, run, runResult } from '../helpers/run';
import { NetlinkError, openLinks } from '../../src/netlink';
import type { Links } from '../../src/netlink';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

interface IpLink {
  readonly ifname: string;
  readonly mtu: number;
  readonly address: string;
  readonly flags: readonly string[];
  readonly kind: string | undefined;
}

/** `ip -j -d link show NAME`, or undefined when the link does not exist. */
async function ipLink(name: string, netns?: string): Promise<IpLink | undefined> {
  const args = [...(netns ? ['-n', netns] : []), '-j', '-d', 'link', 'show', 'dev', name];
  const r = await runResult('ip', args);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return undefined;
    throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
  const parsed: unknown = JSON.parse(r.stdout);
  const o: unknown = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : undefined;
  const ifname = field(o, 'ifname');
  const mtu = field(o, 'mtu');
  const address = field(o, 'address');
  const flags = field(o, 'flags');
  const kind = field(field(o, 'linkinfo'), 'info_kind');
  if (typeof ifname !== 'string' || typeof mtu !== 'number' || typeof address !== 'string' || !Array.isArray(flags)) {
    throw new Error(`unexpected ip output: ${r.stdout}`);
  }
  return {
    ifname, mtu, address,
    flags: flags.filter((f): f is string => typeof f === 'string'),
    kind: typeof kind === 'string' ? kind : undefined,
  };
}

/** One field of decoded JSON, without trusting its shape. */
function field(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && key in o ? Reflect.get(o, key) : undefined;
}

async function withLinks<T>(body: (links: Links) => Promise<T>): Promise<T> {
  const links = openLinks({ timeoutMs: 10_000 });
  try {
    return await body(links);
  } finally {
    links.close();
  }
}

/** `body` with a handle and two fresh names for a pair; the pair is deleted afterwards, pass or fail. */
async function withPairNames(body: (links: Links, name: string, peerName: string) => Promise<void>): Promise<void> {
  const sfx = randomSuffix();
  const name = `ovt${sfx}h`;
  await withCleanup((cleanup) => withLinks(async (links) => {
    cleanup.add(`delete ${name}`, () => runResult('ip', ['link', 'del', name]));
    await body(links, name, `ovt${sfx}c`);
  }));
}

test('createVethPair with peerUp false leaves the peer down (no carrier yet) and the host end up', { skip, timeout: 60_000 }, async () => {
  await withPairNames(async (links, name, peerName) => {
    await links.createVethPair({ name, peerName, peerMac: '02:00:c6:12:00:08', mtu: 1442, peerUp: false });
    const host = await ipLink(name);
    const peer = await ipLink(peerName);
    assert.ok(host && peer);
    assert.ok(host.flags.includes('UP'), `host end flags ${host.flags.join(',')}`);
    assert.ok(!peer.flags.includes('UP'), `peer flags ${peer.flags.join(',')}`);
    assert.ok(host.flags.includes('NO-CARRIER'), 'the host end has no carrier while its peer is down');
    assert.equal(peer.address, '02:00:c6:12:00:08');
    await links.setLinkUp(peerName);
    assert.ok(!(await ipLink(name))?.flags.includes('NO-CARRIER'), 'carrier once the peer is up');
  });
});

test('createVethPair makes both ends up, with the MTU on both and the MAC on the peer', { skip, timeout: 60_000 }, async () => {
  await withPairNames(async (links, name, peerName) => {
    await links.createVethPair({ name, peerName, peerMac: '02:00:C6:12:00:07', mtu: 1442 });

    const host = await ipLink(name);
    const peer = await ipLink(peerName);
    assert.ok(host && peer);
    assert.equal(host.kind, 'veth');
    assert.equal(peer.kind, 'veth');
    assert.equal(host.mtu, 1442);
    assert.equal(peer.mtu, 1442);
    assert.equal(peer.address, '02:00:c6:12:00:07');
    assert.ok(host.flags.includes('UP'), `host end flags ${host.flags.join(',')}`);
    assert.ok(peer.flags.includes('UP'), `peer flags ${peer.flags.join(',')}`);
    // Both up: the carrier is on, so neither end reports NO-CARRIER.
    assert.ok(!host.flags.includes('NO-CARRIER') && !peer.flags.includes('NO-CARRIER'));

    const got = await links.getLink(peerName);
    assert.deepEqual(got && { ...got, index: 0 }, { index: 0, name: peerName, mac: '02:00:c6:12:00:07', mtu: 1442, up: true, kind: 'veth' });
    const all = await links.listLinks();
    assert.deepEqual(all.filter((l) => l.name === name || l.name === peerName).map((l) => `${l.name} ${l.kind} ${l.mtu}`).sort(),
      [`${name} veth 1442`, `${peerName} veth 1442`].sort());
    const lo = all.find((l) => l.name === 'lo');
    assert.equal(lo?.kind, undefined);

    await links.deleteLink(name);
    assert.equal(await ipLink(name), undefined);
    assert.equal(await ipLink(peerName), undefined, 'deleting one end removes the pair');
    assert.equal(await links.getLink(name), undefined);
  });
});

test('EEXIST on a duplicate name, leaving the existing pair alone', { skip, timeout: 60_000 }, async () => {
  const sfx = randomSuffix();
  const [a, b, c] = [`ovt${sfx}a`, `ovt${sfx}b`, `ovt${sfx}c`];
  await withCleanup((cleanup) => withLinks(async (links) => {
    cleanup.add(`delete ${a}`, () => runResult('ip', ['link', 'del', a]));
    cleanup.add(`delete ${c}`, () => runResult('ip', ['link', 'del', c]));
    await links.createVethPair({ name: a, peerName: b, mtu: 1500 });
    const isEexist = (err: unknown): boolean => err instanceof NetlinkError && err.errno === 'EEXIST'
      && err.code === 'NETLINK_ERROR' && err.message.startsWith(`failed to create veth pair "`);
    await assert.rejects(links.createVethPair({ name: a, peerName: c, mtu: 1500 }), isEexist);
    await assert.rejects(links.createVethPair({ name: c, peerName: b, mtu: 1500 }), isEexist); // the peer's name is taken
    assert.equal(await ipLink(c), undefined, 'a refused create leaves nothing behind');
    assert.equal((await ipLink(a))?.kind, 'veth');
    assert.equal((await ipLink(b))?.kind, 'veth');
  }));
});

test('deleting a link that does not exist succeeds; kernel refusals carry their errno', { skip, timeout: 60_000 }, async () => {
  const sfx = randomSuffix();
  const [a, b] = [`ovt${sfx}a`, `ovt${sfx}b`];
  await withCleanup((cleanup) => withLinks(async (links) => {
    cleanup.add(`delete ${a}`, () => runResult('ip', ['link', 'del', a]));
    await links.deleteLink(`ovt${sfx}x`);
    await links.createVethPair({ name: a, peerName: b, mtu: 1500 });
    await links.deleteLink(a);
    await links.deleteLink(a); // twice: teardown is idempotent
    await links.deleteLink(b); // the peer went with its pair
    const errnoOf = (expected: string) => (err: unknown): boolean => err instanceof NetlinkError && err.errno === expected;
    await assert.rejects(links.setLinkUp(`ovt${sfx}x`), errnoOf('ENODEV'));
    await links.createVethPair({ name: a, peerName: b, mtu: 1500 });
    // pid 0x3fffffff is above any pid_max, so no process has it.
    await assert.rejects(links.setLinkNetns(b, { pid: 0x3fffffff }), errnoOf('ESRCH'));
    // An fd that is not a namespace file.
    const fd = openSync('/dev/null', 'r');
    try {
      await assert.rejects(links.setLinkNetns(b, { fd }), errnoOf('EINVAL'));
    } finally {
      closeSync(fd);
    }
    assert.equal((await ipLink(b))?.kind, 'veth', 'a refused move leaves the link where it was');
  }));
});

test('setLinkMtu, setLinkMac and setLinkUp change what iproute2 sees', { skip, timeout: 60_000 }, async () => {
  const sfx = randomSuffix();
  const [a, b] = [`ovt${sfx}a`, `ovt${sfx}b`];
  await withCleanup((cleanup) => withLinks(async (links) => {
    cleanup.add(`delete ${a}`, () => runResult('ip', ['link', 'del', a]));
    await links.createVethPair({ name: a, peerName: b, mtu: 1500 });
    await run('ip', ['link', 'set', b, 'down']);
    assert.equal((await links.getLink(b))?.up, false);
    await links.setLinkUp(b);
    assert.ok((await ipLink(b))?.flags.includes('UP'));
    await links.setLinkMtu(b, 9000);
    assert.equal((await ipLink(b))?.mtu, 9000);
    await links.setLinkMac(b, '02:00:c6:12:00:99');
    assert.equal((await ipLink(b))?.address, '02:00:c6:12:00:99');
    assert.equal((await links.getLink(b))?.mac, '02:00:c6:12:00:99');
  }));
});
