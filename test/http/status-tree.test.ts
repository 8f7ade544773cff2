import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { MetricHistory } from '../../src/http/history';
import { buildStatusTree, parseStatusPrefix, statusTreeJson } from '../../src/http/status-tree';
import { openTempRegion } from '../helpers/regions';

const region = (label: string): Metrics => openTempRegion(label);

describe('the status tree', () => {
  it('nests metrics by the segments of their names, each leaf with its type and value', () => {
    const m = region('tree');
    m.counter('worker.1.requests').inc(3);
    m.counter('worker.2.requests').inc(4);
    m.gauge('system.load1').set(52);
    const tree = buildStatusTree(m.snapshot())!;
    expect(tree.prefix).toBe('');
    expect(tree.metrics).toBe(3);
    expect(tree.tree.children!.worker.children!['2'].children!.requests.metric).toEqual({
      name: 'worker.2.requests',
      type: 'counter',
      value: 4n,
    });
    expect(Object.keys(tree.tree.children!)).toEqual(['worker', 'system']);
  });

  it('gives a subtree for a prefix, whole segments only, and nothing for an unknown prefix', () => {
    const m = region('subtree');
    m.counter('worker.1.requests').inc();
    m.counter('worker.10.requests').inc();
    m.counter('worker.1').inc(); // a metric that is also a prefix
    const sub = buildStatusTree(m.snapshot(), { prefix: 'worker.1' })!;
    expect(sub.metrics).toBe(2);
    expect(sub.tree.metric!.name).toBe('worker.1');
    expect(Object.keys(sub.tree.children!)).toEqual(['requests']);
    expect(buildStatusTree(m.snapshot(), { prefix: 'worker.1.requests' })!.tree.metric!.name).toBe('worker.1.requests');
    expect(buildStatusTree(m.snapshot(), { prefix: 'work' })).toBeUndefined();
    expect(buildStatusTree(m.snapshot(), { prefix: 'nope' })).toBeUndefined();
  });

  it('shows a histogram by its count, with sum, mean and quantiles; an alias by its target', () => {
    const m = region('tree-hist');
    const h = m.histogram('lat', [10, 100, 1000]);
    for (const v of [5, 50, 50, 500]) h.observe(v);
    m.define('name=lat.alias,type=alias,alias=lat');
    m.gauge('core.rss').set(7);
    m.define('name=rss,type=alias,alias=core.rss');
    const tree = buildStatusTree(m.snapshot())!;
    expect(tree.tree.children!.lat.metric).toEqual({
      name: 'lat',
      type: 'histogram',
      value: 4n,
      histogram: { count: 4n, sum: 605n, mean: 151.25, min: 0, max: 1000, p50: 100, p90: 1000, p99: 1000, p999: 1000 },
    });
    expect(tree.tree.children!.lat.children!.alias.metric).toMatchObject({ type: 'alias', alias: 'lat', targetType: 'histogram', value: 4n });
    expect(tree.tree.children!.rss.metric).toEqual({ name: 'rss', type: 'alias', value: 7n, alias: 'core.rss', targetType: 'gauge' });
  });

  it('handles segments named like Object.prototype properties', () => {
    const m = region('tree-proto');
    m.counter('a.__proto__.b').inc(1);
    m.counter('a.constructor').inc(2);
    const json = JSON.parse(statusTreeJson(buildStatusTree(m.snapshot())!));
    expect(json.tree.children.a.children.__proto__.children.b.metric.value).toBe(1);
    expect(json.tree.children.a.children.constructor.metric.value).toBe(2);
  });

  it('writes JSON with every int64 digit (no rounding through Number), compact or pretty', () => {
    const m = region('tree-json');
    m.define('name=big,initial_value=9223372036854775807');
    m.define('name=neg,type=gauge,initial_value=-9007199254740993');
    const tree = buildStatusTree(m.snapshot())!;
    const compact = statusTreeJson(tree);
    expect(compact).toContain('"big":{"metric":{"name":"big","type":"counter","value":9223372036854775807}}');
    expect(compact).toContain('"value":-9007199254740993}');
    expect(compact).not.toContain('\n');
    const pretty = statusTreeJson(tree, true);
    expect(pretty).toContain('\n  "prefix": "",\n');
    expect(pretty).toContain('"value": 9223372036854775807\n');
    expect(JSON.parse(pretty)).toEqual(JSON.parse(compact));
  });

  it('carries the sparkline points when given a history', () => {
    const m = region('tree-history');
    const c = m.counter('c');
    const history = new MetricHistory(10);
    history.sample(m.snapshot());
    c.inc(5);
    history.sample(m.snapshot());
    const tree = buildStatusTree(m.snapshot(), { history })!;
    expect(tree.history).toEqual({ stepMs: 1000, capacity: 10, samples: 2, latestMs: expect.any(Number), sequence: 2 });
    expect(tree.tree.children!.c.metric!.history!.kind).toBe('rate');
    expect(tree.tree.children!.c.metric!.history!.points).toHaveLength(2);
  });
});

describe('the /status/<prefix> part of a URL', () => {
  it('takes dots or slashes and drops separators at the ends', () => {
    expect(parseStatusPrefix('')).toBe('');
    expect(parseStatusPrefix('worker.1')).toBe('worker.1');
    expect(parseStatusPrefix('worker/1/')).toBe('worker.1');
    expect(parseStatusPrefix('worker%2E1')).toBe('worker.1');
    expect(parseStatusPrefix('a%20b')).toBeUndefined();
    expect(parseStatusPrefix('%E0%A4%A')).toBeUndefined();
  });
});
