// The replica fed with notifications recorded from a real ovsdb-server (3.1.0) while
// ovn-nbctl made changes, in all three formats: update (monitor), update2 (monitor_cond) and
// update3 (monitor_cond_since). All three must end in the same rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Uuid } from '../../src/ovsdb/data';
import { OvsdbError } from '../../src/ovsdb/errors';
import { Replica, RowChange } from '../../src/ovsdb/replica';
import { MonitorSync, MonitorState } from '../../src/ovsdb/monitor';
import { MonitoredTable } from '../../src/ovsdb/row-update';
import { parseDatabaseSchema, Row } from '../../src/ovsdb/schema';
import { Timers } from '../../src/ovsdb/backoff';

// dist/test/unit -> the repository's test/fixtures (or the working directory's, for other outDirs).
const REL = 'test/fixtures/replica/nb-session.json';
const FIXTURE = [path.join(__dirname, '../../..', REL), path.resolve(REL)].find((p) => existsSync(p)) ?? REL;
const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';

interface Session {
  monitor: { columns: Record<string, string[]> };
  update: unknown[][];
  update2: unknown[][];
  update3: unknown[][];
}

function isSession(j: unknown): j is Session {
  return typeof j === 'object' && j !== null && 'update' in j && 'update2' in j && 'update3' in j && 'monitor' in j;
}

const raw: unknown = JSON.parse(readFileSync(FIXTURE, 'utf8'));
if (!isSession(raw)) throw new Error('bad fixture');
const session = raw;
const schema = parseDatabaseSchema(JSON.parse(readFileSync(NB_SCHEMA, 'utf8')));

function tables(): Map<string, MonitoredTable> {
  const m = new Map<string, MonitoredTable>();
  for (const [name, columns] of Object.entries(session.monitor.columns)) {
    const ts = schema.tables.get(name);
    if (!ts) throw new Error(`no table ${name}`);
    m.set(name, { schema: ts, columns });
  }
  return m;
}

function newReplica(): Replica {
  const r = new Replica();
  r.configure(tables());
  return r;
}

function byName(r: Replica, table: string, name: string): Row | undefined {
  for (const row of r.table(table).values()) if (row.name === name) return row;
  return undefined;
}

/** A comparable snapshot: uuid -> JSON of the row with sets sorted. */
function snapshot(r: Replica): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of ['Logical_Switch', 'Logical_Switch_Port']) {
    for (const [uuid, row] of r.table(t)) {
      const cols: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) {
        cols[k] = Array.isArray(v) ? v.map((a) => JSON.stringify(a)).sort() : v instanceof Map ? [...v].map((p) => JSON.stringify(p)).sort() : v;
      }
      out[`${t}/${uuid}`] = JSON.stringify(cols);
    }
  }
  return out;
}

function feedAll(): { r1: Replica; r2: Replica; r3: Replica; steps: Record<string, string>[][] } {
  const r1 = newReplica();
  const r2 = newReplica();
  const r3 = newReplica();
  const steps: Record<string, string>[][] = [];
  for (let i = 0; i < session.update.length; i++) {
    r1.apply('update', session.update[i]?.[1]);
    r2.apply('update2', session.update2[i]?.[1]);
    r3.apply('update2', session.update3[i]?.[2]);
    steps.push([snapshot(r1), snapshot(r2), snapshot(r3)]);
  }
  return { r1, r2, r3, steps };
}

test('update, update2 and update3 streams give the same rows after every step', () => {
  const { steps } = feedAll();
  for (const [i, [a, b, c]] of steps.entries()) {
    assert.deepEqual(b, a, `update2 differs from update at step ${i}`);
    assert.deepEqual(c, a, `update3 differs from update at step ${i}`);
  }
});

