// The form in which the replica stores rows, made to hold 30,000 ports in little memory:
// - every row of a table has the same columns in the same order, created as one fixed-size
//   object (no separate property array);
// - equal strings are one string (StringInterner); within a batch of updates, equal UUIDs are
//   one Uuid object and equal small maps one map (Batch); equal sets of a row are one array;
// - empty sets and maps are shared singletons, small maps are CompactMaps;
// - sets and maps are frozen; rows are read-only snapshots (not frozen: a frozen object costs
//   V8 about 500 more bytes).
// Values stay what the Row type says (arrays, instanceof Map, Uuid): readers see no difference.

import { CompactMap } from './compact-map';
import { Atom, Uuid, Value } from './data';
import { StringInterner } from './intern';
import type { ColumnType, BaseType, Row, TableSchema } from './schema';

/** What the replica keeps of one table: its schema and the monitored columns. */
export interface MonitoredTable {
  schema: TableSchema;
  columns: readonly string[];
}

export const EMPTY_SET: Atom[] = [];
Object.freeze(EMPTY_SET);
export const EMPTY_MAP: Map<Atom, Atom> = new CompactMap(new Map());

const ZERO_UUID = new Uuid('00000000-0000-0000-0000-000000000000');

function defaultAtom(b: BaseType): Atom {
  switch (b.type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
  }
}

/** The value a column holds when a row does not say (update2 leaves such columns out). */
export function defaultValue(t: ColumnType): Value {
  if (t.value !== undefined) return EMPTY_MAP;
  if (t.min === 1 && t.max === 1) return defaultAtom(t.key);
  return EMPTY_SET;
}

/** Maps up to this many pairs are CompactMaps; larger ones stay hashed. */
const COMPACT_MAX = 16;
/** Distinct contents a batch remembers for sharing; values past it are stored unshared. */
const SHARE_MAX = 1024;

/**
 * What the rows decoded from one batch of updates share, then forget: one Uuid object per
 * UUID (reusing the `_uuid` of rows the replica holds, so a switch's `ports` costs one pointer
 * per port), one small map per content (every port of a host has the same `options`), one set
 * for equal sets of a row (addresses and port_security). Only for the batch: a table of every
 * value ever seen would grow with each new port.
 */
export class Batch {
  private readonly uuids = new Map<string, Uuid>();
  private readonly maps = new Map<string, Map<Atom, Atom>>();

  constructor(
    private readonly strings: StringInterner,
    private readonly held: (value: string) => Uuid | undefined = () => undefined,
  ) {}

  uuid(value: string): Uuid {
    let c = this.uuids.get(value);
    if (c === undefined) {
      // A new object even when `value` is already the interned copy: interning may have
      // turned the caller's string into a forwarding ("thin") string that a Uuid would keep.
      c = this.held(value) ?? new Uuid(this.strings.intern(value));
      this.uuids.set(value, c);
    }
    return c;
  }

  shareUuid(u: Uuid): Uuid {
    return this.uuid(u.value);
  }

  atom(a: Atom): Atom {
    if (typeof a === 'string') return this.strings.intern(a);
    return a instanceof Uuid ? this.shareUuid(a) : a;
  }

  /** `rowSets`: the sets stored so far for this row, one of which may be equal. */
  set(v: readonly Atom[], rowSets: Atom[][]): Atom[] {
    // Atoms compare by value with ===: strings, numbers, booleans, and Uuids once shared.
    const stored = v.map((a) => this.atom(a));
    const twin = rowSets.find((s) => s.length === stored.length && s.every((a, i) => a === stored[i]));
    if (twin) return twin;
    Object.freeze(stored);
    rowSets.push(stored);
    return stored;
  }

  map(v: ReadonlyMap<Atom, Atom>): Map<Atom, Atom> {
    if (v.size > COMPACT_MAX) {
      const m = new Map<Atom, Atom>();
      for (const [k, val] of v) m.set(this.atom(k), this.atom(val));
      return m;
    }
    const stored = new CompactMap(v, (a) => this.atom(a));
    const key = JSON.stringify([...stored]);
    const seen = this.maps.get(key);
    if (seen) return seen;
    if (this.maps.size < SHARE_MAX) this.maps.set(key, stored);
    return stored;
  }
}

function storedValue(v: Value, batch: Batch, rowSets: Atom[][]): Value {
  if (Array.isArray(v)) {
    if (v.length === 0) return EMPTY_SET;
    // Frozen: already stored (a column that a modify left as it was).
    return Object.isFrozen(v) ? v : batch.set(v, rowSets);
  }
  if (v instanceof Map) {
    if (v.size === 0) return EMPTY_MAP;
    return v instanceof CompactMap ? v : batch.map(v);
  }
  return batch.atom(v);
}

function isTemplate(j: unknown): j is Record<string, string> {
  return typeof j === 'object' && j !== null && !Array.isArray(j) && Object.values(j).every((v) => typeof v === 'string');
}

export class RowBuilder {
  private readonly strings = new StringInterner();
  private readonly templates = new WeakMap<MonitoredTable, Record<string, string>>();

  /** Sharing for one batch of updates; `held` finds the Uuid of a row the replica holds. */
  batch(held?: (value: string) => Uuid | undefined): Batch {
    return new Batch(this.strings, held);
  }

  /** The stored form of a row already checked against the schema (normalizeRow). */
  build(table: MonitoredTable, checked: Row, batch: Batch): Row {
    const row: Row = { ...this.template(table), _uuid: batch.shareUuid(checked._uuid) };
    const sets: Atom[][] = [];
    for (const col of Object.keys(row)) {
      if (col === '_uuid') continue;
      const v = checked[col];
      if (v !== undefined) {
        row[col] = storedValue(v, batch, sets);
        continue;
      }
      // Not in the update: the column holds its default.
      const c = table.schema.columns.get(col);
      if (c) row[col] = defaultValue(c.type);
    }
    for (const [col, v] of Object.entries(checked)) if (!(col in row)) row[col] = storedValue(v, batch, sets);
    return row;
  }

  /** An object with the table's columns in order, made by JSON.parse: V8 sizes it exactly. */
  private template(table: MonitoredTable): Record<string, string> {
    let t = this.templates.get(table);
    if (t === undefined) {
      const cols: Record<string, string> = { _uuid: '' };
      for (const c of table.columns) if (table.schema.columns.has(c)) cols[c] = '';
      const parsed: unknown = JSON.parse(JSON.stringify(cols));
      t = isTemplate(parsed) ? parsed : cols;
      this.templates.set(table, t);
    }
    return t;
  }
}
