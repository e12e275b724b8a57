import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Uuid } from '../../src/ovsdb/data';
import { codeForRfcError, OvsdbError } from '../../src/ovsdb/errors';
import { comment, commit, del, insert, mutate, Operation, select, update, wait } from '../../src/ovsdb/operations';
import { checkTransactResult } from '../../src/ovsdb/results';
import { loadRecording, replyTo, request } from '../fixtures/ovsdb/fixtures';

const rec = loadRecording('nb-session');

/** The recorded "result" of request id, after checking the recorded ops are the kinds `ops` has. */
function recorded(id: number, ops: Operation[]): unknown {
  const sent = request(rec, id).params.slice(1).map((o) => (typeof o === 'object' && o !== null && 'op' in o ? o.op : undefined));
  assert.deepEqual(sent, ops.map((o) => o.op), `fixture request ${id} has other operations`);
  const reply = replyTo(rec, id);
  assert.equal(reply.error, null);
  return reply.result;
}

function expectError(fn: () => unknown, want: { code: string; rfcError?: string; index?: number; details?: RegExp; op?: string }): OvsdbError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof OvsdbError, `expected an OvsdbError, got ${String(caught)}`);
  assert.equal(caught.code, want.code, caught.message);
  if ('rfcError' in want) assert.equal(caught.rfcError, want.rfcError);
  if ('index' in want) assert.equal(caught.operationIndex, want.index);
  if (want.details) assert.match(caught.details ?? '', want.details);
  if ('op' in want) assert.equal(caught.operation?.op, want.op);
  assert.match(caught.message, /^failed to /);
  return caught;
}

test('recorded success: insert uuids, select rows, an empty comment result', () => {
  const ops = [insert('Logical_Switch_Port', { name: 'p0' }, 'p0'), insert('Logical_Switch', { name: 'ls0' }, 'ls0'), select('Logical_Switch_Port', []), comment('c')];
  const res = checkTransactResult(ops, recorded(9, ops));
  assert.equal(res.length, 4);
  assert.ok(res[0].uuid instanceof Uuid);
  assert.ok(res[1].uuid instanceof Uuid);
  const rows = res[2].rows ?? [];
  assert.equal(rows.length, 1);
  assert.equal(rows[0].name, 'p0');
  assert.ok(rows[0]._uuid instanceof Uuid && rows[0]._uuid.equals(res[0].uuid));
  assert.deepEqual(rows[0].addresses, ['00:00:5e:00:53:01 198.18.0.2', 'fd00:198:18::2']);
  const ids = rows[0].external_ids;
  assert.ok(ids instanceof Map);
  assert.equal(ids.get('ünïcødé'), '✓ 🚀');
  assert.equal(ids.get('quote"back\\slash'), 'tab\there\nnewline');
  assert.deepEqual(res[3], {});
});

test('recorded success: update, mutate and delete counts', () => {
  const u = update('Logical_Switch_Port', [], { enabled: false });
  const m = mutate('Logical_Switch_Port', [], [['external_ids', 'insert', new Map([['k2', 'v2']])]]);
  assert.deepEqual(checkTransactResult([u, m], recorded(12, [u, m])), [{ count: 1 }, { count: 1 }]);
  const ops = [mutate('Logical_Switch', [], []), del('Logical_Switch_Port', []), del('Logical_Switch', [])];
  assert.deepEqual(checkTransactResult(ops, recorded(18, ops)), [{ count: 1 }, { count: 1 }, { count: 1 }]);
});

test('recorded per-operation errors become typed errors carrying the operation and index', () => {
  const range = [mutate('Logical_Switch_Port', [], [['tag', '+=', 5000]])];
  expectError(() => checkTransactResult(range, recorded(10, range)), { code: 'OVSDB_CONSTRAINT_VIOLATION', rfcError: 'constraint violation', index: 0, op: 'mutate', details: /not in the valid range/ });
  const div = [mutate('Logical_Switch_Port', [], [['tag', '/=', 0]])];
  expectError(() => checkTransactResult(div, recorded(11, div)), { code: 'OVSDB_DOMAIN_ERROR', rfcError: 'domain error', index: 0 });
  // select succeeds, wait times out, the insert after it is not attempted (null).
  const w = [select('Logical_Switch', []), wait('Logical_Switch', [], ['name'], '==', [{ name: 'other' }], 0), insert('Logical_Switch', { name: 'never' })];
  const e = expectError(() => checkTransactResult(w, recorded(13, w)), { code: 'OVSDB_TIMED_OUT', rfcError: 'timed out', index: 1, op: 'wait' });
  assert.match(e.message, /^failed to wait table "Logical_Switch" \(operation 1\): timed out/);
  const unknown = [insert('Logical_Switch', { no_such_column: 1 })];
  expectError(() => checkTransactResult(unknown, recorded(16, unknown)), { code: 'OVSDB_TRANSACTION_FAILED', rfcError: 'unknown column', index: 0 });
});

