// Proves the stack itself, independent of ovn-driver: a logical switch made with ovn-nbctl, two
// namespaces whose veths are plugged into br-int (userspace datapath) with iface-id set, and
// traffic between them (ping, TCP, UDP: helpers/traffic.ts) once ovn-controller reports
// ovn-installed. Their eth0 has TX checksum offload off (`ethtool -K eth0 tx off`), as the driver
// sets a container's: the userspace datapath does not complete partial checksums. If this fails,
// the driver's e2e tests cannot pass on this machine whatever the driver does.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';
import { randomSuffix, run, runResult, waitFor } from '../helpers/run';
import { listKernelLinks, listLogicalSwitchPorts, ovnInstalled } from '../helpers/stack';
import { assertConnected, netnsEnd, TrafficEnd } from '../helpers/traffic';

interface Side {
  readonly netns: string;
  readonly hostVeth: string;
  readonly lsp: string;
  readonly mac: string;
  readonly ip: string;
}

test('OVN forwards between two namespaces on br-int (userspace datapath)', { timeout: 120_000 }, async () => {
  const sfx = randomSuffix();
  await withCleanup(async (cleanup) => {
    const ls = `test-dp-${sfx}`;
    const subnet = `198.18.${100 + Math.floor(Math.random() * 100)}`;
    const sides: Side[] = ['a', 'b'].map((n, i) => ({
      netns: `ovntest-${sfx}-${n}`,
      hostVeth: `ovtd${sfx}${n}`,
      lsp: `${ls}-${n}`,
      mac: `02:00:c6:12:${sfx.slice(0, 2)}:0${i + 1}`,
      ip: `${subnet}.${i + 1}`,
    }));

    await run('ovn-nbctl', ['--timeout=10', 'ls-add', ls]);
    cleanup.add(`delete logical switch ${ls}`, () => run('ovn-nbctl', ['--timeout=10', '--if-exists', 'ls-del', ls]));

    for (const s of sides) {
      await run('ovn-nbctl', ['--timeout=10', 'lsp-add', ls, s.lsp, '--',
        'lsp-set-addresses', s.lsp, `${s.mac} ${s.ip}`, '--',
        'lsp-set-port-security', s.lsp, `${s.mac} ${s.ip}`]);

      await run('ip', ['netns', 'add', s.netns]);
      cleanup.add(`delete netns ${s.netns}`, () => run('ip', ['netns', 'del', s.netns]));
      await run('ip', ['link', 'add', s.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.netns]);
      cleanup.add(`delete veth ${s.hostVeth}`, async () => {
        // Gone already when its namespace went first: that is success.
        const r = await runResult('ip', ['link', 'del', s.hostVeth]);
        if (r.code !== 0 && !/Cannot find device/.test(r.stderr)) throw new Error(r.stderr);
      });
      await run('ip', ['-n', s.netns, 'link', 'set', 'eth0', 'address', s.mac]);
      await run('ip', ['netns', 'exec', s.netns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
      await run('ip', ['-n', s.netns, 'addr', 'add', `${s.ip}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', s.netns, 'link', 'set', 'eth0', 'up']);
      await run('ip', ['-n', s.netns, 'link', 'set', 'lo', 'up']);
      await run('ip', ['link', 'set', s.hostVeth, 'up']);
    }

    const plugged = Date.now();
    for (const s of sides) {
      await run('ovs-vsctl', ['--timeout=10', 'add-port', 'br-int', s.hostVeth, '--',
        'set', 'Interface', s.hostVeth, `external_ids:iface-id=${s.lsp}`]);
      cleanup.add(`delete OVS port ${s.hostVeth}`, () =>
        run('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-port', 'br-int', s.hostVeth]));
    }
    for (const s of sides) {
      await waitFor(`ovn-installed on ${s.hostVeth}`, async () => ((await ovnInstalled(s.hostVeth)) ? true : undefined));
    }
    const installedMs = Date.now() - plugged;

    // The first packets right after ovn-installed must arrive: that is what Join will promise.
    const [a, b] = sides;
    if (a === undefined || b === undefined) throw new Error('two sides expected');
    const end = async (s: Side): Promise<TrafficEnd> => {
      const scratch = await fs.mkdtemp(path.join(os.tmpdir(), `${s.netns}-`));
      cleanup.add(`remove ${scratch}`, () => fs.rm(scratch, { recursive: true, force: true }));
      return netnsEnd(s.netns, scratch);
    };
    const [endA, endB] = [await end(a), await end(b)];
    const first = await assertConnected(endA, endB, b.ip);
    const back = await assertConnected(endB, endA, a.ip);
    // Port security holds: an address the logical port does not own is dropped.
    await run('ip', ['-n', a.netns, 'addr', 'add', `${subnet}.99/24`, 'dev', 'eth0']);
    const spoofed = await runResult('ip', ['netns', 'exec', a.netns, 'busybox', 'ping', '-c', '1', '-W', '1', '-I', `${subnet}.99`, b.ip]);
    assert.notEqual(spoofed.code, 0, 'a ping from an address outside port_security went through');

    const ports = await listLogicalSwitchPorts();
    for (const s of sides) {
      assert.equal(ports.find((p) => p.name === s.lsp)?.up, true, `logical port ${s.lsp} is not up`);
    }
    process.stdout.write(`dataplane: ovn-installed ${installedMs} ms after add-port; ` +
      `1 MiB over TCP in ${first.tcpMs} ms (back ${back.tcpMs} ms); UDP ${first.udpReceived}/${first.udpSent} datagrams up to the MTU ${first.mtu}\n`);
  });

  // Cleanup ran: nothing with this run's names may remain.
  const links = await listKernelLinks();
  assert.deepEqual(links.filter((l) => l.name.includes(sfx)).map((l) => l.name), []);
  const netns = (await run('ip', ['netns', 'list'])).split('\n').filter((l) => l.includes(sfx));
  assert.deepEqual(netns, []);
  const switches = (await run('ovn-nbctl', ['--timeout=10', 'ls-list'])).split('\n').filter((l) => l.includes(sfx));
  assert.deepEqual(switches, []);
});
