import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { MetricsDirView } from '../../src/metrics-dir/metrics-dir-view';
import { restoreFromMetricsDir } from '../../src/metrics-dir/restore';
import { runWorker } from '../helpers/processes';
import { tempDir, tempRegionPath } from '../helpers/regions';
import { eventually, sleep } from '../collect/helpers';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

function region(options: { collect?: boolean; file?: string } = {}): Metrics {
  const m = Metrics.open({ path: options.file ?? tempRegionPath('mdir'), collect: options.collect });
  cleanup.push(() => m.close());
  return m;
}

function view(m: Metrics, dir: string, options: { mode?: number; intervalMs?: number } = {}): MetricsDirView {
  const v = new MetricsDirView(m, { dir, ...options });
  v.start();
  cleanup.push(() => v.close());
  return v;
}

const read = (dir: string, name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

describe('the metrics-dir view', () => {
  it('writes one file per metric, value and newline, no padding: manual metrics and aliases too', () => {
    const m = region();
    const dir = path.join(tempDir('view'), 'metrics');
    m.counter('worker.1.requests').inc(52);
    m.gauge('neg').set(-42);
    m.gauge('big').set(2n ** 62n);
    m.define('name=al,type=alias,alias=neg');
    view(m, dir);
    expect(read(dir, 'worker.1.requests')).toBe('52\n');
    expect(read(dir, 'neg')).toBe('-42\n');
    expect(read(dir, 'big')).toBe(`${2n ** 62n}\n`);
    expect(read(dir, 'al')).toBe('-42\n');
    expect(fs.statSync(path.join(dir, 'neg')).size).toBe(4);
  });

  it('creates a missing directory with mode 0700 and files with mode 0600, or the mode asked for', () => {
    const m = region();
    m.counter('c');
    const dir = path.join(tempDir('modes'), 'a');
    view(m, dir);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, 'c')).mode & 0o777).toBe(0o600);
    const other = path.join(tempDir('modes'), 'b');
    view(m, other, { mode: 0o644 });
    expect(fs.statSync(path.join(other, 'c')).mode & 0o777).toBe(0o644);
  });

  it('writes only what changed, and every change reaches its file within one tick', async () => {
    const m = region();
    const dir = tempDir('changes');
    const metrics = Array.from({ length: 50 }, (_, i) => m.counter(`c${i}`));
    const v = view(m, dir, { intervalMs: 200 });
    expect(v.flush()).toBe(0);
    metrics[3].inc();
    metrics[7].inc(100);
    m.define('late').inc(9);
    expect(v.flush()).toBe(3);
    metrics[3].inc();
    metrics[3].dec();
    expect(v.flush()).toBe(0); // same value as written
    m.counter('c10').set(12345);
    await eventually(() => read(dir, 'c10'), (text) => text === '12345\n', 1000);
  });

  it('alias files follow their target', () => {
    const m = region();
    const dir = tempDir('alias');
    const g = m.gauge('g');
    m.define('name=al,type=alias,alias=g');
    const v = view(m, dir);
    g.set(7);
    v.flush();
    expect([read(dir, 'g'), read(dir, 'al')]).toEqual(['7\n', '7\n']);
  });

  it('a reader in a tight loop never sees a half-written, padded or empty file', async () => {
    const m = region();
    const dir = tempDir('atomic');
    const same = m.gauge('same.length'); // in-place updates
    const grows = m.gauge('changes.length'); // replaced files
    const wide = m.gauge('wide'); // 16-byte in-place updates
    same.set(1299999);
    grows.set(99);
    wide.set(129999999999999);
    const v = view(m, dir);
    const reader = runWorker(path.resolve(__dirname, 'workers/reader.js'), [
      dir,
      '2000',
      'same.length=1299999,1300000',
      'changes.length=99,100,-1',
      'wide=129999999999999,130000000000000',
    ]);
    const until = Date.now() + 2000;
    let flushes = 0;
    for (let i = 0; Date.now() < until; i++) {
      same.set(i % 2 ? 1300000 : 1299999);
      grows.set([99, 100, -1][i % 3]);
      wide.set(i % 2 ? 130000000000000 : 129999999999999);
      v.flush();
      flushes++;
      if (i % 100 === 0) await sleep(0);
    }
    const { reads, bad } = JSON.parse(await reader);
    expect(bad).toEqual([]);
    expect(reads).toBeGreaterThan(1000);
    expect(flushes).toBeGreaterThan(1000);
  });

  it('at start removes the files it wrote for metrics that are gone, and never a file it did not write', () => {
    const dir = tempDir('stale');
    const first = region();
    first.counter('kept');
    first.counter('removed');
    view(first, dir).close();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine\n');
    const second = region();
    second.counter('kept');
    view(second, dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['.shmetrics-files', 'kept', 'notes.txt']);
  });
});

