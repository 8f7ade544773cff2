import { DERIVED_SUFFIXES, deriveSeries } from '../histogram/derived-series';
import { HistogramSnapshot } from '../histogram/histogram-snapshot';
import type { Metrics, MetricInfo } from '../metrics';
import type { MetricType } from '../spec/metric-spec';
import { SnmpConfigError } from './errors';
import { BASE_ARCS, Column, compareOids, ENTRY_ARC, formatOid, hasPrefix, LAST_COLUMN, parseOid, TABLE_ARC, TABLE_ARCS } from './oid';

/**
 * How a value is sent: counter, absolute and histogram (its count of observations) as Counter64
 * (Counter32 in v1), gauge as Gauge32.
 */
export type ValueKind = 'counter' | 'gauge';

/**
 * A histogram with an oid also answers its derived series (deriveSeries(), the list every output uses),
 * in that order, one arc below its oid: BASE.oid.1 count, .2 sum (counters), .3 p50, .4 p90, .5 p99,
 * .6 p999, .7 min, .8 max (gauges). BASE.oid itself keeps answering the count. Their kinds are read
 * from deriveSeries() itself, so that the list and its types have one source.
 */
export const DERIVED_KINDS: readonly ValueKind[] = deriveSeries(new HistogramSnapshot([1], [0, 0], 0)).map((series) => series.type);

/** One instance the agent answers for. */
export interface MibObject {
  readonly oid: readonly number[];
  readonly info: MetricInfo;
  /** 0: the metric's own oid (BASE.oid); else the table column (Column). */
  readonly column: number;
  /** The metric whose value is read: `info` itself, or the end of an alias chain. */
  readonly target: MetricInfo | undefined;
  /** How that value is sent. */
  readonly kind: ValueKind | undefined;
  /** 0: the metric's value; k >= 1: series k of deriveSeries() of the histogram `target` (at BASE.oid.k). */
  readonly derived: number;
}

export const NO_SUCH_OBJECT = 'noSuchObject';
export const NO_SUCH_INSTANCE = 'noSuchInstance';
export type GetResult = MibObject | typeof NO_SUCH_OBJECT | typeof NO_SUCH_INSTANCE;

interface OidEntry {
  readonly arcs: readonly number[];
  readonly slot: number;
  /** 0: the metric's own oid; k: its histogram's derived series k (see DERIVED_KINDS). */
  readonly derived: number;
}

/** Type codes of the shmMetricType column: uWSGI's type code + 1 (SMI enumerations start at 1). */
export const TYPE_CODES: Readonly<Record<MetricType, number>> = { counter: 1, gauge: 2, absolute: 3, alias: 4, histogram: 5 };

/** Longest alias chain followed; the region refuses cycles, this only bounds the walk. */
const MAX_ALIAS_HOPS = 64;

/**
 * The metrics of a region in OID order, without ever materialising the whole tree: metrics with an oid
 * (and the derived series of histograms with one) sit in one sorted array (binary search), the table BASE.20.1.c.i is computed from slot numbers (rows
 * only grow, and index = slot + 1 is already in order). GET and GETNEXT are O(log n), so a walk of n
 * metrics is O(n log n) — net-snmp's Agent sorts every sibling list on each step, O(n²) a walk.
 *
 * Reads definitions only; the caller reads values when it answers.
 */
export class MetricsMibView {
  private catalog: readonly MetricInfo[] = [];
  private known = 0;
  private readonly byName = new Map<string, MetricInfo>();
  /** Per slot: the metric whose value it answers with, undefined when an alias cannot be resolved. */
  private readonly targets: (MetricInfo | undefined)[] = [];
  private readonly kinds: (ValueKind | undefined)[] = [];
  /** Table indexes (slot + 1), ascending, of the rows of each value column. */
  private readonly counterRows: number[] = [];
  private readonly gaugeRows: number[] = [];
  /**
   * Metrics answering at their own oid and histograms' derived series, sorted. On a duplicate oid the
   * first slot keeps it; a metric's own oid wins over a histogram's derived OID, whatever the order.
   */
  private readonly oidEntries: OidEntry[] = [];

  /**
   * Reads every metric defined so far. A metric whose oid starts with 20 would shadow the table: that is
   * an error now, and a logged skip for metrics defined later.
   */
  constructor(
    private readonly metrics: Metrics,
    private readonly log: (message: string) => void,
  ) {
    const shadowing: MetricInfo[] = [];
    this.refresh((info) => shadowing.push(info));
    if (shadowing.length > 0)
      throw new SnmpConfigError(
        'metric oid',
        shadowing.map((info) => info.oid).join(', '),
        `${formatOid(TABLE_ARCS)} is the metrics table, so oids starting with ${TABLE_ARC} are reserved for it; ` +
          `give ${shadowing.map((info) => `"${info.name}"`).join(', ')} another oid`,
      );
  }

