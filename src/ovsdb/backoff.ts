// Reconnect delays and the timers behind them, injectable so tests control time and chance.

export type TimerHandle = unknown;

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Milliseconds on a monotonic clock. */
  now(): number;
}

function isNodeTimeout(h: TimerHandle): h is NodeJS.Timeout {
  return typeof h === 'object' && h !== null && 'unref' in h;
}

export const systemTimers: Timers = Object.freeze({
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
  clearTimeout: (h: TimerHandle): void => {
    if (isNodeTimeout(h)) clearTimeout(h);
  },
  now: (): number => performance.now(),
});

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** A number in [0, 1); Math.random by default. */
  random?: () => number;
}

/**
 * "Decorrelated jitter": each delay is drawn between minMs and three times the previous one,
 * capped at maxMs. Clients that lost the same server at the same moment spread out instead of
 * reconnecting in lockstep, and the delay still grows while a server stays away.
 */
export class Backoff {
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private last = 0;

  constructor(opts: BackoffOptions) {
    if (!Number.isFinite(opts.minMs) || opts.minMs < 0) throw new RangeError(`backoff minMs must be >= 0, got ${opts.minMs}`);
    if (!Number.isFinite(opts.maxMs) || opts.maxMs < opts.minMs) {
      throw new RangeError(`backoff maxMs must be >= minMs (${opts.minMs}), got ${opts.maxMs}`);
    }
    this.minMs = opts.minMs;
    this.maxMs = opts.maxMs;
    this.random = opts.random ?? Math.random;
  }

  /** The next delay in milliseconds, within [minMs, maxMs]. */
  next(): number {
    const upper = Math.min(this.maxMs, Math.max(this.minMs, this.last * 3));
    const r = Math.min(Math.max(this.random(), 0), 1);
    this.last = Math.round(this.minMs + r * (upper - this.minMs));
    return this.last;
  }

  /** Back to the shortest delays, after a connection that worked. */
  reset(): void {
    this.last = 0;
  }
}