test('rows are normalised: sets are arrays, maps are Maps, defaults filled in update2 inserts', () => {
  const r = newReplica();
  for (let i = 0; i < 2; i++) r.apply('update2', session.update2[i]?.[1]);
  const p1 = byName(r, 'Logical_Switch_Port', 'p1');
  assert.ok(p1);
  assert.ok(p1._uuid instanceof Uuid);
  assert.deepEqual(p1.addresses, []);
  assert.ok(p1.external_ids instanceof Map && p1.external_ids.size === 0);
  assert.equal(p1.type, '');
  assert.deepEqual(p1.tag, []);
  const sw = byName(r, 'Logical_Switch', 'sw0');
  assert.ok(sw && Array.isArray(sw.ports) && sw.ports.length === 1);
  assert.ok(sw.ports[0] instanceof Uuid && sw.ports[0].equals(p1._uuid));
});

test('update2 map diffs add, replace and remove keys', () => {
  const r = newReplica();
  const ext: unknown[] = [];
  for (let i = 0; i < session.update2.length - 1; i++) {
    r.apply('update2', session.update2[i]?.[1]);
    const p1 = byName(r, 'Logical_Switch_Port', 'p1');
    ext.push(p1?.external_ids instanceof Map ? Object.fromEntries(p1.external_ids) : undefined);
  }
  assert.deepEqual(ext, [undefined, {}, {}, { a: '1', b: '2' }, { a: '9', b: '2' }, { a: '9' }]);
  const p1 = byName(r, 'Logical_Switch_Port', 'p1');
  assert.ok(p1?.options instanceof Map && p1.options.get('x') === 'y');
  assert.deepEqual(p1?.addresses, ['00:00:00:00:00:01 198.18.0.2']);
});

test('change events: inserts, modifies with old and new, and deletes of gone rows', () => {
  const r = newReplica();
  const events: RowChange[] = [];
  r.on('change', (c: RowChange) => events.push(c));
  for (const u of session.update3) r.apply('update2', u[2]);
  const lsp = events.filter((e) => e.table === 'Logical_Switch_Port');
  const kinds = lsp.map((e) => `${e.old ? 'old' : ''}${e.new ? '+new' : ''}:${String((e.new ?? e.old)?.name)}`);
  assert.deepEqual(kinds, ['+new:p1', 'old+new:p1', 'old+new:p1', 'old+new:p1', 'old+new:p1', 'old:p1', '+new:p2']);
  assert.equal(byName(r, 'Logical_Switch_Port', 'p1'), undefined);
  const sw = byName(r, 'Logical_Switch', 'sw0');
  const p2 = byName(r, 'Logical_Switch_Port', 'p2');
  assert.ok(sw && p2 && Array.isArray(sw.ports));
  assert.deepEqual(sw.ports.map(String), [p2._uuid.value]);
});

test('a change event sees the whole notification applied (switch and port together)', () => {
  const r = newReplica();
  r.apply('update2', session.update2[0]?.[1]);
  let seen: number | undefined;
  r.on('change', (c: RowChange) => {
    if (c.table === 'Logical_Switch_Port' && c.new) seen = r.table('Logical_Switch').size + r.table('Logical_Switch_Port').size;
  });
  r.apply('update2', session.update2[1]?.[1]);
  assert.equal(seen, 2);
  const sw = byName(r, 'Logical_Switch', 'sw0');
  assert.ok(sw && Array.isArray(sw.ports) && sw.ports.length === 1);
});

test('indexes follow inserts, renames and deletes', () => {
  const r = newReplica();
  r.createIndex('Logical_Switch_Port', 'name', (row) => (typeof row.name === 'string' ? row.name : undefined));
  r.createIndex('Logical_Switch_Port', 'ext', (row) => (row.external_ids instanceof Map ? [...row.external_ids.values()].map(String) : undefined));
  for (let i = 0; i < 2; i++) r.apply('update2', session.update2[i]?.[1]);
  assert.equal(r.lookup('Logical_Switch_Port', 'name', 'p1').length, 1);
  for (let i = 2; i < 5; i++) r.apply('update2', session.update2[i]?.[1]);
  assert.deepEqual(r.lookup('Logical_Switch_Port', 'ext', '9').map((x) => x.name), ['p1']);
  assert.deepEqual(r.lookup('Logical_Switch_Port', 'ext', '1'), []);
  for (let i = 5; i < session.update2.length; i++) r.apply('update2', session.update2[i]?.[1]);
  assert.deepEqual(r.lookup('Logical_Switch_Port', 'name', 'p1'), []);
  assert.deepEqual(r.lookup('Logical_Switch_Port', 'name', 'p2').map((x) => x.name), ['p2']);
  assert.throws(() => r.lookup('Logical_Switch_Port', 'nope', 'x'), (e: unknown) => e instanceof OvsdbError && e.code === 'OVSDB_SCHEMA');
});

