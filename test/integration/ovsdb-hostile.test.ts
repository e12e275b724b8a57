// A hostile or broken server, written here on a unix socket in a temp dir: garbage, replies to
// ids never used, rows of the wrong type, oversized messages, silence, instant hang-ups. Each
// becomes a typed error for the request or a reset connection; never a crash, an unhandled
// rejection, or a wait without end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { OvsdbClient } from '../../src/ovsdb/client';
import { isOvsdbError, OvsdbError } from '../../src/ovsdb/errors';
import { comment, insert, select, wait } from '../../src/ovsdb/operations';
import { Defer, makeTempDir, withCleanup } from '../helpers/ovsdb-server';

const DB = 'Hostile';
const SCHEMA = {
  name: DB,
  version: '1.0.0',
  tables: { Logical_Switch: { columns: { name: { type: 'string' }, ports: { type: { key: 'uuid', min: 0, max: 'unlimited' } } } } },
};
const ZERO = '00000000-0000-0000-0000-000000000000';
const SW = 'aaaaaaaa-0000-4000-8000-000000000001';

interface Msg {
  method?: unknown;
  params?: unknown;
  id?: unknown;
}

type Reply = (sock: net.Socket, msg: Msg) => boolean;

/** Splits the client's stream into JSON values independently of the client's own framer. */
function splitter(onMsg: (m: Msg) => void): (chunk: Buffer) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    for (;;) {
      let depth = 0;
      let inStr = false;
      let esc = false;
      let end = -1;
      for (let i = 0; i < buf.length && end < 0; i++) {
        const ch = buf[i];
        if (inStr) {
          if (esc) esc = false;
          else if (ch === '\\') esc = true;
          else if (ch === '"') inStr = false;
        } else if (ch === '"') inStr = true;
        else if (ch === '{' || ch === '[') depth++;
        else if ((ch === '}' || ch === ']') && --depth === 0) end = i;
      }
      if (end < 0) return;
      const parsed: unknown = JSON.parse(buf.slice(0, end + 1));
      buf = buf.slice(end + 1);
      if (typeof parsed === 'object' && parsed !== null) onMsg(parsed);
    }
  };
}

function send(sock: net.Socket, v: unknown): void {
  sock.write(typeof v === 'string' ? v : JSON.stringify(v));
}

/** Answers the session set-up like an old, unclustered server; `special` may answer first. */
function serve(special: Reply): (sock: net.Socket, m: Msg) => void {
  return (sock, m) => {
    if (special(sock, m)) return;
    const params = Array.isArray(m.params) ? m.params : [];
    if (m.method === 'monitor' && params[0] === '_Server') send(sock, { id: m.id, result: null, error: { error: 'unknown database', details: '_Server' } });
    else if (m.method === 'get_schema') send(sock, { id: m.id, result: SCHEMA, error: null });
    else if (m.method === 'monitor_cond_since') send(sock, { id: m.id, result: [false, ZERO, { Logical_Switch: { [SW]: { initial: { name: 'good' } } } }], error: null });
    else if (m.method === 'echo') send(sock, { id: m.id, result: params, error: null });
    else if (m.method === 'transact') send(sock, { id: m.id, result: [{ uuid: ['uuid', SW] }], error: null });
  };
}

async function hostile(defer: Defer, onMsg: (sock: net.Socket, m: Msg) => void, onConnect?: (sock: net.Socket) => void): Promise<{ remote: string; connections: () => number }> {
  const dir = await makeTempDir('ovsdb-hostile-');
  defer(() => fs.rm(dir, { recursive: true, force: true }));
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.on('data', splitter((m) => onMsg(sock, m)));
    onConnect?.(sock);
  });
  const file = path.join(dir, 'h.sock');
  await new Promise<void>((resolve) => server.listen(file, resolve));
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { remote: `unix:${file}`, connections: () => connections };
}

function watchProcess(defer: Defer): () => void {
  const problems: unknown[] = [];
  const onRejection = (e: unknown): void => {
    problems.push(e);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onRejection);
  defer(() => {
    process.removeListener('unhandledRejection', onRejection);
    process.removeListener('uncaughtException', onRejection);
  });
  return () => assert.deepEqual(problems, [], 'no unhandled rejection or uncaught exception');
}

function client(defer: Defer, remote: string, extra: Partial<ConstructorParameters<typeof OvsdbClient>[0]> = {}): OvsdbClient {
  const c = new OvsdbClient({ remotes: remote, database: DB, backoff: { minMs: 50, maxMs: 100 }, requestTimeoutMs: 3000, monitor: { Logical_Switch: 'all' }, ...extra });
  defer(() => c.close());
  return c;
}

