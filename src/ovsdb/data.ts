// RFC 7047 section 5.1: the JSON notation of atoms, sets, maps, uuids and named-uuids.
//
// JS values used throughout the client:
//   string | number | boolean      an atom of type string, integer/real, boolean
//   Uuid                           a <uuid> atom                  ["uuid", "..."]
//   NamedUuid                      a <named-uuid> atom            ["named-uuid", "..."]
//   OvsSet (a JS array)            a <set>                        ["set", [...]]
//   OvsMap (a JS Map)              a <map>                        ["map", [[k, v], ...]]
// Encoding needs no schema: the JS type says which notation to use. Decoding needs none
// either; the schema layer (schema.ts) then normalises a column's value (a bare atom in a
// set-typed column becomes a one-element array, and so on).

import { isObject, shortJson } from '../util/json';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// RFC 7047: <id> is a string of letters, digits and underscores, not starting with a digit.
const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class Uuid {
  constructor(readonly value: string) {
    if (!UUID_RE.test(value)) throw new TypeError(`not a UUID: ${JSON.stringify(value)}`);
  }
  toString(): string {
    return this.value;
  }
  toJSON(): WireUuid {
    return ['uuid', this.value];
  }
  equals(other: unknown): boolean {
    return other instanceof Uuid && other.value === this.value;
  }
}

export class NamedUuid {
  constructor(readonly name: string) {
    if (!ID_RE.test(name)) throw new TypeError(`not a valid uuid-name: ${JSON.stringify(name)}`);
  }
  toJSON(): WireNamedUuid {
    return ['named-uuid', this.name];
  }
}

export type Atom = string | number | boolean | Uuid | NamedUuid;
export type OvsSet<T extends Atom = Atom> = T[];
export type OvsMap<K extends Atom = Atom, V extends Atom = Atom> = Map<K, V>;
export type Value = Atom | OvsSet | OvsMap;

export type WireUuid = ['uuid', string];
export type WireNamedUuid = ['named-uuid', string];
export type WireAtom = string | number | boolean | WireUuid | WireNamedUuid;
export type WireSet = ['set', WireAtom[]];
export type WireMap = ['map', [WireAtom, WireAtom][]];
export type WireValue = WireAtom | WireSet | WireMap;
export type WireRow = Record<string, WireValue>;

export function isUuidString(s: string): boolean {
  return UUID_RE.test(s);
}

export function isId(s: string): boolean {
  return ID_RE.test(s);
}

export function uuid(value: string): Uuid {
  return new Uuid(value);
}

export function namedUuid(name: string): NamedUuid {
  return new NamedUuid(name);
}

export function encodeAtom(a: Atom): WireAtom {
  if (a instanceof Uuid) return ['uuid', a.value];
  if (a instanceof NamedUuid) return ['named-uuid', a.name];
  if (typeof a === 'number' && !Number.isFinite(a)) throw new TypeError(`cannot encode ${a} as an OVSDB number`);
  if (typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean') return a;
  throw new TypeError(`cannot encode ${describe(a)} as an OVSDB atom`);
}

export function encodeValue(v: Value): WireValue {
  if (Array.isArray(v)) return ['set', v.map(encodeAtom)];
  if (v instanceof Map) {
    const pairs: [WireAtom, WireAtom][] = [];
    for (const [k, val] of v) pairs.push([encodeAtom(k), encodeAtom(val)]);
    return ['map', pairs];
  }
  return encodeAtom(v);
}

export function encodeRow(row: Record<string, Value>): WireRow {
  const out: WireRow = {};
  for (const [k, v] of Object.entries(row)) out[k] = encodeValue(v);
  return out;
}

/** Decodes a wire atom; throws a TypeError on anything RFC 7047 does not allow. */
export function decodeAtom(j: unknown): Atom {
  if (typeof j === 'string' || typeof j === 'boolean') return j;
  if (typeof j === 'number') {
    if (!Number.isFinite(j)) throw new TypeError(`invalid OVSDB number ${j}`);
    return j;
  }
  if (Array.isArray(j) && j.length === 2 && typeof j[1] === 'string') {
    if (j[0] === 'uuid') return new Uuid(j[1]);
    if (j[0] === 'named-uuid') return new NamedUuid(j[1]);
  }
  throw new TypeError(`invalid OVSDB atom ${describe(j)}`);
}

export function decodeValue(j: unknown): Value {
  if (Array.isArray(j) && j.length === 2) {
    if (j[0] === 'set') {
      if (!Array.isArray(j[1])) throw new TypeError(`invalid OVSDB set ${describe(j)}`);
      return j[1].map(decodeAtom);
    }
    if (j[0] === 'map') {
      if (!Array.isArray(j[1])) throw new TypeError(`invalid OVSDB map ${describe(j)}`);
      const m = new Map<Atom, Atom>();
      for (const pair of j[1]) {
        if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`invalid OVSDB map pair ${describe(pair)}`);
        m.set(decodeAtom(pair[0]), decodeAtom(pair[1]));
      }
      return m;
    }
  }
  return decodeAtom(j);
}

export function decodeRow(j: unknown): Record<string, Value> {
  if (!isObject(j)) throw new TypeError(`invalid OVSDB row ${describe(j)}`);
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(j)) out[k] = decodeValue(v);
  return out;
}

/** A short, bounded rendering of an unexpected value for error messages. */
export function describe(v: unknown): string {
  return shortJson(v, 120);
}