test('recorded commit failures: the extra trailing error is raised, with no operation', () => {
  const two = [insert('NB_Global', {}), insert('NB_Global', {})];
  const e = expectError(() => checkTransactResult(two, recorded(14, two)), { code: 'OVSDB_CONSTRAINT_VIOLATION', index: 2, details: /NB_Global/ });
  assert.equal(e.operation, undefined);
  assert.match(e.message, /^failed to commit the transaction: constraint violation/);
  const ref = [insert('Logical_Switch', { name: 'ls-bad' })];
  expectError(() => checkTransactResult(ref, recorded(15, ref)), { code: 'OVSDB_REFERENTIAL_INTEGRITY', rfcError: 'referential integrity violation', index: 1 });
});

test('every RFC 7047 error string maps to its own code; others are a generic failure', () => {
  const table: [string, string][] = [
    ['constraint violation', 'OVSDB_CONSTRAINT_VIOLATION'],
    ['referential integrity violation', 'OVSDB_REFERENTIAL_INTEGRITY'],
    ['resources exhausted', 'OVSDB_RESOURCES_EXHAUSTED'],
    ['I/O error', 'OVSDB_IO_ERROR'],
    ['duplicate uuid-name', 'OVSDB_DUPLICATE_UUID_NAME'],
    ['domain error', 'OVSDB_DOMAIN_ERROR'],
    ['range error', 'OVSDB_RANGE_ERROR'],
    ['timed out', 'OVSDB_TIMED_OUT'],
    ['not supported', 'OVSDB_NOT_SUPPORTED'],
    ['aborted', 'OVSDB_ABORTED'],
    ['not owner', 'OVSDB_NOT_OWNER'],
    ['unknown column', 'OVSDB_TRANSACTION_FAILED'],
    ['Constraint Violation', 'OVSDB_TRANSACTION_FAILED'],
  ];
  for (const [rfc, want] of table) {
    assert.equal(codeForRfcError(rfc), want, rfc);
    expectError(() => checkTransactResult([commit(true)], [{ error: rfc }]), { code: want, rfcError: rfc, index: 0, op: 'commit' });
  }
});

test('results of the wrong shape are protocol errors', () => {
  const ins = [insert('T', {})];
  const cases: [Operation[], unknown][] = [
    [ins, { uuid: ['uuid', 'x'] }], // not an array
    [ins, []], // too few
    [ins, [{}, {}, {}]], // too many
    [ins, [null]], // null with no error before it
    [ins, ['x']], // not an object
    [ins, [{}]], // insert without uuid
    [ins, [{ uuid: ['named-uuid', 'a'] }]],
    [ins, [{ uuid: 'c0ffee00-0000-4000-8000-000000000000' }]], // bare string, not ["uuid", ...]
    [[select('T', [])], [{ rows: {} }]],
    [[select('T', [])], [{ rows: [{ a: ['set', 'x'] }] }]],
    [[del('T', [])], [{ count: -1 }]],
    [[del('T', [])], [{ count: '1' }]],
    [[update('T', [], {})], [{}]],
    [ins, [{ uuid: ['uuid', 'c0ffee00-0000-4000-8000-000000000000'] }, { notAnError: 1 }]], // extra that is no error
    [ins, [{ error: 42 }]], // error that is not a string
  ];
  for (const [ops, result] of cases) {
    expectError(() => checkTransactResult(ops, result), { code: 'OVSDB_PROTOCOL' });
  }
});

test('the first error wins and later nulls are accepted', () => {
  const ops = [insert('T', {}), insert('T', {}), insert('T', {})];
  expectError(() => checkTransactResult(ops, [{ uuid: ['uuid', 'c0ffee00-0000-4000-8000-000000000000'] }, { error: 'aborted' }, null]), { code: 'OVSDB_ABORTED', index: 1, op: 'insert' });
});
