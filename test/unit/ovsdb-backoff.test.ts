import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src/ovsdb/backoff';

function seq(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

test('delays stay within [min, max] whatever the random source says', () => {
  for (const r of [0, 0.5, 0.999999, 1]) {
    const b = new Backoff({ minMs: 1000, maxMs: 8000, random: () => r });
    for (let i = 0; i < 50; i++) {
      const d = b.next();
      assert.ok(d >= 1000 && d <= 8000, `delay ${d} with random ${r}`);
    }
  }
});

test('the first delay is the minimum and later ones grow up to the cap', () => {
  const b = new Backoff({ minMs: 1000, maxMs: 8000, random: () => 1 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [1000, 3000, 8000, 8000, 8000]);
});

test('jitter spreads delays: different random draws give different delays', () => {
  const a = new Backoff({ minMs: 1000, maxMs: 8000, random: seq([0.1]) });
  const b = new Backoff({ minMs: 1000, maxMs: 8000, random: seq([0.9]) });
  a.next();
  b.next();
  assert.notEqual(a.next(), b.next());
});

test('reset returns to the minimum delay', () => {
  const b = new Backoff({ minMs: 500, maxMs: 4000, random: () => 1 });
  b.next();
  b.next();
  assert.equal(b.next(), 4000);
  b.reset();
  assert.equal(b.next(), 500);
});

test('bad bounds are refused when the object is built', () => {
  assert.throws(() => new Backoff({ minMs: 10, maxMs: 5 }), RangeError);
  assert.throws(() => new Backoff({ minMs: -1, maxMs: 5 }), RangeError);
  assert.throws(() => new Backoff({ minMs: Number.NaN, maxMs: 5 }), RangeError);
});
