// The driver's lookups (src/driver/db.ts) against a real ovsdb-server: a table the database does
// not have is an error that says which database and what to check, never "no rows".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DbRef, selectRows } from '../../src/driver/db';
import { DriverError } from '../../src/driver/errors';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { insert } from '../../src/ovsdb/operations';
import { startStandalone, VSWITCH_SCHEMA, withCleanup } from '../helpers/ovsdb-server';

test('a lookup in a table the database lacks names the table and the database; one it has finds the row', () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(VSWITCH_SCHEMA);
    defer(() => s.close());
    const client = new OvsdbClient({ remotes: s.remote, database: 'Open_vSwitch', requestTimeoutMs: 5000 });
    defer(() => client.close());
    const db: DbRef = { client, role: 'local Open_vSwitch', remotes: s.remote };
    // Not connected yet: the lookup waits for the session (and its schema) like any request.
    const none = selectRows(db, 'Bridge', 'name', 'br-test', 5000, 'integration bridge');
    assert.deepEqual(await none, []);
    // Bridge is not a root table: an Open_vSwitch row holds it.
    await client.transact([insert('Bridge', { name: 'br-test' }, 'br'), insert('Open_vSwitch', { bridges: [namedUuid('br')] })]);
    const [row] = await selectRows(db, 'Bridge', 'name', 'br-test', 5000, 'integration bridge');
    assert.equal(row?.name, 'br-test');

    // A Northbound table asked of the local database: the wrong database, or one too old.
    await assert.rejects(selectRows(db, 'Logical_Switch', 'name', 'blue', 5000, 'logical switch'), (e: unknown) => {
      assert.ok(e instanceof DriverError, String(e));
      assert.equal(e.code, 'DATABASE_ERROR');
      assert.ok(e.message.startsWith(`failed to look up logical switch "blue": database "Open_vSwitch" at ${s.remote} (the local Open_vSwitch database): its schema `), e.message);
      assert.match(e.message, /has no table "Logical_Switch"; check that .* is the local Open_vSwitch database and not another one, and that its schema is not older than the driver needs \(ovsdb-client get-schema-version /);
      return true;
    });
  }));
