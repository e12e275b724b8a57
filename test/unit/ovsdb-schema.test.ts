import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeRow, Uuid, Value } from '../../src/ovsdb/data';
import { OvsdbError } from '../../src/ovsdb/errors';
import { columnKind, DatabaseSchema, hasColumn, normalizeRow, parseDatabaseSchema, TableSchema } from '../../src/ovsdb/schema';
import { loadRecording, replyTo } from '../fixtures/ovsdb/fixtures';

const NB_FILE = '/usr/share/ovn/ovn-nb.ovsschema';
const VS_FILE = '/usr/share/openvswitch/vswitch.ovsschema';
const installed = existsSync(NB_FILE) && existsSync(VS_FILE);
const skip = installed ? false : 'the OVS/OVN schema files are not installed (apt-get install openvswitch-switch ovn-central)';

function load(file: string): DatabaseSchema {
  return parseDatabaseSchema(JSON.parse(readFileSync(file, 'utf8')));
}

const rec = loadRecording('nb-session');
// The schemas a real ovsdb-server returned for get_schema (requests 2 and 3).
const nbRecorded = parseDatabaseSchema(replyTo(rec, 2).result);
const vsRecorded = parseDatabaseSchema(replyTo(rec, 3).result);

function table(s: DatabaseSchema, name: string): TableSchema {
  const t = s.tables.get(name);
  assert.ok(t, `no table ${name}`);
  return t;
}

function schemaError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OvsdbError, String(e));
    assert.equal(e.code, 'OVSDB_SCHEMA');
    assert.match(e.message, message);
    return true;
  });
}

test('the installed OVN_Northbound and Open_vSwitch schemas parse', { skip }, () => {
  const nb = load(NB_FILE);
  const vs = load(VS_FILE);
  assert.equal(nb.name, 'OVN_Northbound');
  assert.equal(vs.name, 'Open_vSwitch');
  assert.match(nb.version, /^\d+\.\d+\.\d+$/);
  for (const t of ['NB_Global', 'Logical_Switch', 'Logical_Switch_Port', 'Logical_Router', 'Logical_Router_Port']) assert.ok(nb.tables.has(t), t);
  for (const t of ['Open_vSwitch', 'Bridge', 'Port', 'Interface']) assert.ok(vs.tables.has(t), t);
});

test('the schemas a real server sent equal the installed files', { skip }, () => {
  assert.deepEqual(nbRecorded, load(NB_FILE));
  assert.deepEqual(vsRecorded, load(VS_FILE));
});

test('column types: scalars, optional values, sets, maps, references, enums, bounds', () => {
  const lsp = table(nbRecorded, 'Logical_Switch_Port');
  const col = (t: TableSchema, c: string) => {
    const x = t.columns.get(c);
    assert.ok(x, `no column ${c}`);
    return x;
  };
  assert.deepEqual(col(lsp, 'name').type, { key: { type: 'string' }, min: 1, max: 1 });
  assert.deepEqual(col(lsp, 'addresses').type, { key: { type: 'string' }, min: 0, max: 'unlimited' });
  assert.deepEqual(col(lsp, 'tag').type, { key: { type: 'integer', minInteger: 1, maxInteger: 4095 }, min: 0, max: 1 });
  assert.deepEqual(col(lsp, 'external_ids').type, { key: { type: 'string' }, value: { type: 'string' }, min: 0, max: 'unlimited' });
  assert.deepEqual(col(lsp, 'dhcpv4_options').type.key, { type: 'uuid', refTable: 'DHCP_Options', refType: 'weak' });
  assert.deepEqual(lsp.indexes, [['name']]);
  assert.equal(lsp.isRoot, false);
  assert.equal(columnKind(col(lsp, 'name').type), 'scalar');
  assert.equal(columnKind(col(lsp, 'tag').type), 'set');
  assert.equal(columnKind(col(lsp, 'external_ids').type), 'map');
  const ls = table(nbRecorded, 'Logical_Switch');
  assert.deepEqual(col(ls, 'ports').type.key, { type: 'uuid', refTable: 'Logical_Switch_Port', refType: 'strong' });
  assert.equal(ls.isRoot, true);
  const nbGlobal = table(nbRecorded, 'NB_Global');
  assert.equal(nbGlobal.maxRows, 1);
  const bridge = table(vsRecorded, 'Bridge');
  assert.deepEqual(col(bridge, 'fail_mode').type.key.enum, ['secure', 'standalone'].sort());
  const iface = table(vsRecorded, 'Interface');
  assert.equal(col(iface, 'statistics').ephemeral, true);
  assert.deepEqual(col(iface, 'statistics').type.value, { type: 'integer' });
  assert.equal(col(table(vsRecorded, 'Port'), 'name').mutable, false);
  assert.equal(col(table(vsRecorded, 'Port'), 'trunks').type.max, 4096);
});

