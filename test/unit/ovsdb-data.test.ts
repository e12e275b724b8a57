import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAtom, decodeRow, decodeValue, describe, encodeAtom, encodeRow, encodeValue, NamedUuid, namedUuid, Uuid, uuid, Value } from '../../src/ovsdb/data';
import { abort, assertLock, comment, commit, cond, del, insert, mutate, select, strMap, update, wait } from '../../src/ovsdb/operations';

const U1 = '550e8400-e29b-41d4-a716-446655440000';
const U2 = '00000000-0000-0000-0000-000000000000';

test('atoms: string, integer, real, boolean, uuid and named-uuid (RFC 7047 5.1)', () => {
  const cases: [unknown, (v: Value) => void][] = [
    ['', (v) => assert.equal(v, '')],
    ['ünï ✓ 🚀 "q" \\', (v) => assert.equal(v, 'ünï ✓ 🚀 "q" \\')],
    [0, (v) => assert.equal(v, 0)],
    [-9007199254740991, (v) => assert.equal(v, -9007199254740991)],
    [1.5e-7, (v) => assert.equal(v, 1.5e-7)],
    [true, (v) => assert.equal(v, true)],
    [false, (v) => assert.equal(v, false)],
    [['uuid', U1], (v) => assert.ok(v instanceof Uuid && v.value === U1)],
    [['named-uuid', 'row_1'], (v) => assert.ok(v instanceof NamedUuid && v.name === 'row_1')],
  ];
  for (const [wire, check] of cases) {
    check(decodeAtom(wire));
    check(decodeValue(wire));
    const v = decodeValue(wire);
    assert.ok(!Array.isArray(v) && !(v instanceof Map));
    assert.deepEqual(encodeAtom(v), wire);
    assert.deepEqual(encodeValue(v), wire);
  }
});

test('sets: the set form, a bare atom as a one-element set, the empty set', () => {
  assert.deepEqual(decodeValue(['set', []]), []);
  assert.deepEqual(decodeValue(['set', ['a', 'b']]), ['a', 'b']);
  const uuids = decodeValue(['set', [['uuid', U1], ['uuid', U2]]]);
  assert.ok(Array.isArray(uuids) && uuids.every((u) => u instanceof Uuid));
  assert.deepEqual(encodeValue(['a']), ['set', ['a']]);
  assert.deepEqual(encodeValue([]), ['set', []]);
  assert.deepEqual(encodeValue([uuid(U1), namedUuid('n')]), ['set', [['uuid', U1], ['named-uuid', 'n']]]);
});

test('maps: pairs of atoms, the empty map, insertion order kept', () => {
  const m = decodeValue(['map', [['b', 1], ['a', ['uuid', U1]]]]);
  assert.ok(m instanceof Map);
  assert.deepEqual([...m.keys()], ['b', 'a']);
  assert.equal(m.get('b'), 1);
  assert.ok(m.get('a') instanceof Uuid);
  assert.deepEqual(decodeValue(['map', []]), new Map());
  assert.deepEqual(encodeValue(new Map([[1, true]])), ['map', [[1, true]]]);
  assert.deepEqual(encodeValue(strMap({ 'docker:id': 'x' })), ['map', [['docker:id', 'x']]]);
});

test('rows round-trip between wire and JS forms', () => {
  const wire = {
    name: 'p0',
    tag: 42,
    enabled: ['set', [true]],
    addresses: ['set', ['00:00:5e:00:53:01 198.18.0.2', 'fd00:198:18::2']],
    external_ids: ['map', [['k', 'v'], ['ü', '🚀']]],
    ports: ['set', [['uuid', U1]]],
    peer: ['uuid', U2],
  };
  const row = decodeRow(wire);
  assert.deepEqual(encodeRow(row), wire);
  assert.deepEqual(JSON.parse(JSON.stringify(encodeRow(row))), wire);
  assert.deepEqual(decodeRow(JSON.parse(JSON.stringify(encodeRow(row)))), row);
});

