// RFC 7047 section 3.2: database schemas, as get_schema returns them and the .ovsschema files
// hold them, and the normalisation of decoded rows against a table's column types.

import { Atom, decodeValue, describe, NamedUuid, Uuid, Value } from './data';
import { errorText, OvsdbError } from './errors';
import { isObject } from '../util/json';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

export interface BaseType {
  type: AtomicType;
  /** The allowed values, when the schema restricts the atom to an enumeration. */
  enum?: Atom[];
  minInteger?: number;
  maxInteger?: number;
  minReal?: number;
  maxReal?: number;
  minLength?: number;
  maxLength?: number;
  refTable?: string;
  refType?: 'strong' | 'weak';
}

export interface ColumnType {
  key: BaseType;
  /** Present for a map column. */
  value?: BaseType;
  min: number;
  max: number | 'unlimited';
}

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  ephemeral: boolean;
  mutable: boolean;
}

export interface TableSchema {
  name: string;
  columns: ReadonlyMap<string, ColumnSchema>;
  isRoot: boolean;
  maxRows?: number;
  /** Each index is a set of column names whose values are unique together. */
  indexes: string[][];
}

export interface DatabaseSchema {
  name: string;
  version: string;
  cksum?: string;
  tables: ReadonlyMap<string, TableSchema>;
}

/** A row as the client hands it out: every column normalised to its schema form. */
export type Row = { _uuid: Uuid; [column: string]: Value };

/** How a column's values look in a Row. */
export type ColumnKind = 'scalar' | 'set' | 'map';

export function columnKind(t: ColumnType): ColumnKind {
  if (t.value !== undefined) return 'map';
  return t.min === 1 && t.max === 1 ? 'scalar' : 'set';
}

const ATOMIC_TYPES: readonly string[] = ['integer', 'real', 'boolean', 'string', 'uuid'];
const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Obj = Record<string, unknown>;

function isAtomicType(s: unknown): s is AtomicType {
  return typeof s === 'string' && ATOMIC_TYPES.includes(s);
}

class SchemaParseError extends Error {}

function fail(why: string): never {
  throw new SchemaParseError(why);
}

function optNumber(o: Obj, key: string, integer: boolean): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) fail(`"${key}" must be ${integer ? 'an integer' : 'a number'}, got ${describe(v)}`);
  return v;
}

function optBoolean(o: Obj, key: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail(`"${key}" must be a boolean, got ${describe(v)}`);
  return v;
}

function atomFits(type: AtomicType, a: Atom): boolean {
  switch (type) {
    case 'integer':
      return typeof a === 'number' && Number.isInteger(a);
    case 'real':
      return typeof a === 'number';
    case 'boolean':
      return typeof a === 'boolean';
    case 'string':
      return typeof a === 'string';
    case 'uuid':
      return a instanceof Uuid || a instanceof NamedUuid;
  }
}

function compareAtoms(a: Atom, b: Atom): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function parseBaseType(j: unknown): BaseType {
  if (isAtomicType(j)) return { type: j };
  if (!isObject(j)) fail(`a base type must be an atomic type name or an object, got ${describe(j)}`);
  if (!isAtomicType(j.type)) fail(`unknown atomic type ${describe(j.type)}`);
  const b: BaseType = { type: j.type };
  if (j.enum !== undefined) {
    let v: Value;
    try {
      v = decodeValue(j.enum);
    } catch (e) {
      fail(`invalid enum: ${errorText(e)}`);
    }
    if (v instanceof Map) fail(`an enum must be a set, got a map`);
    const atoms = Array.isArray(v) ? v : [v];
    for (const a of atoms) if (!atomFits(b.type, a)) fail(`enum value ${describe(a)} is not of type ${b.type}`);
    // A set has no order; sorted, the schema compares equal however the server listed it.
    b.enum = [...atoms].sort(compareAtoms);
  }
  const bounds: [keyof BaseType, boolean][] = [
    ['minInteger', true], ['maxInteger', true], ['minReal', false], ['maxReal', false], ['minLength', true], ['maxLength', true],
  ];
  for (const [k, integer] of bounds) {
    const v = optNumber(j, k, integer);
    if (v !== undefined) Object.assign(b, { [k]: v });
  }
  if (j.refTable !== undefined) {
    if (b.type !== 'uuid' || typeof j.refTable !== 'string') fail(`refTable must be a table name on a uuid type, got ${describe(j.refTable)}`);
    b.refTable = j.refTable;
    const rt = j.refType ?? 'strong';
    if (rt !== 'strong' && rt !== 'weak') fail(`refType must be "strong" or "weak", got ${describe(rt)}`);
    b.refType = rt;
  }
  return b;
}

