/**
 * A histogram's counts at one moment, and what is computed from them: count, sum, mean, min, max and
 * quantiles. Because every process records into the same buckets, these are the quantiles of all
 * observations of all processes (prom-client's cluster mode sums per-worker quantiles instead).
 *
 * A quantile is estimated as the upper bound of the bucket that holds it: never below the true value
 * and at most that bucket's width above it (for a loglinear:MIN:MAX:SUB layout, at most 1/SUB of the
 * true value). Integer data that falls on bounds is read exactly (every observation 1 gives p50 = 1).
 * Past the last bound (the +Inf bucket) the estimate is the last bound, which may be below the truth.
 */
export class HistogramSnapshot {
  /** Observations counted, and their sum. */
  readonly count: number;
  readonly sum: number;

  constructor(
    /** Bucket upper bounds; counts has one more entry, the +Inf bucket. */
    readonly bounds: readonly number[],
    readonly counts: readonly number[],
    sum: number,
  ) {
    this.count = counts.reduce((a, b) => a + b, 0);
    this.sum = sum;
  }

  get mean(): number | undefined {
    return this.count === 0 ? undefined : this.sum / this.count;
  }

  /** The lower edge of the lowest bucket holding an observation. */
  get min(): number | undefined {
    const i = this.counts.findIndex((c) => c > 0);
    return i < 0 ? undefined : this.lowerEdge(i);
  }

  /** The upper edge of the highest bucket holding an observation (the last bound for +Inf). */
  get max(): number | undefined {
    for (let i = this.counts.length - 1; i >= 0; i--) if (this.counts[i] > 0) return this.upperEdge(i);
    return undefined;
  }

  /** The q-quantile (0 < q <= 1) of all observations, or undefined when there are none. */
  quantile(q: number): number | undefined {
    if (!(q > 0 && q <= 1)) throw new RangeError(`quantile ${q} is not in (0, 1]`);
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let below = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const inBucket = this.counts[i];
      if (below + inBucket >= rank) return this.upperEdge(i);
      below += inBucket;
    }
    return this.upperEdge(this.counts.length - 1);
  }

  /** The cumulative count of observations <= bounds[i] (i = bounds.length: all of them), as Prometheus' `le`. */
  cumulative(i: number): number {
    let total = 0;
    for (let j = 0; j <= i && j < this.counts.length; j++) total += this.counts[j];
    return total;
  }

  private lowerEdge(i: number): number {
    if (i > 0) return this.bounds[i - 1];
    return this.bounds[0] > 0 ? 0 : this.bounds[0];
  }

  private upperEdge(i: number): number {
    return this.bounds[Math.min(i, this.bounds.length - 1)];
  }
}
