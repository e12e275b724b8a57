// Per-key serialization: one endpoint's (or network's) requests run one after another, in
// arrival order; different keys run in parallel. Docker starts containers concurrently, and a
// retried call must not interleave with the attempt it retries.

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier call with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await previous;
      return await fn();
    } finally {
      release();
      // The last one out forgets the key, so the map holds only keys with work in flight.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a call running or queued (for the debug view). */
  get activeKeys(): number {
    return this.tails.size;
  }
}