test('hasColumn answers from the server schema', () => {
  assert.equal(hasColumn(nbRecorded, 'Logical_Switch_Port', 'tag_request'), true);
  assert.equal(hasColumn(nbRecorded, 'Logical_Switch_Port', 'no_such_column'), false);
  assert.equal(hasColumn(nbRecorded, 'No_Such_Table', 'name'), false);
});

test('a schema from before isRoot existed makes every table a root', () => {
  const s = parseDatabaseSchema({ name: 'Old', version: '1.0.0', tables: { A: { columns: { x: { type: 'integer' } } }, B: { columns: {} } } });
  assert.equal(table(s, 'A').isRoot, true);
  assert.equal(table(s, 'B').isRoot, true);
});

test('malformed schemas fail with OVSDB_SCHEMA saying where', () => {
  const base = (tables: unknown): unknown => ({ name: 'Db', version: '1.2.3', tables });
  schemaError(() => parseDatabaseSchema(null), /a schema must be an object/);
  schemaError(() => parseDatabaseSchema({ name: 'Db', version: '1.2', tables: {} }), /"version"/);
  schemaError(() => parseDatabaseSchema({ name: '9x', version: '1.2.3', tables: {} }), /"name"/);
  schemaError(() => parseDatabaseSchema(base([])), /"tables"/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: 'float' } } } })), /table "T": column "c": .*float/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: { key: 'string', min: 2 } } } } })), /column "c": "min"/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: { key: 'string', max: 0 } } } } })), /"max"/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: { key: { type: 'uuid', refTable: 'Nope' } } } } } })), /refTable "Nope"/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: { key: { type: 'uuid', refTable: 'T', refType: 'soft' } } } } } })), /refType/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: { key: { type: 'integer', enum: ['set', ['a']] } } } } } })), /enum value "a"/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: { key: { type: 'integer', minInteger: 'x' } } } } } })), /"minInteger"/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: 'string' } }, indexes: [['d']] } })), /index names unknown column "d"/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { _c: { type: 'string' } } } })), /column "_c"/);
  schemaError(() => parseDatabaseSchema(base({ T: { columns: { c: { type: 'string', ephemeral: 'yes' } } } })), /"ephemeral"/);
});

test('a single-value enum (RFC: a bare atom, not a set) parses', () => {
  const s = parseDatabaseSchema({ name: 'Db', version: '1.2.3', tables: { T: { isRoot: true, columns: { c: { type: { key: { type: 'string', enum: 'drop' } } } } } } });
  assert.deepEqual(table(s, 'T').columns.get('c')?.type.key.enum, ['drop']);
});

const LSP_UUID = 'c0ffee00-0000-4000-8000-000000000001';

function lspRow(cols: Record<string, Value>): Record<string, Value> {
  return { _uuid: new Uuid(LSP_UUID), ...cols };
}

