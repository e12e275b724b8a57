import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { TimerHandle, Timers } from '../../src/ovsdb/backoff';
import { OvsdbError } from '../../src/ovsdb/errors';
import { JsonFramer } from '../../src/ovsdb/framer';
import { RpcSession } from '../../src/ovsdb/jsonrpc';
import { loadRecording, replyTo } from '../fixtures/ovsdb/fixtures';

/** The client end of an in-memory connection, and the server's view of it. */
function connection() {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const client = Duplex.from({ readable: toClient, writable: toServer });
  const framer = new JsonFramer({ maxMessageBytes: 1 << 20 });
  const received: unknown[] = [];
  const waiters: (() => void)[] = [];
  toServer.on('data', (c: Buffer) => {
    received.push(...framer.push(c));
    for (const w of waiters.splice(0)) w();
  });
  /** Resolves once the server has received n messages in all. */
  const receivedCount = (n: number): Promise<unknown[]> =>
    new Promise((resolve) => {
      const check = (): void => (received.length >= n ? resolve(received.slice()) : void waiters.push(check));
      check();
    });
  const send = (text: string | Buffer): void => void toClient.write(text);
  return { client, toServer, toClient, received, receivedCount, send };
}

/** Timers that fire only when the test says so. */
class ManualTimers implements Timers {
  private seq = 0;
  readonly pending = new Map<number, () => void>();
  setTimeout(fn: () => void): TimerHandle {
    this.seq++;
    this.pending.set(this.seq, fn);
    return this.seq;
  }
  clearTimeout(h: TimerHandle): void {
    if (typeof h === 'number') this.pending.delete(h);
  }
  now(): number {
    return 0;
  }
  fireAll(): void {
    const fns = [...this.pending.values()];
    this.pending.clear();
    for (const f of fns) f();
  }
}

function code(c: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof OvsdbError, `expected an OvsdbError, got ${String(e)}`);
    assert.equal(e.code, c, e.message);
    return true;
  };
}

function closeEvent(s: RpcSession): Promise<OvsdbError | undefined> {
  return new Promise((resolve) => s.once('close', resolve));
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('replies are matched to requests by id, in any order', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  const a = s.request('list_dbs', []);
  const b = s.request('echo', ['x']);
  const [m1, m2] = await c.receivedCount(2);
  assert.deepEqual(m1, { method: 'list_dbs', params: [], id: 1 });
  assert.deepEqual(m2, { method: 'echo', params: ['x'], id: 2 });
  c.send('{"id":2,"result":["x"],"error":null}{"id":1,"result":["OVN_Northbound"],"error":null}');
  assert.deepEqual(await a, ['OVN_Northbound']);
  assert.deepEqual(await b, ['x']);
  assert.equal(s.pendingCount, 0);
  s.close();
});

test('a JSON-RPC error reply rejects with OVSDB_RPC_ERROR carrying the RFC error and details', async () => {
  const rec = loadRecording('nb-session');
  const c = connection();
  const s = new RpcSession(c.client, { name: 'unix:/x' });
  const ids = [s.send('x', []), s.send('x', []), s.send('x', []), s.send('get_schema', ['No_Such_Db'])];
  assert.deepEqual(ids.map((r) => r.id), [1, 2, 3, 4]);
  c.send(JSON.stringify(replyTo(rec, 4)));
  await assert.rejects(ids[3].reply, (e: unknown) => {
    code('OVSDB_RPC_ERROR')(e);
    assert.ok(e instanceof OvsdbError);
    assert.equal(e.rfcError, 'unknown database');
    assert.match(e.details ?? '', /No_Such_Db/);
    assert.match(e.message, /^failed to get_schema on unix:\/x: unknown database/);
    return true;
  });
  c.send('{"id":1,"result":null,"error":"some error"}');
  await assert.rejects(ids[0].reply, (e: unknown) => e instanceof OvsdbError && e.rfcError === 'some error');
  s.close();
  await assert.rejects(ids[1].reply, code('OVSDB_CLOSED'));
  await assert.rejects(ids[2].reply, code('OVSDB_CLOSED'));
});