function parseColumnType(j: unknown): ColumnType {
  if (isAtomicType(j)) return { key: { type: j }, min: 1, max: 1 };
  if (!isObject(j)) fail(`a column type must be an atomic type name or an object, got ${describe(j)}`);
  const t: ColumnType = { key: parseBaseType(j.key), min: 1, max: 1 };
  if (j.value !== undefined) t.value = parseBaseType(j.value);
  if (j.min !== undefined) {
    if (j.min !== 0 && j.min !== 1) fail(`"min" must be 0 or 1, got ${describe(j.min)}`);
    t.min = j.min;
  }
  if (j.max !== undefined) {
    if (j.max !== 'unlimited' && !(typeof j.max === 'number' && Number.isInteger(j.max) && j.max >= 1)) {
      fail(`"max" must be a positive integer or "unlimited", got ${describe(j.max)}`);
    }
    t.max = j.max;
  }
  if (t.max !== 'unlimited' && t.max < t.min) fail(`"max" ${t.max} is less than "min" ${t.min}`);
  return t;
}

function parseTable(name: string, j: unknown): TableSchema {
  if (!isObject(j)) fail(`must be an object, got ${describe(j)}`);
  if (!isObject(j.columns)) fail(`"columns" must be an object`);
  const columns = new Map<string, ColumnSchema>();
  for (const [col, cj] of Object.entries(j.columns)) {
    try {
      if (!ID_RE.test(col) || col.startsWith('_')) fail(`invalid column name`);
      if (!isObject(cj)) fail(`must be an object, got ${describe(cj)}`);
      columns.set(col, { name: col, type: parseColumnType(cj.type), ephemeral: optBoolean(cj, 'ephemeral', false), mutable: optBoolean(cj, 'mutable', true) });
    } catch (e) {
      fail(`column "${col}": ${errorText(e)}`);
    }
  }
  const indexes: string[][] = [];
  if (j.indexes !== undefined) {
    if (!Array.isArray(j.indexes)) fail(`"indexes" must be an array`);
    for (const ix of j.indexes) {
      if (!Array.isArray(ix) || ix.length === 0) fail(`an index must be a non-empty array of columns, got ${describe(ix)}`);
      const cols: string[] = [];
      for (const c of ix) {
        if (typeof c !== 'string' || (!columns.has(c) && c !== '_uuid')) fail(`index names unknown column ${describe(c)}`);
        cols.push(c);
      }
      indexes.push(cols);
    }
  }
  const t: TableSchema = { name, columns, isRoot: optBoolean(j, 'isRoot', false), indexes };
  const maxRows = optNumber(j, 'maxRows', true);
  if (maxRows !== undefined) t.maxRows = maxRows;
  return t;
}

/** Parses a <database-schema>; throws OvsdbError OVSDB_SCHEMA saying what is wrong and where. */
export function parseDatabaseSchema(json: unknown): DatabaseSchema {
  const name = isObject(json) && typeof json.name === 'string' ? json.name : '?';
  try {
    if (!isObject(json)) fail(`a schema must be an object, got ${describe(json)}`);
    if (typeof json.name !== 'string' || !ID_RE.test(json.name)) fail(`"name" must be an identifier, got ${describe(json.name)}`);
    if (typeof json.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(json.version)) fail(`"version" must be "x.y.z", got ${describe(json.version)}`);
    if (json.cksum !== undefined && typeof json.cksum !== 'string') fail(`"cksum" must be a string`);
    if (!isObject(json.tables)) fail(`"tables" must be an object`);
    const tables = new Map<string, TableSchema>();
    for (const [tn, tj] of Object.entries(json.tables)) {
      if (!ID_RE.test(tn) || tn.startsWith('_')) fail(`invalid table name ${describe(tn)}`);
      try {
        tables.set(tn, parseTable(tn, tj));
      } catch (e) {
        fail(`table "${tn}": ${errorText(e)}`);
      }
    }
    for (const t of tables.values()) {
      for (const c of t.columns.values()) {
        for (const b of [c.type.key, c.type.value]) {
          if (b?.refTable !== undefined && !tables.has(b.refTable)) fail(`table "${t.name}" column "${c.name}": refTable "${b.refTable}" does not exist`);
        }
      }
    }
    // ovsdb-server: schemas from before "isRoot" existed have no root set; every table is a root.
    if (![...tables.values()].some((t) => t.isRoot)) for (const t of tables.values()) t.isRoot = true;
    const schema: DatabaseSchema = { name: json.name, version: json.version, tables };
    if (json.cksum !== undefined) schema.cksum = json.cksum;
    return schema;
  } catch (e) {
    if (!(e instanceof SchemaParseError)) throw e;
    throw new OvsdbError('OVSDB_SCHEMA', `failed to parse schema "${name}": ${e.message}`, { cause: e });
  }
}

