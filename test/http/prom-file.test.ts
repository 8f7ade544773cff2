import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { startPromFile, type PromFile } from '../../src/http';
import { eventually, sleep } from '../collect/helpers';
import { startNode } from '../helpers/processes';
import { tempDir, tempRegionPath } from '../helpers/regions';

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function region(label: string): Metrics {
  const m = Metrics.open({ path: tempRegionPath(label) });
  cleanups.push(() => m.close());
  return m;
}

function start(m: Metrics, options: Parameters<typeof startPromFile>[1]): PromFile {
  const file = startPromFile(m, options);
  cleanups.push(() => file.close());
  return file;
}

describe('the node_exporter textfile (--prom-file)', () => {
  it('writes the text exposition at once, mode 0644 whatever the umask, and keeps it current every tick', async () => {
    const m = region('promfile');
    const c = m.counter('worker.1.requests');
    c.inc(3);
    const file = path.join(tempDir('promfile'), 'shmetrics.prom');
    const old = process.umask(0o077);
    try {
      start(m, { path: file, intervalMs: 50, labelFrom: ['worker'] });
    } finally {
      process.umask(old);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(
      '# HELP shmetrics_worker_requests_total shmetrics worker.<worker>.requests (counter)\n' +
        '# TYPE shmetrics_worker_requests_total counter\n' +
        'shmetrics_worker_requests_total{worker="1"} 3\n',
    );
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    c.inc(4);
    await eventually(() => fs.readFileSync(file, 'utf8'), (t) => t.includes('{worker="1"} 7\n'), 2000);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['shmetrics.prom']);
  });

  it('rewrites the file every tick even when nothing changed, so node_textfile_mtime_seconds shows the writer is alive', async () => {
    const m = region('promfile-mtime');
    m.gauge('g').set(1);
    const file = path.join(tempDir('promfile-mtime'), 'm.prom');
    start(m, { path: file, intervalMs: 50 });
    const first = fs.statSync(file).mtimeMs;
    const inode = fs.statSync(file).ino;
    await eventually(() => fs.statSync(file).ino, (ino) => ino !== inode, 2000);
    expect(fs.statSync(file).mtimeMs).toBeGreaterThanOrEqual(first);
  });

  it('a reader in another process never sees a torn file while it is rewritten every 10 ms', async () => {
    const m = region('promfile-atomic');
    const gauges = Array.from({ length: 2000 }, (_, i) => m.gauge(`load.g${i}`));
    const file = path.join(tempDir('promfile-atomic'), 'big.prom');
    // Values alternate between short and long, so consecutive files differ in size (about 150 KB each).
    let flip = 0;
    const change = setInterval(() => {
      flip ^= 1;
      for (const g of gauges) g.set(flip ? 7 : 1234567890123);
    }, 5);
    cleanups.push(() => clearInterval(change));
    start(m, { path: file, intervalMs: 10 });
    const reader = startNode(path.join(__dirname, 'workers/read-prom-file.js'), [file, '1500', 'shmetrics_load_g1999 ']);
    const result = JSON.parse((await reader.done).stdout) as { reads: number; torn: string[]; distinct: number };
    expect(result.torn).toEqual([]);
    expect(result.reads).toBeGreaterThan(50);
    expect(result.distinct).toBeGreaterThan(1);
  });

  it('throws naming the path when the first write fails, and logs a later failure once, then its recovery', async () => {
    const m = region('promfile-fail');
    m.counter('n').inc();
    expect(() => startPromFile(m, { path: '/nonexistent-dir/x.prom' })).toThrow('prom-file /nonexistent-dir/x.prom: ENOENT');
    const dir = tempDir('promfile-fail');
    const file = path.join(dir, 'sub', 'x.prom');
    fs.mkdirSync(path.dirname(file));
    const logs: string[] = [];
    start(m, { path: file, intervalMs: 20, log: (line) => logs.push(line) });
    fs.rmSync(path.dirname(file), { recursive: true });
    await sleep(200);
    expect(logs).toEqual([`prom-file ${file}: ENOENT (retrying every tick)`]);
    fs.mkdirSync(path.dirname(file));
    await eventually(() => logs.length, (n) => n === 2, 2000);
    expect(logs[1]).toBe(`prom-file: ${file} is written again`);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('close() writes the final values and stops', async () => {
    const m = region('promfile-close');
    const c = m.counter('n');
    const file = path.join(tempDir('promfile-close'), 'x.prom');
    const promFile = startPromFile(m, { path: file, intervalMs: 60_000 });
    c.inc(9);
    promFile.close();
    expect(fs.readFileSync(file, 'utf8')).toContain('shmetrics_n_total 9\n');
    c.inc(1);
    await sleep(50);
    expect(fs.readFileSync(file, 'utf8')).toContain('shmetrics_n_total 9\n');
  });

  it('warns when the name does not end in .prom (node_exporter would ignore the file)', () => {
    const m = region('promfile-ext');
    const logs: string[] = [];
    const file = path.join(tempDir('promfile-ext'), 'metrics.txt');
    start(m, { path: file, log: (line) => logs.push(line) });
    expect(logs).toEqual([`prom-file: ${file} does not end in .prom; node_exporter's textfile collector reads *.prom only`]);
  });
});