  /** How many metrics the view holds. */
  get size(): number {
    return this.known;
  }

  /** Takes in metrics defined since the last call (by any process). Cheap when there are none. */
  refresh(onShadowing?: (info: MetricInfo) => void): void {
    const list = this.metrics.list();
    if (list.length === this.known) return;
    this.catalog = list;
    for (let slot = this.known; slot < list.length; slot++) this.add(list[slot], onShadowing);
    this.known = list.length;
  }

  private add(info: MetricInfo, onShadowing?: (info: MetricInfo) => void): void {
    this.byName.set(info.name, info);
    const target = this.targetOf(info);
    const kind = target === undefined ? undefined : target.type === 'gauge' ? 'gauge' : 'counter';
    this.targets[info.slot] = target;
    this.kinds[info.slot] = kind;
    if (kind === 'counter') this.counterRows.push(info.slot + 1);
    else if (kind === 'gauge') this.gaugeRows.push(info.slot + 1);
    if (info.oid === undefined) return;
    if (kind === undefined)
      return this.log(`SNMP: alias "${info.name}" (oid=${info.oid}) does not lead to a metric; it is not answered`);

    const relative = parseOid(info.oid);
    if (!relative) return this.log(`SNMP: metric "${info.name}" has an unusable oid "${info.oid}"; it is only in the metrics table`);
    if (relative[0] === TABLE_ARC) {
      if (onShadowing) return onShadowing(info);
      return this.log(
        `SNMP: metric "${info.name}" has oid=${info.oid}, inside the metrics table (${formatOid(TABLE_ARCS)}); ` +
          `it is only reachable as a table row (index ${info.slot + 1})`,
      );
    }
    const arcs = [...BASE_ARCS, ...relative];
    const at = this.lowerBound(arcs);
    const existing = this.oidEntries[at];
    if (existing && compareOids(existing.arcs, arcs) === 0) {
      const owner = this.catalog[existing.slot];
      if (existing.derived === 0)
        return this.log(
          `SNMP: metric "${info.name}" has oid=${info.oid}, already answered by "${owner.name}" (the first one keeps it, as in uWSGI); ` +
            `"${info.name}" is only reachable as a table row (index ${info.slot + 1})`,
        );
      // A metric keeps the oid it was given even when a histogram defined before derives a series there.
      this.oidEntries[at] = { arcs, slot: info.slot, derived: 0 };
      this.logDerivedConflict(owner, existing.derived, info);
    } else {
      this.oidEntries.splice(at, 0, { arcs, slot: info.slot, derived: 0 });
    }
    if (info.type === 'histogram') this.addDerived(info, arcs);
  }

  /** A histogram's derived series, one arc below its oid, except where a metric has that oid. */
  private addDerived(histogram: MetricInfo, arcs: readonly number[]): void {
    for (let k = 1; k <= DERIVED_KINDS.length; k++) {
      const derived = [...arcs, k];
      const at = this.lowerBound(derived);
      const existing = this.oidEntries[at];
      if (existing && compareOids(existing.arcs, derived) === 0) this.logDerivedConflict(histogram, k, this.catalog[existing.slot]);
      else this.oidEntries.splice(at, 0, { arcs: derived, slot: histogram.slot, derived: k });
    }
  }

  private logDerivedConflict(histogram: MetricInfo, k: number, owner: MetricInfo): void {
    const series = `${histogram.name}.${DERIVED_SUFFIXES[k - 1]}`;
    this.log(
      `SNMP: histogram "${histogram.name}" (oid=${histogram.oid}) would answer ${series} at oid=${histogram.oid}.${k}, ` +
        `which is the oid of "${owner.name}"; "${owner.name}" answers there and ${series} is not served over SNMP`,
    );
  }

  private targetOf(info: MetricInfo): MetricInfo | undefined {
    let target: MetricInfo | undefined = info;
    for (let hops = 0; target && target.type === 'alias' && hops < MAX_ALIAS_HOPS; hops++)
      target = target.alias === undefined ? undefined : this.byName.get(target.alias);
    return target && target.type !== 'alias' ? target : undefined;
  }