function nextDisconnect(c: OvsdbClient): Promise<OvsdbError | undefined> {
  return new Promise((resolve) => c.once('disconnected', resolve));
}

test('the hostile server, behaving, gives a working session', () =>
  withCleanup(async (defer) => {
    const h = await hostile(defer, serve(() => false));
    const c = client(defer, h.remote);
    await c.connect();
    assert.equal(c.replica.get('Logical_Switch', SW)?.name, 'good');
    const [r] = await c.transact([insert('Logical_Switch', { name: 'x' })]);
    assert.equal(r?.uuid?.value, SW);
  }));

test('non-JSON in reply to a transact: reset connection, the transact is of unknown outcome', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    const h = await hostile(defer, serve((sock, m) => (m.method === 'transact' ? (send(sock, 'this is not JSON'), true) : false)));
    const c = client(defer, h.remote);
    await c.connect();
    const dropped = nextDisconnect(c);
    await assert.rejects(c.transact([insert('Logical_Switch', { name: 'x' })]), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME'), String(e));
      return true;
    });
    assert.ok(isOvsdbError(await dropped, 'OVSDB_PROTOCOL'));
    // It reconnects by itself.
    await new Promise<void>((resolve) => c.once('connected', () => resolve()));
    ok();
  }));

test('a reply to an id never used resets the connection', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    const h = await hostile(defer, serve((sock, m) => (m.method === 'echo' ? (send(sock, { id: 987654, result: [], error: null }), true) : false)));
    const c = client(defer, h.remote, { requestTimeoutMs: 1000 });
    await c.connect();
    const dropped = nextDisconnect(c);
    // echo is read-only, so it is retried on each new session, each answered wrongly: it times out.
    await assert.rejects(c.echo(), (e: unknown) => isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT'));
    const err = await dropped;
    assert.ok(isOvsdbError(err, 'OVSDB_PROTOCOL'), String(err));
    assert.match(err.message, /unknown request id 987654/);
    ok();
  }));

test('rows of the wrong type in the initial contents: no session, and requests fail saying why', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    const h = await hostile(
      defer,
      serve((sock, m) => {
        if (m.method !== 'monitor_cond_since') return false;
        send(sock, { id: m.id, result: [false, ZERO, { Logical_Switch: { [SW]: { initial: { name: 42 } } } }], error: null });
        return true;
      }),
    );
    const c = client(defer, h.remote, { requestTimeoutMs: 800 });
    await assert.rejects(c.echo(), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT'), String(e));
      assert.match(e.message, /column "name"/);
      return true;
    });
    assert.ok(h.connections() >= 2, 'it kept trying, with backoff');
    assert.equal(c.replica.table('Logical_Switch').size, 0);
    ok();
  }));

test('a bad row in an update after sync resets the connection and leaves the replica as it was', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    let first = true;
    const h = await hostile(
      defer,
      serve((sock, m) => {
        if (m.method !== 'transact' || !first) return false;
        first = false;
        send(sock, { id: null, method: 'update3', params: ['ovsdb-client-replica', ZERO, { Logical_Switch: { [SW]: { modify: { ports: 'not-a-uuid' } } } }] });
        send(sock, { id: m.id, result: [{}], error: null });
        return true;
      }),
    );
    const c = client(defer, h.remote);
    await c.connect();
    const dropped = nextDisconnect(c);
    await c.transact([insert('Logical_Switch', { name: 'x' })]).catch(() => undefined);
    const err = await dropped;
    assert.ok(isOvsdbError(err, 'OVSDB_SCHEMA'), String(err));
    assert.deepEqual(c.replica.get('Logical_Switch', SW)?.ports, []);
    ok();
  }));

test('a transact that is never answered fails OVSDB_UNKNOWN_OUTCOME, not "unreachable"; the session stays', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    const h = await hostile(defer, serve((_sock, m) => m.method === 'transact'));
    const c = client(defer, h.remote);
    await c.connect();
    await assert.rejects(c.transact([insert('Logical_Switch', { name: 'x' })], { timeoutMs: 300 }), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME'), String(e));
      assert.match(e.message, /no reply within 300 ms; the transaction was sent, so it may or may not have been applied/);
      return true;
    });
    assert.equal(c.state, 'connected');
    assert.deepEqual(await c.echo(['still', 'here']), ['still', 'here']);
    ok();
  }));

test('a transact in flight when the client is closed is of unknown outcome', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    const h = await hostile(defer, serve((_sock, m) => (m.method === 'transact' ? (received(), true) : false)));
    const c = client(defer, h.remote);
    await c.connect();
    const outcome = c.transact([insert('Logical_Switch', { name: 'x' })]).then(
      () => undefined,
      (e: unknown) => e,
    );
    await arrived;
    await c.close();
    const e = await outcome;
    assert.ok(isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME'), String(e));
    assert.match(e.message, /the client was closed before the reply came/);
    ok();
  }));

