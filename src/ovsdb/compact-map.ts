// The read-only map a replica row holds for a map column (external_ids, options, ...). A JS Map
// costs about 200 bytes even for one pair (its hash table starts with room for several); this
// holds the first four pairs in its own fields (96 bytes in all) and any further ones in an
// array. Rows have a handful of pairs per map, so a linear scan is as fast as hashing.
//
// It passes `instanceof Map` (its prototype chain includes Map.prototype) and offers every
// reading method of Map with the same results and order, so readers cannot tell the
// difference; the writing methods throw, as rows are immutable snapshots.

import { inspect } from 'node:util';
import type { Atom } from './data';

function readOnly(): never {
  throw new TypeError('replica rows are read-only');
}

// SameValueZero, the key equality of Map.
function same(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}

// Symbol keys: in-object fields (unlike `#private` fields, a WeakMap entry per object at our
// ES2021 target) that, like a real Map's contents, stay out of JSON.stringify and Object.keys.
const K0 = Symbol('k0');
const V0 = Symbol('v0');
const K1 = Symbol('k1');
const V1 = Symbol('v1');
const K2 = Symbol('k2');
const V2 = Symbol('v2');
const K3 = Symbol('k3');
const V3 = Symbol('v3');
const MORE = Symbol('more');

export class CompactMap implements Map<Atom, Atom> {
  // Pairs in insertion order; an absent pair is undefined (an atom never is).
  private readonly [K0]: Atom | undefined;
  private readonly [V0]: Atom | undefined;
  private readonly [K1]: Atom | undefined;
  private readonly [V1]: Atom | undefined;
  private readonly [K2]: Atom | undefined;
  private readonly [V2]: Atom | undefined;
  private readonly [K3]: Atom | undefined;
  private readonly [V3]: Atom | undefined;
  // Pairs 5 and on, as k, v, k, v, ...
  private readonly [MORE]: readonly Atom[] | undefined;

  /** The pairs of `m` in its order, each atom passed through `atom` (e.g. to share strings). */
  constructor(m: ReadonlyMap<Atom, Atom>, atom: (a: Atom) => Atom = (a) => a) {
    const flat: Atom[] = [];
    for (const [k, v] of m) flat.push(atom(k), atom(v));
    this[K0] = flat[0];
    this[V0] = flat[1];
    this[K1] = flat[2];
    this[V1] = flat[3];
    this[K2] = flat[4];
    this[V2] = flat[5];
    this[K3] = flat[6];
    this[V3] = flat[7];
    this[MORE] = flat.length > 8 ? Object.freeze(flat.slice(8)) : undefined;
  }

  /** Atom i of k0, v0, k1, v1, ...; undefined past the end. */
  private at(i: number): Atom | undefined {
    switch (i) {
      case 0:
        return this[K0];
      case 1:
        return this[V0];
      case 2:
        return this[K1];
      case 3:
        return this[V1];
      case 4:
        return this[K2];
      case 5:
        return this[V2];
      case 6:
        return this[K3];
      case 7:
        return this[V3];
      default:
        return this[MORE]?.[i - 8];
    }
  }

  get size(): number {
    if (this[K3] === undefined) return this[K0] === undefined ? 0 : this[K1] === undefined ? 1 : this[K2] === undefined ? 2 : 3;
    return 4 + ((this[MORE]?.length ?? 0) >> 1);
  }

  /** Index of the key's atom, or -1. */
  private find(key: Atom): number {
    for (let i = 0; ; i += 2) {
      const k = this.at(i);
      if (k === undefined) return -1;
      if (same(k, key)) return i;
    }
  }

  get(key: Atom): Atom | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.at(i + 1);
  }

  has(key: Atom): boolean {
    return this.find(key) >= 0;
  }

  forEach(fn: (value: Atom, key: Atom, map: Map<Atom, Atom>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  *entries(): IterableIterator<[Atom, Atom]> {
    for (let i = 0; ; i += 2) {
      const k = this.at(i);
      const v = this.at(i + 1);
      if (k === undefined || v === undefined) return;
      yield [k, v];
    }
  }

  *keys(): IterableIterator<Atom> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<Atom> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[Atom, Atom]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Map';
  }

  set(_key: Atom, _value: Atom): this {
    return readOnly();
  }

  delete(_key: Atom): boolean {
    return readOnly();
  }

  clear(): void {
    readOnly();
  }

  // Logs and test failures show it as the Map it stands for.
  [inspect.custom](_depth: number, opts: object): string {
    return inspect(new Map(this), opts);
  }
}
Object.setPrototypeOf(CompactMap.prototype, Map.prototype);
