// An in-memory OVSDB for unit tests of the driver: a DbClient whose transact runs RFC 7047
// operations (insert, select, update, mutate, delete, wait) atomically against tables checked
// by the real schema (unique indexes, garbage collection of unreferenced non-root rows), and a
// real Replica fed from it as a monitor would be. Tests can hold the replica back (`lag`), and
// make a transaction fail before it commits or after (its reply lost) with `failNext`.

import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { decodeRow, Uuid, WireAtom, WireValue } from '../../src/ovsdb/data';
import { OvsdbError, OvsdbErrorCode } from '../../src/ovsdb/errors';
import type { Operation } from '../../src/ovsdb/operations';
import { Replica } from '../../src/ovsdb/replica';
import type { OperationResult } from '../../src/ovsdb/results';
import type { MonitoredTable } from '../../src/ovsdb/row-update';
import { columnKind, DatabaseSchema, parseDatabaseSchema, TableSchema } from '../../src/ovsdb/schema';

type WireRow = Record<string, WireValue>;

/** How the next transaction fails: `before` = refused, nothing applied; `after` = applied, reply lost. */
export interface Failure {
  readonly code: OvsdbErrorCode;
  readonly when: 'before' | 'after';
  /** Only a transaction with an operation on this table fails (default: the next one). */
  readonly table?: string;
  /** The RFC 7047 error string of a refusal ("constraint violation"...): the server answered. */
  readonly rfcError?: string;
}

const key = (v: unknown): string => JSON.stringify(v);

function atoms(v: WireValue | undefined): WireAtom[] {
  if (Array.isArray(v) && v[0] === 'set') return v[1];
  return v === undefined ? [] : [v as WireAtom];
}

function pairs(v: WireValue | undefined): [WireAtom, WireAtom][] {
  return Array.isArray(v) && v[0] === 'map' ? v[1] : [];
}

export class FakeDb {
  readonly replica = new Replica();
  readonly schema: DatabaseSchema;
  readonly database: string;
  state = 'connected';
  readonly currentRemote = 'unix:fake';
  /** Every transaction sent, in order (including failed ones). */
  readonly sent: Operation[][] = [];
  private store = new Map<string, Map<string, WireRow>>();
  private readonly monitor: Record<string, string[]>;
  private lagging = false;
  private failures: Failure[] = [];
  /** Runs before each transaction (after it is recorded); may await, to hold it in flight. */
  beforeTransact: ((ops: Operation[]) => Promise<void>) | undefined;

  constructor(schemaFile: string, monitor: Record<string, string[]>) {
    this.schema = parseDatabaseSchema(JSON.parse(readFileSync(schemaFile, 'utf8')));
    this.database = this.schema.name;
    this.monitor = monitor;
    const tables = new Map<string, MonitoredTable>();
    for (const [name, cols] of Object.entries(monitor)) {
      const ts = this.table(name);
      tables.set(name, { schema: ts, columns: cols });
      this.store.set(name, new Map());
    }
    for (const name of this.schema.tables.keys()) if (!this.store.has(name)) this.store.set(name, new Map());
    this.replica.configure(tables);
  }

  /** Holds replica updates back until `lag(false)` (the replica has not caught up yet). */
  lag(on: boolean): void {
    this.lagging = on;
    if (!on) this.publish();
  }

  failNext(f: Failure): void {
    this.failures.push(f);
  }

  /** The rows of a table as the server holds them, decoded. */
  rows(table: string): Record<string, unknown>[] {
    return [...(this.store.get(table)?.entries() ?? [])].map(([u, r]) => decodeRow({ ...r, _uuid: ['uuid', u] }));
  }

  async transact(ops: Operation[]): Promise<OperationResult[]> {
    this.sent.push(ops);
    if (this.beforeTransact) await this.beforeTransact(ops);
    const i = this.failures.findIndex((f) => f.table === undefined || ops.some((o) => 'table' in o && o.table === f.table));
    const failure = i >= 0 ? this.failures.splice(i, 1)[0] : undefined;
    if (failure?.when === 'before') throw new OvsdbError(failure.code, `injected failure ${failure.code}`, failure.rfcError === undefined ? {} : { rfcError: failure.rfcError });
    const saved = new Map([...this.store].map(([t, m]) => [t, new Map(m)]));
    let results: OperationResult[];
    try {
      results = this.run(ops);
    } catch (e) {
      this.store = saved;
      throw e;
    }
    if (!this.lagging) this.publish();
    if (failure?.when === 'after') throw new OvsdbError(failure.code, `injected failure ${failure.code} after commit`);
    return results;
  }