/** True if the server's schema has the table and column: older OVN releases lack some. */
export function hasColumn(schema: DatabaseSchema, table: string, column: string): boolean {
  return schema.tables.get(table)?.columns.has(column) ?? false;
}

function checkAtom(table: TableSchema, col: string, b: BaseType, a: Atom): Atom {
  if (!atomFits(b.type, a)) {
    throw new OvsdbError('OVSDB_SCHEMA', `failed to read table "${table.name}" column "${col}": ${describe(a)} is not of type ${b.type}`);
  }
  return a;
}

function normalizeValue(table: TableSchema, col: string, t: ColumnType, v: Value): Value {
  const kind = columnKind(t);
  const bad = (why: string): OvsdbError => new OvsdbError('OVSDB_SCHEMA', `failed to read table "${table.name}" column "${col}": ${why}`);
  if (kind === 'map') {
    const vt = t.value;
    // An empty map may come as an empty set: both are "no elements".
    if (Array.isArray(v) && v.length === 0) v = new Map();
    if (!(v instanceof Map) || vt === undefined) throw bad(`expected a map, got ${describe(v)}`);
    for (const [k, val] of v) {
      checkAtom(table, col, t.key, k);
      checkAtom(table, col, vt, val);
    }
    checkSize(t, v.size, bad);
    return v;
  }
  if (v instanceof Map) throw bad(`expected ${kind === 'set' ? 'a set' : `a ${t.key.type}`}, got a map`);
  if (kind === 'scalar') {
    // The RFC lets a one-element set stand for its atom, and the other way round.
    const a = Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
    if (a === undefined) throw bad(`expected one ${t.key.type}, got ${describe(v)}`);
    return checkAtom(table, col, t.key, a);
  }
  const set = Array.isArray(v) ? v : [v];
  for (const a of set) checkAtom(table, col, t.key, a);
  checkSize(t, set.length, bad);
  return set;
}

function checkSize(t: ColumnType, n: number, bad: (why: string) => OvsdbError): void {
  if (n < t.min || (t.max !== 'unlimited' && n > t.max)) {
    throw bad(`has ${n} elements, the schema allows ${t.min} to ${t.max}`);
  }
}

/**
 * Checks a decoded row against the table's column types and returns it in Row form: a set
 * column is always an array, a map column always a Map, a scalar column a bare atom. Columns
 * the row lacks stay absent; a column the table lacks, or a wrong type, throws OVSDB_SCHEMA.
 */
export function normalizeRow(table: TableSchema, row: Record<string, Value>): Row {
  const id = row._uuid;
  if (!(id instanceof Uuid)) throw new OvsdbError('OVSDB_SCHEMA', `failed to read a row of table "${table.name}": "_uuid" is ${describe(id)}, not a UUID`);
  const out: Row = { _uuid: id };
  for (const [col, v] of Object.entries(row)) {
    if (col === '_uuid') continue;
    if (col === '_version') {
      if (!(v instanceof Uuid)) throw new OvsdbError('OVSDB_SCHEMA', `failed to read table "${table.name}" column "_version": ${describe(v)} is not a UUID`);
      out[col] = v;
      continue;
    }
    const c = table.columns.get(col);
    if (!c) throw new OvsdbError('OVSDB_SCHEMA', `failed to read table "${table.name}": it has no column "${col}" in this schema`);
    out[col] = normalizeValue(table, col, c.type, v);
  }
  return out;
}
