// Typed reads of replica/select rows, used by the generated table converters. Each reader
// checks the value it returns (parse, don't assert), so a typed row is never a lie. A column
// the row lacks (an older server's schema, or a select that named other columns) reads as the
// type's default: '' / 0 / false / the zero UUID, an empty set, an empty map.

import { Atom, describe, Uuid, Value } from '../ovsdb/data';
import { OvsdbError } from '../ovsdb/errors';
import type { Row } from '../ovsdb/schema';

export type Guard<T extends Atom> = (a: Atom) => a is T;

export const ZERO_UUID = new Uuid('00000000-0000-0000-0000-000000000000');

export const isString = (a: Atom): a is string => typeof a === 'string';
export const isInteger = (a: Atom): a is number => typeof a === 'number' && Number.isInteger(a);
export const isReal = (a: Atom): a is number => typeof a === 'number';
export const isBoolean = (a: Atom): a is boolean => typeof a === 'boolean';
export const isUuid = (a: Atom): a is Uuid => a instanceof Uuid;

/** A guard for an enumerated type: `oneOf(['up', 'down'] as const)`. */
export function oneOf<T extends string | number>(values: readonly T[]): Guard<T> {
  const allowed: ReadonlySet<Atom> = new Set<Atom>(values);
  return (a: Atom): a is T => allowed.has(a);
}

function wrong(table: string, column: string, why: string): OvsdbError {
  return new OvsdbError('OVSDB_SCHEMA', `failed to read table "${table}" column "${column}": ${why}`);
}

function check<T extends Atom>(table: string, column: string, guard: Guard<T>, a: Atom): T {
  if (!guard(a)) throw wrong(table, column, `unexpected value ${describe(a)}`);
  return a;
}

/** A column with exactly one value (min 1, max 1). */
export function readScalar<T extends Atom>(row: Row, table: string, column: string, guard: Guard<T>, dflt: T): T {
  const v: Value | undefined = row[column];
  if (v === undefined) return dflt;
  if (v instanceof Map) throw wrong(table, column, 'expected an atom, got a map');
  if (Array.isArray(v)) {
    if (v.length !== 1) throw wrong(table, column, `expected one value, got ${v.length}`);
    return check(table, column, guard, v[0]);
  }
  return check(table, column, guard, v);
}

/** A set column, including optional values (min 0, max 1). */
export function readSet<T extends Atom>(row: Row, table: string, column: string, guard: Guard<T>): T[] {
  const v: Value | undefined = row[column];
  if (v === undefined) return [];
  if (v instanceof Map) {
    if (v.size === 0) return [];
    throw wrong(table, column, 'expected a set, got a map');
  }
  const atoms = Array.isArray(v) ? v : [v];
  return atoms.map((a) => check(table, column, guard, a));
}

/** A map column. */
export function readMap<K extends Atom, V extends Atom>(row: Row, table: string, column: string, keyGuard: Guard<K>, valueGuard: Guard<V>): Map<K, V> {
  const v: Value | undefined = row[column];
  const out = new Map<K, V>();
  if (v === undefined || (Array.isArray(v) && v.length === 0)) return out;
  if (!(v instanceof Map)) throw wrong(table, column, `expected a map, got ${describe(v)}`);
  for (const [k, val] of v) out.set(check(table, column, keyGuard, k), check(table, column, valueGuard, val));
  return out;
}
