/**
 * A coalesced run of one task: however many times it is asked for, it runs once; asked while it
 * runs, it runs once more afterwards (what changed meanwhile is seen by that run), never twice at
 * once. The worker's claim pass, the SQLite group commit, the NOTIFY after publishes, the
 * notification outbox and the retention purge are each such a task.
 */
export interface CoalescedRunOptions {
  /**
   * "now" starts an idle task within request() (up to its first await); "soon" starts it on the
   * next turn of the event loop (setImmediate), so that every request of this turn shares the run.
   */
  start?: "now" | "soon";
}

type Pending = { promise: Promise<void>; resolve(): void; reject(err: unknown): void };

export class CoalescedRun {
  private running: Promise<void> | null = null;
  /** Asked for and not started yet: every request since the last start shares it. */
  private pending: Pending | null = null;
  private starting = false;
  private closed = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly opts: CoalescedRunOptions = {},
  ) {}

  /**
   * Asks for a run; answers when a run that started after this call has finished (and rejects
   * with its error). Nobody needs to wait for it: an unwaited failure is not an unhandled rejection.
   * After close() it answers at once and nothing runs.
   */
  request(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.pending) return this.pending.promise;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {});
    this.pending = { promise, resolve, reject };
    if (!this.running && !this.starting) this.schedule();
    return promise;
  }

  /** No run starts after this; answers once the current one (and one already asked for) is done, failed or not. */
  async close(): Promise<void> {
    while (this.running || this.pending) await (this.running ?? this.pending!.promise).catch(() => {});
    this.closed = true;
  }

  private schedule(): void {
    this.starting = true;
    if (this.opts.start === "soon") setImmediate(() => this.begin());
    else this.begin();
  }

  private begin(): void {
    const run = this.pending;
    this.pending = null;
    // `starting` holds until `running` is set, so a request made by the task's first steps waits for it.
    if (run) this.running = this.execute(run);
    this.starting = false;
  }

  private async execute(run: Pending): Promise<void> {
    try {
      await this.task();
      run.resolve();
    } catch (err) {
      run.reject(err);
    }
    this.running = null;
    if (this.pending) this.schedule();
  }
}