  private table(name: string): TableSchema {
    const ts = this.schema.tables.get(name);
    if (!ts) throw new Error(`fake-db: no table ${name}`);
    return ts;
  }

  private publish(): void {
    const update: Record<string, Record<string, unknown>> = {};
    for (const [name, cols] of Object.entries(this.monitor)) {
      const rows: Record<string, unknown> = {};
      for (const [u, r] of this.store.get(name) ?? []) rows[u] = { initial: Object.fromEntries(cols.filter((c) => c in r).map((c) => [c, r[c]])) };
      update[name] = rows;
    }
    this.replica.replace('update2', update);
  }

  private normalize(ts: TableSchema, col: string, v: WireValue, named: Map<string, string>): WireValue {
    const c = ts.columns.get(col);
    if (!c) throw new OvsdbError('OVSDB_TRANSACTION_FAILED', `fake-db: no column ${ts.name}.${col}`);
    const fix = (a: WireAtom): WireAtom => {
      if (Array.isArray(a) && a[0] === 'named-uuid') {
        const real = named.get(a[1]);
        if (real === undefined) throw new OvsdbError('OVSDB_TRANSACTION_FAILED', `fake-db: unknown named-uuid ${a[1]}`);
        return ['uuid', real];
      }
      return a;
    };
    const kind = columnKind(c.type);
    if (kind === 'map') return ['map', pairs(v).map(([k, x]): [WireAtom, WireAtom] => [fix(k), fix(x)]).sort((a, b) => key(a).localeCompare(key(b)))];
    if (kind === 'set') return ['set', [...new Map(atoms(v).map(fix).map((a) => [key(a), a])).values()].sort((a, b) => key(a).localeCompare(key(b)))];
    return fix(v as WireAtom);
  }

  private defaults(ts: TableSchema): WireRow {
    const row: WireRow = {};
    for (const [name, c] of ts.columns) {
      const kind = columnKind(c.type);
      if (kind === 'map') row[name] = ['map', []];
      else if (kind === 'set') row[name] = ['set', []];
      else {
        const t = c.type.key.type;
        row[name] = t === 'string' ? '' : t === 'boolean' ? false : t === 'integer' || t === 'real' ? 0 : ['set', []];
      }
    }
    return row;
  }

  private matches(ts: TableSchema, uuid: string, row: WireRow, where: readonly unknown[], named: Map<string, string>): boolean {
    return where.every((w) => {
      const [col, fn, value] = w as [string, string, WireValue];
      const have = col === '_uuid' ? (['uuid', uuid] as WireValue) : row[col];
      const want = col === '_uuid' ? this.normalizeUuid(value, named) : this.normalize(ts, col, value, named);
      const isMap = Array.isArray(want) && want[0] === 'map';
      const includes = (): boolean => (isMap
        ? pairs(want).every((p) => pairs(have).some((q) => key(q) === key(p)))
        : atoms(want).every((a) => atoms(have).some((b) => key(b) === key(a))));
      switch (fn) {
        case '==': return key(have) === key(want);
        case '!=': return key(have) !== key(want);
        case 'includes': return includes();
        case 'excludes': return (isMap ? pairs(want) : atoms(want)).every((p) => !(isMap ? pairs(have) : atoms(have)).some((q) => key(q) === key(p)));
        default: throw new OvsdbError('OVSDB_NOT_SUPPORTED', `fake-db: condition ${fn}`);
      }
    });
  }

  private normalizeUuid(v: WireValue, named: Map<string, string>): WireValue {
    if (Array.isArray(v) && v[0] === 'named-uuid') return ['uuid', named.get(v[1]) ?? ''];
    return v;
  }

