// Leader-only connections: the `_Server` database (ovsdb-server(5)) says, for each database a
// server holds, whether it is clustered, connected to its cluster, and the RAFT leader. A
// client that writes to a follower gets its transactions forwarded at best, stale reads at
// worst; like ovn-nbctl --leader-only, we only stay on the leader.

import { describe, isUuidString } from './data';
import { OvsdbError } from './errors';
import { isObject } from '../util/json';

export const SERVER_DB = '_Server';
export const SERVER_COLUMNS = ['name', 'model', 'connected', 'leader'];

interface ServerDatabase {
  name: string;
  model: string;
  connected: boolean;
  leader: boolean;
}

/** A column of a _Server row: the new value, or the old one when the update omits it. */
function field(row: Record<string, unknown>, col: string, kind: 'string' | 'boolean', old: unknown): unknown {
  const v = row[col];
  if (v === undefined) return old;
  if (typeof v !== kind) throw new OvsdbError('OVSDB_PROTOCOL', `failed to read _Server.Database: column "${col}" is ${describe(v)}, expected a ${kind}`);
  return v;
}

/** The `_Server.Database` rows, kept from a "monitor" (update v1) reply and its updates. */
export class ServerWatch {
  private readonly rows = new Map<string, ServerDatabase>();

  /** The monitor request for `_Server`: only the columns the verdict needs. */
  static monitorRequest(): Record<string, unknown> {
    return { Database: { columns: SERVER_COLUMNS } };
  }

  apply(updates: unknown): void {
    if (!isObject(updates)) throw new OvsdbError('OVSDB_PROTOCOL', `failed to read _Server update: ${describe(updates)}`);
    const table = updates.Database;
    if (table === undefined) return;
    if (!isObject(table)) throw new OvsdbError('OVSDB_PROTOCOL', `failed to read _Server.Database update: ${describe(table)}`);
    for (const [uuid, ru] of Object.entries(table)) {
      if (!isUuidString(uuid) || !isObject(ru)) throw new OvsdbError('OVSDB_PROTOCOL', `failed to read _Server.Database row ${describe(uuid)}`);
      if (ru.new === undefined) {
        this.rows.delete(uuid);
        continue;
      }
      if (!isObject(ru.new)) throw new OvsdbError('OVSDB_PROTOCOL', `failed to read _Server.Database row ${uuid}: ${describe(ru.new)}`);
      const old = this.rows.get(uuid);
      const name = field(ru.new, 'name', 'string', old?.name);
      const model = field(ru.new, 'model', 'string', old?.model);
      const connected = field(ru.new, 'connected', 'boolean', old?.connected);
      const leader = field(ru.new, 'leader', 'boolean', old?.leader);
      if (typeof name !== 'string' || typeof model !== 'string' || typeof connected !== 'boolean' || typeof leader !== 'boolean') {
        throw new OvsdbError('OVSDB_PROTOCOL', `failed to read _Server.Database row ${uuid}: missing columns in ${describe(ru.new)}`);
      }
      this.rows.set(uuid, { name, model, connected, leader });
    }
  }

  /** Why this server must not be used for `database`, or undefined if it may. */
  refusal(database: string, leaderOnly: boolean): string | undefined {
    let row: ServerDatabase | undefined;
    for (const r of this.rows.values()) if (r.name === database) row = r;
    if (!row) return `it does not serve database "${database}"`;
    if (row.model !== 'clustered') return undefined;
    if (!row.connected) return `its copy of clustered database "${database}" is not connected to the cluster`;
    if (leaderOnly && !row.leader) return `it is not the leader of clustered database "${database}"`;
    return undefined;
  }
}
