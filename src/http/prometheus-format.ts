/**
 * Prometheus exposition of a snapshot: the text format 0.0.4 and OpenMetrics 1.0. Pure: no I/O.
 *
 * Names. A shmetrics name (`0-9 A-Z a-z . - _`) becomes `<namespace>_<name>` with every `.` and `-`
 * turned into `_`: `system.load1` -> `shmetrics_system_load1`. With `labelFrom: ['worker']`, a segment
 * `worker` followed by a segment of digits becomes a label instead: `worker.1.requests` ->
 * `shmetrics_worker_requests{worker="1"}`. Counters get `_total` (not doubled when the name already ends
 * in `_total`); any other type whose name ends in `_total`, `_count`, `_sum` or `_bucket` gets `_value`
 * appended (`system.memory.total` -> `shmetrics_system_memory_total_value`), since Prometheus reserves
 * those endings for counters and histograms. Two metrics that map to the same series, or to a name the
 * other's type writes (`a.b` and `a_b`; a gauge `x.created` beside a counter `x`), cannot both be exposed:
 * the one registered first wins and the other is reported once through `onDropped`.
 *
 * Types. counter -> counter; gauge -> gauge; absolute -> gauge, because an absolute is set rather than
 * counted and may restart from 0 (worker.N.delta_requests does at every respawn); alias -> its target's
 * type and value, under the alias's own name; histogram -> histogram (`_bucket{le}`, `_sum`, `_count`).
 *
 * Values are the region's int64s printed from their BigInt, so every digit is exact. A histogram's
 * `_count` is the sum of its buckets (so it always equals the `+Inf` bucket), and `le` values are
 * written as floats (`le="100.0"`), as client_golang does for OpenMetrics and Prometheus 3 normalizes
 * to. In OpenMetrics a histogram with a negative bound or a negative sum has no `_sum` (the spec forbids it).
 */

import type { MetricInfo, MetricsSnapshot } from '../metrics';
import type { MetricType } from '../spec/metric-spec';
import { AliasTargets } from './alias-targets';

export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

export interface PrometheusNaming {
  /** Prefix of every name, joined with `_` (default "shmetrics"; "" for none). */
  namespace?: string;
  /** Segment names whose following all-digit segment becomes a label (e.g. ["worker"]). */
  labelFrom?: readonly string[];
}

export interface PrometheusExpositionOptions extends PrometheusNaming {
  /** Called once per metric that cannot be exposed (a name collision), with the reason. */
  onDropped?: (name: string, reason: string) => void;
}

type PromType = 'counter' | 'gauge' | 'histogram';

/** Where a shmetrics name lands in Prometheus. */
export interface MappedName {
  /** The family name before any type suffix: `shmetrics_worker_requests`. */
  readonly base: string;
  readonly labels: readonly (readonly [name: string, value: string])[];
  /** The name with label segments shown as `<label>`: `worker.<worker>.requests`. */
  readonly pattern: string;
}

/** Name endings of counter and histogram samples, which a gauge or a histogram's own name must not have. */
const RESERVED_SUFFIX = /_(total|count|sum|bucket)$/;
const NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Label names Prometheus or a histogram reserve. */
const RESERVED_LABELS = new Set(['le', 'quantile', 'job', 'instance']);

/** Checks `namespace` and `labelFrom`; throws a RangeError naming the bad value. */
export function checkNaming(naming: PrometheusNaming): void {
  if (naming.namespace !== undefined && naming.namespace !== '' && !NAME_RE.test(naming.namespace))
    throw new RangeError(`namespace ${JSON.stringify(naming.namespace)}: expected [a-zA-Z_][a-zA-Z0-9_]* or ""`);
  for (const label of naming.labelFrom ?? []) {
    if (!NAME_RE.test(label) || label.startsWith('__'))
      throw new RangeError(`labelFrom ${JSON.stringify(label)}: a label name is [a-zA-Z_][a-zA-Z0-9_]* and does not start with __`);
    if (RESERVED_LABELS.has(label)) throw new RangeError(`labelFrom ${JSON.stringify(label)}: "${label}" is a reserved label name`);
  }
}

