import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { tempRegionPath } from '../helpers/regions';
import { runWorker, startNode, WORKERS } from '../helpers/processes';
import path from 'node:path';

const WORKER_COUNT = 4;
const OPS = 1_000_000;

/** Starts WORKER_COUNT separately spawned processes on `region`, releases them together, waits for all. */
async function race(region: Metrics, script: string, argsFor: (id: number) => string[], env: NodeJS.ProcessEnv = {}) {
  region.gauge('barrier.go').set(0);
  region.counter('barrier.ready');
  const runs = Array.from({ length: WORKER_COUNT }, (_, id) => runWorker(script, argsFor(id), env));
  const deadline = Date.now() + 30_000;
  while (region.get('barrier.ready') < WORKER_COUNT) {
    if (Date.now() > deadline) throw new Error('workers never became ready');
    await new Promise((r) => setTimeout(r, 5));
  }
  region.set('barrier.go', 1);
  return (await Promise.all(runs)).map((out) => JSON.parse(out.trim().split('\n').pop()!));
}

describe('many processes updating one region', () => {
  it('loses no increment: 4 processes x 1,000,000 on a shared counter and on their own', async () => {
    const file = tempRegionPath('inc');
    const region = Metrics.open({ path: file });
    const reports = await race(region, 'hammer.js', (id) => [file, String(id), String(WORKER_COUNT), 'inc', String(OPS)]);
    expect(new Set(reports.map((r) => r.lane)).size).toBe(WORKER_COUNT);
    expect(region.get('shared')).toBe(WORKER_COUNT * OPS);
    expect(region.getBigInt('shared.big')).toBe(BigInt(WORKER_COUNT * (OPS / 16)));
    for (let id = 0; id < WORKER_COUNT; id++) expect(region.get(`own.${id}`)).toBe(4 * OPS);
    region.close();
  });

  it('loses no decrement', async () => {
    const file = tempRegionPath('dec');
    const region = Metrics.open({ path: file });
    for (let id = 0; id < WORKER_COUNT; id++) region.counter(`own.${id}`).set(10);
    await race(region, 'hammer.js', (id) => [file, String(id), String(WORKER_COUNT), 'dec', String(OPS)]);
    expect(region.get('down')).toBe(-WORKER_COUNT * OPS);
    for (let id = 0; id < WORKER_COUNT; id++) expect(region.get(`own.${id}`)).toBe(10 - 2 * OPS);
    region.close();
  });

  it('setMax and setMin races end at the global maximum and minimum', async () => {
    const file = tempRegionPath('max');
    const region = Metrics.open({ path: file });
    region.gauge('max').set(-1);
    region.gauge('min').set(1);
    const steps = 200_000;
    await race(region, 'hammer.js', (id) => [file, String(id), String(WORKER_COUNT), 'setmax', String(steps)]);
    expect(region.get('max')).toBe((steps - 1) * WORKER_COUNT + WORKER_COUNT - 1);
    expect(region.get('min')).toBe(-((steps - 1) * WORKER_COUNT + WORKER_COUNT - 1));
    region.close();
  });

  it('a mixed workload of inc, dec, mul, div and set ends exact', async () => {
    const file = tempRegionPath('mixed');
    const region = Metrics.open({ path: file });
    region.gauge('pow').set(1);
    for (let id = 0; id < WORKER_COUNT; id++) region.gauge(`last.${id}`);
    const ops = 300_000;
    await race(region, 'hammer.js', (id) => [file, String(id), String(WORKER_COUNT), 'mixed', String(ops)]);
    expect(region.get('shared')).toBe(WORKER_COUNT * ops);
    expect(region.get('inflight')).toBe(0);
    expect(region.get('pow')).toBe(1);
    for (let id = 0; id < WORKER_COUNT; id++) expect(region.get(`last.${id}`)).toBe(ops - 1);
    region.close();
  });

  it('processes on the native-call fallback and on the typed-array path add up together', async () => {
    const file = tempRegionPath('fallback');
    const region = Metrics.open({ path: file });
    const ops = 200_000;
    const reports = await race(region, 'hammer.js', (id) => [file, String(id), String(WORKER_COUNT), 'inc', String(ops)], {});
    const nativeRun = await race(
      region,
      'hammer.js',
      (id) => [file, String(id), String(WORKER_COUNT), 'inc', String(ops)],
      { SHMETRICS_FORCE_NATIVE_VALUES: '1' },
    );
    expect(reports.every((r) => r.access === 'typed-array')).toBe(true);
    expect(nativeRun.every((r) => r.access === 'native')).toBe(true);
    expect(region.get('shared')).toBe(2 * WORKER_COUNT * ops);
    for (let id = 0; id < WORKER_COUNT; id++) expect(region.get(`own.${id}`)).toBe(2 * 4 * ops);
    region.close();
  });
});

