// Turns monitor notifications into row changes: <table-updates> (RFC 7047 4.1.6, "update"),
// <table-updates2> (ovsdb-server(7), "update2" and "update3"), including update2's "modify"
// diffs and the columns update2 leaves out because they hold their default value.
// Parsing is separate from applying, so a malformed notification changes nothing.

import { Atom, decodeValue, describe, isUuidString, Uuid, Value } from './data';
import { Batch, defaultValue, MonitoredTable, RowBuilder } from './stored-row';
import { errorText, OvsdbError } from './errors';
import { ColumnType, normalizeRow, Row } from './schema';
import { isObject } from '../util/json';

export interface RowChange {
  table: string;
  uuid: string;
  old?: Row;
  new?: Row;
}

export type { MonitoredTable } from './stored-row';
export { EMPTY_MAP, EMPTY_SET } from './stored-row';

export type RowLookup = (table: string, uuid: string) => Row | undefined;

function isScalar(t: ColumnType): boolean {
  return t.value === undefined && t.min === 1 && t.max === 1;
}

/** A key that compares atoms by value (Uuid objects are distinct per decode). */
export function atomKey(a: Atom): string {
  if (a instanceof Uuid) return `u${a.value}`;
  if (typeof a === 'string') return `s${a}`;
  if (typeof a === 'number') return `n${a}`;
  if (typeof a === 'boolean') return `b${a}`;
  return `x${describe(a)}`;
}

function protocol(table: string, why: string): OvsdbError {
  return new OvsdbError('OVSDB_PROTOCOL', `failed to apply update to table "${table}": ${why}`);
}

function decodeColumns(table: MonitoredTable, name: string, uuid: string, j: unknown): Record<string, Value> {
  if (!isObject(j)) throw protocol(name, `row ${uuid} is not an object: ${describe(j)}`);
  const out: Record<string, Value> = {};
  for (const [col, wire] of Object.entries(j)) {
    if (!table.schema.columns.has(col)) throw new OvsdbError('OVSDB_SCHEMA', `failed to apply update to table "${name}": unknown column "${col}" in row ${uuid}`);
    try {
      out[col] = decodeValue(wire);
    } catch (cause) {
      throw new OvsdbError('OVSDB_PROTOCOL', `failed to apply update to table "${name}": column "${col}" of row ${uuid}: ${errorText(cause)}`, { cause });
    }
  }
  return out;
}

/** Validates against the schema, then makes the stored form. */
function finishRow(table: MonitoredTable, uuid: string, cols: Record<string, Value>, ctx: Context): Row {
  const checked = normalizeRow(table.schema, { ...cols, _uuid: ctx.batch.uuid(uuid) });
  return ctx.builder.build(table, checked, ctx.batch);
}

interface Context {
  builder: RowBuilder;
  batch: Batch;
}

function context(tables: ReadonlyMap<string, MonitoredTable>, current: RowLookup, builder: RowBuilder): Context {
  const held = (value: string): Uuid | undefined => {
    for (const name of tables.keys()) {
      const r = current(name, value);
      if (r) return r._uuid;
    }
    return undefined;
  };
  return { builder, batch: builder.batch(held) };
}

/** Fills the monitored columns that update2 leaves out because they hold their default. */
function withDefaults(table: MonitoredTable, cols: Record<string, Value>): Record<string, Value> {
  for (const col of table.columns) {
    if (!(col in cols)) {
      const c = table.schema.columns.get(col);
      if (c) cols[col] = defaultValue(c.type);
    }
  }
  return cols;
}

function asSet(v: Value): Atom[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Map) return [...v.keys()];
  return [v];
}

