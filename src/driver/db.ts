// What the driver needs of an OVSDB client, the replica indexes it reads through, and the
// mapping of OVSDB failures to driver errors that tell a person which database to check.

import { isOvsdbError, OvsdbError } from '../ovsdb/errors';
import { Condition, cond, Operation, select } from '../ovsdb/operations';
import type { OperationResult } from '../ovsdb/results';
import { DatabaseSchema, normalizeRow, Row, TableSchema } from '../ovsdb/schema';
import type { Replica } from '../ovsdb/replica';
import { DriverError, errorMessage } from './errors';
import { IFACE_ID_KEY, REF_KEY_PREFIX } from './names';

/** The part of OvsdbClient the driver uses (an interface, so the service is easy to wire). */
export interface DbClient {
  readonly database: string;
  readonly replica: Replica;
  readonly schema: DatabaseSchema | undefined;
  readonly state: string;
  readonly currentRemote: string | undefined;
  /** `readOnly`: selects only, resent after a lost connection, so never of unknown outcome. */
  transact(ops: Operation[], opts?: { timeoutMs?: number; readOnly?: boolean }): Promise<OperationResult[]>;
}

/** Which database, for messages: its role and where it is. */
export interface DbRef {
  readonly client: DbClient;
  readonly role: 'Northbound' | 'local Open_vSwitch';
  readonly remotes: string;
}

export const BY_NAME = 'ovn-driver:name';
export const BY_IFACE_ID = 'ovn-driver:iface-id';
/** Logical_Switch by the Docker network ids its refs record (plan-network.ts). */
export const BY_NETWORK_REF = 'ovn-driver:network-ref';

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
  if (tables.includes('Logical_Switch')) replica.createIndex('Logical_Switch', BY_NETWORK_REF, networkRefIds);
}

function networkRefIds(row: Row): string[] | undefined {
  const m = row['external_ids'];
  if (!(m instanceof Map)) return undefined;
  const ids: string[] = [];
  for (const [k, v] of m) if (typeof k === 'string' && k.startsWith(REF_KEY_PREFIX) && typeof v === 'string') ids.push(v);
  return ids;
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
  // A table the database lacks must not read as "no rows" (a delete would then answer "already
  // gone"). Checked before asking when the schema is known; if not, the request waits for a
  // session, which brings it, and it is checked below.
  const where = column === 'name' ? [cond('name', '==', key)] : [cond('external_ids', 'includes', new Map([[IFACE_ID_KEY, key]]))];
  return (await selectEach(db, table, [where], timeoutMs, what, key))[0] ?? [];
}

/** The rows of `table` matching each of `wheres` (one read-only transaction), asked of the server. */
export async function selectEach(db: DbRef, table: string, wheres: readonly (readonly Condition[])[], timeoutMs: number, what: string, key: string): Promise<Row[][]> {
  if (wheres.length === 0) return [];
  if (db.client.schema) tableSchema(db, table, what, key);
  let result: OperationResult[];
  try {
    result = await db.client.transact(wheres.map((w) => select(table, w)), { timeoutMs, readOnly: true });
  } catch (e) {
    // The server refused the select and the schema of the session that answered lacks the table.
    if (isOvsdbError(e) && e.operationIndex !== undefined && !db.client.schema?.tables.has(table)) throw missingTable(db, table, what, key, e);
    throw dbError(db, `look up ${what}`, key, e);
  }
  // Read again: the session that answered may have brought a new schema.
  const ts = tableSchema(db, table, what, key);
  return wheres.map((_, i) => (result[i]?.rows ?? []).map((r) => normalizeRow(ts, r)));
}

function tableSchema(db: DbRef, table: string, what: string, key: string): TableSchema {
  const ts = db.client.schema?.tables.get(table);
  if (!ts) throw missingTable(db, table, what, key);
  return ts;
}

function missingTable(db: DbRef, table: string, what: string, key: string, cause?: unknown): DriverError {
  const schema = db.client.schema;
  const has = schema ? `schema ${schema.version} has no table "${table}"` : `schema is unknown, so table "${table}" cannot be read`;
  return new DriverError(
    'DATABASE_ERROR',
    `failed to look up ${what} "${key}": database "${db.client.database}" at ${db.remotes} (the ${db.role} database): its ${has}; check that ${db.remotes} is the ${db.role} database and not another one, and that its schema is not older than the driver needs (ovsdb-client get-schema-version ${db.remotes} ${db.client.database})`,
    cause,
  );
}

/** An OVSDB failure as a driver error naming the database and what to check. */
export function dbError(db: DbRef, verb: string, name: string, e: unknown): DriverError {
  const where = `the ${db.role} database (${db.remotes})`;
  const check =
    db.role === 'Northbound'
      ? 'check that the OVN Northbound ovsdb-server and ovn-northd are running and that Open_vSwitch external_ids:ovn-nb points at it (ovn-driver doctor)'
      : 'check that the local ovsdb-server and ovs-vswitchd are running (ovn-driver doctor)';
  // Reached only when nothing was written (a transact that was written is OVSDB_UNKNOWN_OUTCOME
  // instead), or by a read: either way the databases hold what they held.
  if (isOvsdbError(e) && (e.code === 'OVSDB_REQUEST_TIMEOUT' || e.code === 'OVSDB_DISCONNECTED' || e.code === 'OVSDB_CLOSED' || e.code === 'OVSDB_NOT_LEADER')) {
    return new DriverError('DATABASE_UNAVAILABLE', `failed to ${verb} "${name}": ${where} is unreachable (${e.message}); no change was made; ${check}`, e);
  }
  if (isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME')) {
    return new DriverError(
      'OUTCOME_UNKNOWN',
      `failed to ${verb} "${name}": ${where} did not answer a transaction that was sent (${e.message}), so the change may or may not have been made; retrying the docker command is safe (the driver's requests are idempotent), and the driver's reconciler removes what a failed request left; ${check}`,
      e,
    );
  }
  if (e instanceof OvsdbError) return new DriverError('DATABASE_ERROR', `failed to ${verb} "${name}" in ${where}: ${e.message}`, e);
  return new DriverError('INTERNAL', `failed to ${verb} "${name}": ${errorMessage(e)}`, e);
}
