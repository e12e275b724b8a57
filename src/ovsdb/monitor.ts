// Keeps the replica in step with the server for one session: picks the best monitor method the
// server knows (monitor_cond_since, then monitor_cond, then monitor), resumes from the last
// transaction id when it can, rebuilds the replica from the initial contents when it cannot,
// and applies the notifications that follow. Tables may carry conditions (monitor_cond's
// "where"), so the replica holds only the rows a caller needs; conditions change at run time
// with monitor_cond_change, and the server then sends "delete" for the rows that leave the
// condition and "insert" for those that enter it. A plain "monitor" (servers before OVS 2.6) has
// no conditions: the replica then holds every row, a superset, and readers must filter.

import { describe, encodeValue, isUuidString, Value } from './data';
import type { Condition, Function, WireCondition } from './operations';
import { errorText, isOvsdbError, OvsdbError } from './errors';
import { isObject } from '../util/json';
import type { Logger } from '../util/logger';
import type { Replica, UpdateFormat } from './replica';
import type { MonitoredTable } from './row-update';
import type { DatabaseSchema } from './schema';

export type MonitorMethod = 'monitor_cond_since' | 'monitor_cond' | 'monitor';
/** A monitor condition: [column, function, value] as in a select's "where", or true/false. */
export type MonitorCondition = Condition | boolean;
/** Rows of a table whose every condition holds; no `where` = every row. */
export interface TableMonitor {
  columns: string[] | 'all';
  where?: MonitorCondition[];
}
export type MonitorRequest = Record<string, string[] | 'all' | TableMonitor>;
/** The conditions in force, per table, in wire form (a table absent here: every row). */
export type WireConditions = ReadonlyMap<string, readonly (WireCondition | boolean)[]>;

/** What survives a reconnect: where the last session's monitor stopped. */
export interface MonitorState {
  lastTxnId: string | undefined;
  method: MonitorMethod | undefined;
  /**
   * conditionsKey() of the conditions lastTxnId belongs to: a resume under other conditions
   * would keep rows the new ones exclude and miss the unchanged rows they include. Absent: no
   * conditions; null: unknown (a change was sent and not answered), so never resume.
   */
  conditionsKey?: string | null;
}

const FUNCTIONS: readonly Function[] = ['<', '<=', '==', '!=', '>=', '>', 'includes', 'excludes'];
const isFunction = (f: unknown): f is Function => FUNCTIONS.some((x) => x === f);

/**
 * Checks and encodes one table's conditions; throws OVSDB_NOT_SUPPORTED naming what is wrong.
 * `where` undefined = every row.
 */
