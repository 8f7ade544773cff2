/**
 * The pusher side of the peer tests: a PusherContext that records what a pusher logs and drops, snapshot
 * builders, and a measure of the longest turn of the event loop while a pusher works.
 */

import { PerformanceObserver } from 'node:perf_hooks';
import type { PusherContext, PushSample, PushSnapshot } from '../../../src/push/pusher';
import { waitFor } from './daemon';

export interface RecordingContext extends PusherContext {
  readonly logs: string[];
  /** Total of every context.dropped(count) call. */
  droppedTotal(): number;
  /** Log lines matching `pattern`. */
  matching(pattern: RegExp): string[];
}

export function recordingContext(instance: string): RecordingContext {
  const logs: string[] = [];
  let dropped = 0;
  return {
    instance,
    logs,
    log: (message) => logs.push(message),
    dropped: (count) => {
      if (!(Number.isInteger(count) && count > 0)) throw new Error(`dropped(${count})`);
      dropped += count;
    },
    droppedTotal: () => dropped,
    matching: (pattern) => logs.filter((line) => pattern.test(line)),
  };
}

export function snapshot(samples: [name: string, type: PushSample['type'], value: bigint | number][], takenAtMs = Date.now()): PushSnapshot {
  return { takenAtMs, samples: samples.map(([name, type, value]) => ({ name, type, value: BigInt(value) })) };
}

/** `count` metrics named `<prefix>.<i>` with value i * step (negative half of them for gauges). */
export function manyMetrics(count: number, takenAtMs = Date.now(), prefix = 'app.worker'): PushSnapshot {
  const samples: PushSample[] = [];
  for (let i = 0; i < count; i++) {
    const type = i % 3 === 0 ? 'gauge' : 'counter';
    samples.push({ name: `${prefix}.${i}.requests`, type, value: BigInt(type === 'gauge' ? -i * 1000 : i * 123_456_789) });
  }
  return { takenAtMs, samples };
}

/** What longestTurnDuring saw. */
export interface TurnReport<T> {
  result: T;
  /** The longest gap between two consecutive setImmediate callbacks: the longest turn of the event loop. */
  longestTurnMs: number;
  /**
   * The longest time a turn kept this process busy: its wall time less the garbage collection pauses in it
   * (they belong to the whole heap), and at most the CPU time the process used meanwhile (a turn during
   * which another process had the CPU did not block anything of ours).
   */
  longestBusyTurnMs: number;
  /** The longest garbage collection pause meanwhile. */
  longestGcMs: number;
}

/** Runs `work` while measuring the turns of the event loop (see TurnReport). */
export async function longestTurnDuring<T>(work: () => Promise<T>): Promise<TurnReport<T>> {
  const turns: [start: number, end: number, cpuMs: number][] = [];
  const gcs: [start: number, end: number][] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcs.push([entry.startTime, entry.startTime + entry.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let running = true;
  const tick = (): void => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (now - last > 0.5) turns.push([last, now, (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000]);
    last = now;
    lastCpu = cpu;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  let result: T;
  try {
    result = await work();
  } finally {
    running = false;
  }
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  let longestTurnMs = 0;
  let longestBusyTurnMs = 0;
  for (const [start, end, cpuMs] of turns) {
    let gc = 0;
    for (const [gcStart, gcEnd] of gcs) gc += Math.max(0, Math.min(end, gcEnd) - Math.max(start, gcStart));
    longestTurnMs = Math.max(longestTurnMs, end - start);
    longestBusyTurnMs = Math.max(longestBusyTurnMs, Math.min(end - start - gc, cpuMs));
  }
  const longestGcMs = gcs.reduce((max, [start, end]) => Math.max(max, end - start), 0);
  return { result, longestTurnMs, longestBusyTurnMs, longestGcMs };
}

/**
 * The time push() and the microtasks it queued take (what the turn that calls push() pays), as
 * TurnReport.longestBusyTurnMs counts it: less garbage collection, at most the CPU time used.
 */
export async function syncCostOf(push: () => void): Promise<number> {
  const gcs: [start: number, end: number][] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcs.push([entry.startTime, entry.startTime + entry.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  const cpu = process.cpuUsage();
  const started = performance.now();
  push();
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  const ended = performance.now();
  const used = process.cpuUsage(cpu);
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  let gc = 0;
  for (const [gcStart, gcEnd] of gcs) gc += Math.max(0, Math.min(ended, gcEnd) - Math.max(started, gcStart));
  return Math.min(ended - started - gc, (used.user + used.system) / 1000);
}

export const until = waitFor;
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
