// Moving a veth end into another namespace, by fd and by pid, then pinging across it (root).
// The namespaces are made by the test with iproute2/unshare; the module itself never enters one.

import { closeSync, openSync, readlinkSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCleanup } from '../helpers/cleanup';
import { randomSuffix, run, runResult, waitFor } from '../helpers/run';
import { openLinks } from '../../src/netlink';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

/** A /30 in 198.19.0.0/16 (inside 198.18.0.0/15), random so parallel runs do not collide. */
function subnet(): { host: string; peer: string } {
  const third = Math.floor(Math.random() * 256);
  const base = 4 * Math.floor(Math.random() * 63);
  return { host: `198.19.${third}.${base + 1}`, peer: `198.19.${third}.${base + 2}` };
}

/** Names of the links `ip` shows, run as `prefix ip ...` (e.g. inside a namespace). */
async function linkNames(prefix: readonly string[]): Promise<string[]> {
  const [file, ...args] = [...prefix, 'ip', '-j', 'link', 'show'];
  const parsed: unknown = JSON.parse(await run(file ?? 'ip', args));
  if (!Array.isArray(parsed)) throw new Error('unexpected ip output');
  return parsed.map((l: unknown) => (typeof l === 'object' && l !== null && 'ifname' in l ? String(Reflect.get(l, 'ifname')) : ''));
}

test('setLinkNetns by fd moves the peer into a named namespace, and traffic crosses', { skip, timeout: 60_000 }, async () => {
  const sfx = randomSuffix();
  const netns = `ovntest-nl-${sfx}`;
  const [host, peer] = [`ovt${sfx}h`, `ovt${sfx}c`];
  const ip = subnet();
  const links = openLinks();
  try {
    await withCleanup(async (cleanup) => {
      await run('ip', ['netns', 'add', netns]);
      cleanup.add(`delete netns ${netns}`, () => run('ip', ['netns', 'del', netns]));
      const fd = openSync(`/run/netns/${netns}`, 'r');
      cleanup.add(`close fd of ${netns}`, async () => closeSync(fd));
      cleanup.add(`delete ${host}`, () => runResult('ip', ['link', 'del', host]));

      await links.createVethPair({ name: host, peerName: peer, peerMac: '02:00:c6:13:00:02', mtu: 1442 });
      await links.setLinkNetns(peer, { fd });

      assert.equal(await links.getLink(peer), undefined, 'the peer left the host namespace');
      assert.ok((await linkNames(['ip', 'netns', 'exec', netns])).includes(peer));

      await run('ip', ['addr', 'add', `${ip.host}/30`, 'dev', host]);
      await run('ip', ['-n', netns, 'addr', 'add', `${ip.peer}/30`, 'dev', peer]);
      await run('ip', ['-n', netns, 'link', 'set', peer, 'up']); // moving a link sets it down
      const out = await run('ip', ['netns', 'exec', netns, 'busybox', 'ping', '-c', '1', '-W', '5', ip.host]);
      assert.match(out, /1 packets received/);

      await links.deleteLink(host);
      assert.equal(await links.getLink(host), undefined);
      assert.ok(!(await linkNames(['ip', 'netns', 'exec', netns])).includes(peer), 'the peer went with its pair');
    });
  } finally {
    links.close();
  }
});

test('setLinkNetns by pid moves the peer into the namespace of a process, and traffic crosses', { skip, timeout: 60_000 }, async () => {
  const sfx = randomSuffix();
  const [host, peer] = [`ovt${sfx}h`, `ovt${sfx}c`];
  const ip = subnet();
  const links = openLinks();
  try {
    await withCleanup(async (cleanup) => {
      // unshare execs sleep in a fresh network namespace, keeping its pid.
      const child = spawn('unshare', ['-n', 'sleep', '60'], { stdio: 'ignore' });
      const pid = child.pid;
      if (pid === undefined) throw new Error('failed to start unshare');
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      cleanup.add(`kill ${pid}`, async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      const ownNs = readlinkSync('/proc/self/ns/net');
      await waitFor('the child to enter its own network namespace', async () => {
        try {
          return readlinkSync(`/proc/${pid}/ns/net`) !== ownNs ? true : undefined;
        } catch {
          return undefined;
        }
      }, 10_000);
      cleanup.add(`delete ${host}`, () => runResult('ip', ['link', 'del', host]));
      const inChild = ['nsenter', '-t', String(pid), '-n'];

      await links.createVethPair({ name: host, peerName: peer, mtu: 1442 });
      await links.setLinkNetns(peer, { pid });
      assert.equal(await links.getLink(peer), undefined, 'the peer left the host namespace');
      assert.ok((await linkNames(inChild)).includes(peer));

      await run('ip', ['addr', 'add', `${ip.host}/30`, 'dev', host]);
      await run('nsenter', ['-t', String(pid), '-n', 'ip', 'addr', 'add', `${ip.peer}/30`, 'dev', peer]);
      await run('nsenter', ['-t', String(pid), '-n', 'ip', 'link', 'set', peer, 'up']);
      const out = await run('busybox', ['ping', '-c', '1', '-W', '5', ip.peer]);
      assert.match(out, /1 packets received/);

      await links.deleteLink(host);
      assert.ok(!(await linkNames(inChild)).includes(peer), 'the peer went with its pair');
    });
  } finally {
    links.close();
  }
});