test('normalizeRow gives every column its schema form', () => {
  const lsp = table(nbRecorded, 'Logical_Switch_Port');
  // A recorded "update" whose addresses came as a bare string (a one-element set).
  const update = rec.values.find((v) => JSON.stringify(v).includes('"addresses":"00:00:5e:00:53:02 198.18.0.3"') && JSON.stringify(v).includes('"new"'));
  assert.ok(update, 'fixture has the modify update');
  const wire = JSON.parse(JSON.stringify(update)).params[1].Logical_Switch_Port;
  const [uuid] = Object.keys(wire);
  const row = normalizeRow(lsp, { ...decodeRow(wire[uuid].new), _uuid: new Uuid(uuid) });
  assert.deepEqual(row.addresses, ['00:00:5e:00:53:02 198.18.0.3']);
  assert.deepEqual(row.tag, []);
  assert.deepEqual(row.enabled, [false]);
  assert.equal(row.name, 'p0');
  assert.equal(row.type, '');
  assert.ok(row.external_ids instanceof Map && row.external_ids.get('k2') === 'v2');
  assert.ok(row._uuid.equals(new Uuid(uuid)));

  const n = normalizeRow(lsp, lspRow({ name: ['x'], tag: 7, external_ids: [], _version: new Uuid(LSP_UUID) }));
  assert.equal(n.name, 'x');
  assert.deepEqual(n.tag, [7]);
  assert.ok(n.external_ids instanceof Map && n.external_ids.size === 0);
  assert.ok(n._version instanceof Uuid);
  assert.equal('addresses' in n, false, 'columns the row lacks stay absent');
  const ls = table(nbRecorded, 'Logical_Switch');
  const l = normalizeRow(ls, { _uuid: new Uuid(LSP_UUID), ports: new Uuid(LSP_UUID) });
  assert.ok(Array.isArray(l.ports) && l.ports[0] instanceof Uuid);
});

test('normalizeRow rejects values that do not fit the schema', () => {
  const lsp = table(nbRecorded, 'Logical_Switch_Port');
  const ls = table(nbRecorded, 'Logical_Switch');
  schemaError(() => normalizeRow(lsp, lspRow({ name: 5 })), /column "name": 5 is not of type string/);
  schemaError(() => normalizeRow(lsp, lspRow({ name: [] })), /column "name": expected one string/);
  schemaError(() => normalizeRow(lsp, lspRow({ name: ['a', 'b'] })), /column "name"/);
  schemaError(() => normalizeRow(lsp, lspRow({ name: new Map() })), /column "name"/);
  schemaError(() => normalizeRow(lsp, lspRow({ external_ids: ['a'] })), /column "external_ids": expected a map/);
  schemaError(() => normalizeRow(lsp, lspRow({ external_ids: new Map([['a', 1]]) })), /column "external_ids": 1 is not of type string/);
  schemaError(() => normalizeRow(lsp, lspRow({ addresses: new Map([['a', 'b']]) })), /column "addresses": expected a set/);
  schemaError(() => normalizeRow(lsp, lspRow({ tag: 'x' })), /column "tag"/);
  schemaError(() => normalizeRow(lsp, lspRow({ tag: 4.5 })), /column "tag": 4.5 is not of type integer/);
  schemaError(() => normalizeRow(lsp, lspRow({ tag: [1, 2] })), /column "tag": has 2 elements, the schema allows 0 to 1/);
  schemaError(() => normalizeRow(lsp, lspRow({ enabled: 'true' })), /column "enabled"/);
  schemaError(() => normalizeRow(ls, { _uuid: new Uuid(LSP_UUID), ports: [LSP_UUID] }), /column "ports": .* is not of type uuid/);
  schemaError(() => normalizeRow(lsp, lspRow({ no_such_column: 1 })), /has no column "no_such_column"/);
  schemaError(() => normalizeRow(lsp, { name: 'x' }), /"_uuid"/);
  schemaError(() => normalizeRow(lsp, lspRow({ _version: 'v' })), /"_version"/);
});
