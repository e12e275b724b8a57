// One endpoint's requests never interleave; different endpoints run side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedMutex } from '../../src/driver/keyed-mutex';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

test('same key: in arrival order, one at a time, also after a failure', async () => {
  const m = new KeyedMutex();
  const log: string[] = [];
  const g = gate();
  const a = m.run('ep1', async () => {
    log.push('a start');
    await g.wait;
    log.push('a end');
    throw new Error('a failed');
  });
  const b = m.run('ep1', async () => {
    log.push('b');
    return 2;
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['a start']);
  g.open();
  await assert.rejects(a, /a failed/);
  assert.equal(await b, 2);
  assert.deepEqual(log, ['a start', 'a end', 'b']);
  assert.equal(m.activeKeys, 0);
});

test('different keys: the second runs while the first waits', async () => {
  const m = new KeyedMutex();
  const g = gate();
  let bRan = false;
  const a = m.run('ep1', async () => {
    await g.wait;
    return bRan;
  });
  await m.run('ep2', async () => {
    bRan = true;
  });
  g.open();
  assert.equal(await a, true);
});
