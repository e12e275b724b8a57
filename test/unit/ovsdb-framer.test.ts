import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonFramer } from '../../src/ovsdb/framer';
import { OvsdbError } from '../../src/ovsdb/errors';
import { loadRecording } from '../fixtures/ovsdb/fixtures';

const MAX = 1024 * 1024;

function isCode(code: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof OvsdbError && e.code === code;
}

/** A deterministic PRNG (mulberry32), so a failing chunking can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function feed(framer: JsonFramer, chunks: Buffer[]): unknown[] {
  const out: unknown[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  return out;
}

for (const name of ['nb-session', 'echo-session']) {
  const rec = loadRecording(name);
  const expected = JSON.stringify(rec.values);

  test(`${name}: the whole recorded stream in one chunk gives every message`, () => {
    const values = new JsonFramer({ maxMessageBytes: MAX }).push(rec.bytes);
    assert.equal(values.length, rec.messages.length);
    assert.deepEqual(values, rec.values);
  });

  test(`${name}: every message split in two at every byte offset decodes the same`, () => {
    // Each message sits between two small neighbours, so every cut also tests the boundaries;
    // cutting the whole stream at each of its 35,000 offsets would re-parse both schemas each time.
    const before = Buffer.from('{"id":"a"} ');
    const after = Buffer.from('\n{"id":"b"}');
    const framer = new JsonFramer({ maxMessageBytes: MAX });
    rec.messages.forEach((msg, k) => {
      const want = JSON.stringify([{ id: 'a' }, rec.values[k], { id: 'b' }]);
      const whole = Buffer.concat([before, msg, after]);
      for (let i = 0; i <= whole.length; i++) {
        framer.reset();
        const got = feed(framer, [whole.subarray(0, i), whole.subarray(i)]);
        if (JSON.stringify(got) !== want) assert.fail(`message ${k} cut at byte ${i - before.length} decoded differently`);
        assert.equal(framer.bufferedBytes, 0);
      }
    });
  });

  test(`${name}: the whole stream split in two at sampled offsets decodes the same`, () => {
    const framer = new JsonFramer({ maxMessageBytes: MAX });
    for (let i = 0; i <= rec.bytes.length; i += 97) {
      framer.reset();
      assert.deepEqual(feed(framer, [rec.bytes.subarray(0, i), rec.bytes.subarray(i)]), rec.values);
    }
  });

  test(`${name}: random chunkings give the same messages`, () => {
    const rand = prng(7);
    for (let run = 0; run < 300; run++) {
      const maxChunk = run % 3 === 0 ? 8 : run % 3 === 1 ? 300 : 9000;
      const chunks: Buffer[] = [];
      for (let i = 0; i < rec.bytes.length; ) {
        const n = 1 + Math.floor(rand() * maxChunk);
        chunks.push(rec.bytes.subarray(i, i + n));
        i += n;
      }
      const got = feed(new JsonFramer({ maxMessageBytes: MAX }), chunks);
      if (JSON.stringify(got) !== expected) assert.fail(`run ${run} (chunks up to ${maxChunk} bytes) decoded differently`);
    }
  });

  test(`${name}: one byte at a time gives the same messages`, () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < rec.bytes.length; i++) chunks.push(rec.bytes.subarray(i, i + 1));
    assert.deepEqual(feed(new JsonFramer({ maxMessageBytes: MAX }), chunks), rec.values);
  });
}

test('a UTF-8 character split across chunks is decoded whole', () => {
  const bytes = Buffer.from('{"k":"ünï ✓ 🚀"}', 'utf8');
  const rocket = bytes.indexOf(Buffer.from('🚀', 'utf8'));
  for (const cut of [rocket + 1, rocket + 2, rocket + 3, bytes.indexOf(0xbc) /* inside ü */]) {
    const framer = new JsonFramer({ maxMessageBytes: 100 });
    assert.deepEqual(framer.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(framer.push(bytes.subarray(cut)), [{ k: 'ünï ✓ 🚀' }]);
  }
});

test('brackets and escaped quotes inside strings do not end a value', () => {
  const text = '{"a":"}{]\\"[","b":"\\\\","c":["x}",{"d":"\\\\\\""}]}{"next":1}';
  const framer = new JsonFramer({ maxMessageBytes: 1000 });
  const got: unknown[] = [];
  for (const ch of Buffer.from(text)) got.push(...framer.push(Buffer.from([ch])));
  assert.deepEqual(got, [{ a: '}{]"[', b: '\\', c: ['x}', { d: '\\"' }] }, { next: 1 }]);
});

