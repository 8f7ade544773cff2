import type { ValueStore } from '../region/value-store';

export type JsCollectorFunction = () => number | bigint;

/**
 * `define({ name, collector: () => value })`: the function runs in the event loop of the process that
 * defined the metric, every `freq` seconds; the metric's value becomes initial_value + its result, as
 * for the native collectors. A function that throws or returns a non-integer is logged once per kind of
 * failure and the value is kept.
 */
export class JsCollectors {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly log: (message: string) => void) {}

  add(name: string, fn: JsCollectorFunction, freqSeconds: number, initialValue: bigint, values: ValueStore, value: number): void {
    if (this.timers.has(name)) return;
    let lastError: string | undefined;
    const collect = () => {
      let result: unknown;
      let error: string | undefined;
      try {
        result = fn();
        if (typeof result === 'number' && Number.isSafeInteger(result)) result = BigInt(result);
        if (typeof result !== 'bigint') error = `returned ${String(result)}, not an integer`;
      } catch (thrown) {
        error = `threw ${(thrown as Error)?.message ?? String(thrown)}`;
      }
      if (error !== undefined) {
        if (error !== lastError) this.log(`metric "${name}": its collector function ${error}; keeping the value`);
        lastError = error;
        return;
      }
      lastError = undefined;
      values.setBigInt(value, BigInt.asIntN(64, initialValue + (result as bigint)));
    };
    collect();
    const timer = setInterval(collect, freqSeconds * 1000);
    timer.unref();
    this.timers.set(name, timer);
  }

  close(): void {
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }
}
