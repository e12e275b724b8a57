// What the driver needs of an OVSDB client, the replica indexes it reads through, and the
// mapping of OVSDB failures to driver errors that tell a person which database to check.

import { isOvsdbError, OvsdbError } from '../ovsdb/errors';
import { cond, Operation, select } from '../ovsdb/operations';
import type { OperationResult } from '../ovsdb/results';
import { DatabaseSchema, normalizeRow, Row } from '../ovsdb/schema';
import type { Replica } from '../ovsdb/replica';
import { DriverError, errorMessage } from './errors';
import { IFACE_ID_KEY } from './names';

/** The part of OvsdbClient the driver uses (an interface, so the service is easy to wire). */
export interface DbClient {
  readonly database: string;
  readonly replica: Replica;
  readonly schema: DatabaseSchema | undefined;
  readonly state: string;
  readonly currentRemote: string | undefined;
  transact(ops: Operation[], opts?: { timeoutMs?: number }): Promise<OperationResult[]>;
}

/** Which database, for messages: its role and where it is. */
export interface DbRef {
  readonly client: DbClient;
  readonly role: 'Northbound' | 'local Open_vSwitch';
  readonly remotes: string;
}

export const BY_NAME = 'ovn-driver:name';
export const BY_IFACE_ID = 'ovn-driver:iface-id';

const indexed = new WeakSet<Replica>();

function stringColumn(row: Row, column: string): string | undefined {
  const v = row[column];
  return typeof v === 'string' ? v : undefined;
}

function externalId(row: Row, key: string): string | undefined {
  const m = row['external_ids'];
  if (!(m instanceof Map)) return undefined;
  const v = m.get(key);
  return typeof v === 'string' ? v : undefined;
}

/** Creates the name (and iface-id) indexes once per replica: O(1) lookups at 30,000 ports. */
export function ensureIndexes(replica: Replica, tables: readonly string[], ifaceIdTable?: string): void {
  if (indexed.has(replica)) return;
  indexed.add(replica);
  for (const t of tables) replica.createIndex(t, BY_NAME, (row) => stringColumn(row, 'name'));
  if (ifaceIdTable !== undefined) replica.createIndex(ifaceIdTable, BY_IFACE_ID, (row) => externalId(row, IFACE_ID_KEY));
}

/**
 * The rows of `table` whose `column` equals `key`: from the replica when it has them, else asked
 * of the server (the replica may not have caught up with a transaction that just committed, and
 * "already gone" must be true before a delete reports success).
 */
export async function findRows(db: DbRef, table: string, index: string, column: 'name' | 'iface-id', key: string, timeoutMs: number, what: string): Promise<Row[]> {
  const cached = db.client.replica.lookup(table, index, key);
  if (cached.length > 0) return cached;
  return selectRows(db, table, column, key, timeoutMs, what);
}

/** The same, always asked of the server. */
export async function selectRows(db: DbRef, table: string, column: 'name' | 'iface-id', key: string, timeoutMs: number, what: string): Promise<Row[]> {
  const where = column === 'name' ? [cond('name', '==', key)] : [cond('external_ids', 'includes', new Map([[IFACE_ID_KEY, key]]))];
  let result: OperationResult[];
  try {
    result = await db.client.transact([select(table, where)], { timeoutMs });
  } catch (e) {
    throw dbError(db, `look up ${what}`, key, e);
  }
  const ts = db.client.schema?.tables.get(table);
  const rows = result[0]?.rows ?? [];
  if (!ts) return [];
  return rows.map((r) => normalizeRow(ts, r));
}

/** An OVSDB failure as a driver error naming the database and what to check. */
export function dbError(db: DbRef, verb: string, name: string, e: unknown): DriverError {
  const where = `the ${db.role} database (${db.remotes})`;
  const check =
    db.role === 'Northbound'
      ? 'check that the OVN Northbound ovsdb-server and ovn-northd are running and that Open_vSwitch external_ids:ovn-nb points at it (ovn-driver doctor)'
      : 'check that the local ovsdb-server and ovs-vswitchd are running (ovn-driver doctor)';
  if (isOvsdbError(e) && (e.code === 'OVSDB_REQUEST_TIMEOUT' || e.code === 'OVSDB_DISCONNECTED' || e.code === 'OVSDB_CLOSED' || e.code === 'OVSDB_NOT_LEADER')) {
    return new DriverError('DATABASE_UNAVAILABLE', `failed to ${verb} "${name}": ${where} is unreachable (${e.message}); ${check}`, e);
  }
  if (isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME')) {
    return new DriverError('DATABASE_UNAVAILABLE', `failed to ${verb} "${name}": the connection to ${where} was lost before it answered, so the change may or may not have been made; retry the command; ${check}`, e);
  }
  if (e instanceof OvsdbError) return new DriverError('DATABASE_ERROR', `failed to ${verb} "${name}" in ${where}: ${e.message}`, e);
  return new DriverError('INTERNAL', `failed to ${verb} "${name}": ${errorMessage(e)}`, e);
}
