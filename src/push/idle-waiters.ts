/**
 * Waiting, until a deadline, for a sender's state to settle (its queue empty, or its peer hopeless): the
 * owner calls notify() whenever that state may have changed, and every waiter re-checks.
 */
export class IdleWaiters {
  private waiters: (() => void)[] = [];

  /** Resolves once `settled()` holds (checked now and at every notify()), or when the deadline passes. */
  wait(settled: () => boolean, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (settled() || Date.now() >= deadline) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      }, Math.max(0, deadline - Date.now()));
      check();
    });
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}

/**
 * Pushes formatted one after another, each after the previous one, never in the turn that called push():
 * the pusher's `format` may itself spread its work over several turns.
 */
export class FormattingQueue<T> {
  /** Pushes handed over and not formatted yet. */
  pending = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly format: (item: T) => Promise<void> | void,
    private readonly onError: (error: Error) => void,
  ) {}

  add(item: T): void {
    this.pending++;
    this.chain = this.chain
      .then(() => this.format(item))
      .catch((error: unknown) => this.onError(error as Error))
      .finally(() => this.pending--);
  }

  /** Resolves once everything added so far is formatted. */
  drained(): Promise<void> {
    return this.chain;
  }
}
