import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { startWorkerReporter } from '../../src/builtins';
import { pageSize, StatmReader } from '../../src/builtins/process-memory';
import { ROOT, startNode } from '../helpers/processes';
import { tempRegionPath } from '../helpers/regions';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let m: Metrics;
const stops: (() => void)[] = [];
beforeEach(() => {
  m = Metrics.open({ path: tempRegionPath('builtins-reporter') });
});
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  m.close();
});

function statm(): { vsz: number; rss: number } {
  const [vsz, rss] = fs.readFileSync('/proc/self/statm', 'utf8').split(' ').map(Number);
  const page = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }));
  return { vsz: vsz * page, rss: rss * page };
}

/** The highest value `name` takes in the next `afterMs`, polled every 5 ms. */
async function peak(name: string, afterMs: number): Promise<number> {
  let max = m.get(name);
  const deadline = Date.now() + afterMs;
  while (Date.now() < deadline) {
    max = Math.max(max, m.get(name));
    await sleep(5);
  }
  return max;
}

describe('startWorkerReporter', () => {
  it('sets delta_requests to 0 at start and leaves respawns to the master', () => {
    m.define({ name: 'worker.2.delta_requests', type: 'absolute', oid: '3.2.2' }).set(41);
    stops.push(startWorkerReporter(m, 2));
    expect(m.get('worker.2.delta_requests')).toBe(0);
    expect(m.get('worker.2.respawns')).toBe(0);
  });

  it('shares one reporter per worker: a second start neither resets delta_requests nor doubles the work', async () => {
    const first = startWorkerReporter(m, 1, { intervalMs: 20 });
    m.absolute('worker.1.delta_requests').inc(5);
    const second = startWorkerReporter(m, 1, { intervalMs: 20 });
    expect(m.get('worker.1.delta_requests')).toBe(5);
    first();
    first(); // idempotent: does not release the second caller's share
    m.gauge('worker.1.rss_size').set(-1);
    await sleep(80);
    expect(m.get('worker.1.rss_size')).toBeGreaterThan(0); // still reporting for the second caller
    second();
    m.gauge('worker.1.rss_size').set(-1);
    await sleep(80);
    expect(m.get('worker.1.rss_size')).toBe(-1);
    // Once stopped, a new start is a new (re)spawn
    stops.push(startWorkerReporter(m, 1));
    expect(m.get('worker.1.delta_requests')).toBe(0);
  });

  it('reports rss_size and vsz_size from /proc/self/statm in bytes, at once', () => {
    const before = statm();
    stops.push(startWorkerReporter(m, 1));
    const after = statm();
    for (const [metric, key] of [['worker.1.rss_size', 'rss'], ['worker.1.vsz_size', 'vsz']] as const) {
      const value = m.get(metric);
      expect(value % 4096).toBe(0);
      expect(value).toBeGreaterThanOrEqual(Math.min(before[key], after[key]) - 8 * 2 ** 20);
      expect(value).toBeLessThanOrEqual(Math.max(before[key], after[key]) + 8 * 2 ** 20);
    }
    expect(m.get('worker.1.vsz_size')).toBeGreaterThan(m.get('worker.1.rss_size'));
  });

  it('reads the page size from the auxiliary vector, as getconf PAGESIZE says', () => {
    expect(pageSize()).toBe(Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' })));
  });

  it('StatmReader re-reads the open file: a grown heap shows in rss', () => {
    const reader = new StatmReader();
    try {
      reader.read();
      const rss = reader.rssBytes;
      const ballast = Buffer.alloc(64 * 2 ** 20, 1);
      reader.read();
      expect(reader.rssBytes - rss).toBeGreaterThanOrEqual(60 * 2 ** 20);
      expect(ballast[ballast.length - 1]).toBe(1);
    } finally {
      reader.close();
    }
    expect(() => new StatmReader('/proc/self/nonexistent').read()).toThrow(/ENOENT/);
  });

  it('reports heap_used, heap_total and active_handles', () => {
    stops.push(startWorkerReporter(m, 1));
    const heap = v8.getHeapStatistics();
    expect(m.get('worker.1.heap_total')).toBeGreaterThanOrEqual(m.get('worker.1.heap_used'));
    expect(Math.abs(m.get('worker.1.heap_used') - heap.used_heap_size)).toBeLessThan(16 * 2 ** 20);
    expect(Math.abs(m.get('worker.1.heap_total') - heap.total_heap_size)).toBeLessThan(16 * 2 ** 20);
    const expected = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate').length;
    expect(m.get('worker.1.active_handles')).toBe(expected);
  });

  it('reports a blocked event loop as event_loop_lag, in µs beyond the monitor period, for one interval', async () => {
    // Margins for a shared 2-core machine: an idle loop may lag tens of ms there, a 300 ms block cannot hide.
    stops.push(startWorkerReporter(m, 1, { intervalMs: 200 }));
    const idle = await peak('worker.1.event_loop_lag', 450);
    expect(idle).toBeLessThan(200_000);
    setTimeout(() => {
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // block the event loop for 300 ms
      }
    }, 10);
    const blocked = await peak('worker.1.event_loop_lag', 700);
    expect(blocked).toBeGreaterThanOrEqual(250_000);
    expect(blocked).toBeLessThan(3_000_000); // µs, not ns
    await sleep(450); // two intervals later the block is out of the window
    expect(m.get('worker.1.event_loop_lag')).toBeLessThan(200_000);
  });

  it('adds garbage collection time to gc_time', async () => {
    stops.push(startWorkerReporter(m, 1, { intervalMs: 50 }));
    await sleep(120);
    const before = m.get('worker.1.gc_time');
    let keep: number[] = [];
    for (let i = 0; i < 300_000; i++) keep = [i, i + 1, i + 2]; // short-lived arrays: young-generation collections
    expect(keep).toHaveLength(3);
    const deadline = Date.now() + 2000;
    while (m.get('worker.1.gc_time') === before && Date.now() < deadline) await sleep(20);
    expect(m.get('worker.1.gc_time')).toBeGreaterThan(before);
  });

  it('stop() ends the reporting and is idempotent', async () => {
    const stop = startWorkerReporter(m, 1, { intervalMs: 20 });
    stop();
    stop();
    m.gauge('worker.1.rss_size').set(-1);
    await sleep(80);
    expect(m.get('worker.1.rss_size')).toBe(-1);
  });

  it('stops with a warning, instead of throwing from its timer, when the region is closed', async () => {
    const file = tempRegionPath('builtins-reporter-closed');
    const own = Metrics.open({ path: file });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      startWorkerReporter(own, 1, { intervalMs: 20 });
      own.close();
      await sleep(100);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/worker\.1 reporter stopped: .*closed/);
  });

  it('never keeps a process alive, nor does an instrumented server that never listened', async () => {
    const file = tempRegionPath('builtins-reporter-exit');
    m.close();
    m = Metrics.open({ path: file });
    const child = startNode(path.join(ROOT, 'test/builtins/workers/idle-reporter.js'), [file, '1']);
    await child.waitForLine((line) => line === 'started');
    const exited = await Promise.race([child.done, sleep(5000).then(() => undefined)]);
    if (!exited) child.child.kill('SIGKILL');
    expect(exited).toMatchObject({ code: 0, signal: null });
    expect(m.get('worker.1.rss_size')).toBeGreaterThan(0);
  });

  it('rejects bad arguments', () => {
    expect(() => startWorkerReporter(m, -1)).toThrow(RangeError);
    expect(() => startWorkerReporter(m, 1, { intervalMs: Number.NaN })).toThrow(RangeError);
    expect(() => startWorkerReporter(m, 1, { intervalMs: '5' as unknown as number })).toThrow(TypeError);
    expect(() => startWorkerReporter(null as unknown as Metrics, 1)).toThrow(TypeError);
    expect(m.list()).toHaveLength(0);
  });
});
