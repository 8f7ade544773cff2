import type { Histogram } from '../histogram/histogram';
import type { Metric } from '../metric';
import type { Metrics } from '../metrics';
import { checkWorkerId, workerDefinitions, type WorkerMetricName } from './definitions';

/** Handles on one worker's built-in metrics, keyed by the part of the name after `worker.N.`. */
export type WorkerMetrics = Readonly<Record<Exclude<WorkerMetricName, 'response_time'>, Metric> & { response_time: Histogram }>;

/**
 * Defines worker `worker`'s metrics (a no-op for those registerBuiltins already defined) and returns
 * their handles. Defining them here, rather than requiring registerBuiltins first, lets a worker start
 * before or after the master registers: both definitions are identical.
 */
export function defineWorkerMetrics(metrics: Metrics, worker: number): WorkerMetrics {
  checkMetrics(metrics);
  checkWorkerId(worker, 'worker');
  const prefix = `worker.${worker}.`;
  const handles: Partial<Record<WorkerMetricName, Metric | Histogram>> = {};
  for (const definition of workerDefinitions(worker))
    handles[definition.name.slice(prefix.length) as WorkerMetricName] = metrics.define(definition);
  return handles as unknown as WorkerMetrics;
}

export function checkMetrics(metrics: unknown): asserts metrics is Metrics {
  if (typeof metrics !== 'object' || metrics === null || typeof (metrics as Metrics).define !== 'function')
    throw new TypeError(`metrics must be a Metrics instance (Metrics.open(...)), not ${metrics === null ? 'null' : typeof metrics}`);
}

/** A positive interval in milliseconds, `fallback` when undefined. */
export function checkIntervalMs(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`intervalMs must be a number, not ${typeof value}`);
  // setInterval's own limits: below 1 it becomes 1, above 2^31-1 it fires immediately.
  if (!Number.isFinite(value) || value < 1 || value > 2147483647)
    throw new RangeError(`intervalMs must be from 1 to 2147483647, not ${value}`);
  return value;
}
