// Keeps the replica in step with the server for one session: picks the best monitor method the
// server knows (monitor_cond_since, then monitor_cond, then monitor), resumes from the last
// transaction id when it can, rebuilds the replica from the initial contents when it cannot,
// and applies the notifications that follow.

import { describe, isUuidString } from './data';
import { errorText, isOvsdbError, OvsdbError } from './errors';
import { isObject } from '../util/json';
import type { Logger } from '../util/logger';
import type { Replica, UpdateFormat } from './replica';
import type { MonitoredTable } from './row-update';
import type { DatabaseSchema } from './schema';

export type MonitorMethod = 'monitor_cond_since' | 'monitor_cond' | 'monitor';
export type MonitorRequest = Record<string, string[] | 'all'>;

/** What survives a reconnect: where the last session's monitor stopped. */
export interface MonitorState {
  lastTxnId: string | undefined;
  method: MonitorMethod | undefined;
}

export const REPLICA_MONITOR_ID = 'ovsdb-client-replica';
const ZERO_TXN = '00000000-0000-0000-0000-000000000000';
const METHODS: readonly MonitorMethod[] = ['monitor_cond_since', 'monitor_cond', 'monitor'];

export type Send = (method: string, params: unknown[]) => Promise<unknown>;

export class MonitorSync {
  private readonly tables: Map<string, MonitoredTable>;
  private buffer: { method: string; params: unknown[] }[] | undefined = [];
  private method: MonitorMethod | undefined;

  /** Checks the shape of the `monitor` option when the client is built. */
  static validateRequest(req: unknown): void {
    const bad = (why: string): OvsdbError => new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to create OVSDB client: option monitor ${why}`);
    if (!isObject(req)) throw bad('must map table names to column lists or "all"');
    for (const [table, cols] of Object.entries(req)) {
      if (cols === 'all') continue;
      if (!Array.isArray(cols) || !cols.every((c) => typeof c === 'string')) throw bad(`for table "${table}" must be a list of column names or "all"`);
    }
  }

  constructor(
    private readonly database: string,
    request: MonitorRequest,
    schema: DatabaseSchema,
    private readonly replica: Replica,
    private readonly state: MonitorState,
    private readonly logger?: Logger,
  ) {
    this.tables = new Map();
    for (const [name, cols] of Object.entries(request)) {
      const ts = schema.tables.get(name);
      if (!ts) {
        this.logger?.warn(`OVSDB ${database}: the server's schema has no table "${name}"; it stays empty in the replica`);
        continue;
      }
      const all = [...ts.columns.keys()];
      // Older releases lack some columns: monitor what this server has, nothing else.
      const wanted = cols === 'all' ? all : cols.filter((c) => ts.columns.has(c));
      if (cols !== 'all' && wanted.length < cols.length) {
        this.logger?.debug(`OVSDB ${database}: table "${name}" lacks columns ${cols.filter((c) => !ts.columns.has(c)).join(', ')} on this server`);
      }
      this.tables.set(name, { schema: ts, columns: wanted });
    }
  }

  /** Sets up the monitor on a new session and brings the replica up to date. */
  async start(send: Send): Promise<void> {
    this.replica.configure(this.tables);
    for (const method of METHODS) {
      let result: unknown;
      try {
        result = await send(method, this.params(method));
      } catch (e) {
        // "unknown method": an older server; try the next, older method.
        if (isOvsdbError(e, 'OVSDB_RPC_ERROR') && e.rfcError === 'unknown method') continue;
        throw e;
      }
      this.method = method;
      this.state.method = method;
      this.initial(method, result);
      const queued = this.buffer ?? [];
      this.buffer = undefined;
      for (const n of queued) this.notification(n.method, n.params);
      return;
    }
    throw new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to monitor database "${this.database}": the server knows none of ${METHODS.join(', ')}`);
  }

  handles(method: string, params: unknown[]): boolean {
    return (method === 'update' || method === 'update2' || method === 'update3') && params[0] === REPLICA_MONITOR_ID;
  }

  /** Applies an update/update2/update3 notification; throws OvsdbError if it is malformed. */
  notification(method: string, params: unknown[]): void {
    if (this.buffer) {
      // The reply to the monitor request is still on its way to us through a promise.
      this.buffer.push({ method, params });
      return;
    }
    if (method === 'update3') {
      const txn = params[1];
      if (typeof txn !== 'string' || !isUuidString(txn)) throw this.protocol(`update3 with a bad last-txn-id ${describe(txn)}`);
      this.apply('update2', params[2]);
      this.state.lastTxnId = txn;
    } else {
      this.apply(method === 'update' ? 'update' : 'update2', params[1]);
    }
  }

  private apply(format: UpdateFormat, updates: unknown): void {
    try {
      this.replica.apply(format, updates);
    } catch (e) {
      throw isOvsdbError(e) ? e : this.protocol(errorText(e));
    }
  }

  private params(method: MonitorMethod): unknown[] {
    const req: Record<string, unknown> = {};
    for (const [name, t] of this.tables) {
      req[name] = method === 'monitor' ? { columns: t.columns } : [{ columns: t.columns }];
    }
    if (method === 'monitor_cond_since') return [this.database, REPLICA_MONITOR_ID, req, this.state.lastTxnId ?? ZERO_TXN];
    return [this.database, REPLICA_MONITOR_ID, req];
  }

  private initial(method: MonitorMethod, result: unknown): void {
    if (method !== 'monitor_cond_since') {
      this.state.lastTxnId = undefined;
      this.replace(method === 'monitor' ? 'update' : 'update2', result);
      return;
    }
    if (!Array.isArray(result) || result.length !== 3 || typeof result[0] !== 'boolean' || typeof result[1] !== 'string' || !isUuidString(result[1])) {
      throw this.protocol(`monitor_cond_since reply is not [found, last-txn-id, updates]: ${describe(result)}`);
    }
    const [found, txn, updates] = result;
    if (found) {
      // Resumed: only what changed since our last transaction id.
      this.logger?.debug(`OVSDB ${this.database}: monitor resumed after transaction ${this.state.lastTxnId ?? ZERO_TXN}`);
      this.apply('update2', updates);
    } else {
      this.replace('update2', updates);
    }
    this.state.lastTxnId = txn;
  }

  /** The replica becomes exactly the initial contents: rows the server dropped meanwhile go. */
  private replace(format: UpdateFormat, initial: unknown): void {
    try {
      this.replica.replace(format, initial ?? {});
    } catch (e) {
      throw isOvsdbError(e) ? e : this.protocol(errorText(e));
    }
  }

  get activeMethod(): MonitorMethod | undefined {
    return this.method;
  }

  private protocol(why: string): OvsdbError {
    return new OvsdbError('OVSDB_PROTOCOL', `failed to monitor database "${this.database}": ${why}`);
  }
}
