import { describe, expect, it } from 'vitest';
import { Metrics, MetricsSnapshot } from '../../src';
import { MetricHistory } from '../../src/http/history';
import { openTempRegion } from '../helpers/regions';

const region = (label: string): Metrics => openTempRegion(label);

/** The region's snapshot as if taken at `atMs`, so the rates do not depend on the clock. */
function at(m: Metrics, atMs: number): MetricsSnapshot {
  const s = m.snapshot();
  return new MetricsSnapshot(s.metrics, s.values, atMs);
}

describe('the sparkline history', () => {
  it('plots counters as a rate per second and gauges as their value', () => {
    const m = region('hist-kinds');
    const c = m.counter('c');
    const g = m.gauge('g');
    const history = new MetricHistory(60);
    g.set(5);
    history.sample(at(m, 0));
    c.inc(10);
    g.set(-2);
    history.sample(at(m, 1000));
    c.inc(30);
    history.sample(at(m, 3000)); // a late tick: 30 over 2 s
    expect(history.points('c')).toEqual({ kind: 'rate', points: [null, 10, 15] });
    expect(history.points('g')).toEqual({ kind: 'value', points: [5, -2, -2] });
    expect(history.points('nope')).toBeUndefined();
  });

  it('plots a histogram as observations per second, with its p99 beside', () => {
    const m = region('hist-hist');
    const h = m.histogram('h', [10, 100]);
    const history = new MetricHistory(60);
    history.sample(at(m, 0));
    for (let i = 0; i < 99; i++) h.observe(5);
    h.observe(50);
    history.sample(at(m, 1000));
    expect(history.points('h')).toEqual({ kind: 'rate', points: [null, 100], p99: [null, 10] });
  });

  it('keeps at most historySeconds samples per series (memory is bounded), and gives the newest N on request', () => {
    const m = region('hist-ring');
    const g = m.gauge('g');
    const history = new MetricHistory(5);
    for (let i = 0; i < 12; i++) {
      g.set(i);
      history.sample(at(m, i * 1000));
    }
    expect(history.capacity).toBe(5);
    expect(history.points('g')!.points).toEqual([7, 8, 9, 10, 11]);
    expect(history.latest).toEqual({ atMs: 11_000, samples: 5, sequence: 12 });
    // A client that already holds the older points asks for the newest only.
    expect(history.points('g', 2)!.points).toEqual([10, 11]);
    expect(history.points('g', 99)!.points).toEqual([7, 8, 9, 10, 11]);
  });

  it('gives a metric defined later no points before it existed', () => {
    const m = region('hist-late');
    m.gauge('early').set(1);
    const history = new MetricHistory(10);
    history.sample(at(m, 0));
    history.sample(at(m, 1000));
    m.gauge('late').set(9);
    history.sample(at(m, 2000));
    expect(history.points('late')!.points).toEqual([null, null, 9]);
  });

  it('refuses a history length that is not a whole number of seconds from 2 to 86400', () => {
    expect(() => new MetricHistory(1)).toThrow(/historySeconds 1/);
    expect(() => new MetricHistory(1.5)).toThrow(RangeError);
    expect(() => new MetricHistory(100_000)).toThrow(RangeError);
  });
});
