// The read-only map a replica row holds for a map column (external_ids, options, ...). A JS Map
// costs about 200 bytes even for one pair (its hash table starts with room for several); this
// keeps the pairs in one flat array, about 60 bytes for two pairs. Rows have a handful of
// pairs per map, so a linear scan is as fast as hashing.
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

// A symbol key: unlike `#flat` (a WeakMap entry per object at our ES2021 target) it is an
// in-object field, and like a real Map's contents it stays out of JSON.stringify and Object.keys.
const FLAT = Symbol('pairs');

export class CompactMap implements Map<Atom, Atom> {
  // k0, v0, k1, v1, ... in insertion order.
  private readonly [FLAT]: readonly Atom[];

  /** The pairs of `m` in its order, each atom passed through `atom` (e.g. to share strings). */
  constructor(m: ReadonlyMap<Atom, Atom>, atom: (a: Atom) => Atom = (a) => a) {
    // Sized up front: an array grown by push keeps room for more.
    const flat = new Array<Atom>(m.size * 2);
    let i = 0;
    for (const [k, v] of m) {
      flat[i++] = atom(k);
      flat[i++] = atom(v);
    }
    this[FLAT] = Object.freeze(flat);
  }

  get size(): number {
    return this[FLAT].length >> 1;
  }

  get(key: Atom): Atom | undefined {
    const f = this[FLAT];
    for (let i = 0; i < f.length; i += 2) if (same(f[i], key)) return f[i + 1];
    return undefined;
  }

  has(key: Atom): boolean {
    const f = this[FLAT];
    for (let i = 0; i < f.length; i += 2) if (same(f[i], key)) return true;
    return false;
  }

  forEach(fn: (value: Atom, key: Atom, map: Map<Atom, Atom>) => void, thisArg?: unknown): void {
    const f = this[FLAT];
    for (let i = 0; i < f.length; i += 2) fn.call(thisArg, f[i + 1], f[i], this);
  }

  *entries(): IterableIterator<[Atom, Atom]> {
    const f = this[FLAT];
    for (let i = 0; i < f.length; i += 2) yield [f[i], f[i + 1]];
  }

  *keys(): IterableIterator<Atom> {
    const f = this[FLAT];
    for (let i = 0; i < f.length; i += 2) yield f[i];
  }

  *values(): IterableIterator<Atom> {
    const f = this[FLAT];
    for (let i = 1; i < f.length; i += 2) yield f[i];
  }

  [Symbol.iterator](): IterableIterator<[Atom, Atom]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Map';
  }

  set(): this {
    return readOnly();
  }

  delete(): boolean {
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
