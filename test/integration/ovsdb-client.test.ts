// The client against a real standalone ovsdb-server with the OVN Northbound schema:
// transactions (and their typed failures), the replica, and waiting for a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { OvsdbClient } from '../../src/ovsdb/client';
import { isOvsdbError, OvsdbError } from '../../src/ovsdb/errors';
import { Uuid, uuid as mkUuid, namedUuid } from '../../src/ovsdb/data';
import { commit, comment, del, insert, mutate, select, strMap, update, wait } from '../../src/ovsdb/operations';
import { makeTempDir, NB_SCHEMA, startStandalone, OvsdbServerProcess, run, withCleanup } from '../helpers/ovsdb-server';

const DB = 'OVN_Northbound';

function code(c: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof OvsdbError, `expected an OvsdbError, got ${String(e)}`);
    assert.equal(e.code, c, e.message);
    return true;
  };
}

test('transactions: inserts with named uuids, selects, updates, mutates, deletes', async () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const c = new OvsdbClient({ remotes: s.remote, database: DB });
    defer(() => c.close());
    await c.connect();
    assert.equal(c.state, 'connected');
    assert.equal(c.currentRemote, s.remote);
    assert.equal(c.schema?.name, DB);

    const res = await c.transact([
      insert('Logical_Switch_Port', { name: 'p1', addresses: ['00:00:00:00:00:01 198.18.0.2'], external_ids: strMap({ 'iface-id': 'ep1' }) }, 'p1'),
      insert('Logical_Switch', { name: 'sw0', ports: [namedUuid('p1')] }),
      comment('inserted by the integration test'),
      commit(false),
    ]);
    assert.equal(res.length, 4);
    const p1 = res[0]?.uuid;
    const sw = res[1]?.uuid;
    assert.ok(p1 instanceof Uuid && sw instanceof Uuid);

    const [sel] = await c.transact([select('Logical_Switch', [['name', '==', 'sw0']], ['_uuid', 'name', 'ports'])]);
    assert.equal(sel?.rows?.length, 1);
    const row = sel?.rows?.[0];
    assert.ok(row && row._uuid instanceof Uuid && row._uuid.equals(sw));
    // A one-element set comes back as a bare atom on the wire; results keep wire shape.
    assert.ok(row.ports instanceof Uuid ? row.ports.equals(p1) : Array.isArray(row.ports) && row.ports.length === 1);

    const [upd] = await c.transact([update('Logical_Switch_Port', [['_uuid', '==', p1]], { type: 'localport' })]);
    assert.equal(upd?.count, 1);
    const [mut] = await c.transact([mutate('Logical_Switch_Port', [['name', '==', 'p1']], [['external_ids', 'insert', strMap({ owner: 'test' })]])]);
    assert.equal(mut?.count, 1);
    const out = await run('ovn-nbctl', [`--db=${s.remote}`, 'get', 'Logical_Switch_Port', 'p1', 'type', 'external_ids:owner']);
    assert.equal(out, 'localport\ntest\n');

    const [d] = await c.transact([mutate('Logical_Switch', [['_uuid', '==', sw]], [['ports', 'delete', [p1]]]), del('Logical_Switch_Port', [['_uuid', '==', p1]])]).then((r) => [r[1]]);
    assert.equal(d?.count, 1);
  }));

test('failing transactions give typed errors carrying the RFC error and the operation', async () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const c = new OvsdbClient({ remotes: s.remote, database: DB });
    defer(() => c.close());
    await c.connect();
    const addPort = (name: string): Promise<unknown> =>
      c.transact([insert('Logical_Switch_Port', { name }, 'p'), insert('Logical_Switch', { name: `sw-${name}`, ports: [namedUuid('p')] })]);
    await addPort('dup');

    // NB has a unique index on Logical_Switch_Port name: the commit fails.
    await assert.rejects(addPort('dup'), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_CONSTRAINT_VIOLATION'), String(e));
      assert.equal(e.rfcError, 'constraint violation');
      assert.match(e.details ?? '', /index/);
      return true;
    });

    // A strong reference to a row that does not exist.
    const ghost = mkUuid('00000000-1111-2222-3333-444444444444');
    await assert.rejects(c.transact([insert('Logical_Switch', { name: 'bad', ports: [ghost] })]), code('OVSDB_REFERENTIAL_INTEGRITY'));

    // A wait that cannot be satisfied, with timeout 0.
    const w = wait('Logical_Switch', [['name', '==', 'sw-dup']], ['name'], '==', [{ name: 'other' }], 0);
    await assert.rejects(c.transact([w]), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_TIMED_OUT'), String(e));
      assert.equal(e.operationIndex, 0);
      assert.deepEqual(e.operation, w);
      return true;
    });

    // A value outside the column's constraints: tag is 1..4095.
    await assert.rejects(c.transact([update('Logical_Switch_Port', [['name', '==', 'dup']], { tag: [5000] })]), code('OVSDB_CONSTRAINT_VIOLATION'));

    // The database is unchanged by all of the above, and the session is still fine.
    const [sel] = await c.transact([select('Logical_Switch_Port', [], ['name'])]);
    assert.deepEqual(sel?.rows?.map((r) => r.name), ['dup']);
    assert.equal(c.state, 'connected');
  }));