test('an index made after rows exist covers them; colliding keys return every row', () => {
  const r = newReplica();
  const rows: Record<string, unknown> = {};
  for (let i = 0; i < 3; i++) rows[`00000000-0000-0000-0000-00000000000${i}`] = { insert: { name: `p${i}`, type: i < 2 ? 'localport' : '' } };
  r.apply('update2', { Logical_Switch_Port: rows });
  r.createIndex('Logical_Switch_Port', 'type', (row) => String(row.type));
  assert.deepEqual(r.lookup('Logical_Switch_Port', 'type', 'localport').map((x) => x.name).sort(), ['p0', 'p1']);
  r.apply('update2', { Logical_Switch_Port: { '00000000-0000-0000-0000-000000000000': { delete: null } } });
  assert.deepEqual(r.lookup('Logical_Switch_Port', 'type', 'localport').map((x) => x.name), ['p1']);
});

test('rebuild from initial contents drops rows the server no longer has and keeps unchanged ones quiet', () => {
  const { r3 } = feedAll();
  const sw = byName(r3, 'Logical_Switch', 'sw0');
  const p2 = byName(r3, 'Logical_Switch_Port', 'p2');
  assert.ok(sw && p2);
  const events: RowChange[] = [];
  r3.on('change', (c: RowChange) => events.push(c));
  // The server now has sw0 (unchanged), no p2, and a new p3.
  const p3 = '11111111-2222-3333-4444-555555555555';
  r3.replace('update2', {
    Logical_Switch: { [sw._uuid.value]: { initial: { name: 'sw0', ports: ['uuid', p3] } } },
    Logical_Switch_Port: { [p3]: { initial: { name: 'p3' } } },
  });
  assert.equal(byName(r3, 'Logical_Switch_Port', 'p2'), undefined);
  assert.ok(byName(r3, 'Logical_Switch_Port', 'p3'));
  const summary = events.map((e) => `${e.table}:${e.old ? 'old' : ''}${e.new ? '+new' : ''}`).sort();
  assert.deepEqual(summary, ['Logical_Switch:old+new', 'Logical_Switch_Port:+new', 'Logical_Switch_Port:old']);
  events.length = 0;
  r3.replace('update2', {
    Logical_Switch: { [sw._uuid.value]: { initial: { name: 'sw0', ports: ['uuid', p3] } } },
    Logical_Switch_Port: { [p3]: { initial: { name: 'p3' } } },
  });
  assert.deepEqual(events, [], 'identical initial contents must not emit changes');
});

test('a malformed notification throws a typed error and changes nothing', () => {
  const { r1 } = feedAll();
  const before = snapshot(r1);
  const p2 = byName(r1, 'Logical_Switch_Port', 'p2');
  assert.ok(p2);
  const bad: [unknown, string][] = [
    [{ Logical_Switch_Port: { [p2._uuid.value]: { modify: { name: 42 } } } }, 'OVSDB_SCHEMA'],
    [{ Logical_Switch_Port: { [p2._uuid.value]: { modify: { nosuchcolumn: 'x' } } } }, 'OVSDB_SCHEMA'],
    [{ Logical_Switch_Port: { 'not-a-uuid': { insert: {} } } }, 'OVSDB_PROTOCOL'],
    [{ Logical_Switch_Port: { '00000000-0000-0000-0000-0000000000aa': { insert: { addresses: ['bogus', 1] } } } }, 'OVSDB_PROTOCOL'],
    [{ Logical_Switch_Port: { '00000000-0000-0000-0000-0000000000aa': { insert: {}, delete: null } } }, 'OVSDB_PROTOCOL'],
    [{ Logical_Switch_Port: { '00000000-0000-0000-0000-0000000000ab': { modify: { name: 'x' } } } }, 'OVSDB_PROTOCOL'],
    [{ ACL: {} }, 'OVSDB_PROTOCOL'],
    ['nonsense', 'OVSDB_PROTOCOL'],
    // A valid insert followed by a broken one in the same notification: neither is applied.
    [{ Logical_Switch_Port: { '00000000-0000-0000-0000-0000000000ac': { insert: { name: 'ok' } }, [p2._uuid.value]: { modify: { tag: 'x' } } } }, 'OVSDB_SCHEMA'],
  ];
  for (const [u, code] of bad) {
    assert.throws(() => r1.apply('update2', u), (e: unknown) => e instanceof OvsdbError && e.code === code, JSON.stringify(u));
  }
  assert.deepEqual(snapshot(r1), before);
});