test('Uuid and NamedUuid serialise to their wire forms and compare by value', () => {
  assert.equal(JSON.stringify(uuid(U1)), `["uuid","${U1}"]`);
  assert.equal(JSON.stringify({ a: namedUuid('x') }), '{"a":["named-uuid","x"]}');
  assert.ok(uuid(U1).equals(new Uuid(U1)));
  assert.ok(!uuid(U1).equals(uuid(U2)));
  assert.ok(!uuid(U1).equals(U1));
  assert.equal(String(uuid(U1)), U1);
});

test('invalid wire values are rejected with a TypeError naming them', () => {
  const bad: unknown[] = [
    null, undefined, {}, [], ['uuid'], ['uuid', 'not-a-uuid'], ['uuid', U1.toUpperCase()], ['uuid', 5],
    ['named-uuid', '1abc'], ['named-uuid', 'a-b'], ['set', 'x'], ['set', [['set', []]]], ['set', [null]],
    ['map', 'x'], ['map', [['k']]], ['map', [['k', 'v', 'w']]], ['map', [[['map', []], 'v']]], ['pair', ['a', 'b']], ['set', ['a'], 'extra'],
  ];
  for (const b of bad) assert.throws(() => decodeValue(b), TypeError, describe(b));
  assert.throws(() => decodeAtom(['set', []]), TypeError);
  assert.throws(() => decodeRow(['a']), TypeError);
  assert.throws(() => decodeRow(null), TypeError);
  assert.throws(() => decodeRow({ a: { b: 1 } }), TypeError);
});

test('values that have no OVSDB form are refused when encoding', () => {
  assert.throws(() => encodeAtom(NaN), TypeError);
  assert.throws(() => encodeAtom(Infinity), TypeError);
  assert.throws(() => new Uuid('x'), TypeError);
  assert.throws(() => new NamedUuid('has space'), TypeError);
});

test('describe keeps error messages short', () => {
  assert.equal(describe('x'.repeat(500)).length, 120);
  assert.equal(describe(new Map([[1, 2]])), 'Map(1)');
  assert.equal(describe(undefined), 'undefined');
  assert.equal(describe(BigInt(1)), '1');
});

test('operation builders return plain RFC 7047 objects', () => {
  const ext = strMap({ 'docker:network': 'n1' });
  assert.deepEqual(JSON.parse(JSON.stringify(insert('Logical_Switch', { name: 'ls', external_ids: ext }, 'ls0'))), {
    op: 'insert', table: 'Logical_Switch', row: { name: 'ls', external_ids: ['map', [['docker:network', 'n1']]] }, 'uuid-name': 'ls0',
  });
  assert.throws(() => insert('T', {}, '0bad'), TypeError);
  assert.deepEqual(select('T', [cond('_uuid', '==', uuid(U1))], ['name']), { op: 'select', table: 'T', where: [['_uuid', '==', ['uuid', U1]]], columns: ['name'] });
  assert.deepEqual(select('T', []), { op: 'select', table: 'T', where: [] });
  assert.deepEqual(update('T', [['name', '==', 'a']], { tag: [] }), { op: 'update', table: 'T', where: [['name', '==', 'a']], row: { tag: ['set', []] } });
  assert.deepEqual(mutate('T', [], [['ports', 'insert', [namedUuid('p')]], ['n', '+=', 1]]), {
    op: 'mutate', table: 'T', where: [], mutations: [['ports', 'insert', ['set', [['named-uuid', 'p']]]], ['n', '+=', 1]],
  });
  assert.deepEqual(del('T', [['ports', 'includes', uuid(U2)]]), { op: 'delete', table: 'T', where: [['ports', 'includes', ['uuid', U2]]] });
  assert.deepEqual(wait('T', [], ['name'], '==', [{ name: 'x' }], 0), { op: 'wait', table: 'T', where: [], columns: ['name'], until: '==', rows: [{ name: 'x' }], timeout: 0 });
  assert.deepEqual(wait('T', [], [], '!=', []), { op: 'wait', table: 'T', where: [], columns: [], until: '!=', rows: [] });
  assert.deepEqual([commit(true), abort(), comment('c'), assertLock('l')], [{ op: 'commit', durable: true }, { op: 'abort' }, { op: 'comment', comment: 'c' }, { op: 'assert', lock: 'l' }]);
});
