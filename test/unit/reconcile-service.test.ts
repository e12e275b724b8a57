// The Reconciler against in-memory databases and links, beside a real OvnDriver: a pass removes
// only under the request locks and decides again once it holds them (a Join in flight keeps
// what it reuses), it cleans what an unknown outcome left, and its schedule (start, interval,
// stop) follows the injected clock and timer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reconciler, ReconcileReport, Schedule } from '../../src/driver/reconcile';
import type { Operation } from '../../src/ovsdb/operations';
import { EP, endpointReady, epReq, HOST, joinReq, netReq, PEER, req, rig, Rig } from '../helpers/driver-rig';

const quiet = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };

function reconciler(r: Rig, opts: { graceMs?: number; intervalMs?: number; now?: () => number; schedule?: Schedule; docker?: Set<string> } = {}): Reconciler {
  const docker = opts.docker ?? new Set([EP]);
  return new Reconciler({
    nb: r.nb, ovs: r.ovs, links: r.links, docker: { endpointIds: async () => docker }, logger: quiet,
    locks: r.driver.reconcileLocks(), graceMs: opts.graceMs ?? 0, intervalMs: opts.intervalMs ?? 60_000,
    ...(opts.now ? { now: opts.now } : {}), schedule: opts.schedule ?? (() => () => undefined),
  });
}

/** Lets every pending callback run (a pass that is not blocked would finish meanwhile). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Holds the next OVS transaction that inserts a Port until released. */
function holdPortInsert(r: Rig): { reached: Promise<void>; release: () => void } {
  let release!: () => void;
  let hit!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (hit = resolve));
  r.ovs.beforeTransact = async (ops: Operation[]): Promise<void> => {
    if (!ops.some((o) => o.op === 'insert' && o.table === 'Port')) return;
    r.ovs.beforeTransact = undefined;
    hit();
    await held;
  };
  return { reached, release };
}

const ports = (r: Rig): string[] => r.ovs.rows('Port').map((p) => String(p['name']));


/** The endpoints' logical ports: a routed switch's router-type port is the switch's, never the reconciler's. */
function endpointPorts(r: { nb: { rows(table: string): Array<Record<string, unknown>> } }): Array<Record<string, unknown>> {
  return r.nb.rows('Logical_Switch_Port').filter((p) => p['type'] !== 'router');
}

test('a pass waits for a Join that reuses a veth left unattached, then keeps it', async () => {
  const r = await rig();
  await endpointReady(r);
  // A crash left the pair, right as it is, but no OVS port: debris to a pass, reusable to Join.
  r.links.add(HOST, { mtu: 1442 }, PEER);
  r.links.add(PEER, { mac: '0a:58:c6:12:46:02', mtu: 1442, up: false }, HOST);
  const txn = holdPortInsert(r);
  const join = r.driver.join(joinReq());
  await txn.reached; // Join has decided to reuse the veth and is adding its OVS port
  const pass = reconciler(r).runOnce();
  await settle();
  assert.ok(!r.links.calls.includes(`deleteLink ${HOST}`), 'the veth was deleted while Join was using it');
  txn.release();
  await join;
  const report = await pass;
  assert.deepEqual(report.removed, { logicalPorts: [], ovsPorts: [], links: [] });
  assert.ok(r.links.links.has(HOST) && r.links.links.has(PEER));
  assert.deepEqual(ports(r), [HOST]);
});

test('a pass waits for a Join that reuses an OVS port whose veth is gone, then keeps it', async () => {
  const r = await rig();
  await endpointReady(r);
  await r.driver.join(joinReq());
  r.links.links.clear(); // a reboot: the OVS port stayed, the veth did not
  const gate = r.links.gate(`createVethPair ${HOST}`);
  const join = r.driver.join(joinReq());
  await gate.reached; // Join has decided to keep the port and is making the veth again
  const pass = reconciler(r).runOnce();
  await settle();
  assert.deepEqual(ports(r), [HOST], 'the OVS port was removed while Join was reusing it');
  gate.release();
  await join;
  const report = await pass;
  assert.deepEqual(report.removed.ovsPorts, []);
  assert.deepEqual(ports(r), [HOST]);
  assert.ok(r.links.links.has(HOST));
});

test('a Join waits for a pass that holds its endpoint\'s lock, and then makes what the pass removed', async () => {
  const r = await rig();
  await endpointReady(r);
  r.links.add(HOST, {}, PEER);
  r.links.add(PEER, {}, HOST);
  const gate = r.links.gate(`deleteLink ${HOST}`);
  const pass = reconciler(r).runOnce();
  await gate.reached; // the pass removes the loose veth, holding the lock
  const join = r.driver.join(joinReq());
  await settle();
  assert.deepEqual(ports(r), [], 'Join ran inside the pass');
  gate.release();
  const report = await pass;
  await join;
  assert.deepEqual(report.removed.links, [HOST]);
  assert.deepEqual(ports(r), [HOST]);
  assert.ok(r.links.links.has(HOST));
});

