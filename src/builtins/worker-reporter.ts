import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { Metrics } from '../metrics';
import { StatmReader } from './process-memory';
import { checkIntervalMs, defineWorkerMetrics, type WorkerMetrics } from './worker-metrics';

export interface WorkerReporterOptions {
  /** How often the process figures are written (default 1000 ms). */
  intervalMs?: number;
}

const DEFAULT_INTERVAL_MS = 1000;
/**
 * The event-loop delay monitor's timer period. Each sample is the time between two firings of a timer of
 * this period, so an idle loop measures this much: it is subtracted to give the lag. 10 ms is Node's
 * default: about 100 samples a second, enough for a p99 of a one-second interval.
 */
const LOOP_RESOLUTION_MS = 10;
const LOOP_RESOLUTION_NS = LOOP_RESOLUTION_MS * 1e6;

/** The reporters running in this process, per Metrics instance and worker id. */
const running = new WeakMap<Metrics, Map<number, { users: number; stop: () => void }>>();

/**
 * Starts writing this process's figures into worker `worker`'s metrics (0 = the master), now and then
 * every `intervalMs`: rss_size and vsz_size (bytes, /proc/self/statm), heap_used and heap_total (bytes,
 * V8), event_loop_lag (µs, the p99 of the interval's event-loop delay beyond the monitor's 10 ms timer
 * period), gc_time (µs spent in garbage collection, a counter) and active_handles (the libuv handles and
 * requests that keep the event loop alive, timers excluded).
 *
 * Start it when the worker process starts, before it serves: it sets delta_requests to 0, so that it
 * counts the requests since this (re)spawn. (respawns is counted by the process that respawns workers.)
 *
 * One reporter runs per Metrics instance and worker: calling this again while one runs (a worker the
 * master started already has one) shares it, with the first caller's interval, and does not reset
 * delta_requests again; it stops when every caller has stopped it. Its timer is unref'd: it never keeps
 * the process alive. Returns `stop`, after which it writes nothing more and releases the event-loop
 * monitor, the GC observer and the open /proc file.
 */
export function startWorkerReporter(metrics: Metrics, worker: number, options: WorkerReporterOptions = {}): () => void {
  const intervalMs = checkIntervalMs(options?.intervalMs, DEFAULT_INTERVAL_MS);
  const m = defineWorkerMetrics(metrics, worker);
  let byWorker = running.get(metrics);
  if (!byWorker) running.set(metrics, (byWorker = new Map()));
  let reporter = byWorker.get(worker);
  if (!reporter) {
    m.delta_requests.set(0);
    const stop = startReporting(m, worker, intervalMs, () => {
      if (byWorker.get(worker) === reporter) byWorker.delete(worker);
    });
    reporter = { users: 0, stop };
    byWorker.set(worker, reporter);
  }
  const shared = reporter;
  shared.users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--shared.users === 0) shared.stop();
  };
}

function startReporting(m: WorkerMetrics, worker: number, intervalMs: number, onStop: () => void): () => void {
  const statm = new StatmReader();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();
  let gcMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    loopDelay.disable();
    gcObserver.disconnect();
    statm.close();
    onStop();
  };

  const report = (): void => {
    statm.read();
    m.rss_size.set(statm.rssBytes);
    m.vsz_size.set(statm.vszBytes);
    const heap = v8.getHeapStatistics();
    m.heap_used.set(heap.used_heap_size);
    m.heap_total.set(heap.total_heap_size);
    // An interval without a sample (the first report) has no lag to report; percentile() would say 511.
    const lagNs = loopDelay.count > 0 ? Math.max(0, loopDelay.percentile(99) - LOOP_RESOLUTION_NS) : 0;
    m.event_loop_lag.set(Math.round(lagNs / 1000));
    loopDelay.reset();
    // Whole microseconds only; the fraction waits for the next report, so nothing is lost to rounding.
    const gcUs = Math.floor(gcMs * 1000);
    if (gcUs > 0) {
      m.gc_time.inc(gcUs);
      gcMs -= gcUs / 1000;
    }
    m.active_handles.set(countActiveHandles());
  };
  const reportFromTimer = (): void => {
    try {
      report();
    } catch (error) {
      // The region was closed, or /proc went away: an exception here would kill the worker.
      stop();
      process.emitWarning(`shmetrics: worker.${worker} reporter stopped: ${(error as Error).message}`);
    }
  };

  try {
    report();
  } catch (error) {
    stop();
    throw error;
  }
  timer = setInterval(reportFromTimer, intervalMs);
  timer.unref();
  return stop;
}

/** Handles and requests keeping the loop alive; timers and immediates are not handles of their own. */
function countActiveHandles(): number {
  let count = 0;
  for (const resource of process.getActiveResourcesInfo()) if (resource !== 'Timeout' && resource !== 'Immediate') count++;
  return count;
}
