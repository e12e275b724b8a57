// The OVSDB connection: one live session at a time to one of the configured remotes, with
// jittered backoff between attempts, leader-only for clustered databases, an inactivity probe
// on every remote, unix too (a hung local ovsdb-server keeps its socket open), and a replica
// kept by monitors that resumes (monitor_cond_since) or is rebuilt after a reconnect. Requests
// made while disconnected wait for the next session up to their timeout; a transact written but
// not answered (timeout or lost connection) is reported as of unknown outcome and never resent;
// a read-only transact is resent on the next session instead.

import { EventEmitter } from 'node:events';
import { Backoff, systemTimers, TimerHandle, Timers } from './backoff';
import { describe } from './data';
import { errorText, isOvsdbError, OvsdbError } from './errors';
import { PendingRequest, RpcSession } from './jsonrpc';
import type { Logger } from '../util/logger';
import { ServerWatch, SERVER_DB } from './leader';
import { Operation } from './operations';
import { Replica } from './replica';
import { OperationResult, checkTransactResult } from './results';
import { DatabaseSchema, parseDatabaseSchema } from './schema';
import { openStream, parseRemotes, Remote, TlsFiles } from './transport';
import { encodeConditions, MonitorCondition, MonitorRequest, MonitorState, MonitorSync, requestConditions, WireConditions } from './monitor';

export type ClientState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface ClientOptions {
  /** "unix:PATH" | "tcp:HOST:PORT" | "ssl:HOST:PORT", or a comma-separated list of them. */
  remotes: string;
  /** e.g. "OVN_Northbound", "Open_vSwitch". */
  database: string;
  /** File paths, as ovs-vsctl --private-key/--certificate/--ca-cert take them; needed for ssl. */
  tls?: TlsFiles;
  /** For clustered databases, use only the RAFT leader (default true). */
  leaderOnly?: boolean;
  /**
   * Echo after this much silence, on every kind of remote, and drop the session if the echo is
   * unanswered as long (default 5000, as OVS's 5 s probe interval; 0 disables).
   */
  probeIntervalMs?: number;
  /** Jittered delay between connection attempts (default 1000..8000). */
  backoff?: { minMs: number; maxMs: number };
  /** How long a request may wait for a connection and its reply (default 20000). */
  requestTimeoutMs?: number;
  /** How long one connection attempt may take (default 10000). */
  connectTimeoutMs?: number;
  /**
   * The tables (and columns) the replica keeps; omit for no replica. `{ columns, where }` keeps
   * only the rows matching `where` (monitor_cond); setMonitorConditions changes it later.
   */
  monitor?: MonitorRequest;
  /** The largest message taken from the server (default 32 MiB); a larger one ends the session. */
  maxMessageBytes?: number;
  logger?: Logger;
  timers?: Timers;
  /** For the backoff jitter; Math.random by default. */
  random?: () => number;
}

export interface RequestOpts {
  timeoutMs?: number;
}

export interface TransactOpts extends RequestOpts {
  /**
   * Only reads (select, wait, comment; anything else is refused before sending): a reply lost
   * with its connection is asked again on the next session within the timeout, so a read is
   * never of "unknown outcome".
   */
  readOnly?: boolean;
}

const READ_ONLY_OPS: ReadonlySet<string> = new Set(['select', 'wait', 'comment']);

const SERVER_MONITOR_ID = 'ovsdb-client-_Server';

/** One connected session and what belongs to it. */
interface Conn {
  remote: Remote;
  session: RpcSession;
  closed: Promise<OvsdbError | undefined>;
  sync?: MonitorSync;
  server?: ServerWatch;
  serverBuffer?: unknown[];
  probeTimer?: TimerHandle;
  lastRx: number;
  since: number;
}

interface Waiter {
  method: string;
  resolve(conn: Conn): void;
  reject(err: OvsdbError): void;
  timer: TimerHandle;
}

