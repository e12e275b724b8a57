// The in-flight cap of the netlink handle: never more than `max` tasks running, all of them run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from '../../src/netlink/limiter';

test('the limiter runs every task, never more than max at once, and survives failures', async () => {
  const limiter = new Limiter(3);
  let active = 0;
  let peak = 0;
  const releases: Array<() => void> = [];
  // allSettled is attached at once, so task 4's rejection is handled while the others still run.
  const settled = Promise.allSettled(Array.from({ length: 10 }, (_, i) => limiter.run(async () => {
    active++;
    peak = Math.max(peak, active);
    await new Promise<void>((resolve) => releases.push(resolve));
    active--;
    if (i === 4) throw new Error('task 4 fails');
    return i;
  })));
  // Release the running tasks one at a time, letting the next ones start in between.
  for (let released = 0; released < 10; released++) {
    while (releases.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(active <= 3);
    const release = releases.shift();
    if (release) release();
  }
  const results = await settled;
  assert.equal(peak, 3);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected',
    'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
});
