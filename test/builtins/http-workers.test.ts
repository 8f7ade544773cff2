import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { registerBuiltins } from '../../src/builtins';
import { ROOT, startNode, type Running } from '../helpers/processes';
import { tempRegionPath } from '../helpers/regions';

const HTTP_WORKER = path.join(ROOT, 'test/builtins/workers/http-worker.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A keep-alive client of one worker that remembers every socket it used. */
class Client {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
  readonly sockets = new Set<Socket>();

  constructor(private readonly port: number) {}

  get(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: this.port, path, agent: this.agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('socket', (socket) => this.sockets.add(socket));
      req.on('error', reject);
    });
  }

  /** Sends /hang, waits until the worker says it holds it, then aborts it. */
  async abort(worker: Running, nth: number): Promise<void> {
    const req = http.get({ host: '127.0.0.1', port: this.port, path: '/hang', agent: this.agent });
    req.on('socket', (socket) => this.sockets.add(socket));
    req.on('error', () => {});
    await worker.waitForLine((line) => line === `hang ${nth}`);
    req.destroy();
  }

  bytesReceived(): number {
    let total = 0;
    for (const socket of this.sockets) total += socket.bytesRead;
    return total;
  }
}

const running: Running[] = [];
let m: Metrics | undefined;
afterEach(async () => {
  for (const worker of running.splice(0)) {
    worker.child.kill('SIGKILL');
    await worker.done;
  }
  m?.close();
});

describe('two instrumented worker processes under HTTP load', () => {
  it('count every request, failure and byte in their own worker.N.*, and core.total_tx sums them', async () => {
    const file = tempRegionPath('builtins-http');
    m = Metrics.open({ path: file, collect: true });
    registerBuiltins(m, { workers: 2 });

    const plan = [
      { worker: 1, ok: 12, fail: 3, aborted: 2, size: 3000 },
      { worker: 2, ok: 7, fail: 5, aborted: 1, size: 50 },
    ];
    const workers = plan.map(({ worker }) => startNode(HTTP_WORKER, [file, String(worker)]));
    running.push(...workers);
    const ports = await Promise.all(workers.map(async (w) => JSON.parse(await w.waitForLine((line) => line.startsWith('{'))).port as number));
    const clients = ports.map((port) => new Client(port));

    await Promise.all(
      plan.map(async ({ ok, fail, aborted, size }, i) => {
        const client = clients[i];
        const statuses = await Promise.all([
          ...Array.from({ length: ok }, (_, k) => client.get(`/ok?size=${size + k}`)),
          ...Array.from({ length: fail }, () => client.get('/fail')),
        ]);
        expect(statuses.filter((s) => s === 200)).toHaveLength(ok);
        expect(statuses.filter((s) => s === 500)).toHaveLength(fail);
        for (let n = 1; n <= aborted; n++) await client.abort(workers[i], n);
      }),
    );
    expect(Math.max(...clients.map((c) => c.sockets.size))).toBeGreaterThan(1);
    expect(Math.min(...clients.map((c) => c.sockets.size))).toBeLessThan(plan[1].ok + plan[1].fail + plan[1].aborted); // keep-alive reuse

    for (const { worker } of plan) {
      await until(`worker ${worker} idle`, () => m!.get(`worker.${worker}.busy`) === 0);
      await until(`worker ${worker} avg_response_time`, () => m!.get(`worker.${worker}.avg_response_time`) > 0);
    }
    plan.forEach(({ worker, ok, fail, aborted }, i) => {
      const value = (suffix: string) => m!.get(`worker.${worker}.${suffix}`);
      expect(value('requests')).toBe(ok + fail + aborted);
      expect(value('delta_requests')).toBe(ok + fail + aborted);
      expect(value('failed_requests')).toBe(fail + aborted);
      // Every byte a worker wrote reached its client, which read each response to the end.
      expect(value('total_tx')).toBe(clients[i].bytesReceived());
      expect(clients[i].bytesReceived()).toBeGreaterThan(ok * plan[i].size);
      expect(value('running_time')).toBeGreaterThan(0);
      // Every response, aborted ones included, is one observation of the response_time histogram.
      const times = m!.histogram(`worker.${worker}.response_time`).snapshot();
      expect(times.count).toBe(ok + fail + aborted);
      expect(times.sum).toBe(value('running_time'));
      expect(value('avg_response_time')).toBeGreaterThan(0);
      expect(value('avg_response_time')).toBeLessThanOrEqual(value('running_time'));
      expect(value('busy')).toBe(0);
      expect(value('heap_used')).toBeGreaterThan(0);
      expect(value('heap_total')).toBeGreaterThanOrEqual(value('heap_used'));
      expect(value('rss_size')).toBeGreaterThan(0);
      expect(value('vsz_size')).toBeGreaterThan(value('rss_size'));
      expect(value('active_handles')).toBeGreaterThanOrEqual(1); // at least the listening socket
    });
    expect(m.get('worker.0.requests')).toBe(0);

    const tx = m.get('worker.1.total_tx') + m.get('worker.2.total_tx');
    await until('a collection tick', () => m!.get('core.total_tx') === tx);
    const runningTime = m.get('worker.1.running_time') + m.get('worker.2.running_time');
    await until('core.total_running_time', () => m!.get('core.total_running_time') === runningTime);
    expect(m.get('core.busy_workers')).toBe(0);
    expect(m.get('core.idle_workers')).toBe(2);
    expect(m.get('core.total_rss')).toBeGreaterThan(0);

    for (const client of clients) client.agent.destroy();
  });
});
