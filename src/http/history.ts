/**
 * The last minutes of every metric, for the /status sparklines: one sample a tick, kept in the memory of
 * the process that serves HTTP (usually the master) in fixed ring buffers, so memory is bounded:
 * 8 bytes x `seconds` per series, one series per metric and two per histogram (300 s: 2.4 KB a metric;
 * 100 metrics: 240 KB).
 *
 * What is plotted: counters (and aliases of counters) and a histogram's observations as a rate per
 * second between two samples; gauges and absolutes as their value; for a histogram also its p99.
 */

import type { MetricInfo, MetricsSnapshot } from '../metrics';
import { AliasTargets } from './alias-targets';
import { histogramCells } from './prometheus-format';

export type HistoryKind = 'rate' | 'value';

/** One metric's recent points, oldest first; null where there was no sample. */
export interface MetricHistoryPoints {
  readonly kind: HistoryKind;
  readonly points: (number | null)[];
  /** Histograms: the p99 at each sample. */
  readonly p99?: (number | null)[];
}

interface Series {
  readonly kind: HistoryKind;
  readonly points: Float64Array;
  readonly p99?: Float64Array;
  /** Rates: the previous sample's raw value, and whether there is one. */
  previous: bigint;
  hasPrevious: boolean;
}

export class MetricHistory {
  /** Samples kept per series. */
  readonly capacity: number;
  private readonly times: Float64Array;
  private next = 0;
  private size = 0;
  private sequence = 0;
  private lastAtMs = 0;
  private readonly series = new Map<string, Series>();
  private readonly targets = new AliasTargets();

  constructor(seconds: number, readonly intervalMs = 1000) {
    if (!Number.isInteger(seconds) || seconds < 2 || seconds > 86_400)
      throw new RangeError(`historySeconds ${seconds}: expected a whole number from 2 to 86400`);
    this.capacity = Math.max(2, Math.ceil((seconds * 1000) / intervalMs));
    this.times = new Float64Array(this.capacity);
  }

  /** Records one sample of every metric in `snapshot`. */
  sample(snapshot: MetricsSnapshot): void {
    this.targets.update(snapshot.metrics);
    const at = snapshot.takenAtMs;
    const seconds = this.size > 0 ? Math.max(1, at - this.lastAtMs) / 1000 : 0;
    const i = this.next;
    this.times[i] = at;
    for (const info of snapshot.metrics) {
      const source = this.targets.source(info);
      if (!source) continue;
      const series = this.series.get(info.name) ?? this.create(info.name, source);
      if (source.type === 'histogram') {
        const { counts } = histogramCells(snapshot, source);
        series.points[i] = this.rate(series, counts.reduce((a, b) => a + b, 0n), seconds);
        series.p99![i] = snapshot.histogram(source).quantile(0.99) ?? NaN;
      } else if (series.kind === 'rate') {
        series.points[i] = this.rate(series, snapshot.values[source.valueIndex], seconds);
      } else {
        series.points[i] = Number(snapshot.values[source.valueIndex]);
      }
    }
    this.lastAtMs = at;
    this.next = (i + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    this.sequence++;
  }

  /**
   * The points of metric `name`, oldest first (only the newest `last` with that argument), or undefined
   * when it was never sampled.
   */
  points(name: string, last = this.capacity): MetricHistoryPoints | undefined {
    const series = this.series.get(name);
    if (!series) return undefined;
    return {
      kind: series.kind,
      points: this.ordered(series.points, last),
      ...(series.p99 ? { p99: this.ordered(series.p99, last) } : {}),
    };
  }

  /**
   * When the newest sample was taken (Unix ms), how many samples each series holds, and how many were
   * ever taken (`sequence`: a client that saw sequence S and now sees S + k appends the newest k points).
   */
  get latest(): { atMs: number; samples: number; sequence: number } {
    return { atMs: this.lastAtMs, samples: this.size, sequence: this.sequence };
  }

  private create(name: string, source: MetricInfo): Series {
    const kind: HistoryKind = source.type === 'counter' || source.type === 'histogram' ? 'rate' : 'value';
    // A metric first seen now has no earlier samples: NaN until then.
    const series: Series = {
      kind,
      points: new Float64Array(this.capacity).fill(NaN),
      ...(source.type === 'histogram' ? { p99: new Float64Array(this.capacity).fill(NaN) } : {}),
      previous: 0n,
      hasPrevious: false,
    };
    this.series.set(name, series);
    return series;
  }

  private rate(series: Series, value: bigint, seconds: number): number {
    const rate = series.hasPrevious && seconds > 0 ? Number(value - series.previous) / seconds : NaN;
    series.previous = value;
    series.hasPrevious = true;
    return rate;
  }

  private ordered(ring: Float64Array, last: number): (number | null)[] {
    const out: (number | null)[] = [];
    const count = Math.min(this.size, Math.max(0, last));
    const start = (this.next - count + this.capacity) % this.capacity;
    for (let k = 0; k < count; k++) {
      const v = ring[(start + k) % this.capacity];
      out.push(Number.isNaN(v) ? null : Math.round(v * 1000) / 1000);
    }
    return out;
  }
}
