// The compact form the replica stores rows in (stored-row.ts, compact-map.ts, intern.ts): it
// must read exactly like plain arrays, Maps and Uuids, while sharing what is equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { CompactMap } from '../../src/ovsdb/compact-map';
import { Atom, Uuid } from '../../src/ovsdb/data';
import { StringInterner } from '../../src/ovsdb/intern';
import { Replica, RowChange } from '../../src/ovsdb/replica';
import { MonitoredTable } from '../../src/ovsdb/row-update';
import { parseDatabaseSchema, Row } from '../../src/ovsdb/schema';

const schema = parseDatabaseSchema(JSON.parse(readFileSync('/usr/share/ovn/ovn-nb.ovsschema', 'utf8')));

function monitored(name: string, columns: string[]): [string, MonitoredTable] {
  const ts = schema.tables.get(name);
  if (!ts) throw new Error(`the NB schema has no ${name}`);
  return [name, { schema: ts, columns }];
}

// The driver's columns (src/driver/monitors.ts).
function newReplica(): Replica {
  const r = new Replica();
  r.configure(
    new Map([
      monitored('Logical_Switch', ['name', 'ports', 'external_ids']),
      monitored('Logical_Switch_Port', ['name', 'addresses', 'port_security', 'external_ids', 'options']),
    ]),
  );
  return r;
}

const U = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const SW = '11111111-0000-4000-8000-000000000000';

/** A driver-shaped port as update2 "initial" carries it. */
function port(i: number): Record<string, unknown> {
  const addr = `02:00:00:00:00:${String(i).padStart(2, '0')} 198.18.0.${i}`;
  return {
    initial: {
      name: `endpoint-${i}-${'e'.repeat(40)}`,
      addresses: addr,
      port_security: addr,
      external_ids: ['map', [['ovn-driver:owner', 'ovn-driver'], ['docker:endpoint-id', `endpoint-${i}-${'e'.repeat(40)}`], ['docker:network-id', 'n'.repeat(64)], ['ovn-driver:chassis', 'chassis-1']]],
      options: ['map', [['requested-chassis', 'chassis-1']]],
    },
  };
}

function synced(n: number): Replica {
  const r = newReplica();
  const ports: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) ports[U(i)] = port(i);
  r.replace('update2', {
    Logical_Switch: { [SW]: { initial: { name: 'net', ports: ['set', Array.from({ length: n }, (_, i) => ['uuid', U(i)])] } } },
    Logical_Switch_Port: ports,
  });
  return r;
}

function row(r: Replica, table: string, uuid: string): Row {
  const x = r.get(table, uuid);
  assert.ok(x, `${table} ${uuid} is in the replica`);
  return x;
}

function pairs(n: number): Map<Atom, Atom> {
  return new Map(Array.from({ length: n }, (_, i): [Atom, Atom] => [`k${i}`, i % 2 === 0 ? `v${i}` : i]));
}

test('a CompactMap reads exactly like the Map it was made from, for 0 to 7 pairs', () => {
  for (let n = 0; n <= 7; n++) {
    const m = pairs(n);
    const c = new CompactMap(m);
    assert.ok(c instanceof Map);
    assert.equal(c.size, n);
    assert.deepEqual([...c], [...m]);
    assert.deepEqual([...c.entries()], [...m.entries()]);
    assert.deepEqual([...c.keys()], [...m.keys()]);
    assert.deepEqual([...c.values()], [...m.values()]);
    for (const [k, v] of m) {
      assert.equal(c.get(k), v);
      assert.ok(c.has(k));
    }
    assert.equal(c.get('absent'), undefined);
    assert.equal(c.has('absent'), false);
    const seen: unknown[] = [];
    const self = {};
    c.forEach(function (this: unknown, v, k, map) {
      seen.push([k, v, map === c, this === self]);
    }, self);
    assert.deepEqual(seen, [...m].map(([k, v]) => [k, v, true, true]));
    assert.deepEqual(new Map(c), m);
    assert.deepEqual(Object.fromEntries(c), Object.fromEntries(m));
  }
});

test('a CompactMap looks like a Map from outside and cannot be changed', () => {
  const c = new CompactMap(pairs(2));
  assert.equal(Object.prototype.toString.call(c), '[object Map]');
  assert.equal(JSON.stringify(c), '{}');
  assert.deepEqual(Object.keys(c), []);
  assert.equal(inspect(c), inspect(pairs(2)));
  assert.throws(() => c.set('k0', 'x'), TypeError);
  assert.throws(() => c.delete('k0'), TypeError);
  assert.throws(() => c.clear(), TypeError);
  assert.equal(c.get('k0'), 'v0');
});

test('a CompactMap keys Uuid atoms by identity, as Map does', () => {
  const a = new Uuid(U(1));
  const c = new CompactMap(new Map<Atom, Atom>([[a, 'x']]));
  assert.equal(c.get(a), 'x');
  assert.equal(c.get(new Uuid(U(1))), undefined);
});

