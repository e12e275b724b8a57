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

export class CompactMap implements Map<Atom, Atom> {
  // k0, v0, k1, v1, ... in insertion order, keys unique.
  readonly #flat: readonly Atom[];

  /** Pairs as [k0, v0, k1, v1, ...]; a repeated key keeps its first place and its last value, as Map.set does. */
  constructor(flat: readonly Atom[]) {
    let out: Atom[] | undefined;
    for (let i = 2; i < flat.length; i += 2) {
      for (let j = 0; j < i; j += 2) {
        if (same(flat[i], flat[j])) {
          out = dedupe(flat);
          break;
        }
      }
      if (out) break;
    }
    this.#flat = Object.freeze(out ?? flat);
  }

  get size(): number {
    return this.#flat.length >> 1;
  }

  get(key: Atom): Atom | undefined {
    const f = this.#flat;
    for (let i = 0; i < f.length; i += 2) if (same(f[i], key)) return f[i + 1];
    return undefined;
  }

  has(key: Atom): boolean {
    const f = this.#flat;
    for (let i = 0; i < f.length; i += 2) if (same(f[i], key)) return true;
    return false;
  }

  forEach(fn: (value: Atom, key: Atom, map: Map<Atom, Atom>) => void, thisArg?: unknown): void {
    const f = this.#flat;
    for (let i = 0; i < f.length; i += 2) fn.call(thisArg, f[i + 1] as Atom, f[i] as Atom, this);
  }

  *entries(): IterableIterator<[Atom, Atom]> {
    const f = this.#flat;
    for (let i = 0; i < f.length; i += 2) yield [f[i] as Atom, f[i + 1] as Atom];
  }

  *keys(): IterableIterator<Atom> {
    const f = this.#flat;
    for (let i = 0; i < f.length; i += 2) yield f[i] as Atom;
  }

  *values(): IterableIterator<Atom> {
    const f = this.#flat;
    for (let i = 1; i < f.length; i += 2) yield f[i] as Atom;
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

function dedupe(flat: readonly Atom[]): Atom[] {
  const m = new Map<Atom, Atom>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i] as Atom, flat[i + 1] as Atom);
  const out: Atom[] = [];
  for (const [k, v] of m) out.push(k, v);
  return out;
}
