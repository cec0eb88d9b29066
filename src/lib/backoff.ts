/**
 * Capped exponential backoff for a loop that retries after failures: the first wait is `minMs`,
 * each failure doubles it up to `maxMs`, a success starts over. With `jitter` each wait is a random
 * 50–100 % of that, so processes that failed together do not all come back at the same moment.
 */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  jitter?: boolean;
  /** Tests: the source of jitter (default Math.random). */
  random?: () => number;
}

export class Backoff {
  private count = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /** Failures since the last success. */
  get failures(): number {
    return this.count;
  }

  /** Counts a failure; answers how long to wait before the next try, in ms. */
  fail(): number {
    const ms = Math.min(this.opts.maxMs, this.opts.minMs * 2 ** Math.min(this.count, 52));
    this.count++;
    return this.opts.jitter ? Math.round(ms * (0.5 + (this.opts.random ?? Math.random)() / 2)) : ms;
  }

  /** Counts a failure and waits as long as fail() says. */
  async waitAfterFailure(): Promise<void> {
    const ms = this.fail();
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** A success: the next failure waits `minMs` again. */
  reset(): void {
    this.count = 0;
  }
}