test("the server's echo request (recorded) is answered with its own id and params", async () => {
  const rec = loadRecording('echo-session');
  const c = connection();
  const s = new RpcSession(c.client);
  const echo = rec.messages[1];
  assert.match(echo.toString(), /"method":"echo"/);
  c.send(echo);
  c.send('{"id":7,"method":"echo","params":["a",1]}');
  c.send('{"id":8,"method":"steal","params":[]}');
  const got = await c.receivedCount(3);
  assert.deepEqual(got, [
    { result: [], error: null, id: 'echo' },
    { result: ['a', 1], error: null, id: 7 },
    { result: null, error: 'unknown method', id: 8 },
  ]);
  assert.equal(s.closed, false);
  s.close();
});

test('notifications are emitted with their method and params', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  const got: [string, unknown[]][] = [];
  s.on('notification', (method, params) => got.push([method, params]));
  c.send('{"id":null,"method":"update2","params":["m2",{}]}{"id":null,"method":"locked","params":["l"]}');
  await tick();
  assert.deepEqual(got, [['update2', ['m2', {}]], ['locked', ['l']]]);
  s.notify('cancel', [3]);
  assert.deepEqual(await c.receivedCount(1), [{ method: 'cancel', params: [3], id: null }]);
  s.close();
});

test('the recorded session replays: every reply reaches its request, every notification is emitted', async () => {
  const rec = loadRecording('nb-session');
  const c = connection();
  const s = new RpcSession(c.client);
  const notifications: string[] = [];
  s.on('notification', (method: string) => notifications.push(method));
  const replies = rec.requests.map((r) => s.request(r.method, r.params).then((v) => ({ ok: v }), (e: unknown) => ({ err: e })));
  // The server's bytes in uneven chunks.
  for (let i = 0, n = 1; i < rec.bytes.length; i += n, n = (n * 7 + 3) % 4099) c.send(rec.bytes.subarray(i, i + n));
  const results = await Promise.all(replies);
  rec.requests.forEach((r, i) => {
    const recorded = replyTo(rec, r.id);
    const res = results[i];
    if (recorded.error === null) assert.deepEqual(res, { ok: recorded.result }, `request ${r.id}`);
    else assert.ok('err' in res && res.err instanceof OvsdbError && res.err.code === 'OVSDB_RPC_ERROR', `request ${r.id}`);
  });
  const expected = rec.values.flatMap((v) => (typeof v === 'object' && v !== null && 'method' in v && typeof v.method === 'string' ? [v.method] : []));
  assert.deepEqual(notifications, expected);
  assert.ok(notifications.length >= 9);
  s.close();
});

test('a reply to an unknown id resets the session with OVSDB_PROTOCOL and fails pending requests', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  const closed = closeEvent(s);
  const p = s.send('transact', ['OVN_Northbound']);
  c.send('{"id":99,"result":[],"error":null}');
  const err = await closed;
  assert.equal(err?.code, 'OVSDB_PROTOCOL');
  assert.match(err?.message ?? '', /unknown request id 99/);
  assert.equal(p.sent, true);
  await assert.rejects(p.reply, (e: unknown) => {
    code('OVSDB_DISCONNECTED')(e);
    assert.ok(e instanceof OvsdbError && e.cause === err);
    return true;
  });
  assert.equal(c.client.destroyed, true);
});

