import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { registerBuiltins } from '../../src/builtins';
import { tempRegionPath } from '../helpers/regions';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** "0.57" -> 57, in decimal arithmetic: Math.trunc(0.57 * 100) would be 56. */
function times100(text: string): number {
  const [whole, fraction = ''] = text.split('.');
  return Number(whole) * 100 + Number((fraction + '00').slice(0, 2));
}

function meminfoKiB(label: string): number {
  const match = new RegExp(`^${label}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  if (!match) throw new Error(`no ${label} in /proc/meminfo`);
  return Number(match[1]);
}

function cpuTicks(): { user: number; system: number } {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  return { user: Number(fields[1]), system: Number(fields[3]) };
}

async function until(what: string, condition: () => boolean, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Polls `read` until it equals `expected`, then asserts it (so a timeout shows the difference). */
async function eventually(read: () => Record<string, number>, expected: Record<string, number>, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!isDeepStrictEqual(read(), expected) && Date.now() < deadline) await sleep(50);
  expect(read()).toEqual(expected);
}

function readCore(metrics: Metrics): Record<string, number> {
  const names = ['core.total_tx', 'core.total_rss', 'core.total_vsz', 'core.total_running_time', 'core.avg_response_time',
    'core.busy_workers', 'core.idle_workers', 'rss_size', 'vsz_size'];
  return Object.fromEntries(names.map((name) => [name, metrics.get(name)]));
}

const pick = (values: Record<string, number>, ...names: string[]) => Object.fromEntries(names.map((name) => [name, values[name]]));

let m: Metrics | undefined;
afterEach(() => m?.close());

describe('built-ins collected by the native collector (collect: true, 2 workers)', () => {
  it('system.* match /proc: load x100 as read, MemTotal x 1024 exactly, cpu times between two readings', async () => {
    const cpuBefore = cpuTicks();
    // Every load average the collector could have read: /proc/loadavg changes once per 5 s, so polling it
    // every 50 ms from before registration to after the check sees every state the collector saw.
    const loads = new Set<string>();
    const sample = () => {
      const [l1, l5, l15] = fs.readFileSync('/proc/loadavg', 'utf8').split(' ');
      loads.add(`${times100(l1)} ${times100(l5)} ${times100(l15)}`);
    };
    sample();
    const poll = setInterval(sample, 50);
    try {
      m = Metrics.open({ path: tempRegionPath('builtins-system'), collect: true });
      registerBuiltins(m, { workers: 2 });
      const memFreeBefore = meminfoKiB('MemFree');
      await until('system.memory.total', () => m!.get('system.memory.total') > 0);
      await sleep(1100); // and one more tick, so that the checks below see a steady collector
      const values = {
        load: `${m.get('system.load1')} ${m.get('system.load5')} ${m.get('system.load15')}`,
        total: m.get('system.memory.total'),
        free: m.get('system.memory.free'),
        available: m.get('system.memory.available'),
        user: m.get('system.cpu.user'),
        system: m.get('system.cpu.system'),
      };
      sample();
      const cpuAfter = cpuTicks();

      expect([...loads]).toContain(values.load);
      expect(values.total).toBe(meminfoKiB('MemTotal') * 1024);
      expect(values.total % 1024).toBe(0);
      // Free memory moves all the time: within 256 MiB of the readings around the collection.
      const freeNow = meminfoKiB('MemFree') * 1024;
      expect(Math.abs(values.free - freeNow)).toBeLessThan(256 * 2 ** 20 + Math.abs(freeNow - memFreeBefore * 1024));
      expect(Math.abs(values.available - meminfoKiB('MemAvailable') * 1024)).toBeLessThan(256 * 2 ** 20);
      expect(values.free).toBeLessThanOrEqual(values.total);
      expect(values.available).toBeLessThanOrEqual(values.total);
      expect(values.user).toBeGreaterThanOrEqual(cpuBefore.user);
      expect(values.user).toBeLessThanOrEqual(cpuAfter.user);
      expect(values.system).toBeGreaterThanOrEqual(cpuBefore.system);
      expect(values.system).toBeLessThanOrEqual(cpuAfter.system);
    } finally {
      clearInterval(poll);
    }
  });

  it('core.* aggregate workers 1 and 2 (not the master), idle_workers = 2 - busy, aliases read the totals', async () => {
    m = Metrics.open({ path: tempRegionPath('builtins-core'), collect: true });
    registerBuiltins(m, { workers: 2 });
    const perWorker = {
      total_tx: [1_000_000, 1234, 5678],
      rss_size: [7_000_000, 30_000_000, 40_000_000],
      vsz_size: [9_000_000, 900_000_000, 1_100_000_000],
      running_time: [555, 10_000, 20_001],
      avg_response_time: [99_999, 301, 200], // avg truncates: 250
      busy: [1, 1, 0],
    } as const;
    for (const [suffix, values] of Object.entries(perWorker))
      values.forEach((value, worker) => m!.metric(`worker.${worker}.${suffix}`).set(value));

    // The collector thread may tick between two of the sets above: wait for a tick after all of them.
    await eventually(() => readCore(m!), {
      'core.total_tx': 1234 + 5678,
      'core.total_rss': 70_000_000,
      'core.total_vsz': 2_000_000_000,
      'core.total_running_time': 30_001,
      'core.avg_response_time': 250,
      'core.busy_workers': 1,
      'core.idle_workers': 1,
      rss_size: 70_000_000,
      vsz_size: 2_000_000_000,
    });

    m.metric('worker.2.busy').set(1);
    await eventually(() => pick(readCore(m!), 'core.busy_workers', 'core.idle_workers'), { 'core.busy_workers': 2, 'core.idle_workers': 0 });
    m.metric('worker.1.busy').set(0);
    m.metric('worker.2.busy').set(0);
    await eventually(() => pick(readCore(m!), 'core.busy_workers', 'core.idle_workers'), { 'core.busy_workers': 0, 'core.idle_workers': 2 });
  });
});
