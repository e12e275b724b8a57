// MonitorSync's conditions, fed with what a real ovsdb-server (3.1.0) sent for a monitor of
// ports by chassis and three monitor_cond_change calls (test/fixtures/ovsdb/record.js cond):
// the requests it builds are the recorded ones, and the replica ends as the server's view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OvsdbError } from '../../src/ovsdb/errors';
import { encodeConditions, MonitorState, MonitorSync, WireConditions } from '../../src/ovsdb/monitor';
import { Replica, RowChange } from '../../src/ovsdb/replica';
import { parseDatabaseSchema, Row } from '../../src/ovsdb/schema';
import { loadRecording, Recording } from '../fixtures/ovsdb/fixtures';

const schema = parseDatabaseSchema(JSON.parse(readFileSync('/usr/share/ovn/ovn-nb.ovsschema', 'utf8')));
const rec = loadRecording('cond-session');
const LSP_COLS = ['name', 'addresses', 'external_ids', 'enabled', 'type', 'options', 'tag'];
const REQUEST = { Logical_Switch: ['name', 'external_ids'], Logical_Switch_Port: LSP_COLS };
const KEY = 'ovn-driver:chassis';
const on = (c: string): WireConditions => new Map([['Logical_Switch_Port', encodeConditions('t', [['external_ids', 'includes', new Map([[KEY, c]])]]) ?? []]]);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A server that answers with the recording: for each request, the notifications recorded before
 * its reply are delivered first (as ovsdb-server sends a condition change's update before the
 * reply), then the reply's result. Checks that each request is the recorded one.
 */
function replay(recording: Recording, sync: () => MonitorSync, skip: number[]): { send: (m: string, p: unknown[]) => Promise<unknown>; sent: { method: string; params: unknown[] }[] } {
  const sent: { method: string; params: unknown[] }[] = [];
  let at = 0;
  const requests = recording.requests.filter((r) => !skip.includes(r.id));
  const send = async (method: string, params: unknown[]): Promise<unknown> => {
    sent.push({ method, params });
    const want = requests.shift();
    assert.ok(want, `unexpected request ${method}`);
    assert.equal(method, want.method);
    assert.deepEqual(params, want.params, `${method} as recorded`);
    for (; at < recording.values.length; at++) {
      const v = recording.values[at];
      if (!isObj(v)) continue;
      if (v['method'] !== undefined && Array.isArray(v['params'])) {
        if (sync().handles(String(v['method']), v['params'])) sync().notification(String(v['method']), v['params']);
        continue;
      }
      if (v['id'] === want.id) {
        at++;
        return v['result'];
      }
    }
    throw new Error(`no reply to ${want.id}`);
  };
  return { send, sent };
}

function ports(r: Replica): string[] {
  return [...r.table('Logical_Switch_Port').values()].map((row: Row) => String(row['name'])).sort();
}

test('conditions: the monitor and each monitor_cond_change are sent as recorded, and the replica follows the server', async () => {
  const r = new Replica();
  const state: MonitorState = { lastTxnId: undefined, method: undefined };
  let conditions = on('hostA');
  const sync = new MonitorSync('OVN_Northbound', REQUEST, schema, r, state, undefined, () => conditions);
  // The recording's transactions (ids 1 and 3) come from another client: deliver their effects only.
  const { send, sent } = replay(rec, () => sync, [1, 3]);
  await sync.start(send);
  assert.deepEqual(ports(r), ['a1']);
  // The update3 for a2 (recorded before the first change's reply) reaches the replica on the next call.
  const changes: string[] = [];
  r.on('change', (c: RowChange) => c.table === 'Logical_Switch_Port' && changes.push(`${c.new ? (c.old ? 'modify' : 'insert') : 'delete'} ${String((c.new ?? c.old)?.['name'])}`));

  conditions = on('hostB');
  await sync.conditionsChanged();
  assert.deepEqual(ports(r), ['b1', 'b2']);
  assert.deepEqual(changes.sort(), ['delete a1', 'delete a2', 'insert a2', 'insert b1', 'insert b2']);
  assert.equal(state.conditionsKey !== null && state.conditionsKey !== undefined, true, 'the answered change is recorded for the next resume');

  conditions = new Map();
  await sync.conditionsChanged();
  assert.deepEqual(ports(r), ['a1', 'a2', 'b1', 'b2']);

  conditions = new Map([['Logical_Switch_Port', [false]]]);
  await sync.conditionsChanged();
  assert.deepEqual(ports(r), []);
  assert.equal(r.table('Logical_Switch').size, 2, 'switches have no condition and stay');
  assert.deepEqual(sent.map((s) => s.method), ['monitor_cond_since', 'monitor_cond_change', 'monitor_cond_change', 'monitor_cond_change']);

  // Nothing changed: nothing is sent.
  await sync.conditionsChanged();
  assert.equal(sent.length, 4);
});

