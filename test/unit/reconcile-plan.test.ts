// planReconcile: only what this host made and nothing owns is removed; foreign rows and links
// are kept; nothing goes before its grace period; without Docker's answer no logical port goes.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Uuid } from '../../src/ovsdb/data';
import { LinkView, LogicalPortView, OvsPortView, planReconcile, ReconcileInput } from '../../src/driver/plan-reconcile';

const CHASSIS = 'chassis-here';
let n = 0;
function uuid(): Uuid {
  n++;
  return new Uuid(`00000000-0000-0000-0000-${n.toString(16).padStart(12, '0')}`);
}
function ep(c: string): string {
  return c.repeat(64).slice(0, 64);
}
function port(name: string, owned = true, ifaceId?: string): OvsPortView {
  return { uuid: uuid(), name, owned, ifaceId };
}
function lsp(name: string, owned = true, chassis: string | undefined = CHASSIS): LogicalPortView {
  return { uuid: uuid(), name, owned, chassis };
}
function veth(name: string, kind: string | undefined = 'veth'): LinkView {
  return { name, kind };
}
function input(over: Partial<ReconcileInput>): ReconcileInput {
  return { chassis: CHASSIS, ovsPorts: [], logicalPorts: [], links: [], dockerEndpoints: new Set(), since: new Map(), now: 1_000_000, graceMs: 0, ...over };
}

test('an OVS port of ours whose veth is gone is removed; foreign or differently named ports are kept', () => {
  const ours = port('ovnaaaaaaaaaaaa');
  const foreign = port('ovnbbbbbbbbbbbb', false);
  const otherName = port('tap0', true);
  const alive = port('ovncccccccccccc');
  const plan = planReconcile(input({ ovsPorts: [ours, foreign, otherName, alive], links: [veth('ovncccccccccccc')] }));
  assert.deepEqual(plan.removed.ovsPorts, ['ovnaaaaaaaaaaaa']);
  assert.equal(plan.ovs.length, 1);
  assert.deepEqual(JSON.parse(JSON.stringify(plan.ovs[0])), {
    op: 'mutate', table: 'Bridge', where: [['ports', 'includes', ['set', [['uuid', ours.uuid.value]]]]], mutations: [['ports', 'delete', ['set', [['uuid', ours.uuid.value]]]]],
  });
  assert.deepEqual(plan.links, []);
});

test('a veth of ours not attached to an OVS port is deleted; other links are kept', () => {
  const plan = planReconcile(input({
    ovsPorts: [port('ovnaaaaaaaaaaaa'), port('ovnbbbbbbbbbbbb', false)],
    links: [veth('ovnaaaaaaaaaaaa'), veth('ovnbbbbbbbbbbbb'), veth('ovndddddddddddd'), veth('ovceeeeeeeeeeee'), veth('vethfoo'), veth('ovnffffffffffff', 'dummy'), veth('lo', undefined), veth('ovnABCDEF123456')],
  }));
  assert.deepEqual(plan.links, ['ovndddddddddddd']);
});

test("a logical port of this host that Docker no longer has is removed with its OVS port and veth", () => {
  const gone = ep('a');
  const kept = ep('b');
  const goneLsp = lsp(gone);
  const plan = planReconcile(input({
    logicalPorts: [goneLsp, lsp(kept), lsp(ep('c'), true, 'other-chassis'), lsp(ep('d'), false), { ...lsp(ep('e')), chassis: undefined }],
    ovsPorts: [port('ovnaaaaaaaaaaaa', true, gone), port('ovnbbbbbbbbbbbb', true, kept)],
    links: [veth('ovnaaaaaaaaaaaa'), veth('ovnbbbbbbbbbbbb')],
    dockerEndpoints: new Set([kept]),
  }));
  assert.deepEqual(plan.removed.logicalPorts, [gone]);
  assert.deepEqual(JSON.parse(JSON.stringify(plan.nb)), [
    { op: 'mutate', table: 'Logical_Switch', where: [['ports', 'includes', ['set', [['uuid', goneLsp.uuid.value]]]]], mutations: [['ports', 'delete', ['set', [['uuid', goneLsp.uuid.value]]]]] },
    { op: 'delete', table: 'Logical_Switch_Port', where: [['_uuid', '==', ['uuid', goneLsp.uuid.value]]] },
  ]);
  assert.deepEqual(plan.removed.ovsPorts, ['ovnaaaaaaaaaaaa']);
  assert.deepEqual(plan.links, ['ovnaaaaaaaaaaaa']);
});

test('when Docker cannot be asked, or the chassis is unknown, no logical port is removed', () => {
  const ports = [lsp(ep('a')), lsp(ep('b'))];
  for (const over of [{ dockerEndpoints: 'unknown' as const }, { chassis: undefined }]) {
    const plan = planReconcile(input({ logicalPorts: ports, ...over }));
    assert.deepEqual(plan.nb, []);
    assert.deepEqual(plan.removed.logicalPorts, []);
  }
});

test('nothing is removed before it has looked orphaned for the grace period', () => {
  const base = { ovsPorts: [port('ovnaaaaaaaaaaaa')], links: [veth('ovnbbbbbbbbbbbb')], logicalPorts: [lsp(ep('c'))], graceMs: 30_000 };
  const first = planReconcile(input({ ...base, now: 0 }));
  assert.deepEqual(first.removed, { logicalPorts: [], ovsPorts: [], links: [] });
  assert.equal(first.since.size, 3);
  const early = planReconcile(input({ ...base, now: 29_999, since: first.since }));
  assert.deepEqual(early.removed, { logicalPorts: [], ovsPorts: [], links: [] });
  const due = planReconcile(input({ ...base, now: 30_000, since: early.since }));
  assert.deepEqual(due.removed, { logicalPorts: [ep('c')], ovsPorts: ['ovnaaaaaaaaaaaa'], links: ['ovnbbbbbbbbbbbb'] });
  // Something that stopped looking orphaned (its veth came back) starts its grace again.
  const back = planReconcile(input({ ...base, links: [veth('ovnaaaaaaaaaaaa'), veth('ovnbbbbbbbbbbbb')], now: 30_000, since: first.since }));
  assert.equal(back.since.has('port:ovnaaaaaaaaaaaa'), false);
  assert.deepEqual(back.removed.ovsPorts, []);
});

test('an OVS port and veth of an endpoint Docker no longer has and whose logical port is gone (a container removed while the driver was down) go after the grace period; not while Docker is unknown', () => {
  const gone = port('ovnaaaaaaaaaaaa', true, ep('a'));
  const live = port('ovnbbbbbbbbbbbb', true, ep('b'));
  const links = [veth('ovnaaaaaaaaaaaa'), veth('ovnbbbbbbbbbbbb')];
  const first = planReconcile(input({ ovsPorts: [gone, live], links, dockerEndpoints: new Set([ep('b')]), graceMs: 30_000 }));
  assert.deepEqual(first.removed, { logicalPorts: [], ovsPorts: [], links: [] }, 'not before the grace period');
  const later = planReconcile(input({ ovsPorts: [gone, live], links, dockerEndpoints: new Set([ep('b')]), graceMs: 30_000, since: first.since, now: 1_000_000 + 30_000 }));
  assert.deepEqual(later.removed, { logicalPorts: [], ovsPorts: ['ovnaaaaaaaaaaaa'], links: ['ovnaaaaaaaaaaaa'] });
  assert.deepEqual(planReconcile(input({ ovsPorts: [gone], links, dockerEndpoints: 'unknown' })).removed.ovsPorts, []);
});