test('shared empty sets and maps cannot be changed through one row', () => {
  const { r2 } = feedAll();
  const p2 = byName(r2, 'Logical_Switch_Port', 'p2');
  assert.ok(p2 && p2.external_ids instanceof Map && Array.isArray(p2.addresses));
  const ext = p2.external_ids;
  assert.throws(() => ext.set('a', 'b'), TypeError);
  const addrs = p2.addresses;
  assert.throws(() => addrs.push('x'), TypeError);
  const sw = byName(r2, 'Logical_Switch', 'sw0');
  assert.ok(sw && Array.isArray(sw.ports));
  const ports = sw.ports;
  assert.throws(() => ports.push('x'), TypeError, 'non-empty sets are frozen too');
});

class FakeTimers implements Timers {
  private t = 0;
  private queue: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.queue.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.queue = this.queue.filter((q) => q.id !== h);
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.queue.filter((q) => q.at <= this.t);
    this.queue = this.queue.filter((q) => q.at > this.t);
    for (const q of due) q.fn();
  }
  get pending(): number {
    return this.queue.length;
  }
}

test('waitFor re-evaluates after updates and resolves with the first defined value', async () => {
  const timers = new FakeTimers();
  const r = new Replica({ timers });
  r.configure(tables());
  const waiting = r.waitFor(() => byName(r, 'Logical_Switch_Port', 'p1'), 1000);
  r.apply('update2', session.update2[0]?.[1]);
  r.apply('update2', session.update2[1]?.[1]);
  const row = await waiting;
  assert.equal(row?.name, 'p1');
  assert.equal(timers.pending, 0, 'the timeout timer is cleared');
});

test('waitFor resolves undefined on timeout', async () => {
  const timers = new FakeTimers();
  const r = new Replica({ timers });
  r.configure(tables());
  const waiting = r.waitFor(() => byName(r, 'Logical_Switch_Port', 'nope'), 1000);
  r.apply('update2', session.update2[0]?.[1]);
  timers.advance(999);
  r.apply('update2', session.update2[1]?.[1]);
  timers.advance(1);
  assert.equal(await waiting, undefined);
  assert.equal(r.listenerCount('updated'), 0, 'no listener left behind');
});

test('MonitorSync falls back from monitor_cond_since to monitor_cond on "unknown method", then resumes', async () => {
  const r = new Replica();
  const state: MonitorState = { lastTxnId: undefined, method: undefined };
  const sync = new MonitorSync('OVN_Northbound', session.monitor.columns, schema, r, state);
  const calls: string[] = [];
  await sync.start(async (method, params) => {
    calls.push(method);
    if (method === 'monitor_cond_since') throw new OvsdbError('OVSDB_RPC_ERROR', 'unknown method', { rfcError: 'unknown method' });
    assert.equal(params[0], 'OVN_Northbound');
    return session.update2[0]?.[1];
  });
  assert.deepEqual(calls, ['monitor_cond_since', 'monitor_cond']);
  assert.equal(state.method, 'monitor_cond');
  assert.ok(byName(r, 'Logical_Switch', 'sw0'));
  for (let i = 1; i < session.update2.length; i++) {
    const p = session.update2[i];
    assert.ok(p && sync.handles('update2', ['ovsdb-client-replica', p[1]]));
    sync.notification('update2', ['ovsdb-client-replica', p[1]]);
  }
  assert.ok(byName(r, 'Logical_Switch_Port', 'p2'));
  assert.equal(byName(r, 'Logical_Switch_Port', 'p1'), undefined);
});