  private run(ops: Operation[]): OperationResult[] {
    const named = new Map<string, string>();
    const results: OperationResult[] = [];
    for (const op of ops) {
      if (!('table' in op)) throw new OvsdbError('OVSDB_NOT_SUPPORTED', `fake-db: operation ${op.op}`);
      const ts = this.table(op.table);
      const rows = this.store.get(op.table) ?? new Map<string, WireRow>();
      const selected = (where: readonly unknown[]): [string, WireRow][] => [...rows].filter(([u, r]) => this.matches(ts, u, r, where, named));
      switch (op.op) {
        case 'insert': {
          const u = randomUUID();
          if (op['uuid-name'] !== undefined) named.set(op['uuid-name'], u);
          const row = this.defaults(ts);
          for (const [c, v] of Object.entries(op.row)) row[c] = this.normalize(ts, c, v, named);
          rows.set(u, row);
          results.push({ uuid: new Uuid(u) });
          break;
        }
        case 'select': {
          results.push({ rows: selected(op.where).map(([u, r]) => decodeRow(op.columns ? Object.fromEntries(op.columns.map((c) => [c, c === '_uuid' ? ['uuid', u] : r[c] as WireValue])) : { ...r, _uuid: ['uuid', u] })) });
          break;
        }
        case 'update': {
          const hit = selected(op.where);
          for (const [u, r] of hit) {
            const copy = { ...r };
            for (const [c, v] of Object.entries(op.row)) copy[c] = this.normalize(ts, c, v, named);
            rows.set(u, copy);
          }
          results.push({ count: hit.length });
          break;
        }
        case 'delete': {
          const hit = selected(op.where);
          for (const [u] of hit) rows.delete(u);
          results.push({ count: hit.length });
          break;
        }
        case 'mutate': {
          const hit = selected(op.where);
          for (const [u, r] of hit) {
            const copy = { ...r };
            for (const [c, m, v] of op.mutations as [string, string, WireValue][]) {
              const val = this.normalize(ts, c, v, named);
              const isMap = Array.isArray(copy[c]) && (copy[c] as unknown[])[0] === 'map';
              if (isMap) {
                const have = pairs(copy[c]);
                const next = m === 'insert'
                  ? [...have, ...pairs(val).filter((p) => !have.some((q) => key(q[0]) === key(p[0])))]
                  : have.filter((q) => !(pairs(val).some((p) => key(p) === key(q)) || atoms(val).some((a) => key(a) === key(q[0]))));
                copy[c] = this.normalize(ts, c, ['map', next], named);
              } else {
                const have = atoms(copy[c]);
                const next = m === 'insert' ? [...have, ...atoms(val)] : m === 'delete' ? have.filter((a) => !atoms(val).some((b) => key(b) === key(a))) : undefined;
                if (next === undefined) throw new OvsdbError('OVSDB_NOT_SUPPORTED', `fake-db: mutator ${m}`);
                copy[c] = this.normalize(ts, c, ['set', next], named);
              }
            }
            rows.set(u, copy);
          }
          results.push({ count: hit.length });
          break;
        }
        case 'wait': {
          const cols = op.columns ?? [];
          const got = selected(op.where).map(([, r]) => key(Object.fromEntries(cols.map((c) => [c, r[c]])))).sort();
          const want = op.rows.map((r) => key(Object.fromEntries(cols.map((c) => [c, this.normalize(ts, c, (r as WireRow)[c] as WireValue, named)])))).sort();
          const equal = key(got) === key(want);
          if (equal !== (op.until === '==')) throw new OvsdbError('OVSDB_TIMED_OUT', `"wait" timed out on table ${op.table}`, { rfcError: 'timed out' });
          results.push({});
          break;
        }
      }
    }
    this.collect();
    this.checkIndexes();
    return results;
  }

  /** Non-root rows nothing refers to are deleted, as ovsdb-server does at commit. */
  private collect(): void {
    for (;;) {
      const referenced = new Set<string>();
      const text = key([...this.store.values()].map((m) => [...m.values()]));
      for (const m of text.matchAll(/\["uuid","([0-9a-f-]{36})"\]/g)) if (m[1] !== undefined) referenced.add(m[1]);
      let removed = 0;
      for (const [name, rows] of this.store) {
        if (this.table(name).isRoot) continue;
        for (const u of [...rows.keys()]) if (!referenced.has(u)) (rows.delete(u), removed++);
      }
      if (removed === 0) return;
    }
  }

  private checkIndexes(): void {
    for (const [name, rows] of this.store) {
      for (const index of this.table(name).indexes) {
        const seen = new Set<string>();
        for (const r of rows.values()) {
          const k = key(index.map((c) => r[c]));
          if (seen.has(k)) throw new OvsdbError('OVSDB_CONSTRAINT_VIOLATION', `Transaction causes multiple rows in "${name}" table to have identical values (${k}) for index on columns ${index.join(', ')}`, { rfcError: 'constraint violation' });
          seen.add(k);
        }
      }
    }
  }
}