/** update2 "modify": sets toggle the diff's elements, maps add/remove/replace pairs. */
function applyDiff(type: ColumnType, old: Value | undefined, diff: Value, name: string, col: string): Value {
  if (isScalar(type)) return diff;
  // ovsdb-server diffs only maps and sets of more than one element; an optional column
  // (at most one value, e.g. Logical_Switch_Port.up) carries its new value as it is.
  if (type.value === undefined && type.max === 1) return asSet(diff);
  if (type.value !== undefined) {
    if (!(diff instanceof Map)) throw protocol(name, `column "${col}" diff is not a map: ${describe(diff)}`);
    const out = new Map<Atom, Atom>();
    const byKey = new Map<string, Atom>();
    if (old instanceof Map) {
      for (const [k, v] of old) {
        out.set(k, v);
        byKey.set(atomKey(k), k);
      }
    }
    for (const [k, v] of diff) {
      const existing = byKey.get(atomKey(k));
      if (existing === undefined) {
        out.set(k, v);
        byKey.set(atomKey(k), k);
      } else if (atomKey(out.get(existing) ?? '') === atomKey(v)) {
        out.delete(existing);
        byKey.delete(atomKey(k));
      } else {
        out.set(existing, v);
      }
    }
    return out;
  }
  const present = new Map<string, Atom>();
  if (old !== undefined) for (const a of asSet(old)) present.set(atomKey(a), a);
  for (const a of asSet(diff)) {
    const k = atomKey(a);
    if (present.has(k)) present.delete(k);
    else present.set(k, a);
  }
  return [...present.values()];
}

function forEachRowUpdate(
  tables: ReadonlyMap<string, MonitoredTable>,
  updates: unknown,
  fn: (name: string, table: MonitoredTable, uuid: string, ru: Record<string, unknown>) => void,
): void {
  if (!isObject(updates)) throw new OvsdbError('OVSDB_PROTOCOL', `failed to apply update: table-updates is not an object: ${describe(updates)}`);
  for (const [name, rows] of Object.entries(updates)) {
    const table = tables.get(name);
    if (!table) throw protocol(name, 'the table is not monitored');
    if (!isObject(rows)) throw protocol(name, `table-update is not an object: ${describe(rows)}`);
    for (const [uuid, ru] of Object.entries(rows)) {
      if (!isUuidString(uuid)) throw protocol(name, `row key ${describe(uuid)} is not a UUID`);
      if (!isObject(ru)) throw protocol(name, `row-update for ${uuid} is not an object: ${describe(ru)}`);
      fn(name, table, uuid, ru);
    }
  }
}

/** Row changes from an "update" (monitor) <table-updates>. */
export function parseUpdate(tables: ReadonlyMap<string, MonitoredTable>, updates: unknown, current: RowLookup, builder = new RowBuilder()): RowChange[] {
  const changes: RowChange[] = [];
  const ctx = context(tables, current, builder);
  forEachRowUpdate(tables, updates, (name, table, uuid, ru) => {
    const old = current(name, uuid);
    if (ru.new === undefined) {
      if (ru.old === undefined) return;
      if (old) changes.push({ table: name, uuid, old });
      return;
    }
    // A modify's "new" should hold every monitored column; merging over the old row also
    // copes with servers that send only the changed ones.
    const cols = decodeColumns(table, name, uuid, ru.new);
    const merged = old ? { ...old, ...cols } : withDefaults(table, cols);
    changes.push({ table: name, uuid, old, new: finishRow(table, uuid, merged, ctx) });
  });
  return changes;
}

/** Row changes from an "update2"/"update3" <table-updates2>. */
export function parseUpdate2(tables: ReadonlyMap<string, MonitoredTable>, updates: unknown, current: RowLookup, builder = new RowBuilder()): RowChange[] {
  const changes: RowChange[] = [];
  const ctx = context(tables, current, builder);
  forEachRowUpdate(tables, updates, (name, table, uuid, ru) => {
    const old = current(name, uuid);
    const kinds = Object.keys(ru);
    if (kinds.length !== 1) throw protocol(name, `row-update2 for ${uuid} must have one member, has ${describe(kinds)}`);
    const kind = kinds[0];
    if (kind === 'initial' || kind === 'insert') {
      const cols = withDefaults(table, decodeColumns(table, name, uuid, ru[kind]));
      changes.push({ table: name, uuid, old, new: finishRow(table, uuid, cols, ctx) });
    } else if (kind === 'modify') {
      if (!old) throw protocol(name, `modify of unknown row ${uuid}`);
      const diff = decodeColumns(table, name, uuid, ru.modify);
      const cols: Record<string, Value> = { ...old };
      for (const [col, d] of Object.entries(diff)) {
        const c = table.schema.columns.get(col);
        if (c) cols[col] = applyDiff(c.type, old[col], d, name, col);
      }
      changes.push({ table: name, uuid, old, new: finishRow(table, uuid, cols, ctx) });
    } else if (kind === 'delete') {
      if (old) changes.push({ table: name, uuid, old });
    } else {
      throw protocol(name, `unknown row-update2 member ${describe(kind)} for ${uuid}`);
    }
  });
  return changes;
}