test('whitespace between messages is skipped', () => {
  const framer = new JsonFramer({ maxMessageBytes: 100 });
  assert.deepEqual(framer.push(Buffer.from(' \r\n\t{"a":1}\n\n{"b":2}  ')), [{ a: 1 }, { b: 2 }]);
  assert.equal(framer.bufferedBytes, 0);
});

test('a truncated message is held until the rest arrives', () => {
  const framer = new JsonFramer({ maxMessageBytes: 100 });
  assert.deepEqual(framer.push(Buffer.from('{"id":1,"result":[1,')), []);
  assert.equal(framer.bufferedBytes, 20);
  assert.deepEqual(framer.push(Buffer.from('2]}{"id"')), [{ id: 1, result: [1, 2] }]);
  assert.equal(framer.bufferedBytes, 5);
});

test('garbage between messages is a protocol error, and stays one until reset', () => {
  const framer = new JsonFramer({ maxMessageBytes: 100 });
  assert.throws(() => framer.push(Buffer.from('{"id":1}x{"id":2}')), isCode('OVSDB_PROTOCOL'));
  assert.throws(() => framer.push(Buffer.from('{"id":3}')), isCode('OVSDB_PROTOCOL'));
  framer.reset();
  assert.deepEqual(framer.push(Buffer.from('{"id":3}')), [{ id: 3 }]);
});

test('input that is not a JSON-RPC object is a protocol error', () => {
  for (const bad of ['HTTP/1.1 400 Bad Request\r\n', '[1,2]', '"str"', '42', '\u0000', '{abc}', '{"a":1,}', '{"a":[1}}']) {
    const framer = new JsonFramer({ maxMessageBytes: 100 });
    assert.throws(() => framer.push(Buffer.from(bad)), isCode('OVSDB_PROTOCOL'), bad);
  }
});

test('a message over the limit fails, one at the limit passes', () => {
  const exact = Buffer.from(`{"a":"${'x'.repeat(100 - 8)}"}`);
  assert.equal(exact.length, 100);
  assert.deepEqual(new JsonFramer({ maxMessageBytes: 100 }).push(exact), [{ a: 'x'.repeat(92) }]);
  const over = Buffer.from(`{"a":"${'x'.repeat(93)}"}`);
  assert.throws(() => new JsonFramer({ maxMessageBytes: 100 }).push(over), isCode('OVSDB_FRAME_TOO_LARGE'));
  // The same, arriving a byte at a time.
  const framer = new JsonFramer({ maxMessageBytes: 100 });
  assert.throws(() => {
    for (const b of over) framer.push(Buffer.from([b]));
  }, isCode('OVSDB_FRAME_TOO_LARGE'));
});

test('a never-ending message fails once it passes the limit, without buffering more', () => {
  const framer = new JsonFramer({ maxMessageBytes: 4096 });
  framer.push(Buffer.from('{"a":"'));
  const chunk = Buffer.alloc(1000, 0x78);
  let pushed = 0;
  assert.throws(() => {
    for (;;) {
      framer.push(chunk);
      pushed++;
      assert.ok(framer.bufferedBytes <= 4096, `buffered ${framer.bufferedBytes} bytes`);
    }
  }, isCode('OVSDB_FRAME_TOO_LARGE'));
  assert.equal(pushed, 4);
  assert.equal(framer.bufferedBytes, 0);
});

test('a large message in many small chunks decodes', () => {
  const rows: Record<string, unknown> = {};
  for (let i = 0; i < 20000; i++) rows[`r${i}`] = { name: `port-${i}`, addresses: ['set', [`00:00:5e:00:53:${(i % 256).toString(16)}`]] };
  const text = Buffer.from(JSON.stringify({ id: null, method: 'update', params: ['m', rows] }));
  const framer = new JsonFramer({ maxMessageBytes: text.length });
  const got: unknown[] = [];
  for (let i = 0; i < text.length; i += 512) got.push(...framer.push(text.subarray(i, i + 512)));
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], { id: null, method: 'update', params: ['m', rows] });
});

test('the framer copies what it keeps, so a reused chunk buffer cannot corrupt it', () => {
  const framer = new JsonFramer({ maxMessageBytes: 100 });
  const chunk = Buffer.from('{"a":"bc');
  framer.push(chunk);
  chunk.fill(0x20);
  assert.deepEqual(framer.push(Buffer.from('d"}')), [{ a: 'bcd' }]);
});

test('maxMessageBytes is validated', () => {
  assert.throws(() => new JsonFramer({ maxMessageBytes: 0 }), RangeError);
  assert.throws(() => new JsonFramer({ maxMessageBytes: 1.5 }), RangeError);
});