function positive(name: string, v: number | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to create OVSDB client: option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${describe(v)}`);
  }
  return v;
}

export interface OvsdbClient {
  on(event: 'connected', listener: (remote: string) => void): this;
  on(event: 'disconnected', listener: (err: OvsdbError | undefined) => void): this;
  on(event: 'synced', listener: () => void): this;
  on(event: 'notification', listener: (method: string, params: unknown[]) => void): this;
  on(event: 'state', listener: (state: ClientState) => void): this;
}

export class OvsdbClient extends EventEmitter {
  readonly replica: Replica;
  readonly database: string;
  private readonly remotes: Remote[];
  private readonly opts: ClientOptions;
  private readonly timers: Timers;
  private readonly backoff: Backoff;
  private readonly logger: Logger | undefined;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly probeIntervalMs: number;
  private readonly leaderOnly: boolean;
  private readonly minBackoffMs: number;
  private _state: ClientState = 'idle';
  private conn: Conn | undefined;
  private attempt: Conn | undefined;
  private nextRemote = 0;
  private lastError: OvsdbError | undefined;
  private waiters = new Set<Waiter>();
  private sleepTimer: TimerHandle | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private _schema: DatabaseSchema | undefined;
  // Kept across sessions so a new session resumes the monitor where the last one stopped.
  private monitorState: MonitorState = { lastTxnId: undefined, method: undefined };
  // The replica's conditions in force, per table; a new session's monitor starts with them.
  private conditions: WireConditions = new Map();

  constructor(opts: ClientOptions) {
    super();
    this.opts = opts;
    if (typeof opts.database !== 'string' || opts.database === '') {
      throw new OvsdbError('OVSDB_NOT_SUPPORTED', 'failed to create OVSDB client: option database must name a database, e.g. "OVN_Northbound"');
    }
    this.database = opts.database;
    this.remotes = parseRemotes(opts.remotes);
    if (this.remotes.some((r) => r.kind === 'ssl') && !opts.tls) {
      throw new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to create OVSDB client for "${opts.remotes}": ssl remotes need private key, certificate and CA certificate files`);
    }
    this.timers = opts.timers ?? systemTimers;
    this.logger = opts.logger;
    this.requestTimeoutMs = positive('requestTimeoutMs', opts.requestTimeoutMs, 20000);
    this.connectTimeoutMs = positive('connectTimeoutMs', opts.connectTimeoutMs, 10000);
    this.probeIntervalMs = positive('probeIntervalMs', opts.probeIntervalMs, 5000, true);
    this.leaderOnly = opts.leaderOnly ?? true;
    const b = opts.backoff ?? { minMs: 1000, maxMs: 8000 };
    this.backoff = new Backoff({ minMs: b.minMs, maxMs: b.maxMs, random: opts.random });
    this.minBackoffMs = b.minMs;
    this.replica = new Replica({ timers: this.timers, logger: this.logger });
    if (opts.monitor) {
      MonitorSync.validateRequest(opts.monitor);
      this.conditions = requestConditions(opts.monitor);
    }
  }

  /**
   * Changes which rows of `table` the replica keeps (`where` undefined: every row). On a live
   * session it is sent as monitor_cond_change and resolves once the server answered, the rows
   * that left the condition deleted from the replica and those that entered it inserted; while
   * disconnected the next session's monitor uses it. A condition the server refuses leaves the
   * previous one in force and rejects with the server's error.
   */
  async setMonitorConditions(table: string, where: readonly MonitorCondition[] | undefined): Promise<void> {
    if (this.closed) throw this.closedError('monitor_cond_change');
    if (!this.opts.monitor || !(table in this.opts.monitor)) {
      throw new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to set monitor conditions of table "${table}": the client does not monitor it; add it to the monitor option`);
    }
    const encoded = encodeConditions(table, where);
    // Checked here when the schema is known: a condition the server refuses in a new session's
    // monitor request would fail every session.
    const ts = this._schema?.tables.get(table);
    for (const c of encoded ?? []) {
      if (typeof c !== 'boolean' && ts && c[0] !== '_uuid' && !ts.columns.has(c[0])) {
        throw new OvsdbError('OVSDB_SCHEMA', `failed to set monitor conditions of table "${table}": it has no column "${c[0]}" in the server's schema; the previous conditions stay in force`);
      }
    }
    const before = this.conditions;
    const next = new Map(before);
    if (encoded) next.set(table, encoded);
    else next.delete(table);
    this.conditions = next;
    const conn = this.liveConn();
    if (!conn?.sync) return;
    try {
      await conn.sync.conditionsChanged();
    } catch (e) {
      // Unanswered: what the server holds is unknown, so that session goes; lost with the
      // session: either way the next session's monitor starts with the new conditions.
      if (isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT')) conn.session.close(e);
      if (isOvsdbError(e) && (e.code === 'OVSDB_DISCONNECTED' || e.code === 'OVSDB_CLOSED' || e.code === 'OVSDB_REQUEST_TIMEOUT')) return;
      if (this.conditions === next) this.conditions = before;
      const err = isOvsdbError(e) ? e : new OvsdbError('OVSDB_PROTOCOL', errorText(e), { cause: e });
      throw new OvsdbError(err.code, `failed to set monitor conditions of table "${table}" on database "${this.database}": ${err.message}; the previous conditions stay in force`, { cause: e, rfcError: err.rfcError });
    }
  }

  /** The replica's conditions now, per table (wire form). */
  get monitorConditions(): WireConditions {
    return this.conditions;
  }

  private get closed(): boolean {
    return this._state === 'closed';
  }

  get state(): ClientState {
    return this._state;
  }

  get currentRemote(): string | undefined {
    return this.conn?.remote.text;
  }

  /** The last connection failure's text, for "still waiting for ..." messages; undefined before any. */
  get lastErrorText(): string | undefined {
    return this.lastError?.message.trim() || undefined;
  }

  get schema(): DatabaseSchema | undefined {
    return this._schema;
  }

  /** Starts connecting; resolves once connected (schema read, replica synced). Rejects only if closed first. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError('connect'));
    if (!this.loop) {
      this.loop = this.run().catch((e: unknown) => {
        // run() handles its own errors; reaching here is a bug, logged rather than crashing the process.
        this.logger?.error(`OVSDB client loop for ${this.database} stopped: ${errorText(e)}`);
      });
    }
    if (this.liveConn()) return Promise.resolve();
    return this.waitReady(undefined, 'connect').then(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) {
      await this.loop;
      return;
    }
    this.setState('closed');
    for (const w of this.waiters) {
      this.timers.clearTimeout(w.timer);
      w.reject(this.closedError(w.method));
    }
    this.waiters.clear();
    if (this.sleepTimer !== undefined) this.timers.clearTimeout(this.sleepTimer);
    this.wake?.();
    this.attempt?.session.close();
    this.conn?.session.close();
    await this.loop;
  }

  // ---- requests ---------------------------------------------------------------

  /**
   * Runs one transaction; waits while disconnected (up to the timeout). Once written it is never
   * resent: a missing reply fails it with OVSDB_UNKNOWN_OUTCOME. With `readOnly` it is resent
   * after a lost connection instead (see TransactOpts).
   */
  async transact(ops: Operation[], opts: TransactOpts = {}): Promise<OperationResult[]> {
    const readOnly = opts.readOnly === true;
    if (readOnly) {
      const i = ops.findIndex((op) => !READ_ONLY_OPS.has(op.op));
      const bad = ops[i];
      if (bad) {
        throw new OvsdbError(
          'OVSDB_NOT_SUPPORTED',
          `failed to transact on database "${this.database}": operation ${i} is "${bad.op}", which a read-only transaction may not contain (only select, wait and comment); run it without readOnly`,
          { operation: bad, operationIndex: i },
        );
      }
    }
    const result = await this.call('transact', [this.database, ...ops], opts, !readOnly);
    return checkTransactResult(ops, result);
  }

  async listDbs(opts: RequestOpts = {}): Promise<string[]> {
    const r = await this.call('list_dbs', [], opts, false);
    if (!Array.isArray(r) || !r.every((s): s is string => typeof s === 'string')) {
      throw new OvsdbError('OVSDB_PROTOCOL', `failed to list databases: reply is not a list of names: ${describe(r)}`);
    }
    return r;
  }

  async getSchema(db: string = this.database, opts: RequestOpts = {}): Promise<DatabaseSchema> {
    return parseDatabaseSchema(await this.call('get_schema', [db], opts, false));
  }

  async echo(params: unknown[] = [], opts: RequestOpts = {}): Promise<unknown> {
    return this.call('echo', params, opts, false);
  }

  /** Asks the server to cancel an outstanding request (RFC 7047 4.1.4); only "wait" ops block long enough to matter. */
  cancel(id: unknown): void {
    this.conn?.session.notify('cancel', [id]);
  }

  /** Raw monitor methods: their updates arrive as 'notification' events. Not resumed after a reconnect. */
  monitor(db: string, monitorId: unknown, requests: unknown, opts: RequestOpts = {}): Promise<unknown> {
    return this.call('monitor', [db, monitorId, requests], opts, false);
  }

  monitorCond(db: string, monitorId: unknown, requests: unknown, opts: RequestOpts = {}): Promise<unknown> {
    return this.call('monitor_cond', [db, monitorId, requests], opts, false);
  }

  monitorCondSince(db: string, monitorId: unknown, requests: unknown, lastTxnId: string, opts: RequestOpts = {}): Promise<unknown> {
    return this.call('monitor_cond_since', [db, monitorId, requests, lastTxnId], opts, false);
  }

  monitorCancel(monitorId: unknown, opts: RequestOpts = {}): Promise<unknown> {
    return this.call('monitor_cancel', [monitorId], opts, false);
  }

  /**
   * Sends a request on the live session, waiting for one if needed. A request the session ended
   * before writing is sent on the next one. A write (`mayWrite`) that was written and then got no
   * reply, by timeout, lost connection or close(), fails with OVSDB_UNKNOWN_OUTCOME; a read is
   * sent again on the next session after a lost connection, until its deadline.
   */
  private async call(method: string, params: unknown[], opts: RequestOpts, mayWrite: boolean): Promise<unknown> {
    const timeoutMs = positive('timeoutMs', opts.timeoutMs, this.requestTimeoutMs);
    const deadline = this.timers.now() + timeoutMs;
    for (;;) {
      if (this.closed) throw this.closedError(method);
      const conn = this.liveConn() ?? (await this.waitReady(deadline, method));
      const remaining = Math.max(1, deadline - this.timers.now());
      const req: PendingRequest = conn.session.send(method, params, { timeoutMs: remaining });
      try {
        return await req.reply;
      } catch (e) {
        if (!isOvsdbError(e)) throw e;
        const at = `${method} on ${this.database} at ${conn.remote.text}`;
        const lost = e.code === 'OVSDB_REQUEST_TIMEOUT' || e.code === 'OVSDB_DISCONNECTED' || e.code === 'OVSDB_CLOSED';
        if (mayWrite && req.sent && lost) {
          const why =
            e.code === 'OVSDB_REQUEST_TIMEOUT'
              ? `no reply within ${timeoutMs} ms`
              : e.code === 'OVSDB_CLOSED'
                ? 'the client was closed before the reply came'
                : 'the connection was lost before the reply came';
          throw new OvsdbError('OVSDB_UNKNOWN_OUTCOME', `failed to ${at}: ${why}; the transaction was sent, so it may or may not have been applied; read the database to find out`, { cause: e });
        }
        if (e.code === 'OVSDB_REQUEST_TIMEOUT') {
          throw new OvsdbError('OVSDB_REQUEST_TIMEOUT', `failed to ${at}: no reply within ${timeoutMs} ms`, { cause: e });
        }
        if (e.code !== 'OVSDB_DISCONNECTED') throw e;
        // Never sent, or a read: try again on the next session.
      }
    }
  }

  /** The session requests may use now: connected and not already ending. */
  private liveConn(): Conn | undefined {
    return this.conn && !this.conn.session.closed ? this.conn : undefined;
  }

  private waitReady(deadline: number | undefined, method: string): Promise<Conn> {
    if (this.closed) return Promise.reject(this.closedError(method));
    const live = this.liveConn();
    if (live) return Promise.resolve(live);
    if (!this.loop) void this.connect().catch(() => undefined);
    return new Promise<Conn>((resolve, reject) => {
      const w: Waiter = {
        method,
        resolve,
        reject,
        timer: deadline === undefined ? undefined : this.timers.setTimeout(() => {
          this.waiters.delete(w);
          reject(this.noConnectionError(method));
        }, Math.max(0, deadline - this.timers.now())),
      };
      this.waiters.add(w);
    });
  }

  private noConnectionError(method: string): OvsdbError {
    const lastText = this.lastError?.message.trim();
    const last = lastText ? ` (last error: ${lastText})` : '';
    const tlsTrouble = /certificate|SSL|TLS|alert/i.test(lastText ?? '');
    const hint = tlsTrouble
      ? 'check the TLS private key, certificate and CA certificate on both sides'
      : 'check that ovsdb-server is running, reachable, and serves this database';
    return new OvsdbError(
      'OVSDB_REQUEST_TIMEOUT',
      `failed to ${method} on database "${this.database}": no usable connection to ${this.remotes.map((r) => r.text).join(', ')} within the request timeout${last}; ${hint}`,
      { cause: this.lastError },
    );
  }

  private closedError(method: string): OvsdbError {
    return new OvsdbError('OVSDB_CLOSED', `failed to ${method} on database "${this.database}": the client was closed`);
  }

  // ---- the connection loop ---------------------------------------------------

  private setState(s: ClientState): void {
    if (this._state === s || this.closed) return;
    this._state = s;
    this.safeEmit('state', s);
  }

  // A throwing listener must not stop the connection loop.
  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (e) {
      this.logger?.error(`OVSDB ${this.database}: '${event}' listener failed: ${errorText(e)}`);
    }
  }

  private async run(): Promise<void> {
    let failuresInPass = 0;
    while (!this.closed) {
      const remote = this.remotes[this.nextRemote % this.remotes.length];
      this.nextRemote = (this.nextRemote + 1) % this.remotes.length;
      if (!remote) return;
      this.setState('connecting');
      let conn: Conn;
      try {
        conn = await this.establish(remote);
      } catch (e) {
        const err = isOvsdbError(e) ? e : new OvsdbError('OVSDB_DISCONNECTED', `failed to connect to "${remote.text}": ${errorText(e)}`, { cause: e });
        if (this.closed) return;
        this.lastError = err;
        this.logger?.info(`OVSDB ${this.database}: ${err.message}`, { code: err.code, remote: remote.text });
        // Try every remote once before waiting: after a leader change another one is likely fine.
        if (++failuresInPass >= this.remotes.length) {
          failuresInPass = 0;
          await this.sleep(this.backoff.next());
        }
        continue;
      }
      failuresInPass = 0;
      this.conn = conn;
      this.setState('connected');
      this.logger?.info(`OVSDB ${this.database}: connected to ${remote.text}`);
      for (const w of this.waiters) {
        this.timers.clearTimeout(w.timer);
        w.resolve(conn);
      }
      this.waiters.clear();
      this.safeEmit('connected', remote.text);
      this.safeEmit('synced');
      const err = await conn.closed;
      this.conn = undefined;
      if (this.closed) return;
      this.lastError = err;
      this.logger?.warn(`OVSDB ${this.database}: lost connection to ${remote.text}${err ? `: ${err.message}` : ''}`);
      this.safeEmit('disconnected', err);
      // A session that dies young is a flapping server: wait as after a failed attempt.
      if (this.timers.now() - conn.since < this.minBackoffMs) await this.sleep(this.backoff.next());
      else this.backoff.reset();
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.setState('backoff');
    return new Promise((resolve) => {
      this.wake = (): void => {
        this.wake = undefined;
        this.sleepTimer = undefined;
        resolve();
      };
      this.sleepTimer = this.timers.setTimeout(() => this.wake?.(), ms);
    });
  }

  /** Opens a session and makes it usable: leader check, schema, replica in sync. */
  private async establish(remote: Remote): Promise<Conn> {
    const stream = await openStream(remote, { tls: this.opts.tls, timeoutMs: this.connectTimeoutMs, timers: this.timers });
    const session = new RpcSession(stream, { maxMessageBytes: this.opts.maxMessageBytes, logger: this.logger, timers: this.timers, name: remote.text });
    const conn: Conn = {
      remote,
      session,
      closed: new Promise((resolve) => session.once('close', (err) => resolve(err))),
      lastRx: this.timers.now(),
      since: this.timers.now(),
    };
    this.attempt = conn;
    void conn.closed.then(() => {
      if (conn.probeTimer !== undefined) this.timers.clearTimeout(conn.probeTimer);
    });
    stream.on('data', () => {
      conn.lastRx = this.timers.now();
    });
    session.on('notification', (method, params) => this.onNotification(conn, method, params));
    // On unix sockets too: ovsdb-server answers "echo" there as well, and a hung (e.g. stopped)
    // local server keeps the socket open, so only a probe notices it.
    if (this.probeIntervalMs > 0) this.scheduleProbe(conn, this.probeIntervalMs);
    try {
      if (this.closed) throw this.closedError('connect');
      await this.checkServer(conn);
      const schema = parseDatabaseSchema(await this.setupRequest(conn, 'get_schema', [this.database]));
      if (schema.name !== this.database) {
        throw new OvsdbError('OVSDB_SCHEMA', `failed to read schema of "${this.database}" from ${remote.text}: it is named "${schema.name}"`);
      }
      this._schema = schema;
      if (this.opts.monitor) {
        const sync = new MonitorSync(this.database, this.opts.monitor, schema, this.replica, this.monitorState, this.logger, () => this.conditions);
        conn.sync = sync;
        await sync.start((method, params) => this.setupRequest(conn, method, params));
      }
      if (session.closed) throw (await conn.closed) ?? this.closedError('connect');
      conn.since = this.timers.now();
      return conn;
    } catch (e) {
      const err = isOvsdbError(e) ? e : new OvsdbError('OVSDB_PROTOCOL', `failed to set up session with ${remote.text}: ${errorText(e)}`, { cause: e });
      session.close(err.code === 'OVSDB_CLOSED' ? undefined : err);
      throw err;
    } finally {
      this.attempt = undefined;
    }
  }

  private setupRequest(conn: Conn, method: string, params: unknown[]): Promise<unknown> {
    return conn.session.request(method, params, { timeoutMs: this.requestTimeoutMs });
  }

  /** Leader-only (and "is the database there and connected") check through _Server. */
  private async checkServer(conn: Conn): Promise<void> {
    const watch = new ServerWatch();
    conn.serverBuffer = [];
    let initial: unknown;
    try {
      initial = await this.setupRequest(conn, 'monitor', [SERVER_DB, SERVER_MONITOR_ID, ServerWatch.monitorRequest()]);
    } catch (e) {
      // Servers older than OVS 2.9 have no _Server database: they are not clustered either.
      if (isOvsdbError(e, 'OVSDB_RPC_ERROR')) {
        conn.serverBuffer = undefined;
        return;
      }
      throw e;
    }
    watch.apply(initial);
    for (const u of conn.serverBuffer) watch.apply(u);
    conn.serverBuffer = undefined;
    conn.server = watch;
    const why = watch.refusal(this.database, this.leaderOnly);
    if (why) throw new OvsdbError('OVSDB_NOT_LEADER', `failed to use ${conn.remote.text} for "${this.database}": ${why}; trying the next remote`);
  }

  private onNotification(conn: Conn, method: string, params: unknown[]): void {
    // Thrown errors end the session (RpcSession closes it with the error): a malformed update
    // must not leave a replica that silently diverges from the server.
    if (method === 'update' && params[0] === SERVER_MONITOR_ID) {
      if (conn.serverBuffer) {
        conn.serverBuffer.push(params[1]);
        return;
      }
      if (!conn.server) return;
      conn.server.apply(params[1]);
      const why = conn.server.refusal(this.database, this.leaderOnly);
      if (why) conn.session.close(new OvsdbError('OVSDB_NOT_LEADER', `${conn.remote.text} can no longer be used for "${this.database}": ${why}`));
      return;
    }
    if (conn.sync?.handles(method, params)) {
      conn.sync.notification(method, params);
      return;
    }
    this.safeEmit('notification', method, params);
  }

  private scheduleProbe(conn: Conn, delayMs: number): void {
    conn.probeTimer = this.timers.setTimeout(() => {
      if (conn.session.closed) return;
      const idle = this.timers.now() - conn.lastRx;
      if (idle < this.probeIntervalMs) {
        this.scheduleProbe(conn, this.probeIntervalMs - idle);
        return;
      }
      conn.session.request('echo', [], { timeoutMs: this.probeIntervalMs }).then(
        () => this.scheduleProbe(conn, this.probeIntervalMs),
        (e: unknown) => {
          if (isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT')) {
            conn.session.close(new OvsdbError('OVSDB_REQUEST_TIMEOUT', `${conn.remote.text}: no reply to the inactivity probe within ${this.probeIntervalMs} ms`));
          }
        },
      );
    }, delayMs);
  }
}
