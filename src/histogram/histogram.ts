import { performance } from 'node:perf_hooks';
import { checkNumber, Metric } from '../metric';
import type { ValueStore } from '../region/value-store';
import { HistogramSnapshot } from './histogram-snapshot';

const NO_LANE = new BigInt64Array(0);

/**
 * A histogram shared by every process: `observe(v)` adds 1 to the bucket holding v, 1 to the count and v
 * to the sum, in this thread's lane (three adds into memory no other process writes, no allocation), so
 * its cost is of the same class as an increment. Reading combines every process's observations.
 *
 * Values are integers, like every value of a region: observe microseconds, bytes, items.
 * The scalar operations of Metric (inc, set...) throw: record with observe().
 */
export class Histogram extends Metric {
  private readonly bounds: Float64Array;
  private readonly countOffset: number;
  private readonly sumOffset: number;
  private histogramLanes: BigInt64Array = NO_LANE;
  /** Lane index of the first bucket; the count and the sum follow the +Inf bucket. */
  private histogramLaneBase = -1;
  private histogramArmed = false;
  private histogramLaneless = false;

  /** @internal use Metrics.histogram/define/metric */
  constructor(name: string, values: ValueStore, firstValue: number, bounds: readonly number[]) {
    super(name, 'histogram', 'manual', values, firstValue);
    this.bounds = Float64Array.from(bounds);
    this.countOffset = bounds.length + 1;
    this.sumOffset = bounds.length + 2;
  }

  /** Records one observation (an integer). */
  observe(v: number): void {
    if (this.histogramArmed && typeof v === 'number' && (v | 0) === v) {
      const lanes = this.histogramLanes;
      const base = this.histogramLaneBase;
      lanes[base + this.bucketOf(v)] += 1n;
      lanes[base + this.countOffset] += 1n;
      lanes[base + this.sumOffset] += BigInt(v | 0);
      return;
    }
    this.observeSlowly(v);
  }

  /** Starts timing; the returned function observes the elapsed microseconds and returns them. */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const micros = Math.round((performance.now() - start) * 1000);
      this.observe(micros);
      return micros;
    };
  }

  /** The buckets, count and sum now, and the quantiles computed from them. */
  snapshot(): HistogramSnapshot {
    const counts: number[] = [];
    for (let i = 0; i < this.countOffset; i++) counts.push(this.values.get(this.value + i));
    return new HistogramSnapshot(Array.from(this.bounds), counts, this.values.get(this.value + this.sumOffset));
  }

  /** @internal after Metrics.close(): no more writes into a lane this thread gave back. */
  override detach(closed: ValueStore): void {
    super.detach(closed);
    this.histogramArmed = false;
    this.histogramLaneless = true;
  }

  /** The number of observations. */
  override get(): number {
    return this.values.get(this.value + this.countOffset);
  }

  override getBigInt(): bigint {
    return this.values.getBigInt(this.value + this.countOffset);
  }

  /** The first bucket whose upper bound is >= v (bounds.length: the +Inf bucket). */
  private bucketOf(v: number): number {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v <= b[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private observeSlowly(v: number): void {
    const x = checkNumber(v, 'observe', this.name);
    if (!this.histogramArmed && !this.histogramLaneless) this.armLanes();
    const bucket = this.bucketOf(x);
    if (this.histogramArmed && (x | 0) === x) {
      this.observe(x);
      return;
    }
    this.values.add32(this.value + bucket, 1);
    this.values.add32(this.value + this.countOffset, 1);
    this.values.addSafe(this.value + this.sumOffset, x);
  }

  private armLanes(): void {
    for (let i = 0; i <= this.sumOffset; i++) {
      const slot = this.values.armLane(this.value + i);
      if (!slot) {
        this.histogramLaneless = true;
        return;
      }
      if (i === 0) {
        this.histogramLanes = slot.array;
        this.histogramLaneBase = slot.index;
      }
    }
    this.histogramArmed = true;
  }
}
