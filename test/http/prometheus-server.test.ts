import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../collect/helpers';
import { commandExists, missingPeer } from '../helpers/peers';
import { ROOT, startNode, type Running } from '../helpers/processes';
import { tempDir, tempRegionPath } from '../helpers/regions';

const CLI = path.join(ROOT, 'dist/cli/main.js');
const APP = path.join(ROOT, 'test/master/workers/app.js');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const noPrometheus = missingPeer('prometheus', commandExists('prometheus'), 'apt-get install prometheus');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real Prometheus scraping `target` every second, with its own storage; stopped after the test. */
async function startPrometheus(target: string): Promise<{ api: string; log: () => string }> {
  const dir = tempDir('prometheus');
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global: {scrape_interval: 1s, scrape_timeout: 1s}',
      'scrape_configs:',
      `  - {job_name: shmetrics, static_configs: [{targets: ['${target}']}]}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise((resolve) => child.on('close', resolve));
  cleanups.push(async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  return { api: `http://127.0.0.1:${port}`, log: () => log };
}

/** The value of a PromQL instant query that yields one series, or undefined while it yields none. */
async function query(api: string, promql: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    const result = body.data.result;
    return result.length === 1 ? Number(result[0].value[1]) : undefined;
  } catch {
    return undefined; // not up yet
  }
}

async function until(what: string, read: () => Promise<number | undefined>, want: number, log: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (last === want) return;
    await sleep(250);
  }
  throw new Error(`${what}: wanted ${want}, Prometheus still says ${last}\n${log().slice(-3000)}`);
}

function get(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

/** Waits for the `count`th "listening <id> <port> <pid>" line of the master's workers. */
async function workerAt(lines: () => string, id: number, occurrence: number): Promise<{ port: number; pid: number }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = [...lines().matchAll(/^listening (\d+) (\d+) (\d+)$/gm)].filter((m) => Number(m[1]) === id);
    if (found.length >= occurrence) return { port: Number(found[occurrence - 1][2]), pid: Number(found[occurrence - 1][3]) };
    if (Date.now() > deadline) throw new Error(`worker ${id} did not start (#${occurrence}):\n${lines()}`);
    await sleep(50);
  }
}

describe.skipIf(noPrometheus)('a real Prometheus 2.x scraping a master with workers', () => {
  it(
    'sees every counter keep counting, with no reset, across a worker SIGKILLed and respawned',
    async () => {
      const region = tempRegionPath('prom-e2e');
      const args = ['--region', region, '--processes', '2', '--metric', 'app.hits', '--http', '127.0.0.1:0'];
      const master: Running = startNode(CLI, [...args, '--', process.execPath, APP]);
      let out = '';
      let err = '';
      master.child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      master.child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      cleanups.push(async () => {
        master.child.kill('SIGKILL');
        await master.done;
      });
      const first = await workerAt(() => out, 1, 1);
      await workerAt(() => out, 2, 1);

      const deadline = Date.now() + 10_000;
      let served: RegExpExecArray | null = null;
      while (!(served = /http: serving on http:\/\/([^/\s]+)\//.exec(err)) && Date.now() < deadline) await sleep(50);
      if (!served) throw new Error(`the master did not say where it serves:\n${err}`);
      const target = served[1];

      const prometheus = await startPrometheus(target);
      const q = (promql: string) => () => query(prometheus.api, promql);
      await until('up', q('up{job="shmetrics"}'), 1, prometheus.log, 40_000);

      for (let i = 0; i < 10; i++) await get(first.port);
      await until('app hits before the kill', q('shmetrics_app_hits_total'), 10, prometheus.log);
      await until('worker 1 requests before the kill', q('shmetrics_worker_1_requests_total'), 10, prometheus.log);

      process.kill(first.pid, 'SIGKILL');
      const second = await workerAt(() => out, 1, 2);
      expect(second.pid).not.toBe(first.pid);
      for (let i = 0; i < 5; i++) await get(second.port);
      await until('app hits after the respawn', q('shmetrics_app_hits_total'), 15, prometheus.log);
      await until('worker 1 requests after the respawn', q('shmetrics_worker_1_requests_total'), 15, prometheus.log);
      await until('respawns', q('shmetrics_worker_1_respawns_total'), 1, prometheus.log);
      // A few more scrapes after the respawn, then look at the whole history.
      await sleep(2500);

      const resets = {
        app: await query(prometheus.api, 'resets(shmetrics_app_hits_total[5m])'),
        worker1: await query(prometheus.api, 'resets(shmetrics_worker_1_requests_total[5m])'),
      };
      expect(resets).toEqual({ app: 0, worker1: 0 });
      // The absolute worker.1.delta_requests restarts at the respawn: it is a gauge, and shows it.
      expect(await query(prometheus.api, 'shmetrics_worker_1_delta_requests')).toBe(5);
      expect(await query(prometheus.api, 'increase(shmetrics_app_hits_total[5m])')).toBeGreaterThan(0);

      // Every scraped sample of the counter, in order: never a step down.
      const end = Date.now() / 1000;
      const range = (await (
        await fetch(`${prometheus.api}/api/v1/query_range?query=shmetrics_app_hits_total&start=${end - 120}&end=${end}&step=1`)
      ).json()) as { data: { result: { values: [number, string][] }[] } };
      const series = range.data.result[0].values.map(([, v]) => Number(v));
      for (let i = 1; i < series.length; i++) expect(series[i]).toBeGreaterThanOrEqual(series[i - 1]);
      expect(series.at(-1)).toBe(15);

      const targets = (await (await fetch(`${prometheus.api}/api/v1/targets`)).json()) as {
        data: { activeTargets: { health: string; lastError: string }[] };
      };
      expect(targets.data.activeTargets.map((t) => [t.health, t.lastError])).toEqual([['up', '']]);
    },
    120_000,
  );
});