describe('--metrics-dir-restore', () => {
  it('counters, absolutes, manual gauges and accumulators resume; a collector gauge is recomputed, not offset', async () => {
    const dir = tempDir('restore');
    const source = path.join(tempDir('restore-src'), 'seven');
    fs.writeFileSync(source, '7\n');
    const define = (m: Metrics) => {
      m.define('hits');
      m.define('name=ab,type=absolute');
      m.define('name=temp,type=gauge');
      m.define(`name=fv,type=gauge,collector=file,arg1=${source}`);
      m.define('name=acc,collector=accumulator,children=hits');
    };
    for (let run = 1; run <= 3; run++) {
      const file = tempRegionPath(`restore${run}`);
      const m = region({ file, collect: true });
      define(m);
      const report = restoreFromMetricsDir(m, dir);
      if (run > 1) expect(report.restored.map((r) => r.name).sort()).toEqual(['ab', 'acc', 'hits', 'temp']);
      expect(report.skipped).toEqual([]);
      m.inc('hits', 2);
      m.inc('ab');
      m.set('temp', 20 + run);
      const v = new MetricsDirView(m, { dir });
      v.start();
      await eventually(() => m.get('fv'), (x) => x === 7);
      const acc = await eventually(() => m.get('acc'), (x) => x > 0, 3000); // after a tick that saw the hits
      v.close();
      expect(m.get('hits')).toBe(2 * run);
      expect(m.get('ab')).toBe(run);
      expect(m.get('temp')).toBe(20 + run);
      expect(read(dir, 'fv')).toBe('7\n'); // uWSGI: 7, 14, 21
      expect(acc).toBeGreaterThan(0);
      m.close();
    }
  });

  it('restores a file edited by hand, reports and skips one that does not parse', () => {
    const dir = tempDir('edited');
    const m = region();
    m.counter('a').inc();
    m.counter('b').inc();
    view(m, dir).close();
    fs.writeFileSync(path.join(dir, 'a'), '555\n');
    fs.writeFileSync(path.join(dir, 'b'), 'twelve\n');
    const next = region();
    next.counter('a');
    next.counter('b');
    const report = restoreFromMetricsDir(next, dir);
    expect(next.get('a')).toBe(555);
    expect(next.get('b')).toBe(0);
    expect(report.skipped).toEqual([{ name: 'b', reason: `${path.join(dir, 'b')} holds "twelve\\n", not a 64-bit integer` }]);
  });

  it('metrics defined at run time come back with their counts', () => {
    const dir = tempDir('runtime');
    const m = region();
    m.define('name=worker.7.requests,oid=3.7.1').inc(41);
    view(m, dir).close();
    const next = region();
    restoreFromMetricsDir(next, dir);
    expect(next.get('worker.7.requests')).toBe(41);
    expect(next.list().find((i) => i.name === 'worker.7.requests')?.oid).toBe('3.7.1');
  });
});

describe('histograms in the metrics-dir', () => {
  it('have derived files (count, sum, quantiles, min, max, buckets), resume at restore, and leave no stale file', () => {
    const dir = tempDir('hist');
    const m = region();
    const h = m.histogram('lat', '10;100;1000');
    for (const v of [5, 50, 50, 500]) h.observe(v);
    view(m, dir).close();
    const file = (suffix: string) => read(dir, `lat.${suffix}`);
    expect([file('count'), file('sum'), file('p50'), file('p99'), file('min'), file('max'), file('buckets')]).toEqual([
      '4\n', '605\n', '100\n', '1000\n', '0\n', '1000\n', '1 2 1 0 605\n',
    ]);
    expect(fs.existsSync(path.join(dir, 'lat'))).toBe(false);

    const next = region();
    restoreFromMetricsDir(next, dir);
    const again = next.histogram('lat');
    expect(again.snapshot()).toMatchObject({ counts: [1, 2, 1, 0], count: 4, sum: 605 });
    again.observe(7);
    expect(again.get()).toBe(5);

    const without = region();
    view(without, dir);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('lat'))).toEqual([]);
  });
});