/** Maps a shmetrics name to its Prometheus base name and labels (see the file comment). */
export function mapMetricName(name: string, naming: PrometheusNaming = {}): MappedName {
  const namespace = naming.namespace ?? 'shmetrics';
  const labelFrom = naming.labelFrom ?? [];
  const segments = name.split('.');
  const kept: string[] = [];
  const pattern: string[] = [];
  const labels: [string, string][] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    kept.push(segment);
    pattern.push(segment);
    const next = segments[i + 1];
    if (labelFrom.includes(segment) && next !== undefined && /^[0-9]+$/.test(next) && !labels.some(([l]) => l === segment)) {
      labels.push([segment, next]);
      pattern.push(`<${segment}>`);
      i++;
    }
  }
  let base = kept.join('_').replace(/[^a-zA-Z0-9_]/g, '_');
  if (namespace !== '') base = `${namespace}_${base}`;
  else if (!/^[a-zA-Z_]/.test(base)) base = `_${base}`;
  return { base, labels, pattern: pattern.join('.') };
}

/** One metric of a family: whose name it is, where its value is read, and its labels. */
interface Member {
  readonly info: MetricInfo;
  /** The metric whose cells hold the value: the alias's target, or the metric itself. */
  readonly source: MetricInfo;
  readonly labels: string;
}

interface Family {
  readonly type: PromType;
  /** The OpenMetrics family name (without `_total` for counters). */
  readonly name: string;
  /** The 0.0.4 family name (with `_total` for counters). */
  readonly textName: string;
  readonly help: string;
  readonly members: Member[];
  readonly labelSets: Set<string>;
}

/** Sample names a family of each type writes, given its OpenMetrics name. */
function reservedNames(type: PromType, name: string): string[] {
  if (type === 'counter') return [name, `${name}_total`, `${name}_created`];
  if (type === 'histogram') return [name, `${name}_bucket`, `${name}_count`, `${name}_sum`, `${name}_created`];
  return [name];
}

/**
 * Renders snapshots. Keeps the name mapping of the metrics it has seen (a region's metrics are never
 * removed or changed, only added), so a scrape costs one pass over the values.
 */
export class PrometheusExposition {
  private readonly naming: PrometheusNaming;
  private readonly onDropped?: (name: string, reason: string) => void;
  private readonly families: Family[] = [];
  private readonly familyByName = new Map<string, Family>();
  /** Every sample name in use, with the family that uses it. */
  private readonly reserved = new Map<string, Family>();
  private readonly targets = new AliasTargets();
  private seen = 0;

  constructor(options: PrometheusExpositionOptions = {}) {
    checkNaming(options);
    this.naming = { namespace: options.namespace, labelFrom: options.labelFrom };
    this.onDropped = options.onDropped;
  }

  /** The exposition of `snapshot` in `format`. */
  render(snapshot: MetricsSnapshot, format: ExpositionFormat): string {
    this.learn(snapshot.metrics);
    const om = format === 'openmetrics';
    const out: string[] = [];
    for (const family of this.families) {
      const name = om ? family.name : family.textName;
      out.push(`# HELP ${name} ${escapeHelp(family.help, om)}\n# TYPE ${name} ${family.type}\n`);
      for (const member of family.members) {
        if (family.type === 'histogram') writeHistogram(out, family.name, member, snapshot, om);
        else {
          const sample = family.type === 'counter' ? `${family.name}_total` : family.name;
          out.push(`${sample}${braces(member.labels)} ${snapshot.values[member.source.valueIndex]}\n`);
        }
      }
    }
    if (om) out.push('# EOF\n');
    return out.join('');
  }

  /** Adds the metrics registered since the last call to their families. */
  private learn(metrics: readonly MetricInfo[]): void {
    this.targets.update(metrics);
    for (; this.seen < metrics.length; this.seen++) {
      const info = metrics[this.seen];
      const source = this.targets.source(info);
      if (!source) {
        this.drop(info.name, `alias target "${info.alias}" is not readable`);
        continue;
      }
      this.place(info, source);
    }
  }

