/**
 * The /status tree (after Python's scales): metric names split at their dots into nested nodes, each
 * metric a leaf with its type and value. Pure: snapshot (and history) in, tree out.
 *
 * A node is `{ metric?, children? }`: `children` maps the next name segment to a node, `metric` is present
 * when the node's path is itself a metric (a name can be both a metric and a prefix: `a.b` and `a.b.c`).
 * Keys never collide with segments, because a segment is a key of `children` only.
 *
 * Values are exact: in the JSON text an int64 is written with all its digits (valid JSON; JavaScript's
 * JSON.parse rounds beyond 2^53, jq and Python do not).
 */

import type { MetricInfo, MetricsSnapshot } from '../metrics';
import type { CollectorName, MetricType } from '../spec/metric-spec';
import { AliasTargets } from './alias-targets';
import type { MetricHistory, MetricHistoryPoints } from './history';
import { histogramCells } from './prometheus-format';

export interface StatusHistogram {
  readonly count: bigint;
  readonly sum: bigint;
  readonly mean: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
}

export interface StatusMetric {
  readonly name: string;
  readonly type: MetricType;
  /** The value; for a histogram its count of observations; for an alias its target's. */
  readonly value: bigint;
  readonly collector?: CollectorName;
  readonly oid?: string;
  /** Aliases: the target's name and type. */
  readonly alias?: string;
  readonly targetType?: MetricType;
  readonly histogram?: StatusHistogram;
  readonly history?: MetricHistoryPoints;
}

export interface StatusNode {
  metric?: StatusMetric;
  children?: Record<string, StatusNode>;
}

export interface StatusTree {
  /** The subtree's prefix ("" for everything). */
  readonly prefix: string;
  readonly takenAtMs: number;
  /** How many metrics the subtree holds. */
  readonly metrics: number;
  /**
   * With history: the step between points, how many each series holds at most (`capacity`) and now
   * (`samples`), when the newest was taken, and the count of samples ever taken (`sequence`).
   */
  readonly history?: {
    readonly stepMs: number;
    readonly capacity: number;
    readonly samples: number;
    readonly latestMs: number;
    readonly sequence: number;
  };
  readonly tree: StatusNode;
}

/**
 * Normalizes the part of a /status URL after `/status/`: slashes and dots both separate segments
 * (`worker/1` = `worker.1`); leading and trailing separators are dropped. Undefined when it cannot be a
 * prefix of a metric name.
 */
export function parseStatusPrefix(text: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    return undefined;
  }
  const prefix = decoded.replace(/\//g, '.').replace(/^\.+|\.+$/g, '');
  return /^[0-9A-Za-z._-]*$/.test(prefix) ? prefix : undefined;
}

/** Whether metric `name` is in the subtree `prefix`. */
export function inSubtree(name: string, prefix: string): boolean {
  return prefix === '' || name === prefix || (name.startsWith(prefix) && name[prefix.length] === '.');
}

/** The tree of the metrics under `prefix`, or undefined when there are none. */
export function buildStatusTree(
  snapshot: MetricsSnapshot,
  options: {
    prefix?: string;
    history?: MetricHistory;
    /** Only the newest this many points of each series (default: all). */
    historyPoints?: number;
    targets?: AliasTargets;
  } = {},
): StatusTree | undefined {
  const prefix = options.prefix ?? '';
  const targets = options.targets ?? new AliasTargets();
  targets.update(snapshot.metrics);
  const root: StatusNode = {};
  let count = 0;
  for (const info of snapshot.metrics) {
    if (!inSubtree(info.name, prefix)) continue;
    const source = targets.source(info);
    if (!source) continue;
    count++;
    let node = root;
    if (info.name !== prefix) {
      const rest = prefix === '' ? info.name : info.name.slice(prefix.length + 1);
      for (const segment of rest.split('.')) {
        // Null-prototype maps: a segment may be "__proto__" or "constructor".
        const children = (node.children ??= Object.create(null) as Record<string, StatusNode>);
        node = children[segment] ??= {};
      }
    }
    node.metric = leaf(snapshot, info, source, options.history, options.historyPoints);
  }
  if (count === 0) return undefined;
  const history = options.history;
  const latest = history?.latest;
  return {
    prefix,
    takenAtMs: snapshot.takenAtMs,
    metrics: count,
    ...(history && latest
      ? {
          history: {
            stepMs: history.intervalMs,
            capacity: history.capacity,
            samples: latest.samples,
            latestMs: latest.atMs,
            sequence: latest.sequence,
          },
        }
      : {}),
    tree: root,
  };
}

function leaf(
  snapshot: MetricsSnapshot,
  info: MetricInfo,
  source: MetricInfo,
  history: MetricHistory | undefined,
  historyPoints: number | undefined,
): StatusMetric {
  let value: bigint;
  let histogram: StatusHistogram | undefined;
  if (source.type === 'histogram') {
    const { counts, sum } = histogramCells(snapshot, source);
    const h = snapshot.histogram(source);
    const orNull = (v: number | undefined) => (v === undefined ? null : v);
    value = counts.reduce((a, b) => a + b, 0n);
    histogram = {
      count: value,
      sum,
      mean: value === 0n ? null : Number(sum) / Number(value),
      min: orNull(h.min),
      max: orNull(h.max),
      p50: orNull(h.quantile(0.5)),
      p90: orNull(h.quantile(0.9)),
      p99: orNull(h.quantile(0.99)),
      p999: orNull(h.quantile(0.999)),
    };
  } else {
    value = snapshot.values[source.valueIndex];
  }
  const points = history?.points(info.name, historyPoints);
  return {
    name: info.name,
    type: info.type,
    value,
    ...(info.collector !== 'manual' && info.type !== 'alias' ? { collector: info.collector } : {}),
    ...(info.oid ? { oid: info.oid } : {}),
    ...(info.type === 'alias' ? { alias: info.alias, targetType: source.type } : {}),
    ...(histogram ? { histogram } : {}),
    ...(points ? { history: points } : {}),
  };
}

const BIGINT_MARK = '\u0000int:';

/** The tree as JSON text, int64s with every digit; `pretty`: indented by two spaces. */
export function statusTreeJson(tree: StatusTree, pretty = false): string {
  const text = JSON.stringify(tree, (_key, v: unknown) => (typeof v === 'bigint' ? `${BIGINT_MARK}${v}` : v), pretty ? 2 : undefined);
  // JSON.stringify writes the mark's NUL as \u0000, which no metric name or segment can contain.
  return text.replace(/"\\u0000int:(-?[0-9]+)"/g, '$1') + (pretty ? '\n' : '');
}