  /** The first entry whose oid is >= `oid`. */
  private lowerBound(oid: readonly number[]): number {
    let low = 0;
    let high = this.oidEntries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareOids(this.oidEntries[mid].arcs, oid) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private entryAt(index: number): MibObject {
    const { arcs, slot, derived } = this.oidEntries[index];
    const kind = derived === 0 ? this.kinds[slot] : DERIVED_KINDS[derived - 1];
    return { oid: arcs, info: this.catalog[slot], column: 0, target: this.targets[slot], kind, derived };
  }

  get(oid: readonly number[]): GetResult {
    if (!hasPrefix(oid, BASE_ARCS) || oid.length === BASE_ARCS.length) return NO_SUCH_OBJECT;
    if (oid[BASE_ARCS.length] === TABLE_ARC) return this.tableGet(oid);
    const at = this.lowerBound(oid);
    if (at < this.oidEntries.length && compareOids(this.oidEntries[at].arcs, oid) === 0) return this.entryAt(at);
    // Below a metric's own oid (snmpget habits such as a trailing .0) or a histogram's derived series
    // (BASE.oid.9, BASE.oid.1.0): the object exists, not the instance.
    for (let length = oid.length - 1; length > BASE_ARCS.length; length--) {
      const prefix = oid.slice(0, length);
      const p = this.lowerBound(prefix);
      if (p < this.oidEntries.length && compareOids(this.oidEntries[p].arcs, prefix) === 0) return NO_SUCH_INSTANCE;
    }
    return NO_SUCH_OBJECT;
  }

  private tableGet(oid: readonly number[]): GetResult {
    const t = TABLE_ARCS.length;
    const column = oid[t + 1];
    if (oid.length < t + 3 || oid[t] !== ENTRY_ARC || !(column >= Column.Name && column <= LAST_COLUMN)) return NO_SUCH_OBJECT;
    if (oid.length === t + 3 && this.hasRow(column, oid[t + 2])) return this.tableObject(column, oid[t + 2]);
    return NO_SUCH_INSTANCE;
  }

  private hasRow(column: number, index: number): boolean {
    if (!(index >= 1 && index <= this.known)) return false;
    if (column === Column.Counter) return this.kinds[index - 1] === 'counter';
    if (column === Column.Gauge) return this.kinds[index - 1] === 'gauge';
    return true;
  }

  private tableObject(column: number, index: number): MibObject {
    const slot = index - 1;
    return {
      oid: [...TABLE_ARCS, ENTRY_ARC, column, index],
      info: this.catalog[slot],
      column,
      target: this.targets[slot],
      kind: this.kinds[slot],
      derived: 0,
    };
  }

  /** The first instance after `oid` in lexicographic order, or undefined at the end of the view. */
  next(oid: readonly number[]): MibObject | undefined {
    let at = this.lowerBound(oid);
    if (at < this.oidEntries.length && compareOids(this.oidEntries[at].arcs, oid) === 0) at++;
    const own = at < this.oidEntries.length ? this.entryAt(at) : undefined;
    const row = this.tableNext(oid);
    if (!own) return row;
    if (!row) return own;
    return compareOids(own.oid, row.oid) < 0 ? own : row;
  }

  private tableNext(oid: readonly number[]): MibObject | undefined {
    if (!hasPrefix(oid, TABLE_ARCS)) return compareOids(oid, TABLE_ARCS) < 0 ? this.firstRow(Column.Name, 0) : undefined;
    const t = TABLE_ARCS.length;
    if (oid.length === t || oid[t] < ENTRY_ARC) return this.firstRow(Column.Name, 0);
    if (oid[t] > ENTRY_ARC) return undefined;
    if (oid.length === t + 1 || oid[t + 1] < Column.Name) return this.firstRow(Column.Name, 0);
    const column = oid[t + 1];
    if (column > LAST_COLUMN) return undefined;
    // After c (no index) comes c.1; after c.i and after anything below c.i comes c.(i+1).
    return this.firstRow(column, oid.length === t + 2 ? 0 : oid[t + 2]);
  }

  /** The first row with index > `after` in `column`, else in the columns after it. */
  private firstRow(column: number, after: number): MibObject | undefined {
    for (let c = column; c <= LAST_COLUMN; c++, after = 0) {
      const index = this.rowAfter(c, after);
      if (index !== undefined) return this.tableObject(c, index);
    }
    return undefined;
  }

  private rowAfter(column: number, after: number): number | undefined {
    if (column === Column.Counter || column === Column.Gauge) {
      const rows = column === Column.Counter ? this.counterRows : this.gaugeRows;
      let low = 0;
      let high = rows.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (rows[mid] <= after) low = mid + 1;
        else high = mid;
      }
      return low < rows.length ? rows[low] : undefined;
    }
    return after < this.known ? after + 1 : undefined;
  }
}
