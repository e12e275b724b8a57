// The daemon as a process on private ovsdb-servers: --max-message-size reaches the Northbound
// session's framer, and the conditional monitor keeps a Northbound whose other hosts' ports
// alone would pass the limit usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, Operation, strMap } from '../../src/ovsdb/operations';
import { NB_SCHEMA, startStandalone, VSWITCH_SCHEMA, withCleanup, Defer } from '../helpers/ovsdb-server';
import { postPlugin, startDriver } from '../helpers/stack';

const hex = (): string => randomBytes(32).toString('hex');
const CHASSIS = `daemon-monitor-${randomBytes(4).toString('hex')}`;

/** `count` driver-like ports of `chassis` (about 450 bytes each in a monitor reply) on a switch of their own. */
async function ports(c: OvsdbClient, count: number, chassis: (i: number) => string): Promise<void> {
  const ops: Operation[] = [];
  const net = hex();
  for (let i = 0; i < count; i++) {
    const ep = hex();
    const addr = `0a:58:c6:13:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')} 198.19.${i >> 8}.${i & 0xff}`;
    ops.push(insert('Logical_Switch_Port', {
      name: ep, addresses: [addr], port_security: [addr],
      external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'docker:endpoint-id': ep, 'docker:network-id': net, 'ovn-driver:chassis': chassis(i) }),
      options: strMap({ 'requested-chassis': chassis(i) }),
    }, `p${i}`));
  }
  ops.push(insert('Logical_Switch', { name: net, ports: Array.from({ length: count }, (_, i) => namedUuid(`p${i}`)) }));
  await c.transact(ops);
}

async function daemonOn(defer: Defer, nbRemote: string, ovsRemote: string, extra: string[]): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-nbmon-'));
  defer(() => fs.rm(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'ovn.sock');
  const d = await startDriver({ socketPath, extraArgs: ['--nb', nbRemote, '--ovsdb', ovsRemote, '--db-timeout', '3', '--reconcile-interval', '0', '--log-level', 'info', ...extra] });
  defer(() => d.stop());
  return socketPath;
}

// Each network its own subnet: one host has one network per VRF and subnet.
const createNetwork = (socketPath: string, networkId: string, octet: number): ReturnType<typeof postPlugin> =>
  postPlugin(socketPath, '/NetworkDriver.CreateNetwork', JSON.stringify({ NetworkID: networkId, Options: {}, IPv4Data: [{ Pool: `198.18.${octet}.0/24`, Gateway: `198.18.${octet}.1/24` }], IPv6Data: [] }));

test('--max-message-size: other hosts\' ports past the limit do not matter; this host\'s past it end the session until the limit is raised', { timeout: 120_000 }, async () =>
  withCleanup(async (defer) => {
    const nb = await startStandalone(NB_SCHEMA);
    defer(() => nb.close());
    const ovs = await startStandalone(VSWITCH_SCHEMA);
    defer(() => ovs.close());
    const c = new OvsdbClient({ remotes: ovs.remote, database: 'Open_vSwitch' });
    defer(() => c.close());
    await c.transact([insert('Bridge', { name: 'br-int' }, 'br'), insert('Open_vSwitch', { bridges: [namedUuid('br')], external_ids: strMap({ 'system-id': CHASSIS }) })]);
    const w = new OvsdbClient({ remotes: nb.remote, database: 'OVN_Northbound', requestTimeoutMs: 60_000 });
    defer(() => w.close());
    // About 1.3 MiB of other hosts' ports: over a 1 MiB limit had they been monitored.
    await ports(w, 3000, (i) => `other-${i % 30}`);

    const small = await daemonOn(defer, nb.remote, ovs.remote, ['--max-message-size', '1']);
    const first = await createNetwork(small, hex(), 72);
    assert.equal(first.status, 200, first.body);

    // Now as many of this host's own ports: the monitor reply passes 1 MiB.
    await ports(w, 3000, () => CHASSIS);
    const tooSmall = await daemonOn(defer, nb.remote, ovs.remote, ['--max-message-size', '1']);
    const refused = await createNetwork(tooSmall, hex(), 73);
    assert.equal(refused.status, 503, refused.body);
    assert.match(refused.body, /Northbound database .* is unreachable.*exceeds the 1048576-byte limit/);
    const enough = await daemonOn(defer, nb.remote, ovs.remote, ['--max-message-size', '4']);
    const served = await createNetwork(enough, hex(), 74);
    assert.equal(served.status, 200, served.body);
  }));
