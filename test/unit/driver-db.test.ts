// The driver's view of OVSDB (src/driver/db.ts) without a server: lookups go through the
// client's read-only path, a table the database lacks is an error (never "no rows"), and
// dbError tells "nothing was sent" from "sent, no answer".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DbClient, dbError, DbRef, selectRows } from '../../src/driver/db';
import { DriverError } from '../../src/driver/errors';
import { Uuid } from '../../src/ovsdb/data';
import { OvsdbError } from '../../src/ovsdb/errors';
import type { Operation } from '../../src/ovsdb/operations';
import { Replica } from '../../src/ovsdb/replica';
import type { OperationResult } from '../../src/ovsdb/results';
import { DatabaseSchema, parseDatabaseSchema } from '../../src/ovsdb/schema';

const PORT_UUID = 'bbbbbbbb-0000-4000-8000-000000000001';

// An Open_vSwitch schema as old as can be: it has Port but no Interface table.
const OLD_SCHEMA = parseDatabaseSchema({
  name: 'Open_vSwitch',
  version: '1.0.0',
  tables: { Port: { columns: { name: { type: 'string' }, external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } } } } },
});

class FakeClient implements DbClient {
  readonly database = 'Open_vSwitch';
  readonly replica = new Replica();
  readonly state = 'connected';
  readonly currentRemote = 'unix:/run/test.sock';
  readonly calls: { ops: Operation[]; opts: { timeoutMs?: number; readOnly?: boolean } | undefined }[] = [];
  constructor(readonly schema: DatabaseSchema | undefined) {}
  transact(ops: Operation[], opts?: { timeoutMs?: number; readOnly?: boolean }): Promise<OperationResult[]> {
    this.calls.push({ ops, opts });
    // Every select finds the same row: a table the schema lacks must not get this far.
    return Promise.resolve(ops.map(() => ({ rows: [{ _uuid: new Uuid(PORT_UUID), name: 'ovn0123456789ab' }] })));
  }
}

function ref(client: FakeClient): DbRef {
  return { client, role: 'local Open_vSwitch', remotes: 'unix:/run/test.sock' };
}

test('selectRows asks through the read-only path, so a lost reply is asked again, not "unknown outcome"', async () => {
  const client = new FakeClient(OLD_SCHEMA);
  const rows = await selectRows(ref(client), 'Port', 'name', 'ovn0123456789ab', 700, 'OVS port');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.name, 'ovn0123456789ab');
  assert.deepEqual(client.calls.map((c) => c.opts), [{ timeoutMs: 700, readOnly: true }]);
});

test('selectRows on a table the schema lacks is an error naming the table and the database, not "no rows"', async () => {
  for (const schema of [OLD_SCHEMA, undefined]) {
    const client = new FakeClient(schema);
    await assert.rejects(selectRows(ref(client), 'Interface', 'name', 'ovn0123456789ab', 700, 'OVS interface'), (e: unknown) => {
      assert.ok(e instanceof DriverError, String(e));
      assert.equal(e.code, 'DATABASE_ERROR');
      assert.match(e.message, /^failed to look up OVS interface "ovn0123456789ab": database "Open_vSwitch" at unix:\/run\/test\.sock/);
      assert.match(e.message, schema ? /its schema 1\.0\.0 has no table "Interface"/ : /its schema is unknown, so table "Interface" cannot be read/);
      assert.match(e.message, /check that unix:\/run\/test\.sock is the local Open_vSwitch database and not another one, and that its schema is not older than the driver needs/);
      return true;
    });
    // With a schema known, nothing is asked of the server; without, the answer is not trusted.
    assert.equal(client.calls.length, schema ? 0 : 1);
  }
});

test('dbError: a transaction sent and not answered is OUTCOME_UNKNOWN, saying a retry is safe', () => {
  const client = new FakeClient(OLD_SCHEMA);
  const cause = new OvsdbError('OVSDB_UNKNOWN_OUTCOME', 'failed to transact on Open_vSwitch at unix:/run/test.sock: no reply within 400 ms; the transaction was sent, so it may or may not have been applied; read the database to find out');
  const e = dbError(ref(client), 'add OVS port', 'ovn0123456789ab', cause);
  assert.equal(e.code, 'OUTCOME_UNKNOWN');
  assert.equal(e.cause, cause);
  assert.match(e.message, /^failed to add OVS port "ovn0123456789ab": the local Open_vSwitch database \(unix:\/run\/test\.sock\) did not answer a transaction that was sent/);
  assert.match(e.message, /so the change may or may not have been made; retrying the docker command is safe \(the driver's requests are idempotent\), and the driver's reconciler removes what a failed request left/);
  assert.doesNotMatch(e.message, /nothing changed|unreachable/);
});

test('dbError: no connection within the timeout (nothing sent) is DATABASE_UNAVAILABLE: no change was made', () => {
  const client = new FakeClient(OLD_SCHEMA);
  const cause = new OvsdbError('OVSDB_REQUEST_TIMEOUT', 'failed to transact on database "Open_vSwitch": no usable connection to unix:/run/test.sock within the request timeout');
  const e = dbError(ref(client), 'add OVS port', 'ovn0123456789ab', cause);
  assert.equal(e.code, 'DATABASE_UNAVAILABLE');
  assert.match(e.message, /is unreachable \(.*\); no change was made; check that the local ovsdb-server and ovs-vswitchd are running/);
});
