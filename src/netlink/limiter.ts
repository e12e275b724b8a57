// Caps how many requests are in flight on one socket. Each answer the kernel queues costs socket
// receive buffer; past SO_RCVBUF it drops answers (ENOBUFS) and those requests would only end by
// timing out. The kernel serializes link changes under the RTNL lock anyway, so waiting here
// costs no throughput.

export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays counted for it.
      if (next !== undefined) next();
      else this.active--;
    }
  }
}