test('malformed JSON-RPC, garbage and oversized input each reset the session', async () => {
  const cases: [string | Buffer, string, number?][] = [
    ['{"result":1}', 'OVSDB_PROTOCOL'], // no id
    ['{"id":1}', 'OVSDB_PROTOCOL'], // neither result nor error
    ['{"id":null,"method":"update","params":{}}', 'OVSDB_PROTOCOL'], // params not an array
    ['{"id":1.5,"result":1,"error":null}', 'OVSDB_PROTOCOL'],
    ['{"id":"x","result":1,"error":null}', 'OVSDB_PROTOCOL'],
    ['not json at all', 'OVSDB_PROTOCOL'],
    ['{"id":1,"result":"' + 'x'.repeat(200) + '"}', 'OVSDB_FRAME_TOO_LARGE', 64],
  ];
  for (const [input, want, max] of cases) {
    const c = connection();
    const s = new RpcSession(c.client, { maxMessageBytes: max });
    const closed = closeEvent(s);
    const p = s.request('list_dbs', []);
    c.send(input);
    assert.equal((await closed)?.code, want, String(input));
    await assert.rejects(p, code('OVSDB_DISCONNECTED'));
    assert.equal(s.closed, true);
  }
});

test('a notification listener that throws ends the session with that error', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  s.on('notification', () => {
    throw new OvsdbError('OVSDB_SCHEMA', 'bad row');
  });
  const closed = closeEvent(s);
  c.send('{"id":null,"method":"update","params":[]}');
  assert.equal((await closed)?.code, 'OVSDB_SCHEMA');
});

test('a request times out with OVSDB_REQUEST_TIMEOUT; its late reply is dropped, the session lives on', async () => {
  const timers = new ManualTimers();
  const c = connection();
  const s = new RpcSession(c.client, { timers });
  const slow = s.request('transact', [], { timeoutMs: 100 });
  const untimed = s.request('list_dbs', []);
  assert.equal(timers.pending.size, 1);
  timers.fireAll();
  await assert.rejects(slow, code('OVSDB_REQUEST_TIMEOUT'));
  c.send('{"id":1,"result":[],"error":null}{"id":2,"result":["db"],"error":null}');
  assert.deepEqual(await untimed, ['db']);
  assert.equal(s.closed, false);
  // The id was forgotten with its late reply: a second reply to it is a protocol error.
  const closed = closeEvent(s);
  c.send('{"id":1,"result":[],"error":null}');
  assert.equal((await closed)?.code, 'OVSDB_PROTOCOL');
});

test('timed-out requests are remembered up to maxAbandoned: late replies are ignored, one more drops the session', async () => {
  const timers = new ManualTimers();
  const c = connection();
  const s = new RpcSession(c.client, { timers, maxAbandoned: 3 });
  const timedOut = [1, 2, 3].map(() => s.request('transact', [], { timeoutMs: 100 }));
  timers.fireAll();
  for (const p of timedOut) await assert.rejects(p, code('OVSDB_REQUEST_TIMEOUT'));
  assert.equal(s.abandonedCount, 3);
  // A late reply is recognised, dropped, and frees its place.
  c.send('{"id":2,"result":[],"error":null}');
  const live = s.request('echo', []);
  c.send('{"id":4,"result":["ok"],"error":null}');
  assert.deepEqual(await live, ['ok']);
  assert.equal(s.abandonedCount, 2);
  assert.equal(s.closed, false);
  // Two more go unanswered: three are still kept, four are too many.
  const closed = closeEvent(s);
  const fourth = s.request('transact', [], { timeoutMs: 100 });
  timers.fireAll();
  await assert.rejects(fourth, code('OVSDB_REQUEST_TIMEOUT'));
  assert.equal(s.abandonedCount, 3);
  assert.equal(s.closed, false);
  const waiting = s.request('list_dbs', []).then(
    () => undefined,
    (e: unknown) => e,
  );
  const fifth = s.request('transact', [], { timeoutMs: 100 });
  timers.fireAll();
  await assert.rejects(fifth, code('OVSDB_REQUEST_TIMEOUT'));
  const err = await closed;
  assert.equal(err?.code, 'OVSDB_REQUEST_TIMEOUT');
  assert.match(err?.message ?? '', /4 requests got no reply within their timeout; dropping the session/);
  // What was still pending fails as disconnected, and the ids are forgotten with the session.
  assert.ok(code('OVSDB_DISCONNECTED')(await waiting));
  assert.equal(s.abandonedCount, 0);
});

