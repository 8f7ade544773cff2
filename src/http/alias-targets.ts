import type { MetricInfo } from '../metrics';

/**
 * Finds the metric an alias reads. A region only ever adds metrics, so the index grows with the list it
 * is given and never has to be rebuilt.
 */
export class AliasTargets {
  private readonly byName = new Map<string, MetricInfo>();
  private seen = 0;

  /** Indexes the metrics registered since the last call. */
  update(metrics: readonly MetricInfo[]): void {
    for (; this.seen < metrics.length; this.seen++) this.byName.set(metrics[this.seen].name, metrics[this.seen]);
  }

  /** The metric whose cells hold `info`'s value: its alias target (aliases of aliases followed), or itself. */
  source(info: MetricInfo): MetricInfo | undefined {
    let current: MetricInfo | undefined = info;
    for (let hops = 0; current && current.type === 'alias'; hops++) {
      if (hops > 16 || current.alias === undefined) return undefined;
      current = this.byName.get(current.alias);
    }
    return current;
  }
}
