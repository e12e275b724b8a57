// update2 "modify" semantics as ovsdb-server sends them: maps and multi-element sets carry a
// difference, optional columns (at most one value) carry the new value itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Uuid } from '../../src/ovsdb/data';
import { MonitoredTable, parseUpdate2 } from '../../src/ovsdb/row-update';
import { parseDatabaseSchema, Row } from '../../src/ovsdb/schema';

const schema = parseDatabaseSchema(JSON.parse(readFileSync('/usr/share/ovn/ovn-nb.ovsschema', 'utf8')));
const lspSchema = schema.tables.get('Logical_Switch_Port');
if (!lspSchema) throw new Error('the NB schema has no Logical_Switch_Port');
const tables = new Map<string, MonitoredTable>([
  ['Logical_Switch_Port', { schema: lspSchema, columns: ['name', 'up', 'addresses', 'external_ids'] }],
]);
const U = '0b9fbe0f-9b7e-4bd1-a5f2-6d8c0f3a1e11';

function modify(current: Row, diff: Record<string, unknown>): Row {
  const changes = parseUpdate2(tables, { Logical_Switch_Port: { [U]: { modify: diff } } }, () => current);
  assert.equal(changes.length, 1);
  const row = changes[0]?.new;
  assert.ok(row);
  return row;
}

const base: Row = {
  _uuid: new Uuid(U),
  name: 'p1',
  up: [false],
  addresses: ['02:00:00:00:00:01 198.18.0.2'],
  external_ids: new Map([['a', '1']]),
};

test('an optional column takes the value a modify sends (false -> true, as ovsdb-server sends it)', () => {
  assert.deepEqual(modify(base, { up: true }).up, [true]);
  assert.deepEqual(modify({ ...base, up: [] }, { up: true }).up, [true]);
  assert.deepEqual(modify(base, { up: ['set', []] }).up, []);
});

test('a multi-element set column applies the symmetric difference', () => {
  const row = modify(base, { addresses: ['set', ['02:00:00:00:00:01 198.18.0.2', 'dynamic']] });
  assert.deepEqual(row.addresses, ['dynamic']);
});

test('a map column applies the difference: new keys added, same pairs removed, new values replaced', () => {
  const row = modify(base, { external_ids: ['map', [['a', '1'], ['b', '2']]] });
  assert.deepEqual([...(row.external_ids as Map<unknown, unknown>)], [['b', '2']]);
  const row2 = modify(base, { external_ids: ['map', [['a', '9']]] });
  assert.deepEqual([...(row2.external_ids as Map<unknown, unknown>)], [['a', '9']]);
});
