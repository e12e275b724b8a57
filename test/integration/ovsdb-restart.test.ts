// A real ovsdb-server killed (SIGKILL) and restarted under the client: requests wait and
// succeed, the replica resyncs without the rows deleted meanwhile, and a transaction whose
// reply was lost is reported as of unknown outcome and never sent twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OvsdbClient } from '../../src/ovsdb/client';
import { isOvsdbError, OvsdbError } from '../../src/ovsdb/errors';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, mutate, select, wait } from '../../src/ovsdb/operations';
import { RowChange } from '../../src/ovsdb/replica';
import { NB_SCHEMA, run, startStandalone, withCleanup } from '../helpers/ovsdb-server';

const DB = 'OVN_Northbound';

function once<T>(emitter: OvsdbClient, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (v: T) => resolve(v)));
}

test('server killed and restarted: requests wait, the replica resyncs and loses deleted rows', () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const c = new OvsdbClient({ remotes: s.remote, database: DB, backoff: { minMs: 100, maxMs: 400 }, requestTimeoutMs: 20000, monitor: { Logical_Switch: ['name', 'ports'], Logical_Switch_Port: ['name'] } });
    defer(() => c.close());
    c.replica.createIndex('Logical_Switch_Port', 'name', (r) => (typeof r.name === 'string' ? r.name : undefined));
    await c.connect();
    await c.transact([
      insert('Logical_Switch_Port', { name: 'p1' }, 'p1'),
      insert('Logical_Switch_Port', { name: 'p2' }, 'p2'),
      insert('Logical_Switch', { name: 'sw0', ports: [namedUuid('p1'), namedUuid('p2')] }),
    ]);
    await c.replica.waitFor(() => c.replica.lookup('Logical_Switch_Port', 'name', 'p2')[0], 5000);

    const disconnected = once<OvsdbError | undefined>(c, 'disconnected');
    await s.server.kill();
    const err = await disconnected;
    assert.ok(isOvsdbError(err, 'OVSDB_DISCONNECTED'), String(err));
    assert.notEqual(c.state, 'connected');

    // While the server is down, someone removes p2 from the database file.
    const p2 = c.replica.lookup('Logical_Switch_Port', 'name', 'p2')[0];
    assert.ok(p2, 'the replica keeps its last known rows while disconnected');
    await run('ovsdb-tool', [
      'transact',
      s.server.dbFile,
      JSON.stringify([DB, { op: 'mutate', table: 'Logical_Switch', where: [['name', '==', 'sw0']], mutations: [['ports', 'delete', ['uuid', p2._uuid.value]]] }]),
    ]);

    const deletes: string[] = [];
    c.replica.on('change', (ch: RowChange) => {
      if (ch.old && !ch.new) deletes.push(String(ch.old.name));
    });
    // A request made while the server is down waits for it.
    const pending = c.transact([mutate('Logical_Switch', [['name', '==', 'sw0']], [['ports', 'insert', [namedUuid('p3')]]]), insert('Logical_Switch_Port', { name: 'p3' }, 'p3')]);
    const reconnected = once<string>(c, 'connected');
    await new Promise((r) => setTimeout(r, 300));
    await s.server.start();
    assert.equal(await reconnected, s.remote);
    const res = await pending;
    assert.equal(res.length, 2);

    const p3 = await c.replica.waitFor(() => c.replica.lookup('Logical_Switch_Port', 'name', 'p3')[0], 5000);
    assert.ok(p3);
    assert.deepEqual(c.replica.lookup('Logical_Switch_Port', 'name', 'p2'), [], 'p2 was deleted while we were away');
    assert.equal(c.replica.get('Logical_Switch_Port', p2._uuid.value), undefined);
    assert.deepEqual(deletes, ['p2']);
    const names = [...c.replica.table('Logical_Switch_Port').values()].map((r) => r.name).sort();
    assert.deepEqual(names, ['p1', 'p3']);
  }));

test('a transaction whose reply is lost is OVSDB_UNKNOWN_OUTCOME and is not sent again', () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const c = new OvsdbClient({ remotes: s.remote, database: DB, backoff: { minMs: 100, maxMs: 400 }, requestTimeoutMs: 20000 });
    defer(() => c.close());
    await c.connect();
    await c.transact([insert('Logical_Switch', { name: 'sw0' })]);

    // The server holds a transaction that starts with an unsatisfied "wait" until its timeout:
    // the request is on the wire and its reply can only be lost.
    const blocked = c.transact([
      wait('Logical_Switch', [['name', '==', 'sw0']], ['name'], '!=', [{ name: 'sw0' }], 60000),
      insert('Logical_Switch', { name: 'maybe' }),
    ]);
    const outcome = blocked.then(
      () => 'committed',
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 300));
    await s.server.kill();
    const e = await outcome;
    assert.ok(isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME'), String(e));
    assert.match(e.message, /may or may not have been applied/);

    await s.server.start();
    // A later request goes through on the new session...
    const [sel] = await c.transact([select('Logical_Switch', [], ['name'])]);
    // ...and the lost one was not resent: the server never committed it.
    assert.deepEqual(sel?.rows?.map((r) => r.name), ['sw0']);
  }));

/** `p`, or a failure naming what did not happen within `ms` (so a missing event fails, not hangs). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

test('inactivity probe on unix: a stopped (SIGSTOP) ovsdb-server is dropped, and used again after SIGCONT', () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    // Runs last: SIGKILL ends the server even if it is still stopped.
    defer(() => s.close());
    const c = new OvsdbClient({ remotes: s.remote, database: DB, probeIntervalMs: 200, backoff: { minMs: 100, maxMs: 300 }, requestTimeoutMs: 20000 });
    defer(() => c.close());
    await c.connect();
    // Idle but alive: the probes are answered and the session stays.
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(c.state, 'connected');

    const dropped = once<OvsdbError | undefined>(c, 'disconnected');
    s.server.pause();
    defer(() => s.server.resume());
    // A read made while the server hangs: written on the hung session, asked again on the next.
    const read = c.transact([select('Logical_Switch', [], ['name'])], { readOnly: true });
    read.catch(() => undefined); // awaited below; a failure before then must not be unhandled
    const err = await within(dropped, 5000, 'the disconnect of the stopped server');
    assert.ok(isOvsdbError(err, 'OVSDB_REQUEST_TIMEOUT'), String(err));
    assert.match(err.message, /no reply to the inactivity probe within 200 ms/);
    assert.notEqual(c.state, 'connected');

    const back = once<string>(c, 'connected');
    s.server.resume();
    assert.equal(await within(back, 10000, 'the reconnect after SIGCONT'), s.remote);
    const [sel] = await read;
    assert.deepEqual(sel?.rows, []);
    const [r] = await c.transact([insert('Logical_Switch', { name: 'after-probe' })]);
    assert.ok(r?.uuid);
  }));
