import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Histogram, HistogramSnapshot, Metrics, MetricSpecError, MetricWriteError, parseBuckets, parseMetricSpec } from '../../src';
import { runWorker } from '../helpers/processes';
import { tempRegionPath } from '../helpers/regions';

/** Nearest-rank quantile of exact data. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

/** The width of the bucket that holds v: how far an estimate of v may be off. */
function bucketWidth(bounds: number[], v: number): number {
  const i = bounds.findIndex((b) => v <= b);
  if (i < 0) return Infinity;
  return bounds[i] - (i === 0 ? Math.min(0, bounds[0]) : bounds[i - 1]);
}

describe('bucket layouts', () => {
  it.each([
    ['1;5;10;50', [1, 5, 10, 50]],
    ['-5;0;5', [-5, 0, 5]],
    ['linear:0:10:4', [0, 10, 20, 30]],
    ['exponential:100:2:5', [100, 200, 400, 800, 1600]],
    ['exponential:10:1.5:4', [10, 15, 23, 34]],
    ['loglinear:1:20:4', [1, 2, 3, 5, 6, 7, 8, 10, 12, 14, 16, 20]],
  ])('%s', (text, bounds) => {
    expect(parseBuckets(text)).toEqual(bounds);
  });

  it('loglinear:MIN:MAX:SUB keeps every bucket within 1/SUB of its lower edge', () => {
    const bounds = parseBuckets('loglinear:1:1000000:8');
    for (let i = 1; i < bounds.length; i++) if (bounds[i - 1] >= 8) expect((bounds[i] - bounds[i - 1]) / bounds[i - 1]).toBeLessThanOrEqual(1 / 8);
    expect(bounds[bounds.length - 1]).toBeGreaterThanOrEqual(1000000);
  });

  it.each([
    ['5;1', /bounds must increase: 5 then 1/],
    ['1;1.5', /bound "1.5" is not an integer/],
    ['exponential:1:1.4:5', /bounds must increase/],
    ['linear:0:0:3', /WIDTH 0 must be at least 1/],
    ['loglinear:10:5:4', /MAX 5 must be above MIN 10/],
    ['linear:0:1:5000', /5000 buckets, more than 1024/],
    ['exponential:1:2', /takes 3 numbers/],
  ])('refuses %s', (text, message) => {
    expect(() => parseBuckets(text)).toThrow(message);
  });

  it('is part of the --metric syntax, for type=histogram only, and round-trips', () => {
    const def = parseMetricSpec('name=latency,type=histogram,buckets=exponential:100:2:3');
    expect(def).toMatchObject({ type: 'histogram', buckets: [100, 200, 400] });
    expect(() => parseMetricSpec('name=latency,type=histogram')).toThrow(/needs buckets=/);
    expect(() => parseMetricSpec('name=c,buckets=1;2')).toThrow(/buckets need type=histogram/);
    expect(() => parseMetricSpec('name=h,type=histogram,buckets=1;2,collector=sum')).toThrow(MetricSpecError);
  });
});

