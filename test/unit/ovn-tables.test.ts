import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRow, Uuid } from '../../src/ovsdb/data';
import { OvsdbError } from '../../src/ovsdb/errors';
import { normalizeRow, parseDatabaseSchema, Row, TableSchema } from '../../src/ovsdb/schema';
import { bridgeFromRow, GENERATED_TABLES, interfaceFromRow, LogicalSwitchPortTable, logicalSwitchPortFromRow, logicalSwitchFromRow, ZERO_UUID } from '../../src/ovn';
import { loadRecording, replyTo } from '../fixtures/ovsdb/fixtures';

const rec = loadRecording('nb-session');
const nb = parseDatabaseSchema(replyTo(rec, 2).result);
const vs = parseDatabaseSchema(replyTo(rec, 3).result);
const U = 'c0ffee00-0000-4000-8000-000000000001';

function table(name: string): TableSchema {
  const t = nb.tables.get(name) ?? vs.tables.get(name);
  assert.ok(t);
  return t;
}

function schemaError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof OvsdbError && e.code === 'OVSDB_SCHEMA' && re.test(e.message));
}

test('a recorded Logical_Switch_Port row reads into its typed form', () => {
  const reply = replyTo(rec, 9);
  const result = reply.result;
  assert.ok(Array.isArray(result));
  const wire = result[2].rows[0];
  const row: Row = normalizeRow(table('Logical_Switch_Port'), decodeRow(wire));
  const lsp = logicalSwitchPortFromRow(row);
  assert.equal(lsp.name, 'p0');
  assert.deepEqual(lsp.addresses, ['00:00:5e:00:53:01 198.18.0.2', 'fd00:198:18::2']);
  assert.deepEqual(lsp.tag, [42]);
  assert.deepEqual(lsp.enabled, [true]);
  assert.equal(lsp.external_ids.get('ünïcødé'), '✓ 🚀');
  assert.ok(lsp._uuid instanceof Uuid);
  // Columns the select did not name read as their defaults.
  assert.equal(lsp.type, '');
  assert.deepEqual(lsp.port_security, []);
  assert.equal(lsp.options.size, 0);
  assert.deepEqual(lsp.dhcpv4_options, []);
});

test('every column of every generated table is listed, and exists in the server schema', () => {
  assert.equal(GENERATED_TABLES.length, 14);
  for (const t of GENERATED_TABLES) {
    const s = (t.database === 'OVN_Northbound' ? nb : vs).tables.get(t.name);
    assert.ok(s, t.name);
    assert.deepEqual([...t.columns], [...s.columns.keys()].sort());
  }
  assert.ok((LogicalSwitchPortTable.columns as readonly string[]).includes('external_ids'));
});

test('typed reads check types and enumerations', () => {
  const uuid = new Uuid(U);
  schemaError(() => logicalSwitchPortFromRow({ _uuid: uuid, name: 5 }), /table "Logical_Switch_Port" column "name": unexpected value 5/);
  schemaError(() => logicalSwitchPortFromRow({ _uuid: uuid, name: ['a', 'b'] }), /column "name": expected one value/);
  schemaError(() => logicalSwitchPortFromRow({ _uuid: uuid, external_ids: ['x'] }), /column "external_ids": expected a map/);
  schemaError(() => logicalSwitchPortFromRow({ _uuid: uuid, addresses: new Map([['a', 'b']]) }), /column "addresses": expected a set/);
  schemaError(() => logicalSwitchFromRow({ _uuid: uuid, ports: ['not-a-uuid'] }), /column "ports"/);
  schemaError(() => bridgeFromRow({ _uuid: uuid, fail_mode: 'sometimes' }), /column "fail_mode": unexpected value "sometimes"/);
  assert.deepEqual(bridgeFromRow({ _uuid: uuid, fail_mode: 'secure' }).fail_mode, ['secure']);
  const iface = interfaceFromRow({ _uuid: uuid, statistics: new Map<string, number>([['rx_packets', 3]]), ofport: 7, name: 'veth0' });
  assert.equal(iface.statistics.get('rx_packets'), 3);
  assert.deepEqual(iface.ofport, [7]);
  schemaError(() => interfaceFromRow({ _uuid: uuid, statistics: new Map([['rx', 'many']]) }), /column "statistics"/);
  assert.equal(bridgeFromRow({ _uuid: uuid }).name, '');
  assert.equal(logicalSwitchPortFromRow({ _uuid: uuid }).name, '');
  assert.ok(ZERO_UUID.equals(new Uuid('00000000-0000-0000-0000-000000000000')));
});