  private place(info: MetricInfo, source: MetricInfo): void {
    const type = promType(source.type);
    const mapped = mapMetricName(info.name, this.naming);
    // A counter's family is named without `_total`; its samples add it (once). Other types must not end
    // in a suffix Prometheus reserves for counters and histograms (promtool's lint refuses them).
    const name =
      type === 'counter' ? mapped.base.replace(/_total$/, '') : RESERVED_SUFFIX.test(mapped.base) ? `${mapped.base}_value` : mapped.base;
    if (name === '') {
      this.drop(info.name, 'maps to an empty Prometheus name');
      return;
    }
    const labels = mapped.labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
    let family = this.familyByName.get(name);
    if (family) {
      if (family.type !== type) {
        this.drop(info.name, `maps to ${name}, already a ${family.type} family`);
        return;
      }
      if (family.labelSets.has(labels)) {
        this.drop(info.name, `maps to the same series as ${family.members.find((m) => m.labels === labels)!.info.name}`);
        return;
      }
    } else {
      const clash = reservedNames(type, name).find((n) => this.reserved.has(n));
      if (clash !== undefined) {
        this.drop(info.name, `its ${type} ${name} would clash with ${clash} of the ${this.reserved.get(clash)!.type} family ${this.reserved.get(clash)!.name}`);
        return;
      }
      const what = info.type === 'alias' ? `alias of ${source.name}, ${source.type}` : info.type;
      family = {
        type,
        name,
        textName: type === 'counter' ? `${name}_total` : name,
        help: `shmetrics ${mapped.pattern} (${what})`,
        members: [],
        labelSets: new Set(),
      };
      this.families.push(family);
      this.familyByName.set(name, family);
      for (const n of reservedNames(type, name)) this.reserved.set(n, family);
    }
    family.members.push({ info, source, labels });
    family.labelSets.add(labels);
  }

  private drop(name: string, reason: string): void {
    this.onDropped?.(name, reason);
  }
}

function promType(type: MetricType): PromType {
  if (type === 'counter') return 'counter';
  if (type === 'histogram') return 'histogram';
  return 'gauge';
}

/**
 * A histogram's cells as exact BigInts. The same cells MetricsSnapshot.histogram() reads (bucket counts
 * with +Inf last, then the count, then the sum), without its conversion to Number.
 */
export function histogramCells(snapshot: MetricsSnapshot, info: MetricInfo): { bounds: readonly number[]; counts: bigint[]; sum: bigint } {
  const bounds = info.buckets ?? [];
  const counts: bigint[] = [];
  for (let i = 0; i <= bounds.length; i++) counts.push(snapshot.values[info.valueIndex + i]);
  return { bounds, counts, sum: snapshot.values[info.valueIndex + bounds.length + 2] };
}

function writeHistogram(out: string[], name: string, member: Member, snapshot: MetricsSnapshot, om: boolean): void {
  const { bounds, counts, sum } = histogramCells(snapshot, member.source);
  const prefix = member.labels === '' ? '' : `${member.labels},`;
  let cumulative = 0n;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i];
    const le = i < bounds.length ? formatBound(bounds[i]) : '+Inf';
    out.push(`${name}_bucket{${prefix}le="${le}"} ${cumulative}\n`);
  }
  const labels = braces(member.labels);
  // OpenMetrics: "Negative threshold buckets MAY be used, but then the Histogram MetricPoint MUST NOT contain a sum".
  if (!om || ((bounds.length === 0 || bounds[0] >= 0) && sum >= 0n)) out.push(`${name}_sum${labels} ${sum}\n`);
  out.push(`${name}_count${labels} ${cumulative}\n`);
}

/** A bucket bound as a float literal: 100 -> "100.0" (bounds are integers). */
function formatBound(bound: number): string {
  return Number.isSafeInteger(bound) ? `${bound}.0` : String(bound);
}

function braces(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

function escapeHelp(text: string, om: boolean): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return om ? escaped.replace(/"/g, '\\"') : escaped;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
