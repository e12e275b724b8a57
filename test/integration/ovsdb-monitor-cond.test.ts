// Conditional monitors against a real ovsdb-server: only matching rows reach the replica,
// monitor_cond_change moves rows in and out of it, a reconnect under changed conditions rebuilds
// instead of resuming, and a condition the server refuses leaves the old one in force.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OvsdbClient } from '../../src/ovsdb/client';
import { isOvsdbError } from '../../src/ovsdb/errors';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, strMap } from '../../src/ovsdb/operations';
import type { Row } from '../../src/ovsdb/schema';
import { NB_SCHEMA, startCluster, startStandalone, withCleanup } from '../helpers/ovsdb-server';

const DB = 'OVN_Northbound';
const KEY = 'ovn-driver:chassis';
const onChassis = (c: string): [string, 'includes', Map<string, string>] => ['external_ids', 'includes', new Map([[KEY, c]])];

function names(rows: ReadonlyMap<string, Row>): string[] {
  return [...rows.values()].map((r) => String(r['name'])).sort();
}

async function until(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Logical_Switch_Port is not a root table: a port no switch holds is dropped at commit.
let switches = 0;
async function fill(c: OvsdbClient, ports: [string, string][]): Promise<void> {
  const ops = ports.map(([name, chassis], i) => insert('Logical_Switch_Port', { name, external_ids: strMap({ [KEY]: chassis }) }, `p${i}`));
  await c.transact([...ops, insert('Logical_Switch', { name: `sw${++switches}`, ports: ports.map((_, i) => namedUuid(`p${i}`)) })]);
}

test('monitor_cond_since with a condition: only matching rows arrive, also later inserts', async () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const writer = new OvsdbClient({ remotes: s.remote, database: DB });
    defer(() => writer.close());
    await fill(writer, [['a1', 'hostA'], ['a2', 'hostA'], ['b1', 'hostB']]);
    const c = new OvsdbClient({ remotes: s.remote, database: DB, monitor: { Logical_Switch: ['name'], Logical_Switch_Port: { columns: ['name', 'external_ids'], where: [onChassis('hostA')] } } });
    defer(() => c.close());
    await c.connect();
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), ['a1', 'a2']);
    await fill(writer, [['a3', 'hostA'], ['b2', 'hostB']]);
    await until('a3', () => names(c.replica.table('Logical_Switch_Port')).includes('a3'));
    // b2 was in the same transaction as a3: had it been sent, it would be here by now.
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), ['a1', 'a2', 'a3']);
  }));

test('setMonitorConditions: rows leaving the condition are deleted, rows entering it inserted, with change events', async () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const writer = new OvsdbClient({ remotes: s.remote, database: DB });
    defer(() => writer.close());
    await fill(writer, [['a1', 'hostA'], ['b1', 'hostB'], ['b2', 'hostB']]);
    const c = new OvsdbClient({ remotes: s.remote, database: DB, monitor: { Logical_Switch_Port: { columns: ['name', 'external_ids'], where: [onChassis('hostA')] } } });
    defer(() => c.close());
    await c.connect();
    const seen: string[] = [];
    c.replica.on('change', (ch: { old?: Row; new?: Row }) => seen.push(`${ch.new ? (ch.old ? 'modify' : 'insert') : 'delete'} ${String((ch.new ?? ch.old)?.['name'])}`));
    await c.setMonitorConditions('Logical_Switch_Port', [onChassis('hostB')]);
    // Resolved only after the server answered: its update came first and is applied.
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), ['b1', 'b2']);
    assert.deepEqual(seen.sort(), ['delete a1', 'insert b1', 'insert b2']);
    // Later changes follow the new condition.
    await fill(writer, [['a2', 'hostA'], ['b3', 'hostB']]);
    await until('b3', () => names(c.replica.table('Logical_Switch_Port')).includes('b3'));
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), ['b1', 'b2', 'b3']);
    // No condition: every row; [false]: none.
    await c.setMonitorConditions('Logical_Switch_Port', undefined);
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), ['a1', 'a2', 'b1', 'b2', 'b3']);
    await c.setMonitorConditions('Logical_Switch_Port', [false]);
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), []);
  }));