describe('registration from many processes', () => {
  it('4 processes defining the same 500 names and 500 of their own at once: every name exactly once', async () => {
    const file = tempRegionPath('define');
    const region = Metrics.open({ path: file, capacity: 4096 });
    region.counter('barrier.defined');
    const count = 500;
    const reports = await race(region, 'define-race.js', (id) => [file, String(id), String(count)]);
    const names = region.list().map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    const raceNames = names.filter((n) => n.startsWith('race.'));
    expect(raceNames).toHaveLength(count + WORKER_COUNT * count);
    expect(region.list().filter((m) => m.name.startsWith('race.shared.')).every((m) => m.type === 'gauge')).toBe(true);
    for (const report of reports) {
      expect(report.missing).toEqual([]);
      expect(report.slots).toEqual(reports[0].slots);
      expect(Object.keys(report.slots)).toHaveLength(count);
    }
    // No slot lost: slots are dense from 0 to the count.
    expect(region.list().map((m) => m.slot)).toEqual(names.map((_, i) => i));
    region.close();
  });

  it('processes creating the same region at the same instant all attach to one region', async () => {
    const file = tempRegionPath('create');
    const startAt = String(Date.now() + 400);
    const runs = Array.from({ length: WORKER_COUNT }, (_, id) =>
      runWorker('open-create.js', [file, String(id)], { START_AT: startAt }),
    );
    const reports = (await Promise.all(runs)).map((out) => JSON.parse(out));
    expect(new Set(reports.map((r) => r.created)).size).toBe(1);
    const region = Metrics.open({ path: file, create: false });
    expect(region.get('opened')).toBe(WORKER_COUNT);
    region.close();
  });
});

describe('a process killed at the wrong moment', () => {
  it('holding the registration lock does not wedge the others: the next define succeeds within a second', async () => {
    const file = tempRegionPath('lock');
    const region = Metrics.open({ path: file });
    region.counter('before').inc(5);
    const holder = startNode(path.join(WORKERS, 'hold-lock.js'), [file, 'half.written'], { SHMETRICS_TEST_HOOKS: '1' });
    await holder.waitForLine((l) => l === 'locked');
    const waiter = startNode(path.join(WORKERS, 'define-one.js'), [file, 'name=after,type=gauge']);
    await waiter.waitForLine((l) => l === 'attached');
    await new Promise((r) => setTimeout(r, 300));
    expect(region.has('after')).toBe(false); // still blocked behind the live holder
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    const done = await waiter.done;
    expect(done.code).toBe(0);
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect(region.has('after')).toBe(true);
    expect(region.has('half.written')).toBe(false);
    expect(region.info().lockRepairs).toBe(1);
    expect(region.get('before')).toBe(5);
    // The slot the dead process half-wrote is reused cleanly.
    region.define('half.written').inc(2);
    expect(region.list().map((m) => m.name)).toEqual(['before', 'after', 'half.written']);
    expect(region.get('half.written')).toBe(2);
    region.close();
  });

  it("a worker killed with SIGKILL keeps its increments, and its lane goes to the next process", async () => {
    const file = tempRegionPath('lane');
    const region = Metrics.open({ path: file, lanes: 2 });
    region.counter('hits').inc(1);
    const worker = startNode(path.join(WORKERS, 'inc-and-wait.js'), [file, 'hits', '1000']);
    const { lane } = JSON.parse(await worker.waitForLine((l) => l.startsWith('{')));
    expect(lane).toBe(1);
    worker.child.kill('SIGKILL');
    await worker.done;
    expect(region.get('hits')).toBe(1001);
    const next = startNode(path.join(WORKERS, 'inc-and-wait.js'), [file, 'hits', '10']);
    expect(JSON.parse(await next.waitForLine((l) => l.startsWith('{'))).lane).toBe(1);
    expect(region.get('hits')).toBe(1011);
    next.child.kill('SIGKILL');
    await next.done;
    region.close();
  });
});

describe('process managers', () => {
  it('cluster workers share the primary\'s ready-made region with no configuration', async () => {
    const out = JSON.parse(await runWorker('cluster-app.js', ['3', '100000'], { SHMETRICS_REGION: '' }));
    expect(out.requests).toBe(300_000);
  });
});
