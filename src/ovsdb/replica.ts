// The replica cache: the rows of the monitored tables as the server last told us, with
// secondary indexes and change events. It is fed by the client (monitor replies and
// notifications); a rebuild after a reconnect drops every row the server no longer has.

import { EventEmitter } from 'node:events';
import { systemTimers, Timers } from './backoff';
import { errorText, OvsdbError } from './errors';
import { MonitoredTable, parseUpdate, parseUpdate2, RowChange } from './row-update';
import { Row } from './schema';
import { RowBuilder } from './stored-row';

export type { RowChange } from './row-update';
export type IndexKey = (row: Row) => string | string[] | undefined;
export type UpdateFormat = 'update' | 'update2';

interface Index {
  key: IndexKey;
  // Most keys name one row: store the uuid itself, an array only when keys collide.
  entries: Map<string, string | string[]>;
}

const NO_ROWS: ReadonlyMap<string, Row> = new Map();

function keysOf(ix: Index, row: Row): string[] {
  const k = ix.key(row);
  if (k === undefined) return [];
  return typeof k === 'string' ? [k] : k;
}

function indexAdd(ix: Index, key: string, uuid: string): void {
  const cur = ix.entries.get(key);
  if (cur === undefined) ix.entries.set(key, uuid);
  else if (typeof cur === 'string') {
    if (cur !== uuid) ix.entries.set(key, [cur, uuid]);
  } else if (!cur.includes(uuid)) cur.push(uuid);
}

function indexRemove(ix: Index, key: string, uuid: string): void {
  const cur = ix.entries.get(key);
  if (cur === undefined) return;
  if (typeof cur === 'string') {
    if (cur === uuid) ix.entries.delete(key);
    return;
  }
  const rest = cur.filter((u) => u !== uuid);
  if (rest.length === 0) ix.entries.delete(key);
  else ix.entries.set(key, rest.length === 1 && rest[0] !== undefined ? rest[0] : rest);
}

export interface ReplicaOptions {
  timers?: Timers;
  /** Where a throwing 'change' listener is reported; it must not break the replica's feed. */
  logger?: { error(msg: string, meta?: object): void };
}

/**
 * Events: 'change' (RowChange) once per row, after a whole notification has been applied, so a
 * listener sees each transaction complete; 'updated' () after each applied batch.
 */
export class Replica extends EventEmitter {
  private readonly timers: Timers;
  private readonly logger: ReplicaOptions['logger'];
  private readonly tables = new Map<string, Map<string, Row>>();
  private monitored = new Map<string, MonitoredTable>();
  private readonly indexes = new Map<string, Map<string, Index>>();
  // Kept for the replica's life: its templates and string sharing serve every update.
  private readonly builder = new RowBuilder();
  // The pending waitFor checks, run after each applied batch (a check that is done removes itself).
  private readonly waits = new Set<() => void>();

  constructor(opts: ReplicaOptions = {}) {
    super();
    this.timers = opts.timers ?? systemTimers;
    this.logger = opts.logger;
  }

  /** Tables (with their server schema and monitored columns) that updates may touch. */
  configure(tables: ReadonlyMap<string, MonitoredTable>): void {
    this.monitored = new Map(tables);
  }

  get monitoredTables(): ReadonlyMap<string, MonitoredTable> {
    return this.monitored;
  }

  table(name: string): ReadonlyMap<string, Row> {
    return this.tables.get(name) ?? NO_ROWS;
  }

  get(table: string, uuid: string): Row | undefined {
    return this.tables.get(table)?.get(uuid);
  }

  /** A secondary index; `key` may return several keys (or none) per row. */
  createIndex(table: string, name: string, key: IndexKey): void {
    let byName = this.indexes.get(table);
    if (!byName) this.indexes.set(table, (byName = new Map()));
    if (byName.has(name)) throw new OvsdbError('OVSDB_SCHEMA', `failed to create index "${name}" on table "${table}": it already exists`);
    const ix: Index = { key, entries: new Map() };
    for (const [uuid, row] of this.table(table)) for (const k of keysOf(ix, row)) indexAdd(ix, k, uuid);
    byName.set(name, ix);
  }

  lookup(table: string, index: string, key: string): Row[] {
    const ix = this.indexes.get(table)?.get(index);
    if (!ix) throw new OvsdbError('OVSDB_SCHEMA', `failed to look up "${key}" in table "${table}": no index "${index}"; create it with createIndex first`);
    const cur = ix.entries.get(key);
    if (cur === undefined) return [];
    const uuids = typeof cur === 'string' ? [cur] : cur;
    const rows: Row[] = [];
    for (const u of uuids) {
      const r = this.get(table, u);
      if (r) rows.push(r);
    }
    return rows;
  }