test('a reconnect after a condition change made while disconnected rebuilds the replica under the new condition', async () =>
  withCleanup(async (defer) => {
    // A one-member cluster keeps transaction ids, so monitor_cond_since could resume here.
    const cl = await startCluster(NB_SCHEMA, 1);
    defer(() => cl.close());
    const member = cl.members[0];
    assert.ok(member);
    const writer = new OvsdbClient({ remotes: cl.remotes, database: DB, backoff: { minMs: 50, maxMs: 100 } });
    defer(() => writer.close());
    await fill(writer, [['a1', 'hostA'], ['b1', 'hostB']]);
    const c = new OvsdbClient({ remotes: cl.remotes, database: DB, backoff: { minMs: 50, maxMs: 100 }, monitor: { Logical_Switch_Port: { columns: ['name', 'external_ids'], where: [onChassis('hostA')] } } });
    defer(() => c.close());
    await c.connect();
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), ['a1']);
    await member.kill();
    await until('disconnected', () => c.state !== 'connected');
    // Not connected: taken for the next session.
    await c.setMonitorConditions('Logical_Switch_Port', [onChassis('hostB')]);
    await member.start();
    await c.connect();
    // A resume (found=true, nothing changed since) would keep a1 and never send b1.
    await until('b1 only', () => names(c.replica.table('Logical_Switch_Port')).join() === 'b1', 15000);
    // Unchanged conditions still resume: a row added meanwhile arrives as a diff.
    await member.kill();
    await until('disconnected again', () => c.state !== 'connected');
    await member.start();
    await fill(writer, [['b2', 'hostB']]);
    await until('b1 b2', () => names(c.replica.table('Logical_Switch_Port')).join() === 'b1,b2', 15000);
  }));

test('a condition the server refuses rejects and leaves the previous condition in force; bad input changes nothing', async () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const writer = new OvsdbClient({ remotes: s.remote, database: DB });
    defer(() => writer.close());
    await fill(writer, [['a1', 'hostA'], ['b1', 'hostB']]);
    const c = new OvsdbClient({ remotes: s.remote, database: DB, monitor: { Logical_Switch_Port: { columns: ['name', 'external_ids'], where: [onChassis('hostA')] } } });
    defer(() => c.close());
    await c.connect();
    const before = JSON.stringify([...c.monitorConditions]);
    await assert.rejects(c.setMonitorConditions('Logical_Switch_Port', [['no_such_column', '==', 'x']]), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_SCHEMA'), String(e));
      assert.match(e.message, /failed to set monitor conditions of table "Logical_Switch_Port": it has no column "no_such_column".*previous conditions stay in force/);
      return true;
    });
    // One the schema allows and the server refuses (a set compared with "<").
    await assert.rejects(c.setMonitorConditions('Logical_Switch_Port', [['addresses', '<', 'x']]), (e: unknown) => {
      assert.ok(isOvsdbError(e), String(e));
      assert.match(e.message, /failed to set monitor conditions of table "Logical_Switch_Port" on database "OVN_Northbound": .*previous conditions stay in force/);
      return true;
    });
    assert.equal(JSON.stringify([...c.monitorConditions]), before);
    await assert.rejects(c.setMonitorConditions('Logical_Switch_Port', [['name', 'like', 'x'] as never]), (e: unknown) => isOvsdbError(e, 'OVSDB_NOT_SUPPORTED') && /function "like"/.test(e.message));
    await assert.rejects(c.setMonitorConditions('ACL', [true]), (e: unknown) => isOvsdbError(e, 'OVSDB_NOT_SUPPORTED') && /does not monitor it/.test(e.message));
    assert.equal(JSON.stringify([...c.monitorConditions]), before);
    // The session is still good and still follows the old condition.
    await fill(writer, [['a2', 'hostA'], ['b2', 'hostB']]);
    await until('a2', () => names(c.replica.table('Logical_Switch_Port')).includes('a2'));
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), ['a1', 'a2']);
    await c.setMonitorConditions('Logical_Switch_Port', [onChassis('hostB')]);
    assert.deepEqual(names(c.replica.table('Logical_Switch_Port')), ['b1', 'b2']);
  }));