test('maxAbandoned must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new RpcSession(connection().client, { maxAbandoned: bad }), (e: unknown) => {
      assert.ok(e instanceof OvsdbError && e.code === 'OVSDB_NOT_SUPPORTED', String(e));
      assert.match(e.message, /option maxAbandoned must be a positive integer/);
      return true;
    });
  }
});

test('a reply clears its timer', async () => {
  const timers = new ManualTimers();
  const c = connection();
  const s = new RpcSession(c.client, { timers });
  const p = s.request('echo', [], { timeoutMs: 100 });
  c.send('{"id":1,"result":[],"error":null}');
  await p;
  assert.equal(timers.pending.size, 0);
  s.close();
});

test('the server closing fails pending requests as sent, and later requests as never sent', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  const closed = closeEvent(s);
  let closes = 0;
  s.on('close', () => closes++);
  const p = s.send('transact', ['OVN_Northbound']);
  c.toClient.end();
  const err = await closed;
  assert.equal(err?.code, 'OVSDB_DISCONNECTED');
  await assert.rejects(p.reply, (e: unknown) => {
    code('OVSDB_DISCONNECTED')(e);
    assert.ok(e instanceof Error && /before its reply came/.test(e.message));
    return true;
  });
  assert.equal(s.isSent(p.id), true);
  const late = s.send('transact', ['OVN_Northbound']);
  assert.equal(late.sent, false);
  assert.equal(s.isSent(late.id), false);
  await assert.rejects(late.reply, (e: unknown) => e instanceof OvsdbError && e.code === 'OVSDB_DISCONNECTED' && /before it was sent/.test(e.message));
  await tick();
  assert.equal(closes, 1);
});

test('close() fails pending requests with OVSDB_CLOSED and emits close once, without an error', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  const events: (OvsdbError | undefined)[] = [];
  s.on('close', (e) => events.push(e));
  const p = s.request('monitor', []);
  s.close();
  s.close(new OvsdbError('OVSDB_PROTOCOL', 'ignored: already closed'));
  await assert.rejects(p, code('OVSDB_CLOSED'));
  await assert.rejects(s.request('echo', []), code('OVSDB_CLOSED'));
  await tick();
  assert.deepEqual(events, [undefined]);
  assert.equal(c.client.destroyed, true);
});

test('a stream error closes the session with OVSDB_DISCONNECTED and no unhandled error', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  const closed = closeEvent(s);
  const p = s.request('echo', []);
  c.client.destroy(new Error('ECONNRESET'));
  const err = await closed;
  assert.equal(err?.code, 'OVSDB_DISCONNECTED');
  assert.match(err?.message ?? '', /ECONNRESET/);
  await assert.rejects(p, code('OVSDB_DISCONNECTED'));
});

test('a session on an already destroyed stream fails requests and still reports close', async () => {
  const c = connection();
  c.client.destroy();
  const s = new RpcSession(c.client);
  const closed = closeEvent(s);
  await assert.rejects(s.request('echo', []), code('OVSDB_DISCONNECTED'));
  assert.equal((await closed)?.code, 'OVSDB_DISCONNECTED');
});

test('a request whose params cannot be encoded fails without being sent', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  const p = s.send('transact', [BigInt(1)]);
  assert.equal(p.sent, false);
  await assert.rejects(p.reply, code('OVSDB_PROTOCOL'));
  assert.equal(s.closed, false);
  s.close();
});

test('a request on a stream destroyed before its close event arrives is never sent', async () => {
  const c = connection();
  const s = new RpcSession(c.client);
  c.client.destroy();
  const p = s.send('transact', []);
  assert.equal(p.sent, false);
  await assert.rejects(p.reply, code('OVSDB_DISCONNECTED'));
  assert.equal(s.closed, true);
});
