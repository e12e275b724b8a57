// waitFor's timeout is measured by the injected clock: Node's timers can fire a fraction of a
// millisecond early by performance.now(), and the driver reports the wait it measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timers } from '../../src/ovsdb/backoff';
import { Replica } from '../../src/ovsdb/replica';

/** Timers that fire `early` ms before their time, as libuv's cached loop time can make them. */
class EarlyTimers implements Timers {
  t = 0;
  private queue: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  constructor(private readonly early: number) {}
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.queue.push({ at: this.t + ms - this.early, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.queue = this.queue.filter((q) => q.id !== h);
  }
  /** Moves the clock to the next timer's time and fires it; false when none is left. */
  step(): boolean {
    const next = [...this.queue].sort((a, b) => a.at - b.at)[0];
    if (!next) return false;
    this.queue = this.queue.filter((q) => q !== next);
    this.t = Math.max(this.t, next.at);
    next.fn();
    return true;
  }
}

test('waitFor resolves undefined only once the full timeout has passed on the injected clock', async () => {
  const timers = new EarlyTimers(0.6);
  const r = new Replica({ timers });
  let resolvedAt: number | undefined;
  const waiting = r.waitFor(() => undefined, 200).then((v) => {
    resolvedAt = timers.now();
    return v;
  });
  while (resolvedAt === undefined && timers.step()) await Promise.resolve();
  assert.equal(await waiting, undefined);
  assert.ok(resolvedAt !== undefined && resolvedAt >= 200, `resolved at ${String(resolvedAt)} ms`);
});

test('50 concurrent waits print no MaxListenersExceededWarning and all resolve after one update', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    const r = new Replica();
    let ready = false;
    const waits = Array.from({ length: 50 }, (_, i) => r.waitFor(() => (ready ? i : undefined), 10000));
    assert.equal(r.waitCount, 50);
    ready = true;
    r.clear(); // an applied batch, with no rows: every wait checks again
    assert.deepEqual(await Promise.all(waits), Array.from({ length: 50 }, (_, i) => i));
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), []);
    assert.equal(r.waitCount, 0);
    assert.equal(r.listenerCount('updated'), 0);
  } finally {
    process.removeListener('warning', onWarning);
  }
});

test('a wait that times out leaves no listener and no pending check behind', async () => {
  const timers = new EarlyTimers(0);
  const r = new Replica({ timers });
  const waits = [r.waitFor(() => undefined, 100), r.waitFor(() => undefined, 300)];
  assert.equal(r.waitCount, 2);
  while (timers.step()) await Promise.resolve();
  assert.deepEqual(await Promise.all(waits), [undefined, undefined]);
  assert.equal(r.waitCount, 0);
  assert.equal(r.listenerCount('updated'), 0);
  // Updates after the timeout reach no probe.
  r.clear();
});