test('a read-only transact whose connection drops after it was sent is asked again on the next session', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    let selects = 0;
    const h = await hostile(
      defer,
      serve((sock, m) => {
        if (m.method !== 'transact') return false;
        // The first select is received, then the connection is lost before the reply.
        if (++selects === 1) sock.destroy();
        else send(sock, { id: m.id, result: [{ rows: [{ _uuid: ['uuid', SW], name: 'good' }] }], error: null });
        return true;
      }),
    );
    const c = client(defer, h.remote);
    await c.connect();
    const dropped = nextDisconnect(c);
    const [r] = await c.transact([select('Logical_Switch', [['name', '==', 'good']])], { readOnly: true });
    assert.equal(r?.rows?.[0]?.name, 'good');
    assert.ok(isOvsdbError(await dropped, 'OVSDB_DISCONNECTED'));
    assert.equal(selects, 2);
    assert.equal(h.connections(), 2);
    ok();
  }));

test('the same select without readOnly, its reply lost, is of unknown outcome and not sent again', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    let selects = 0;
    const h = await hostile(defer, serve((sock, m) => (m.method === 'transact' ? (++selects, sock.destroy(), true) : false)));
    const c = client(defer, h.remote);
    await c.connect();
    await assert.rejects(c.transact([select('Logical_Switch', [])]), (e: unknown) => isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME'));
    assert.equal(selects, 1);
    ok();
  }));

test('a read-only transact with a write in it is refused before anything is sent', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    let transacts = 0;
    const h = await hostile(
      defer,
      serve((sock, m) => {
        if (m.method !== 'transact' || !Array.isArray(m.params)) return false;
        transacts++;
        const ops: unknown[] = m.params.slice(1);
        send(sock, { id: m.id, result: ops.map((op) => (typeof op === 'object' && op !== null && 'op' in op && op.op === 'select' ? { rows: [] } : {})), error: null });
        return true;
      }),
    );
    const c = client(defer, h.remote);
    await c.connect();
    await assert.rejects(c.transact([select('Logical_Switch', []), insert('Logical_Switch', { name: 'x' })], { readOnly: true }), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_NOT_SUPPORTED'), String(e));
      assert.equal(e.operationIndex, 1);
      assert.match(e.message, /operation 1 is "insert", which a read-only transaction may not contain \(only select, wait and comment\); run it without readOnly/);
      return true;
    });
    // Reads of every allowed kind go through.
    await c.transact([comment('read'), select('Logical_Switch', []), wait('Logical_Switch', [], ['name'], '==', [], 0)], { readOnly: true });
    assert.equal(transacts, 1);
    ok();
  }));

test('an oversized message resets the connection with OVSDB_FRAME_TOO_LARGE', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    const big = 'x'.repeat(64 * 1024);
    const h = await hostile(defer, serve((sock, m) => (m.method === 'transact' ? (send(sock, { id: m.id, result: [{ details: big }], error: null }), true) : false)));
    const c = client(defer, h.remote, { maxMessageBytes: 16 * 1024 });
    await c.connect();
    const dropped = nextDisconnect(c);
    await assert.rejects(c.transact([insert('Logical_Switch', { name: 'x' })]), (e: unknown) => isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME'));
    assert.ok(isOvsdbError(await dropped, 'OVSDB_FRAME_TOO_LARGE'));
    ok();
  }));

test('a transact result of the wrong shape is a typed error, not a crash', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    const h = await hostile(defer, serve((sock, m) => (m.method === 'transact' ? (send(sock, { id: m.id, result: 'hello', error: null }), true) : false)));
    const c = client(defer, h.remote);
    await c.connect();
    await assert.rejects(c.transact([insert('Logical_Switch', { name: 'x' })]), (e: unknown) => e instanceof OvsdbError);
    ok();
  }));

test('a server that hangs up at once: backoff, then OVSDB_REQUEST_TIMEOUT', () =>
  withCleanup(async (defer) => {
    const ok = watchProcess(defer);
    const h = await hostile(defer, () => undefined, (sock) => sock.destroy());
    const c = client(defer, h.remote, { requestTimeoutMs: 600, backoff: { minMs: 100, maxMs: 200 } });
    await assert.rejects(c.echo(), (e: unknown) => isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT'));
    // Backoff, not a busy loop: a handful of attempts in 600 ms, not thousands.
    assert.ok(h.connections() >= 2 && h.connections() <= 10, `${h.connections()} connection attempts`);
    ok();
  }));