export function encodeConditions(table: string, where: unknown): (WireCondition | boolean)[] | undefined {
  if (where === undefined) return undefined;
  const bad = (why: string): OvsdbError =>
    new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to set monitor conditions of table "${table}": ${why}; give a list of [column, function, value] or true/false`);
  if (!Array.isArray(where)) throw bad(`"where" is ${describe(where)}, not a list`);
  return where.map((c: unknown, i) => {
    if (typeof c === 'boolean') return c;
    if (!Array.isArray(c) || c.length !== 3) throw bad(`condition ${i} is ${describe(c)}`);
    const [column, fn, value]: unknown[] = c;
    if (typeof column !== 'string' || column === '') throw bad(`condition ${i} has column ${describe(column)}`);
    if (!isFunction(fn)) throw bad(`condition ${i} has function ${describe(fn)}, not one of ${FUNCTIONS.join(' ')}`);
    try {
      // encodeValue checks the value's shape and throws on anything that is not an OVSDB value.
      return [column, fn, encodeValue(value as Value)];
    } catch (e) {
      throw bad(`condition ${i} has a value that cannot be encoded (${errorText(e)})`);
    }
  });
}

/** A stable text of a set of conditions, to tell whether two sets are the same. */
export function conditionsKey(c: WireConditions): string {
  return JSON.stringify([...c].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The conditions a monitor request carries. */
export function requestConditions(req: MonitorRequest): Map<string, (WireCondition | boolean)[]> {
  const out = new Map<string, (WireCondition | boolean)[]>();
  for (const [table, r] of Object.entries(req)) {
    if (typeof r !== 'object' || Array.isArray(r)) continue;
    const w = encodeConditions(table, r.where);
    if (w) out.set(table, w);
  }
  return out;
}

const NO_CONDITIONS = conditionsKey(new Map());

function columnsOf(r: string[] | 'all' | TableMonitor): string[] | 'all' {
  return typeof r === 'object' && !Array.isArray(r) ? r.columns : r;
}

export const REPLICA_MONITOR_ID = 'ovsdb-client-replica';
const ZERO_TXN = '00000000-0000-0000-0000-000000000000';
const METHODS: readonly MonitorMethod[] = ['monitor_cond_since', 'monitor_cond', 'monitor'];

export type Send = (method: string, params: unknown[]) => Promise<unknown>;

export class MonitorSync {
  private readonly tables: Map<string, MonitoredTable>;
  private buffer: { method: string; params: unknown[] }[] | undefined = [];
  private method: MonitorMethod | undefined;
  private send: Send | undefined;
  // What the server was last told: the key and the per-table conditions.
  private sentKey: string | undefined;
  private sentConditions: WireConditions = new Map();
  private changing: Promise<void> = Promise.resolve();

  /** Checks the shape of the `monitor` option when the client is built. */
  static validateRequest(req: unknown): void {
    const bad = (why: string): OvsdbError => new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to create OVSDB client: option monitor ${why}`);
    if (!isObject(req)) throw bad('must map table names to column lists or "all"');
    for (const [table, r] of Object.entries(req)) {
      const cols: unknown = isObject(r) ? r['columns'] : r;
      if (cols === 'all') continue;
      if (!Array.isArray(cols) || !cols.every((c) => typeof c === 'string')) throw bad(`for table "${table}" must be a list of column names or "all" (or { columns, where })`);
    }
    requestConditions(req as MonitorRequest);
  }

  constructor(
    private readonly database: string,
    request: MonitorRequest,
    schema: DatabaseSchema,
    private readonly replica: Replica,
    private readonly state: MonitorState,
    private readonly logger?: Logger,
    /** The conditions in force now; read when the monitor is set up and after each change. */
    private readonly conditions: () => WireConditions = () => requestConditions(request),
  ) {
    this.tables = new Map();
    for (const [name, req] of Object.entries(request)) {
      const cols = columnsOf(req);
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
    this.send = send;
    for (const method of METHODS) {
      let result: unknown;
      const key = conditionsKey(this.liveConditions());
      try {
        result = await send(method, this.params(method, key));
      } catch (e) {
        // "unknown method": an older server; try the next, older method.
        if (isOvsdbError(e, 'OVSDB_RPC_ERROR') && e.rfcError === 'unknown method') continue;
        throw e;
      }
      this.method = method;
      this.state.method = method;
      this.sentKey = key;
      this.initial(method, result);
      this.state.conditionsKey = key;
      const queued = this.buffer ?? [];
      this.buffer = undefined;
      for (const n of queued) this.notification(n.method, n.params);
      // Conditions changed while the monitor request was on its way.
      await this.conditionsChanged();
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

  /**
   * Brings the server's conditions to the ones in force now (monitor_cond_change), one change at
   * a time; resolves once the server has answered (its "delete"s and "insert"s are applied by
   * then: ovsdb-server sends them before the reply). Before start() and under a plain "monitor"
   * it does nothing: start() reads the conditions itself, and "monitor" has none.
   */
  conditionsChanged(): Promise<void> {
    const run = this.changing.then(() => this.changeNow());
    this.changing = run.catch(() => undefined);
    return run;
  }

  private async changeNow(): Promise<void> {
    const send = this.send;
    if (!send || this.buffer || this.method === undefined || this.method === 'monitor') return;
    const now = this.liveConditions();
    const key = conditionsKey(now);
    if (key === this.sentKey) return;
    const before = this.sentConditions;
    const changes: Record<string, unknown> = {};
    for (const name of this.tables.keys()) {
      const w = now.get(name);
      // "where": [true] is how every row is asked for again after a condition is lifted.
      if (JSON.stringify(w ?? null) !== JSON.stringify(before.get(name) ?? null)) changes[name] = [{ where: w ?? [true] }];
    }
    // A session lost before the reply leaves the server's conditions unknown: never resume then.
    this.state.conditionsKey = null;
    await send('monitor_cond_change', [REPLICA_MONITOR_ID, REPLICA_MONITOR_ID, changes]);
    this.sentKey = key;
    this.sentConditions = now;
    this.state.conditionsKey = key;
  }

  /** The conditions in force for the monitored tables only. */
  private liveConditions(): WireConditions {
    const all = this.conditions();
    const out = new Map<string, readonly (WireCondition | boolean)[]>();
    for (const name of this.tables.keys()) {
      const w = all.get(name);
      if (w) out.set(name, w);
    }
    return out;
  }

  private params(method: MonitorMethod, key: string): unknown[] {
    const req: Record<string, unknown> = {};
    const where = this.liveConditions();
    this.sentConditions = method === 'monitor' ? new Map() : where;
    for (const [name, t] of this.tables) {
      const w = where.get(name);
      req[name] = method === 'monitor' ? { columns: t.columns } : [w ? { columns: t.columns, where: w } : { columns: t.columns }];
    }
    if (method === 'monitor' && where.size > 0) {
      this.logger?.warn(`OVSDB ${this.database}: the server has no conditional monitor (monitor_cond); the replica holds every row of ${[...where.keys()].join(', ')}`);
    }
    if (method === 'monitor_cond_since') {
      // Resume only under the conditions the last transaction id was taken with.
      const recorded = this.state.conditionsKey === undefined ? NO_CONDITIONS : this.state.conditionsKey;
      const resume = this.state.lastTxnId !== undefined && recorded === key;
      return [this.database, REPLICA_MONITOR_ID, req, resume ? (this.state.lastTxnId ?? ZERO_TXN) : ZERO_TXN];
    }
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
