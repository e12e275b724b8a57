// JSON-RPC 1.0 as RFC 7047 section 4 uses it, over one byte stream: requests
// {method, params, id}, replies {result, error, id}, notifications with id null. Replies are
// matched by integer ids from a per-session counter; the server's "echo" is answered here.
// A session lives as long as its stream: anything malformed from the server ends it.

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { systemTimers, TimerHandle, Timers } from './backoff';
import { describe } from './data';
import { errorText, OvsdbError } from './errors';
import { DEFAULT_MAX_MESSAGE_BYTES, JsonFramer } from './framer';
import { isObject } from '../util/json';
import type { Logger } from '../util/logger';

export interface RpcSessionOptions {
  maxMessageBytes?: number;
  logger?: Logger;
  timers?: Timers;
  /** A name for log lines and error messages, e.g. the remote. */
  name?: string;
  /**
   * How many timed-out requests may still await their (late) reply before the session is
   * dropped as broken (default 1000): their ids are kept so that a late reply is recognised.
   */
  maxAbandoned?: number;
}

export const DEFAULT_MAX_ABANDONED = 1000;

export interface RequestOptions {
  /** Reject with OVSDB_REQUEST_TIMEOUT when no reply came within this time; none by default. */
  timeoutMs?: number;
}

/** A request that was handed to the session. */
export interface PendingRequest {
  readonly id: number;
  /** True once its bytes were written to the stream: a lost reply then means an unknown outcome. */
  readonly sent: boolean;
  readonly reply: Promise<unknown>;
}

interface Waiter {
  method: string;
  resolve(v: unknown): void;
  reject(e: OvsdbError): void;
  timer?: TimerHandle;
}

export interface RpcSession {
  on(event: 'notification', listener: (method: string, params: unknown[]) => void): this;
  on(event: 'close', listener: (err?: OvsdbError) => void): this;
  once(event: 'notification', listener: (method: string, params: unknown[]) => void): this;
  once(event: 'close', listener: (err?: OvsdbError) => void): this;
}

export class RpcSession extends EventEmitter {
  private readonly stream: Duplex;
  private readonly framer: JsonFramer;
  private readonly timers: Timers;
  private readonly logger: Logger | undefined;
  private readonly name: string;
  private readonly pending = new Map<number, Waiter>();
  // Ids given up on (timed out): their late replies are dropped, not treated as unknown. An id
  // leaves when its reply comes; at most maxAbandoned stay, then the session is dropped.
  private readonly abandoned = new Set<number>();
  private readonly maxAbandoned: number;
  private nextId = 1;
  private lastWrittenId = 0;
  private closedWith: { err?: OvsdbError } | undefined;