test('MonitorSync with monitor_cond_since: found=true applies a diff, found=false rebuilds', async () => {
  const { r3 } = feedAll();
  const state: MonitorState = { lastTxnId: 'aaaaaaaa-0000-0000-0000-000000000001', method: undefined };
  const p2 = byName(r3, 'Logical_Switch_Port', 'p2');
  assert.ok(p2);
  let sentTxn: unknown;
  const resumed = new MonitorSync('OVN_Northbound', session.monitor.columns, schema, r3, state);
  await resumed.start(async (_m, params) => {
    sentTxn = params[3];
    return [true, 'aaaaaaaa-0000-0000-0000-000000000002', { Logical_Switch_Port: { [p2._uuid.value]: { modify: { type: 'localport' } } } }];
  });
  assert.equal(sentTxn, 'aaaaaaaa-0000-0000-0000-000000000001');
  assert.equal(state.lastTxnId, 'aaaaaaaa-0000-0000-0000-000000000002');
  assert.equal(byName(r3, 'Logical_Switch_Port', 'p2')?.type, 'localport');
  assert.ok(byName(r3, 'Logical_Switch', 'sw0'), 'a resumed monitor keeps the rows it already had');

  const rebuilt = new MonitorSync('OVN_Northbound', session.monitor.columns, schema, r3, state);
  await rebuilt.start(async () => [false, 'aaaaaaaa-0000-0000-0000-000000000003', {}]);
  assert.equal(r3.table('Logical_Switch_Port').size, 0, 'found=false: the server has nothing, so neither do we');
  assert.equal(r3.table('Logical_Switch').size, 0);
});

test('MonitorSync queues notifications that overtake the monitor reply', async () => {
  const r = new Replica();
  const state: MonitorState = { lastTxnId: undefined, method: undefined };
  const sync = new MonitorSync('OVN_Northbound', session.monitor.columns, schema, r, state);
  await sync.start(async () => {
    // An update3 parsed in the same chunk as the reply reaches us before the reply's promise does.
    sync.notification('update3', ['ovsdb-client-replica', 'aaaaaaaa-0000-0000-0000-000000000009', session.update3[0]?.[2]]);
    return [false, 'aaaaaaaa-0000-0000-0000-000000000008', {}];
  });
  assert.ok(byName(r, 'Logical_Switch', 'sw0'));
  assert.equal(state.lastTxnId, 'aaaaaaaa-0000-0000-0000-000000000009');
});

test('30,000 rows: every port is found by name through the index', () => {
  const r = newReplica();
  r.createIndex('Logical_Switch_Port', 'name', (row) => (typeof row.name === 'string' ? row.name : undefined));
  const rows: Record<string, unknown> = {};
  for (let i = 0; i < 30000; i++) {
    const hex = i.toString(16).padStart(12, '0');
    rows[`00000000-0000-4000-8000-${hex}`] = { initial: { name: `port${i}`, external_ids: ['map', [['iface-id', `ep${i}`]]] } };
  }
  r.replace('update2', { Logical_Switch_Port: rows });
  assert.equal(r.table('Logical_Switch_Port').size, 30000);
  for (let i = 0; i < 30000; i += 997) assert.equal(r.lookup('Logical_Switch_Port', 'name', `port${i}`)[0]?.name, `port${i}`);
});

test('a throwing change listener is reported and the rows are still applied', () => {
  const errors: string[] = [];
  const r = new Replica({ logger: { error: (m: string) => errors.push(m) } });
  r.configure(tables());
  r.on('change', () => {
    throw new Error('listener bug');
  });
  r.apply('update2', session.update2[0]?.[1]);
  assert.ok(byName(r, 'Logical_Switch', 'sw0'));
  assert.equal(errors.length, 1);
  assert.match(errors[0] ?? '', /listener bug/);
});