  /**
   * Resolves with the probe's first defined value, re-evaluated after each update; undefined on
   * timeout. Waits are kept in one set, not as one 'updated' listener each: hundreds of
   * concurrent Joins wait at once, and a wait that ends (either way) leaves nothing behind.
   */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const first = probe();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T | undefined>((resolve) => {
      const done = (v: T | undefined): void => {
        this.timers.clearTimeout(timer);
        this.waits.delete(check);
        resolve(v);
      };
      const check = (): void => {
        let v: T | undefined;
        try {
          v = probe();
        } catch {
          v = undefined; // a probe that throws on a half-built state just waits for more
        }
        if (v !== undefined) done(v);
      };
      // Node's timers may fire a fraction of a millisecond early by the injected clock: a
      // caller that measures the wait must see at least timeoutMs, so wait out the rest (in steps
      // of at least 1 ms, so that a clock which has not moved yet cannot make this spin).
      const deadline = this.timers.now() + timeoutMs;
      const expire = (): void => {
        const rest = deadline - this.timers.now();
        if (rest > 0) timer = this.timers.setTimeout(expire, Math.max(1, rest));
        else done(undefined);
      };
      let timer = this.timers.setTimeout(expire, timeoutMs);
      this.waits.add(check);
    });
  }

  /** How many waitFor calls are still waiting. */
  get waitCount(): number {
    return this.waits.size;
  }

  /** Applies a notification or monitor reply in the given format; throws (changing nothing) if malformed. */
  apply(format: UpdateFormat, updates: unknown): void {
    const lookup = (t: string, u: string): Row | undefined => this.get(t, u);
    const parse = format === 'update' ? parseUpdate : parseUpdate2;
    const changes = parse(this.monitored, updates, lookup, this.builder);
    this.commit(changes);
  }

  /**
   * Replaces all contents with a monitor's initial contents: rows absent from them are deleted
   * (with 'change' events), rows that differ are modified, new ones inserted.
   */
  replace(format: UpdateFormat, initial: unknown): void {
    const none = (): Row | undefined => undefined;
    const parse = format === 'update' ? parseUpdate : parseUpdate2;
    const fresh = parse(this.monitored, initial, none, this.builder);
    const seen = new Map<string, Set<string>>();
    const changes: RowChange[] = [];
    for (const c of fresh) {
      let s = seen.get(c.table);
      if (!s) seen.set(c.table, (s = new Set()));
      s.add(c.uuid);
      const old = this.get(c.table, c.uuid);
      if (old && c.new && rowsEqual(old, c.new)) continue;
      changes.push(old ? { ...c, old } : c);
    }
    for (const [name, rows] of this.tables) {
      const s = seen.get(name);
      for (const [uuid, old] of rows) if (!s?.has(uuid)) changes.push({ table: name, uuid, old });
    }
    this.commit(changes);
  }

  /** Forgets every row, emitting deletes. */
  clear(): void {
    const changes: RowChange[] = [];
    for (const [name, rows] of this.tables) for (const [uuid, old] of rows) changes.push({ table: name, uuid, old });
    this.commit(changes);
  }

  private commit(changes: RowChange[]): void {
    for (const c of changes) {
      let rows = this.tables.get(c.table);
      if (!rows) this.tables.set(c.table, (rows = new Map()));
      const ixs = this.indexes.get(c.table);
      if (ixs) {
        for (const ix of ixs.values()) {
          if (c.old) for (const k of keysOf(ix, c.old)) indexRemove(ix, k, c.uuid);
          if (c.new) for (const k of keysOf(ix, c.new)) indexAdd(ix, k, c.uuid);
        }
      }
      if (c.new) rows.set(c.uuid, c.new);
      else rows.delete(c.uuid);
    }
    for (const c of changes) this.safeEmit('change', c);
    this.safeEmit('updated');
    // A copy: a check that resolves deletes itself. Checks catch their probe's errors.
    for (const check of [...this.waits]) check();
  }

  // The rows are already committed; a listener's bug is reported, not taken for a bad update.
  private safeEmit(event: string, arg?: RowChange): void {
    try {
      if (arg) this.emit(event, arg);
      else this.emit(event);
    } catch (e) {
      this.logger?.error(`replica '${event}' listener failed: ${errorText(e)}`);
    }
  }
}

function valueKey(v: unknown): string {
  if (Array.isArray(v)) return JSON.stringify(v.map((a) => JSON.stringify(a)).sort());
  if (v instanceof Map) return JSON.stringify([...v].map((p) => JSON.stringify(p)).sort());
  return JSON.stringify(v);
}

function rowsEqual(a: Row, b: Row): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const va = a[k];
    const vb = b[k];
    if (va === vb) continue;
    if (valueKey(va) !== valueKey(vb)) return false;
  }
  return true;
}