  constructor(stream: Duplex, opts: RpcSessionOptions = {}) {
    super();
    this.stream = stream;
    this.framer = new JsonFramer({ maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES });
    this.timers = opts.timers ?? systemTimers;
    this.logger = opts.logger;
    this.name = opts.name ?? 'ovsdb';
    const max = opts.maxAbandoned ?? DEFAULT_MAX_ABANDONED;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to create OVSDB session with ${this.name}: option maxAbandoned must be a positive integer, got ${describe(max)}`);
    }
    this.maxAbandoned = max;
    stream.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('error', (e: Error) => this.lost(`connection error: ${e.message}`, e));
    stream.on('end', () => this.lost('the server closed the connection'));
    stream.on('close', () => this.lost('the connection closed'));
    if (stream.destroyed) {
      // Nobody listens yet: end now so requests fail, tell listeners on the next tick.
      const err = new OvsdbError('OVSDB_DISCONNECTED', `${this.name}: the stream was already closed`);
      this.closedWith = { err };
      process.nextTick(() => this.emit('close', err));
    }
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Requests written and still waiting for a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Requests that timed out and whose late reply has not come (yet). */
  get abandonedCount(): number {
    return this.abandoned.size;
  }

  /** Sends a request and waits for its result; see send() for the error codes. */
  request(method: string, params: unknown[], opts: RequestOptions = {}): Promise<unknown> {
    return this.send(method, params, opts).reply;
  }

  /**
   * Sends a request. The reply rejects with OVSDB_RPC_ERROR on an error reply,
   * OVSDB_REQUEST_TIMEOUT after opts.timeoutMs, OVSDB_DISCONNECTED when the session ends first
   * (check `sent` to tell "never sent" from "reply lost"), OVSDB_CLOSED after close().
   */
  send(method: string, params: unknown[], opts: RequestOptions = {}): PendingRequest {
    const id = this.nextId++;
    // Destroyed under us, its 'close' event not yet delivered: end now, so nothing is written.
    if (!this.closedWith && (this.stream.destroyed || this.stream.writableEnded)) this.lost('the connection closed');
    const ended = this.closedWith;
    if (ended) {
      return { id, sent: false, reply: Promise.reject(this.pendingError(method, ended.err, false)) };
    }
    let text: string;
    try {
      text = JSON.stringify({ method, params, id });
    } catch (cause) {
      return { id, sent: false, reply: Promise.reject(new OvsdbError('OVSDB_PROTOCOL', `failed to encode request "${method}": ${errorText(cause)}`, { cause })) };
    }
    const reply = new Promise<unknown>((resolve, reject) => {
      const w: Waiter = { method, resolve, reject };
      if (opts.timeoutMs !== undefined) {
        w.timer = this.timers.setTimeout(() => this.timeout(id), opts.timeoutMs);
      }
      this.pending.set(id, w);
    });
    this.lastWrittenId = id;
    this.stream.write(text);
    return { id, sent: true, reply };
  }

  /** True if request `id` was written to the stream. */
  isSent(id: number): boolean {
    return id <= this.lastWrittenId && id > 0;
  }

  /** Sends a notification (id null): no reply comes, nothing to wait for. */
  notify(method: string, params: unknown[]): void {
    if (this.closedWith) return;
    this.stream.write(JSON.stringify({ method, params, id: null }));
  }

  /**
   * Ends the session and destroys the stream. Pending requests reject (OVSDB_CLOSED without
   * `err`, otherwise OVSDB_DISCONNECTED caused by it); 'close' is emitted once, with `err`.
   */
  close(err?: OvsdbError): void {
    if (this.closedWith) return;
    this.closedWith = { err };
    const waiters = [...this.pending];
    this.pending.clear();
    this.abandoned.clear();
    for (const [, w] of waiters) {
      if (w.timer !== undefined) this.timers.clearTimeout(w.timer);
      w.reject(this.pendingError(w.method, err, true));
    }
    this.framer.reset();
    if (!this.stream.destroyed) this.stream.destroy();
    if (err) this.logger?.debug(`${this.name}: session closed: ${err.message}`, { code: err.code });
    this.emit('close', err);
  }

  private pendingError(method: string, err: OvsdbError | undefined, sent: boolean): OvsdbError {
    if (!err || err.code === 'OVSDB_CLOSED') {
      return new OvsdbError('OVSDB_CLOSED', `failed to ${sent ? 'complete' : 'send'} request "${method}" to ${this.name}: the session was closed`, { cause: err });
    }
    const when = sent ? 'before its reply came' : 'before it was sent';
    return new OvsdbError('OVSDB_DISCONNECTED', `failed to complete request "${method}" to ${this.name}: the connection ended ${when}: ${err.message}`, { cause: err });
  }

  private lost(why: string, cause?: unknown): void {
    if (this.closedWith) return;
    this.close(new OvsdbError('OVSDB_DISCONNECTED', `${this.name}: ${why}`, { cause }));
  }

  private timeout(id: number): void {
    const w = this.pending.get(id);
    if (!w) return;
    this.pending.delete(id);
    this.abandoned.add(id);
    w.reject(new OvsdbError('OVSDB_REQUEST_TIMEOUT', `failed to complete request "${w.method}" to ${this.name}: no reply within the timeout`));
    // A server that leaves this many requests unanswered is not going to answer them: start
    // afresh rather than remember their ids for ever (a new session has ids of its own).
    if (this.abandoned.size > this.maxAbandoned) {
      this.close(new OvsdbError('OVSDB_REQUEST_TIMEOUT', `${this.name}: ${this.abandoned.size} requests got no reply within their timeout; dropping the session to start a new one`));
    }
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith) return;
    let messages: unknown[];
    try {
      messages = this.framer.push(chunk);
    } catch (e) {
      this.close(e instanceof OvsdbError ? e : new OvsdbError('OVSDB_PROTOCOL', `${this.name}: ${errorText(e)}`, { cause: e }));
      return;
    }
    for (const m of messages) {
      if (this.closedWith) return;
      try {
        this.dispatch(m);
      } catch (e) {
        this.close(e instanceof OvsdbError ? e : new OvsdbError('OVSDB_PROTOCOL', `${this.name}: ${errorText(e)}`, { cause: e }));
        return;
      }
    }
  }

  private dispatch(m: unknown): void {
    if (!isObject(m) || !('id' in m)) throw this.protocol(`not a JSON-RPC message: ${describe(m)}`);
    if ('method' in m) {
      const { method, params, id } = m;
      if (typeof method !== 'string' || !Array.isArray(params)) throw this.protocol(`malformed request: ${describe(m)}`);
      if (id === null) {
        this.emit('notification', method, params);
      } else if (method === 'echo') {
        this.stream.write(JSON.stringify({ result: params, error: null, id }));
      } else {
        // ovsdb-server only ever asks "echo"; refuse anything else without ending the session.
        this.stream.write(JSON.stringify({ result: null, error: 'unknown method', id }));
      }
      return;
    }
    const { id } = m;
    if (!('result' in m) && !('error' in m)) throw this.protocol(`malformed reply: ${describe(m)}`);
    if (typeof id !== 'number' || !Number.isInteger(id)) throw this.protocol(`reply with an id that is not ours: ${describe(id)}`);
    const w = this.pending.get(id);
    if (!w) {
      if (this.abandoned.delete(id)) {
        this.logger?.debug(`${this.name}: dropped the late reply to request ${id}`);
        return;
      }
      throw this.protocol(`reply to unknown request id ${id}`);
    }
    this.pending.delete(id);
    if (w.timer !== undefined) this.timers.clearTimeout(w.timer);
    const error = m.error ?? null;
    if (error === null) {
      w.resolve(m.result ?? null);
      return;
    }
    // ovsdb-server sends a string, or {"error": ..., "details": ...} (e.g. "unknown database").
    const rfcError = typeof error === 'string' ? error : isObject(error) && typeof error.error === 'string' ? error.error : describe(error);
    const details = isObject(error) && typeof error.details === 'string' ? error.details : undefined;
    w.reject(new OvsdbError('OVSDB_RPC_ERROR', `failed to ${w.method} on ${this.name}: ${rfcError}${details ? ` (${details})` : ''}`, { rfcError, details }));
  }

  private protocol(why: string): OvsdbError {
    return new OvsdbError('OVSDB_PROTOCOL', `failed to read from ${this.name}: ${why}`);
  }
}