test('the replica follows the monitored tables, with indexes and change events', async () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const c = new OvsdbClient({ remotes: s.remote, database: DB, monitor: { Logical_Switch: ['name', 'ports'], Logical_Switch_Port: 'all' } });
    defer(() => c.close());
    c.replica.createIndex('Logical_Switch_Port', 'name', (r) => (typeof r.name === 'string' ? r.name : undefined));
    c.replica.createIndex('Logical_Switch_Port', 'iface-id', (r) => {
      const v = r.external_ids instanceof Map ? r.external_ids.get('iface-id') : undefined;
      return typeof v === 'string' ? v : undefined;
    });
    await run('ovn-nbctl', [`--db=${s.remote}`, 'ls-add', 'pre', '--', 'lsp-add', 'pre', 'pre-port']);
    await c.connect();
    // Rows that existed before connecting are there once connect() resolves.
    assert.equal(c.replica.lookup('Logical_Switch_Port', 'name', 'pre-port').length, 1);

    const changes: string[] = [];
    c.replica.on('change', (ch: { table: string; old?: { name?: unknown }; new?: { name?: unknown } }) => {
      changes.push(`${ch.table}:${ch.old ? String(ch.old.name) : '-'}>${ch.new ? String(ch.new.name) : '-'}`);
    });
    await c.transact([
      insert('Logical_Switch_Port', { name: 'p1', external_ids: strMap({ 'iface-id': 'ep1' }) }, 'p'),
      insert('Logical_Switch', { name: 'sw0', ports: [namedUuid('p')] }),
    ]);
    const p1 = await c.replica.waitFor(() => c.replica.lookup('Logical_Switch_Port', 'iface-id', 'ep1')[0], 5000);
    assert.equal(p1?.name, 'p1');
    assert.ok(p1?.external_ids instanceof Map);
    assert.deepEqual(p1?.addresses, []);
    assert.deepEqual(changes.sort(), ['Logical_Switch:->sw0', 'Logical_Switch_Port:->p1']);

    await c.transact([mutate('Logical_Switch', [['name', '==', 'sw0']], [['ports', 'delete', [p1._uuid]]])]);
    const gone = await c.replica.waitFor(() => (c.replica.lookup('Logical_Switch_Port', 'name', 'p1').length === 0 ? true : undefined), 5000);
    assert.equal(gone, true, 'an unreferenced port is garbage-collected by the server and leaves the replica');
    assert.deepEqual(c.replica.lookup('Logical_Switch_Port', 'iface-id', 'ep1'), []);
  }));

test('a request made while no server is up fails OVSDB_REQUEST_TIMEOUT naming the remote', async () =>
  withCleanup(async (defer) => {
    const dir = await makeTempDir();
    defer(() => fs.rm(dir, { recursive: true, force: true }));
    const remote = `unix:${path.join(dir, 'nothing.sock')}`;
    const c = new OvsdbClient({ remotes: remote, database: DB, requestTimeoutMs: 400, backoff: { minMs: 50, maxMs: 100 } });
    defer(() => c.close());
    await assert.rejects(c.transact([select('Logical_Switch', [])]), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT'), String(e));
      assert.ok(e.message.includes(remote), e.message);
      assert.match(e.message, /failed to transact on database "OVN_Northbound"/);
      return true;
    });
    assert.notEqual(c.state, 'connected');
  }));

test('a request made before the server starts is sent once it is up', async () =>
  withCleanup(async (defer) => {
    const dir = await makeTempDir();
    const dbFile = path.join(dir, 'db.db');
    await run('ovsdb-tool', ['create', dbFile, NB_SCHEMA]);
    const server = new OvsdbServerProcess(dir, 'late', dbFile);
    defer(async () => {
      await server.kill();
      await fs.rm(dir, { recursive: true, force: true });
    });
    const c = new OvsdbClient({ remotes: server.remote, database: DB, requestTimeoutMs: 15000, backoff: { minMs: 50, maxMs: 200 } });
    defer(() => c.close());
    const pending = c.transact([insert('Logical_Switch', { name: 'early' })]);
    const connected = c.connect();
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual(c.state, 'connected');
    await server.start();
    const [r] = await pending;
    assert.ok(r?.uuid instanceof Uuid);
    await connected;
    assert.equal(await run('ovn-nbctl', [`--db=${server.remote}`, 'ls-list']).then((o) => o.includes('(early)')), true);
  }));

test('close() fails waiting requests with OVSDB_CLOSED and later ones too', async () =>
  withCleanup(async (defer) => {
    const dir = await makeTempDir();
    defer(() => fs.rm(dir, { recursive: true, force: true }));
    const c = new OvsdbClient({ remotes: `unix:${path.join(dir, 'none.sock')}`, database: DB, requestTimeoutMs: 60000 });
    const pending = assert.rejects(c.transact([select('Logical_Switch', [])]), code('OVSDB_CLOSED'));
    await c.close();
    await pending;
    await assert.rejects(c.transact([]), code('OVSDB_CLOSED'));
    await assert.rejects(c.connect(), code('OVSDB_CLOSED'));
    assert.equal(c.state, 'closed');
  }));

test('options are validated when the client is built', () => {
  assert.throws(() => new OvsdbClient({ remotes: 'bogus:x', database: DB }), code('OVSDB_NOT_SUPPORTED'));
  assert.throws(() => new OvsdbClient({ remotes: 'ssl:127.0.0.1:6641', database: DB }), code('OVSDB_NOT_SUPPORTED'));
  assert.throws(() => new OvsdbClient({ remotes: 'unix:/x', database: '' }), code('OVSDB_NOT_SUPPORTED'));
  assert.throws(() => new OvsdbClient({ remotes: 'unix:/x', database: DB, requestTimeoutMs: -1 }), code('OVSDB_NOT_SUPPORTED'));
  assert.throws(() => new OvsdbClient({ remotes: 'unix:/x', database: DB, backoff: { minMs: 10, maxMs: 1 } }), RangeError);
});