test('conditions changed while the monitor request is on its way are sent right after it', async () => {
  const r = new Replica();
  const state: MonitorState = { lastTxnId: undefined, method: undefined };
  let conditions = on('hostA');
  const sync = new MonitorSync('OVN_Northbound', REQUEST, schema, r, state, undefined, () => conditions);
  const { send, sent } = replay(rec, () => sync, [1, 3, 5, 6]);
  await sync.start(async (m, p) => {
    const reply = send(m, p);
    if (m === 'monitor_cond_since') {
      conditions = on('hostB');
      await sync.conditionsChanged(); // start() has not finished: does nothing yet
    }
    return reply;
  });
  assert.deepEqual(sent.map((s) => s.method), ['monitor_cond_since', 'monitor_cond_change']);
  assert.deepEqual(ports(r), ['b1', 'b2']);
});

test('a resume under other conditions than the last transaction id was taken with asks for everything again', async () => {
  const r = new Replica();
  const state: MonitorState = { lastTxnId: 'aaaaaaaa-0000-0000-0000-000000000001', method: 'monitor_cond_since', conditionsKey: undefined };
  let sentTxn: unknown;
  const sync = new MonitorSync('OVN_Northbound', REQUEST, schema, r, state, undefined, () => on('hostA'));
  await sync.start(async (_m, p) => {
    sentTxn = p[3];
    return [false, 'aaaaaaaa-0000-0000-0000-000000000002', {}];
  });
  assert.equal(sentTxn, '00000000-0000-0000-0000-000000000000');
  // Now recorded with these conditions: the next session under the same ones resumes.
  const again = new MonitorSync('OVN_Northbound', REQUEST, schema, r, state, undefined, () => on('hostA'));
  await again.start(async (_m, p) => {
    sentTxn = p[3];
    return [true, 'aaaaaaaa-0000-0000-0000-000000000003', {}];
  });
  assert.equal(sentTxn, 'aaaaaaaa-0000-0000-0000-000000000002');
  // A change sent and never answered (null): unknown, so never resumed.
  state.conditionsKey = null;
  const third = new MonitorSync('OVN_Northbound', REQUEST, schema, r, state, undefined, () => on('hostA'));
  await third.start(async (_m, p) => {
    sentTxn = p[3];
    return [false, 'aaaaaaaa-0000-0000-0000-000000000004', {}];
  });
  assert.equal(sentTxn, '00000000-0000-0000-0000-000000000000');
});

test('a server with only "monitor" gets no conditions (the replica keeps every row, with a warning), and no monitor_cond_change', async () => {
  const r = new Replica();
  const state: MonitorState = { lastTxnId: undefined, method: undefined };
  const warnings: string[] = [];
  const logger = { error: () => undefined, warn: (m: string) => warnings.push(m), info: () => undefined, debug: () => undefined };
  let conditions = on('hostA');
  const sync = new MonitorSync('OVN_Northbound', REQUEST, schema, r, state, logger, () => conditions);
  const sent: { method: string; params: unknown[] }[] = [];
  await sync.start(async (m, p) => {
    sent.push({ method: m, params: p });
    if (m !== 'monitor') throw new OvsdbError('OVSDB_RPC_ERROR', 'unknown method', { rfcError: 'unknown method' });
    return {};
  });
  const plain = sent[2];
  assert.ok(plain);
  assert.deepEqual(plain.params[2], { Logical_Switch: { columns: ['name', 'external_ids'] }, Logical_Switch_Port: { columns: LSP_COLS } });
  assert.match(warnings.join('\n'), /no conditional monitor.*every row of Logical_Switch_Port/);
  conditions = on('hostB');
  await sync.conditionsChanged();
  assert.equal(sent.length, 3);
});

test('bad conditions are refused with the table and the fault named', () => {
  const cases: [unknown, RegExp][] = [
    ['name', /"where" is "name", not a list/],
    [[['name', '==']], /condition 0 is \["name","=="\]/],
    [[[1, '==', 'x']], /condition 0 has column 1/],
    [[['name', '~', 'x']], /condition 0 has function "~"/],
    [[true, ['name', '==', { a: 1 }]], /condition 1 has a value that cannot be encoded/],
  ];
  for (const [where, re] of cases) {
    assert.throws(() => encodeConditions('Logical_Switch_Port', where), (e: unknown) => e instanceof OvsdbError && e.code === 'OVSDB_NOT_SUPPORTED' && re.test(e.message) && /table "Logical_Switch_Port"/.test(e.message), String(where));
  }
  assert.throws(() => MonitorSync.validateRequest({ Logical_Switch_Port: { columns: ['name'], where: [['name', 'like', 'x']] } }), /function "like"/);
  assert.throws(() => MonitorSync.validateRequest({ Logical_Switch_Port: { columns: 'name' } }), /must be a list of column names/);
});
