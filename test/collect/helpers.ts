import { Metrics } from '../../src';

/** Resolves once `read()` returns a value for which `done` holds, polling; rejects after `timeoutMs`. */
export async function eventually<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms; last value ${String(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for the next collection of `name`: its cell's value changes, or `ms` pass. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects every log line of a Metrics instance. */
export function captureLog(m: Metrics): string[] {
  const lines: string[] = [];
  m.on('log', (line) => lines.push(line));
  return lines;
}
