/**
 * The built-in metrics: uWSGI 2.0.21's names, types and OIDs where Node has an equivalent (uWSGI's
 * worker.N.core.C.*, core.*_signals, core.overloaded and socket.S.listen_queue have none), Node's own
 * runtime figures in the worker namespace, and host figures read from /proc by file collectors.
 *
 * | oid     | name                       | type     | unit    | written by                                        |
 * |---------|----------------------------|----------|---------|---------------------------------------------------|
 * | 3.N.1   | worker.N.requests          | counter  |         | instrument()                                      |
 * | 3.N.2   | worker.N.delta_requests    | absolute |         | instrument(); 0 at startWorkerReporter()          |
 * | 3.N.8   | worker.N.avg_response_time | gauge    | µs      | instrument(): mean of the last window             |
 * | 3.N.9   | worker.N.total_tx          | counter  | bytes   | instrument()                                      |
 * | 3.N.11  | worker.N.rss_size          | gauge    | bytes   | startWorkerReporter(): /proc/self/statm           |
 * | 3.N.12  | worker.N.vsz_size          | gauge    | bytes   | startWorkerReporter(): /proc/self/statm           |
 * | 3.N.13  | worker.N.failed_requests   | counter  |         | instrument(): status >= 500 or aborted            |
 * | 3.N.14  | worker.N.respawns          | counter  |         | the master, when it respawns worker N             |
 * | 3.N.15  | worker.N.running_time      | counter  | µs      | instrument() (uWSGI reuses 3.N.13 here)           |
 * | 3.N.16  | worker.N.heap_used         | gauge    | bytes   | startWorkerReporter(): V8 heap                    |
 * | 3.N.17  | worker.N.heap_total        | gauge    | bytes   | startWorkerReporter(): V8 heap                    |
 * | 3.N.18  | worker.N.event_loop_lag    | gauge    | µs      | startWorkerReporter(): p99 of the interval        |
 * | 3.N.19  | worker.N.gc_time           | counter  | µs      | startWorkerReporter(): GC pauses                  |
 * | 3.N.20  | worker.N.active_handles    | gauge    |         | startWorkerReporter()                             |
 * | 3.N.21  | worker.N.busy              | gauge    | 0 or 1  | instrument(): a request in flight                 |
 * | 3.N.22  | worker.N.response_time     | histogram| µs      | instrument(): every response, 82 loglinear buckets |
 * | 5.3     | core.busy_workers          | gauge    |         | sum of worker.1..W.busy                           |
 * | 5.4     | core.idle_workers          | gauge    |         | multiplier: W + -1 × core.busy_workers            |
 * | 5.100   | core.total_tx              | counter  | bytes   | sum of worker.1..W.total_tx                       |
 * | 5.101   | core.total_rss             | gauge    | bytes   | sum of worker.1..W.rss_size                       |
 * | 5.102   | core.total_vsz             | gauge    | bytes   | sum of worker.1..W.vsz_size                       |
 * | 5.103   | core.avg_response_time     | gauge    | µs      | avg of worker.1..W.avg_response_time              |
 * | 5.104   | core.total_running_time    | counter  | µs      | sum of worker.1..W.running_time                   |
 * | (5.101) | rss_size                   | alias    | bytes   | → core.total_rss                                  |
 * | (5.102) | vsz_size                   | alias    | bytes   | → core.total_vsz                                  |
 * | 10.1    | system.load1               | gauge    | × 100   | file /proc/loadavg, token 0                       |
 * | 10.2    | system.load5               | gauge    | × 100   | file /proc/loadavg, token 1                       |
 * | 10.3    | system.load15              | gauge    | × 100   | file /proc/loadavg, token 2                       |
 * | 10.4    | system.memory.total        | gauge    | bytes   | file /proc/meminfo, token 1 (MemTotal) × 1024     |
 * | 10.5    | system.memory.free         | gauge    | bytes   | file /proc/meminfo, token 4 (MemFree) × 1024      |
 * | 10.6    | system.memory.available    | gauge    | bytes   | file /proc/meminfo, token 7 (MemAvailable) × 1024 |
 * | 10.7    | system.cpu.user            | counter  | 1/100 s | file /proc/stat, token 1 (cpu user)               |
 * | 10.8    | system.cpu.system          | counter  | 1/100 s | file /proc/stat, token 3 (cpu system)             |
 *
 * N = 0..W; worker 0 is the master (the process that owns the region); W = the worker count. As in
 * uWSGI, the core.* aggregates cover workers 1..W only, and core.avg_response_time averages idle
 * workers too. All worker.N.* metrics are manual: the process that serves as worker N writes them.
 */

import type { MetricDefinitionInput, MetricType } from '../spec/metric-spec';

/** Each worker metric: its name suffix, type and last OID arc under 3.N. In uWSGI's registration order. */
const WORKER_METRICS = [
  ['requests', 'counter', 1],
  ['delta_requests', 'absolute', 2],
  ['failed_requests', 'counter', 13],
  ['respawns', 'counter', 14],
  ['avg_response_time', 'gauge', 8],
  ['total_tx', 'counter', 9],
  ['rss_size', 'gauge', 11],
  ['vsz_size', 'gauge', 12],
  // uWSGI gives running_time 3.N.13 too, so SNMP can never reach it; 15 is the first free arc.
  ['running_time', 'counter', 15],
  ['heap_used', 'gauge', 16],
  ['heap_total', 'gauge', 17],
  ['event_loop_lag', 'gauge', 18],
  ['gc_time', 'counter', 19],
  ['active_handles', 'gauge', 20],
  ['busy', 'gauge', 21],
  ['response_time', 'histogram', 22],
] as const satisfies readonly (readonly [string, MetricType, number])[];

