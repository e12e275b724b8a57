// Reconciliation against real databases and a real namespace: debris this host left on purpose
// (an OVS port whose veth is gone, an unattached `ovn…` veth, a logical port of this chassis that
// Docker does not have) is removed; foreign things (another chassis's logical port, an unmarked
// one, an OVS port without our owner mark, a veth of another name, an `ovn…` veth attached to a
// foreign port) are kept. With Docker unreachable no logical port is removed.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';
import { BRIDGE, IsolatedDaemon, startIsolatedDaemon } from '../helpers/isolated-daemon';
import { randomSuffix, run } from '../helpers/run';

const ONCE = path.join(__dirname, '..', 'helpers', 'reconcile-once.js');
const DOCKER_SOCKET = '/var/run/docker.sock';

function hex(n: number): string {
  return (randomSuffix(32) + randomSuffix(32)).slice(0, n);
}

interface Report {
  removed: { logicalPorts: string[]; ovsPorts: string[]; links: string[] };
  dockerKnown: boolean;
  errors: string[];
}

function isReport(v: unknown): v is Report {
  return typeof v === 'object' && v !== null && 'removed' in v && 'dockerKnown' in v && 'errors' in v;
}

async function reconcileOnce(d: IsolatedDaemon, dockerSocket: string): Promise<Report> {
  const out = await run('ip', ['netns', 'exec', d.netns, process.execPath, ONCE, d.ovs.remote, d.nb.remote, dockerSocket, '0']);
  const doc: unknown = JSON.parse(out.trim());
  if (!isReport(doc)) throw new Error(`reconcile-once printed ${out}`);
  return doc;
}

async function addLsp(d: IsolatedDaemon, sw: string, name: string, ids: Record<string, string>): Promise<void> {
  await d.nbctl(['lsp-add', sw, name]);
  const sets = Object.entries(ids).map(([k, v]) => `external_ids:"${k}"="${v}"`);
  if (sets.length > 0) await d.nbctl(['set', 'Logical_Switch_Port', name, ...sets]);
}

async function names(out: Promise<string>): Promise<string[]> {
  return (await out).split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();
}

test('reconciliation removes only what this host made and nothing owns', { timeout: 120_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const d = await startIsolatedDaemon(cleanup, { startDaemon: false });
    const owner = { 'ovn-driver:owner': 'ovn-driver' };
    const sw = hex(64);
    await d.nbctl(['ls-add', sw, '--', 'set', 'Logical_Switch', sw, 'external_ids:"ovn-driver:owner"=ovn-driver']);

    // Ours, to be removed.
    const orphanEp = hex(64);
    await addLsp(d, sw, orphanEp, { ...owner, 'ovn-driver:chassis': d.systemId, 'docker:endpoint-id': orphanEp });
    const stalePort = `ovn${hex(12)}`;
    await d.vsctl(['add-port', BRIDGE, stalePort, '--', 'set', 'Interface', stalePort, `external_ids:iface-id=${hex(64)}`, 'external_ids:"ovn-driver:owner"=ovn-driver']);
    const looseVeth = `ovn${hex(12)}`;
    await d.ip(['link', 'add', looseVeth, 'type', 'veth', 'peer', 'name', `ovc${looseVeth.slice(3)}`]);
    // The orphan endpoint's own local port and veth go with its logical port.
    const orphanHost = `ovn${orphanEp.slice(0, 12)}`;
    await d.ip(['link', 'add', orphanHost, 'type', 'veth', 'peer', 'name', `ovc${orphanEp.slice(0, 12)}`]);
    await d.vsctl(['add-port', BRIDGE, orphanHost, '--', 'set', 'Interface', orphanHost, `external_ids:iface-id=${orphanEp}`, 'external_ids:"ovn-driver:owner"=ovn-driver']);

    // Foreign, to be kept.
    const otherChassisEp = hex(64);
    await addLsp(d, sw, otherChassisEp, { ...owner, 'ovn-driver:chassis': 'another-host' });
    const unmarkedEp = hex(64);
    await addLsp(d, sw, unmarkedEp, { 'ovn-driver:chassis': d.systemId });
    const foreignPort = `ovn${hex(12)}`;
    await d.vsctl(['add-port', BRIDGE, foreignPort]);
    const foreignAttached = `ovn${hex(12)}`;
    await d.ip(['link', 'add', foreignAttached, 'type', 'veth', 'peer', 'name', `ovc${foreignAttached.slice(3)}`]);
    await d.vsctl(['add-port', BRIDGE, foreignAttached]);
    const otherVeth = `vethrc${hex(4)}`;
    await d.ip(['link', 'add', otherVeth, 'type', 'veth', 'peer', 'name', `${otherVeth}p`]);
    const otherKind = `ovn${hex(12)}`;
    await d.ip(['link', 'add', otherKind, 'type', 'bridge']);

    const report = await reconcileOnce(d, DOCKER_SOCKET);
    assert.deepEqual(report.errors, []);
    assert.equal(report.dockerKnown, true, 'Docker answered');
    assert.deepEqual(report.removed.logicalPorts, [orphanEp]);
    assert.deepEqual(report.removed.ovsPorts.sort(), [stalePort, orphanHost].sort());
    assert.deepEqual(report.removed.links.sort(), [looseVeth, orphanHost].sort());

    assert.deepEqual(await names(d.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch_Port'])), [otherChassisEp, unmarkedEp].sort());
    assert.deepEqual(await names(d.vsctl(['list-ports', BRIDGE])), [foreignPort, foreignAttached].sort());
    const links = await d.ip(['-o', 'link', 'show']);
    for (const kept of [foreignAttached, otherVeth, otherKind]) assert.match(links, new RegExp(`: ${kept}[@:]`), `${kept} kept`);
    for (const gone of [looseVeth, orphanHost]) assert.doesNotMatch(links, new RegExp(`: ${gone}[@:]`), `${gone} removed`);

    // A second pass finds nothing more.
    const again = await reconcileOnce(d, DOCKER_SOCKET);
    assert.deepEqual(again.removed, { logicalPorts: [], ovsPorts: [], links: [] });

    // Docker unreachable: a new orphan logical port stays; local debris still goes.
    const unknownEp = hex(64);
    await addLsp(d, sw, unknownEp, { ...owner, 'ovn-driver:chassis': d.systemId });
    const loose2 = `ovn${hex(12)}`;
    await d.ip(['link', 'add', loose2, 'type', 'veth', 'peer', 'name', `ovc${loose2.slice(3)}`]);
    const blind = await reconcileOnce(d, path.join(d.dir, 'no-docker.sock'));
    assert.equal(blind.dockerKnown, false);
    assert.deepEqual(blind.removed, { logicalPorts: [], ovsPorts: [], links: [loose2] });
    assert.match(await d.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch_Port']), new RegExp(unknownEp));
  });
});