test('what a Join with an unknown outcome left (an OVS port without its veth) is removed by a pass', async () => {
  const r = await rig();
  await endpointReady(r);
  r.ovs.failNext({ code: 'OVSDB_UNKNOWN_OUTCOME', when: 'after', table: 'Port' });
  await assert.rejects(r.driver.join(joinReq()), /outcome is unknown/);
  assert.deepEqual(ports(r), [HOST]);
  const report = await reconciler(r).runOnce();
  assert.deepEqual(report.removed.ovsPorts, [HOST]);
  assert.deepEqual(ports(r), []);
});

test('a logical port a CreateEndpoint with an unknown outcome left, never retried, is removed by a pass', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  r.nb.failNext({ code: 'OVSDB_UNKNOWN_OUTCOME', when: 'after' });
  await assert.rejects(r.driver.createEndpoint(epReq()), /outcome is unknown/);
  assert.equal(endpointPorts(r).length, 1, 'it was in fact committed');
  // Docker never recorded the endpoint (its CreateEndpoint failed), so it does not list it.
  const report = await reconciler(r, { docker: new Set() }).runOnce();
  assert.deepEqual(report.removed.logicalPorts, [EP]);
  assert.deepEqual(endpointPorts(r), [], 'the router-type port of the routed switch stays');
});

test('a logical port Docker no longer has goes with its OVS port and veth, under the network\'s lock', async () => {
  const r = await rig();
  await endpointReady(r);
  await r.driver.join(joinReq());
  const report = await reconciler(r, { docker: new Set() }).runOnce();
  assert.deepEqual(report.removed, { logicalPorts: [EP], ovsPorts: [HOST], links: [HOST] });
  assert.deepEqual(endpointPorts(r), [], 'the router-type port of the routed switch stays');
  assert.deepEqual(ports(r), []);
  assert.equal(r.links.links.size, 0);
  // Docker's own DeleteEndpoint afterwards finds nothing and succeeds.
  await r.driver.deleteEndpoint(req());
});

test('nothing is removed before it has looked orphaned for the grace period (injected clock)', async () => {
  const r = await rig();
  let now = 1_000_000;
  r.links.add(HOST, {}, PEER);
  r.links.add(PEER, {}, HOST);
  const rec = reconciler(r, { graceMs: 30_000, now: () => now });
  assert.deepEqual((await rec.runOnce()).removed.links, []);
  now += 29_999;
  assert.deepEqual((await rec.runOnce()).removed.links, []);
  now += 1;
  assert.deepEqual((await rec.runOnce()).removed.links, [HOST]);
});

test('schedule: a pass at start, the next once the grace period has passed, then every interval; stop cancels', async () => {
  const r = await rig();
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  const schedule: Schedule = (fn, ms) => {
    const t = { fn, ms, cancelled: false };
    timers.push(t);
    return () => (t.cancelled = true);
  };
  let passes = 0;
  r.links.listLinks = (orig => async () => (passes++, orig()))(r.links.listLinks.bind(r.links));
  const rec = reconciler(r, { graceMs: 30_000, intervalMs: 60_000, schedule });
  rec.start();
  rec.start(); // a second start changes nothing
  await settle();
  assert.equal(passes, 1, 'one pass at start');
  assert.deepEqual(timers.map((t) => t.ms), [30_001]);
  timers[0]?.fn();
  await settle();
  assert.equal(passes, 2);
  assert.deepEqual(timers.map((t) => t.ms), [30_001, 60_000]);
  timers[1]?.fn();
  await settle();
  assert.equal(passes, 3);
  assert.deepEqual(timers.map((t) => t.ms), [30_001, 60_000, 60_000]);
  await rec.stop();
  assert.equal(timers[2]?.cancelled, true);
  await settle();
  assert.equal(timers.length, 3, 'nothing scheduled after stop');
});

test('schedule: the interval is used when it is shorter than the grace period; a pass in flight is awaited by stop', async () => {
  const r = await rig();
  const timers: number[] = [];
  const gate = r.links.gate('listLinks');
  const rec = reconciler(r, { graceMs: 30_000, intervalMs: 10_000, schedule: (_fn, ms) => (timers.push(ms), () => undefined) });
  rec.start();
  await gate.reached;
  let stopped = false;
  const stopping = rec.stop().then(() => (stopped = true));
  await settle();
  assert.equal(stopped, false, 'stop returned while a pass was running');
  gate.release();
  await stopping;
  assert.deepEqual(timers, [], 'a stopped reconciler schedules nothing more');
  const r2 = await rig();
  const t2: number[] = [];
  const rec2 = reconciler(r2, { graceMs: 30_000, intervalMs: 10_000, schedule: (_fn, ms) => (t2.push(ms), () => undefined) });
  rec2.start();
  await settle();
  assert.deepEqual(t2, [10_000]);
  await rec2.stop();
});

test('a pass that fails is reported, not thrown', async () => {
  const r = await rig();
  r.links.fail('listLinks', 'ENOBUFS');
  const report: ReconcileReport = await reconciler(r).runOnce();
  assert.equal(report.errors.length, 1);
  assert.match(report.errors[0] ?? '', /could not list links/);
});