describe.each(['typed-array', 'native'] as const)('a histogram on the %s value path', (access) => {
  let m: Metrics;
  beforeEach(() => {
    if (access === 'native') process.env.SHMETRICS_FORCE_NATIVE_VALUES = '1';
    m = Metrics.open({ path: tempRegionPath('hist') });
    delete process.env.SHMETRICS_FORCE_NATIVE_VALUES;
    expect(m.valueAccess).toBe(access);
  });
  afterEach(() => m.close());

  it('counts each observation in the first bucket whose bound is >= it (Prometheus le), plus count and sum', () => {
    const h = m.histogram('lat', '1;5;10');
    for (const v of [0, 1, 2, 5, 6, 10, 11, 1000, -3]) h.observe(v);
    const s = h.snapshot();
    expect(s.counts).toEqual([3, 2, 2, 2]);
    expect([s.count, s.sum, h.get()]).toEqual([9, 1032, 9]);
    expect(s.cumulative(1)).toBe(5);
    expect(s.mean).toBeCloseTo(1032 / 9);
  });

  it('takes large observations exactly', () => {
    const h = m.histogram('big', '10');
    h.observe(2 ** 40);
    h.observe(3);
    expect(h.snapshot()).toMatchObject({ counts: [1, 1], sum: 2 ** 40 + 3 });
  });

  it("quantiles of 20,000 observations are at most one bucket above the exact ones; loglinear within 1/SUB", () => {
    const h = m.histogram('latency', 'loglinear:1:200000:16');
    const data: number[] = [];
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const v = Math.floor(Math.exp((seed / 2147483648) * 12));
      data.push(v);
      h.observe(v);
    }
    data.sort((a, b) => a - b);
    const s = h.snapshot();
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = exactQuantile(data, q);
      const estimate = s.quantile(q)!;
      expect(estimate).toBeGreaterThanOrEqual(exact);
      expect(estimate - exact).toBeLessThanOrEqual(bucketWidth(s.bounds as number[], exact));
      if (exact >= 16) expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(1 / 16);
    }
    expect(s.min).toBeLessThanOrEqual(data[0]);
    expect(s.max).toBeGreaterThanOrEqual(data[data.length - 1]);
    expect(s.sum).toBe(data.reduce((a, b) => a + b, 0));
  });

  it('every observation 1 gives p50 = 1 (prom-client cluster mode sums per-worker quantiles to 2)', () => {
    const h = m.histogram('ones', '1;2;5');
    const other = Metrics.open({ path: m.path, create: false });
    for (let i = 0; i < 100; i++) {
      h.observe(1);
      other.observe('ones', 1);
    }
    expect(h.snapshot().quantile(0.5)).toBe(1);
    expect(h.snapshot().quantile(0.99)).toBe(1);
    other.close();
  });

  it('startTimer observes the elapsed microseconds', async () => {
    const h = m.histogram('t', 'exponential:1000:2:10');
    const end = h.startTimer();
    await new Promise((r) => setTimeout(r, 20));
    const micros = end();
    expect(micros).toBeGreaterThanOrEqual(19_000);
    expect(h.snapshot()).toMatchObject({ count: 1, sum: micros });
  });

  it('refuses scalar writes, non-integers, and a name that is not a histogram', () => {
    const h = m.histogram('h', '1');
    expect(() => h.inc()).toThrow(MetricWriteError);
    expect(() => h.set(3)).toThrow('set: "h" is a histogram; record with observe()');
    expect(() => h.observe(1.5)).toThrow(RangeError);
    m.counter('c');
    expect(() => m.observe('c', 1)).toThrow('observe: "c" is a counter, not a histogram');
    expect(() => m.histogram('c')).toThrow('metric "c" is a counter, not a histogram');
    expect(() => m.histogram('none')).toThrow(/needs buckets=/);
  });

  it('appears in snapshots with its count as value and its buckets through histogram()', () => {
    const h = m.histogram('lat', '10;100');
    h.observe(50);
    const snap = m.snapshot();
    const info = snap.metrics.find((i) => i.name === 'lat')!;
    expect(info.buckets).toEqual([10, 100]);
    expect(snap.value(info)).toBe(1);
    expect(snap.histogram(info)).toBeInstanceOf(HistogramSnapshot);
    expect(snap.histogram(info).counts).toEqual([0, 1, 0]);
    expect(m.metric('lat')).toBeInstanceOf(Histogram);
  });
});

describe('a histogram shared by 4 processes', () => {
  it('gives the quantiles of all their observations together, within bucket error', async () => {
    const file = tempRegionPath('hist4');
    const m = Metrics.open({ path: file });
    const h = m.histogram('latency', 'loglinear:1:200000:16');
    const perProcess = 25_000;
    await Promise.all([1, 2, 3, 4].map((seed) => runWorker('observe.js', [file, String(seed), String(perProcess)])));
    // The same data, recorded by one process, is the truth.
    const truth: number[] = [];
    for (const start of [1, 2, 3, 4]) {
      let seed = start;
      for (let i = 0; i < perProcess; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        truth.push(Math.floor(Math.exp((seed / 2147483648) * 12)));
      }
    }
    truth.sort((a, b) => a - b);
    const s = h.snapshot();
    expect(s.count).toBe(4 * perProcess);
    expect(s.sum).toBe(truth.reduce((a, b) => a + b, 0));
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = exactQuantile(truth, q);
      expect(Math.abs(s.quantile(q)! - exact)).toBeLessThanOrEqual(bucketWidth(s.bounds as number[], exact));
    }
    m.close();
  });
});
