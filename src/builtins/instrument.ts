import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Metrics } from '../metrics';
import { checkWorkerId } from './definitions';
import { checkIntervalMs, checkMetrics, defineWorkerMetrics, type WorkerMetrics } from './worker-metrics';

export interface InstrumentOptions {
  metrics: Metrics;
  /** The worker id whose worker.N.* metrics this server's requests count in (0 = the master). */
  worker: number;
  /**
   * The avg_response_time window (default 1000 ms). Servers of one worker in one process share the
   * window of the first one instrumented.
   */
  intervalMs?: number;
}

const DEFAULT_INTERVAL_MS = 1000;

/**
 * The request accounting of one worker in this process, shared by all its instrumented servers so that
 * `busy` sees every request in flight.
 */
class WorkerRequests {
  private inFlight = 0;
  private windowUs = 0;
  private windowCount = 0;
  private servers = 0;
  private timer: NodeJS.Timeout | undefined;
  private failed = false;
  /** Per keep-alive socket: the part of socket.bytesWritten already added to total_tx. */
  private readonly bytesCounted = new WeakMap<Socket, number>();

  constructor(
    private readonly m: WorkerMetrics,
    private readonly worker: number,
    private readonly intervalMs: number,
  ) {}

  attach(): void {
    if (this.servers++ === 0 && !this.failed) {
      this.timer = setInterval(() => this.guard(() => this.flush()), this.intervalMs);
      this.timer.unref();
    }
  }

  /** The last server is gone: requests still in flight are accounted when they end, their average at once. */
  detach(): void {
    if (--this.servers > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.guard(() => this.flush());
  }

  begin(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (this.failed) return;
    const started = performance.now();
    const socket = request.socket;
    this.guard(() => {
      this.m.requests.inc();
      this.m.delta_requests.inc();
      if (this.inFlight++ === 0) this.m.busy.set(1);
    });
    // 'close' comes once per response: after 'finish', or when the connection closed before it.
    response.once('close', () => this.end(response, socket, started));
  }

  private end(response: http.ServerResponse, socket: Socket, started: number): void {
    if (this.failed) return;
    this.guard(() => {
      const us = Math.round((performance.now() - started) * 1000);
      this.m.running_time.inc(us);
      this.m.response_time.observe(us);
      this.windowUs += us;
      this.windowCount++;
      if (response.statusCode >= 500 || !response.writableFinished) this.m.failed_requests.inc();
      // bytesWritten counts everything handed to the socket, this response and the ones before it on a
      // keep-alive connection: add only what is new since the socket's last response.
      const written = socket.bytesWritten;
      const counted = this.bytesCounted.get(socket) ?? 0;
      if (written > counted) {
        this.m.total_tx.inc(written - counted);
        this.bytesCounted.set(socket, written);
      }
      if (--this.inFlight === 0) this.m.busy.set(0);
      if (this.servers === 0) this.flush();
    });
  }

  /** Ends the window: avg_response_time := the mean of the responses that ended in it, if any. */
  private flush(): void {
    if (this.windowCount === 0) return;
    this.m.avg_response_time.set(Math.round(this.windowUs / this.windowCount));
    this.windowUs = 0;
    this.windowCount = 0;
  }

  /** An exception in a request listener would take the server down; a closed region stops the accounting. */
  private guard(update: () => void): void {
    try {
      update();
    } catch (error) {
      this.failed = true;
      clearInterval(this.timer);
      process.emitWarning(`shmetrics: worker.${this.worker} request accounting stopped: ${(error as Error).message}`);
    }
  }
}

const accounting = new WeakMap<Metrics, Map<number, WorkerRequests>>();
const instrumented = new WeakSet<http.Server | https.Server>();

/**
 * Counts `server`'s requests in worker `worker`'s metrics: requests and delta_requests (+1 per request),
 * busy (1 while this process has a request in flight), and when each response ends: running_time (+ its
 * duration in µs), total_tx (+ the bytes written to its socket), failed_requests (+1 for a status >= 500
 * or a connection closed before the response finished).
 *
 * avg_response_time is the mean duration of the responses that ended in the last `intervalMs` window
 * (tumbling windows); a window in which none ended keeps the previous value, so an idle worker reports
 * the latency of its last requests rather than 0 (uWSGI also leaves it alone while idle).
 *
 * Returns a function that removes the instrumentation; requests already in flight are still accounted.
 */
export function instrument(server: http.Server | https.Server, options: InstrumentOptions): () => void {
  const given: unknown = server;
  if (!(given instanceof http.Server) && !(given instanceof https.Server))
    throw new TypeError('server must be an http.Server or https.Server (http.createServer(...))');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be { metrics, worker }');
  const { metrics, worker } = options;
  checkMetrics(metrics);
  checkWorkerId(worker, 'worker');
  const intervalMs = checkIntervalMs(options.intervalMs, DEFAULT_INTERVAL_MS);
  if (instrumented.has(server)) throw new Error('this server is already instrumented; call the function instrument() returned first');

  let byWorker = accounting.get(metrics);
  if (!byWorker) accounting.set(metrics, (byWorker = new Map()));
  let requests = byWorker.get(worker);
  if (!requests) {
    requests = new WorkerRequests(defineWorkerMetrics(metrics, worker), worker, intervalMs);
    byWorker.set(worker, requests);
  }
  const shared = requests;
  const onRequest = (request: http.IncomingMessage, response: http.ServerResponse): void => shared.begin(request, response);
  // First in line, so that the duration includes the application's own listener.
  server.prependListener('request', onRequest);
  instrumented.add(server);
  shared.attach();

  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    server.off('request', onRequest);
    instrumented.delete(server);
    shared.detach();
  };
}