/** The part after `worker.N.` of every per-worker metric. */
export type WorkerMetricName = (typeof WORKER_METRICS)[number][0];

export const WORKER_METRIC_NAMES: readonly WorkerMetricName[] = WORKER_METRICS.map(([suffix]) => suffix);

export const LOADAVG_PATH = '/proc/loadavg';
export const MEMINFO_PATH = '/proc/meminfo';
export const STAT_PATH = '/proc/stat';

/**
 * Token indexes in /proc/meminfo (tokens are runs of non-whitespace, from 0): "MemTotal: <kB> kB
 * MemFree: <kB> kB MemAvailable: <kB> kB ...". Fixed because the kernel prints these three lines first
 * and unconditionally since Linux 3.14 (fs/proc/meminfo.c), and Node 20 needs Linux 4.18 or later; the
 * lines after them (Buffers, Cached, ...) depend on the kernel's configuration, so no value past
 * MemAvailable is used. Counting tokens, not columns, makes the padding width irrelevant.
 */
export const MEMINFO_TOKENS = { total: 1, free: 4, available: 7 } as const;

/**
 * The aggregate line of /proc/stat: "cpu user nice system idle ...", in USER_HZ ticks, which the kernel
 * exports as 1/100 s on every architecture whatever its internal HZ.
 */
export const STAT_TOKENS = { user: 1, system: 3 } as const;

/**
 * worker.N.response_time: 100 µs to 100 s, each power of two in 4 buckets, so a percentile is read within
 * 25% (HistogramSnapshot); 82 buckets.
 */
export const RESPONSE_TIME_BUCKETS = 'loglinear:100:100000000:4';

/** The metrics of worker `worker` (0 = the master), in registration order. */
export function workerDefinitions(worker: number): MetricDefinitionInput[] {
  checkWorkerId(worker, 'worker');
  return WORKER_METRICS.map(([suffix, type, arc]) => ({
    name: `worker.${worker}.${suffix}`,
    type,
    oid: `3.${worker}.${arc}`,
    ...(type === 'histogram' ? { buckets: RESPONSE_TIME_BUCKETS } : {}),
  }));
}

/**
 * Every built-in metric for a master and `workers` workers, in registration order: children before the
 * metrics that aggregate them, alias targets before aliases.
 */
export function builtinDefinitions(workers: number): MetricDefinitionInput[] {
  checkWorkerId(workers, 'workers');
  const definitions: MetricDefinitionInput[] = [];
  for (let worker = 0; worker <= workers; worker++) definitions.push(...workerDefinitions(worker));

  const ofWorkers = (suffix: WorkerMetricName): string[] =>
    Array.from({ length: workers }, (_, i) => `worker.${i + 1}.${suffix}`);
  definitions.push(
    { name: 'core.busy_workers', type: 'gauge', oid: '5.3', collector: 'sum', children: ofWorkers('busy') },
    // workers - busy, computed by the collector in the same tick as core.busy_workers (registered just
    // before it), in whichever process collects: no JS timer in one particular process.
    {
      name: 'core.idle_workers',
      type: 'gauge',
      oid: '5.4',
      collector: 'multiplier',
      children: ['core.busy_workers'],
      arg1n: -1,
      initialValue: workers,
    },
    { name: 'core.total_tx', type: 'counter', oid: '5.100', collector: 'sum', children: ofWorkers('total_tx') },
    { name: 'core.total_rss', type: 'gauge', oid: '5.101', collector: 'sum', children: ofWorkers('rss_size') },
    { name: 'core.total_vsz', type: 'gauge', oid: '5.102', collector: 'sum', children: ofWorkers('vsz_size') },
    {
      name: 'core.avg_response_time',
      type: 'gauge',
      oid: '5.103',
      collector: 'avg',
      children: ofWorkers('avg_response_time'),
    },
    {
      name: 'core.total_running_time',
      type: 'counter',
      oid: '5.104',
      collector: 'sum',
      children: ofWorkers('running_time'),
    },
    { name: 'rss_size', type: 'alias', alias: 'core.total_rss' },
    { name: 'vsz_size', type: 'alias', alias: 'core.total_vsz' },
  );

  const file = (name: string, type: MetricType, oid: string, path: string, token: number, scale?: number): MetricDefinitionInput => ({
    name,
    type,
    oid,
    collector: 'file',
    arg1: path,
    arg1n: token,
    ...(scale === undefined ? {} : { arg2n: scale }),
  });
  definitions.push(
    // "0.52 0.58 0.59 1/467 12345": the file collector scales the decimal before truncating, 0.52 -> 52.
    file('system.load1', 'gauge', '10.1', LOADAVG_PATH, 0, 100),
    file('system.load5', 'gauge', '10.2', LOADAVG_PATH, 1, 100),
    file('system.load15', 'gauge', '10.3', LOADAVG_PATH, 2, 100),
    file('system.memory.total', 'gauge', '10.4', MEMINFO_PATH, MEMINFO_TOKENS.total, 1024),
    file('system.memory.free', 'gauge', '10.5', MEMINFO_PATH, MEMINFO_TOKENS.free, 1024),
    file('system.memory.available', 'gauge', '10.6', MEMINFO_PATH, MEMINFO_TOKENS.available, 1024),
    file('system.cpu.user', 'counter', '10.7', STAT_PATH, STAT_TOKENS.user),
    file('system.cpu.system', 'counter', '10.8', STAT_PATH, STAT_TOKENS.system),
  );
  return definitions;
}

/** A worker id or count: an integer from 0 (worker ids and counts share the bound of an OID arc). */
export function checkWorkerId(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, not ${typeof value}`);
  if (!Number.isInteger(value) || value < 0 || value > 4294967295)
    throw new RangeError(`${what} must be an integer from 0 to 4294967295, not ${value}`);
}
