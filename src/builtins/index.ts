/**
 * uWSGI's built-in metrics for Node: the master registers them once (registerBuiltins), each worker
 * process reports its own figures (startWorkerReporter) and counts its requests (instrument). The
 * core.* aggregates and the system.* figures are computed by the region's collector.
 */

import { MetricConflictError } from '../errors';
import type { Metrics } from '../metrics';
import { builtinDefinitions, checkWorkerId } from './definitions';
import { checkMetrics } from './worker-metrics';

export {
  builtinDefinitions,
  workerDefinitions,
  LOADAVG_PATH,
  MEMINFO_PATH,
  MEMINFO_TOKENS,
  STAT_PATH,
  STAT_TOKENS,
  WORKER_METRIC_NAMES,
  type WorkerMetricName,
} from './definitions';
export { instrument, type InstrumentOptions } from './instrument';
export { startWorkerReporter, type WorkerReporterOptions } from './worker-reporter';

export interface RegisterBuiltinsOptions {
  /** How many worker processes (ids 1..workers); the master is worker 0. */
  workers: number;
}

/**
 * Defines every built-in metric for a master and `workers` workers (see definitions.ts for the list and
 * the OIDs). Calling it again with the same worker count is a no-op, from any process; with another
 * count it throws MetricConflictError before defining anything, since the core.* aggregates would need
 * other children.
 */
export function registerBuiltins(metrics: Metrics, options: RegisterBuiltinsOptions): void {
  checkMetrics(metrics);
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be { workers }');
  checkWorkerId(options.workers, 'workers');
  const definitions = builtinDefinitions(options.workers);
  // core.total_tx has one child per worker: its presence tells the worker count already registered.
  const registered = metrics.has('core.total_tx') ? metrics.list().find((info) => info.name === 'core.total_tx') : undefined;
  if (registered && registered.children.length !== options.workers)
    throw new MetricConflictError(
      `${metrics.path}: the built-in metrics are registered for ${registered.children.length} workers, not ${options.workers}`,
    );
  for (const definition of definitions) metrics.define(definition);
}
