import type { MetricType } from '../spec/metric-spec';
import type { HistogramSnapshot } from './histogram-snapshot';

/** One scalar series derived from a histogram, for outputs that carry plain numbers. */
export interface DerivedSeries {
  /** Appended to the histogram's name with a dot: `latency.p99`. */
  readonly suffix: string;
  readonly type: Extract<MetricType, 'counter' | 'gauge'>;
  readonly value: bigint;
}

/** The quantiles every output derives, with the suffix each gets. */
export const DERIVED_QUANTILES: readonly (readonly [suffix: string, q: number])[] = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p99', 0.99],
  ['p999', 0.999],
];

export const DERIVED_SUFFIXES: readonly string[] = ['count', 'sum', ...DERIVED_QUANTILES.map(([s]) => s), 'min', 'max'];

/**
 * How a histogram appears in outputs that carry plain numbers (metrics-dir, carbon, zabbix, socket,
 * rrdtool, SNMP): `.count` and `.sum` as counters, `.p50 .p90 .p99 .p999 .min .max` as gauges (see
 * HistogramSnapshot for the estimate; 0 while the histogram is empty). Every output uses this one list.
 */
export function deriveSeries(h: HistogramSnapshot): DerivedSeries[] {
  const gauge = (suffix: string, v: number | undefined): DerivedSeries => ({ suffix, type: 'gauge', value: BigInt(Math.round(v ?? 0)) });
  return [
    { suffix: 'count', type: 'counter', value: BigInt(h.count) },
    { suffix: 'sum', type: 'counter', value: BigInt(h.sum) },
    ...DERIVED_QUANTILES.map(([suffix, q]) => gauge(suffix, h.quantile(q))),
    gauge('min', h.min),
    gauge('max', h.max),
  ];
}