test('interning returns an equal string for any text, including names special to objects', () => {
  const strings = new StringInterner();
  const cases = ['', 'a', '0', '123', '4294967295', '-1', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x'.repeat(5000), 'ünïcødé ✓', 'ovn-driver:owner'];
  for (const s of cases) {
    assert.equal(strings.intern(s), s);
    assert.equal(strings.intern(`${s}`), s, 'a second time too');
  }
});

test('rows read as plain values: arrays, Maps, Uuids, strings equal to what the server sent', () => {
  const r = synced(3);
  const p = row(r, 'Logical_Switch_Port', U(1));
  assert.deepEqual(Object.keys(p), ['_uuid', 'name', 'addresses', 'port_security', 'external_ids', 'options']);
  assert.ok(p._uuid instanceof Uuid && p._uuid.value === U(1));
  assert.equal(p.name, `endpoint-1-${'e'.repeat(40)}`);
  assert.deepEqual(p.addresses, ['02:00:00:00:00:01 198.18.0.1']);
  assert.ok(p.external_ids instanceof Map);
  assert.deepEqual(Object.fromEntries(p.external_ids), {
    'ovn-driver:owner': 'ovn-driver',
    'docker:endpoint-id': p.name,
    'docker:network-id': 'n'.repeat(64),
    'ovn-driver:chassis': 'chassis-1',
  });
  assert.ok(p.options instanceof Map && p.options.get('requested-chassis') === 'chassis-1');
});

test('what is equal is shared: switch ports are the rows\' Uuids, equal sets and options are one object', () => {
  const r = synced(5);
  const sw = row(r, 'Logical_Switch', SW);
  assert.ok(Array.isArray(sw.ports) && sw.ports.length === 5);
  for (const [i, u] of sw.ports.entries()) assert.equal(u, row(r, 'Logical_Switch_Port', U(i))._uuid, `ports[${i}] is the row's own Uuid`);
  const p0 = row(r, 'Logical_Switch_Port', U(0));
  const p1 = row(r, 'Logical_Switch_Port', U(1));
  assert.equal(p0.addresses, p0.port_security, 'addresses and port_security of a port are one array');
  assert.notEqual(p0.addresses, p1.addresses);
  assert.equal(p0.options, p1.options, 'equal options maps are one map');
  assert.notEqual(p0.external_ids, p1.external_ids);
  assert.ok(Object.isFrozen(p0.addresses) && Object.isFrozen(sw.ports));
});

test('a port inserted later shares the Uuid the switch already holds', () => {
  const r = newReplica();
  r.apply('update2', { Logical_Switch: { [SW]: { insert: { name: 'net' } } } });
  r.apply('update2', {
    Logical_Switch: { [SW]: { modify: { ports: ['uuid', U(7)] } } },
    Logical_Switch_Port: { [U(7)]: { insert: { name: 'p7' } } },
  });
  const sw = row(r, 'Logical_Switch', SW);
  assert.ok(Array.isArray(sw.ports));
  assert.equal(sw.ports[0], row(r, 'Logical_Switch_Port', U(7))._uuid);
});

test('a modify keeps the untouched columns as they were and applies the diff to the others', () => {
  const r = synced(2);
  const before = row(r, 'Logical_Switch_Port', U(0));
  const events: RowChange[] = [];
  r.on('change', (c: RowChange) => events.push(c));
  r.apply('update2', { Logical_Switch_Port: { [U(0)]: { modify: { external_ids: ['map', [['ovn-driver:chassis', 'chassis-2'], ['extra', 'x']]] } } } });
  const after = row(r, 'Logical_Switch_Port', U(0));
  assert.equal(after.addresses, before.addresses);
  assert.equal(after.options, before.options);
  assert.equal(after._uuid, before._uuid);
  assert.ok(after.external_ids instanceof Map && before.external_ids instanceof Map);
  assert.equal(after.external_ids.get('ovn-driver:chassis'), 'chassis-2');
  assert.equal(after.external_ids.get('extra'), 'x');
  assert.equal(before.external_ids.get('ovn-driver:chassis'), 'chassis-1', 'the old row is a snapshot');
  assert.equal(events.length, 1);
  assert.equal(events[0]?.old, before);
  assert.equal(events[0]?.new, after);
});

test('maps of every size keep their pairs: small ones compact, large ones hashed', () => {
  const r = newReplica();
  const sizes = [1, 4, 5, 16, 17, 40];
  const rows: Record<string, unknown> = {};
  for (const [i, n] of sizes.entries()) {
    rows[U(i)] = { insert: { name: `p${i}`, external_ids: ['map', Array.from({ length: n }, (_, k) => [`key${k}`, `value${k}`])] } };
  }
  r.apply('update2', { Logical_Switch_Port: rows });
  for (const [i, n] of sizes.entries()) {
    const ids = row(r, 'Logical_Switch_Port', U(i)).external_ids;
    assert.ok(ids instanceof Map);
    assert.equal(ids.size, n);
    assert.deepEqual([...ids.keys()], Array.from({ length: n }, (_, k) => `key${k}`));
    assert.equal(ids.get(`key${n - 1}`), `value${n - 1}`);
  }
});

test('a resync with the same contents keeps every row object', () => {
  const r = synced(3);
  const before = [...r.table('Logical_Switch_Port').values()];
  const fresh: Record<string, unknown> = {};
  for (let i = 0; i < 3; i++) fresh[U(i)] = port(i);
  r.replace('update2', { Logical_Switch: { [SW]: { initial: { name: 'net', ports: ['set', [0, 1, 2].map((i) => ['uuid', U(i)])] } } }, Logical_Switch_Port: fresh });
  assert.deepEqual([...r.table('Logical_Switch_Port').values()], before);
  for (const [i, p] of before.entries()) assert.equal(r.get('Logical_Switch_Port', U(i)), p);
});
