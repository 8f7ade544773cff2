import { EventEmitter } from 'node:events';
import { Collection, type AlarmEvent } from './collect/collection';
import { JsCollectors, type JsCollectorFunction } from './collect/js-collectors';
import { MetricConflictError, MetricSpecError, MetricWriteError, ShmetricsError, ThresholdSpecError, UnknownMetricError } from './errors';
import { Histogram } from './histogram/histogram';
import { HistogramSnapshot } from './histogram/histogram-snapshot';
import { createMetric, type Metric, type MetricNumber } from './metric';
import { addon, callNative, translateNativeError, type NativeMeta, type NativeRegion } from './native';
import { ClosedValues } from './region/closed-values';
import { openRegion } from './region/open-region';
import type { ValueStore } from './region/value-store';
import {
  COLLECTORS,
  formatMetricSpec,
  METRIC_TYPES,
  normalizeMetricDefinition,
  parseMetricSpec,
  type MetricDefinition,
  type MetricDefinitionInput,
  type MetricType,
} from './spec/metric-spec';
import { formatThresholdSpec, normalizeThresholdDefinition, parseThresholdSpec, type ThresholdDefinitionInput } from './spec/threshold-spec';

export interface OpenOptions {
  /** The region file. Default: `/dev/shm/shmetrics-<name>` when `name` is given, else $SHMETRICS_REGION. */
  path?: string;
  name?: string;
  /** Create the region when the file does not exist (default true). */
  create?: boolean;
  /** At creation: how many metrics the region holds (default 4096). */
  capacity?: number;
  /** At creation: how many value cells (default 4 per metric). */
  valueCapacity?: number;
  /** At creation: how many writer lanes (default 64; see README "Performance"). */
  lanes?: number;
  /** At creation: the file mode (default 0o600). */
  mode?: number;
  /**
   * Attach to a region file owned by another user. Off by default: whoever owns the file controls every
   * value and lock this process relies on.
   */
  allowForeignOwner?: boolean;
  /**
   * Updating a metric that does not exist defines it instead of throwing: a manual counter for
   * inc/dec, a manual gauge for set/mul/div/setMax/setMin. Off by default, so a typo is an error.
   */
  autoCreate?: boolean;
  /**
   * Run the collectors and thresholds of this region in this process: `true` to be its collector (throws
   * when another live process already is), `'standby'` to take over within a second when the collector
   * dies. Off by default: a region needs exactly one collector, usually the master.
   */
  collect?: boolean | 'standby';
  /** Identical messages from one alarm within this many seconds are dropped (default 3, as uWSGI). */
  alarmFreq?: number;
}

/** `define()`'s object form, which may also take a JavaScript collector function. */
export type DefineInput = Omit<MetricDefinitionInput, 'collector'> & {
  collector?: MetricDefinitionInput['collector'] | JsCollectorFunction;
};

export interface MetricsEvents {
  /** This process became the region's collector; `tookOver`: a previous collector had died. */
  collecting: [info: { tookOver: boolean }];
  /** A message from the collector (an unreadable file, a missing symbol...). Without a listener it goes to stderr. */
  log: [message: string];
  /** A threshold fired. */
  alarm: [event: AlarmEvent];
}

/** A metric's definition as the region holds it. */
export interface MetricInfo extends MetricDefinition {
  readonly slot: number;
  /** Index into a snapshot's `values`. */
  readonly valueIndex: number;
}

/** All values of a region at one moment, read in one pass. */
export class MetricsSnapshot {
  constructor(
    /** Every metric, in registration order. */
    readonly metrics: readonly MetricInfo[],
    /** Raw values by value index; `valueOf` reads them per metric. */
    readonly values: BigInt64Array,
    readonly takenAtMs: number,
  ) {}

  /** The metric's value; for a histogram, its count of observations (see `histogram()`). */
  value(metric: MetricInfo): number {
    return Number(this.values[scalarIndex(metric)]);
  }

  valueBigInt(metric: MetricInfo): bigint {
    return this.values[scalarIndex(metric)];
  }

  /** A histogram's buckets, count, sum and quantiles as of this snapshot. */
  histogram(metric: MetricInfo): HistogramSnapshot {
    const bounds = metric.buckets;
    if (metric.type !== 'histogram' || !bounds) throw new TypeError(`"${metric.name}" is a ${metric.type}, not a histogram`);
    const counts: number[] = [];
    for (let i = 0; i <= bounds.length; i++) counts.push(Number(this.values[metric.valueIndex + i]));
    return new HistogramSnapshot(bounds, counts, Number(this.values[metric.valueIndex + bounds.length + 2]));
  }
}

/** Where a metric's one number lives in the values: a histogram's count follows its buckets. */
function scalarIndex(metric: MetricInfo): number {
  return metric.type === 'histogram' ? metric.valueIndex + metric.buckets!.length + 1 : metric.valueIndex;
}

export function defaultRegionPath(name: string): string {
  return `/dev/shm/shmetrics-${name}`;
}

/**
 * One process's view of a shared region. Every method is safe to call from any number of processes at
 * once; see README for the guarantees.
 */
export class Metrics extends EventEmitter<MetricsEvents> {
  private opened?: { native: NativeRegion; values: ValueStore; path: string };
  private collection?: Collection;
  private readonly jsCollectors = new JsCollectors((message) => this.log(message));
  private autoCreate = false;
  private readonly handles = new Map<string, Metric>();
  private catalog: MetricInfo[] = [];
  private snapshotBuffer?: BigInt64Array;
  private closedPath?: string;

  /** Opens (and by default creates) a region. With no options, attaches to $SHMETRICS_REGION. */
  static open(options: OpenOptions = {}): Metrics {
    const metrics = new Metrics(options);
    metrics.region();
    return metrics;
  }

  /** A Metrics that maps its region on first use; used for the ready-made default instance. */
  static lazy(resolve: () => OpenOptions): Metrics {
    return new Metrics(resolve);
  }

  private constructor(private readonly options: OpenOptions | (() => OpenOptions)) {
    super();
  }

  /** Loads a shared library whose symbols func/ptr collectors name (uWSGI's --dlopen). Process-wide. */
  static dlopen(path: string): void {
    callNative(path, () => addon.dlopen(path));
  }

  private region(): { native: NativeRegion; values: ValueStore; path: string } {
    if (this.opened) return this.opened;
    if (this.closedPath !== undefined)
      throw new ShmetricsError(`${this.closedPath}: this Metrics instance was closed; open the region again`);
    const options = typeof this.options === 'function' ? this.options() : this.options;
    const path = resolvePath(options);
    const { native, values } = openRegion(path, options.create ?? true, {
      metricCapacity: options.capacity,
      valueCapacity: options.valueCapacity,
      laneCount: options.lanes,
      mode: options.mode,
      allowForeignOwner: options.allowForeignOwner,
    });
    this.opened = { native, values, path };
    this.autoCreate = options.autoCreate === true;
    if (options.collect) {
      const collection = new Collection(native, this.collectionListener(), { alarmFreqSeconds: options.alarmFreq });
      try {
        callNative(path, () => collection.start(options.collect === 'standby'));
      } catch (error) {
        native.close();
        this.opened = undefined;
        throw error;
      }
      this.collection = collection;
    }
    return this.opened;
  }


  /** The region file this instance is attached to. */
  get path(): string {
    return this.region().path;
  }

  /** How values are reached in this process: 'typed-array' (fast path) or 'native' (fallback). */
  get valueAccess(): 'typed-array' | 'native' {
    return this.region().values.kind;
  }

  /** Region geometry and this process's lane, for diagnostics. */
  info() {
    return this.region().native.info();
  }

  /**
   * Defines a metric from a `--metric` spec string or its object form, or returns the one already
   * defined under that name when the definitions agree. Any process may define at any time.
   */
  define(spec: string | DefineInput): Metric {
    const fn = typeof spec === 'object' && typeof spec.collector === 'function' ? spec.collector : undefined;
    const def =
      typeof spec === 'string'
        ? parseMetricSpec(spec)
        : normalizeMetricDefinition({ ...spec, collector: fn ? 'manual' : (spec.collector as MetricDefinitionInput['collector']) });
    if (fn) {
      if (def.type === 'alias') throw new MetricSpecError(formatMetricSpec(def), 'an alias cannot have a collector function', 'collector');
      def.collector = 'js';
    }
    if ((def.collector === 'func' || def.collector === 'ptr') && !addon.hasSymbol(def.arg1!))
      throw new MetricSpecError(
        formatMetricSpec(def),
        `collector=${def.collector}: symbol "${def.arg1}" is not loaded in this process (load its library first: --dlopen LIB or Metrics.dlopen(LIB))`,
        'arg1',
      );
    const { native, path } = this.region();
    let defined: { slot: number; created: boolean };
    try {
      defined = native.define({
        ...def,
        type: METRIC_TYPES.indexOf(def.type),
        collector: COLLECTORS.indexOf(def.collector),
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_SHMETRICS_UNKNOWN') {
        const detail = (error as Error).message;
        throw new MetricSpecError(formatMetricSpec(def), detail, detail.startsWith('children') ? 'children' : 'alias');
      }
      throw translateNativeError(error, path);
    }
    const { slot, created } = defined;
    const info = this.infoAt(slot);
    if (!created) assertSameDefinition(def, info);
    const handle = this.handleAt(slot);
    if (fn) this.jsCollectors.add(def.name, fn, def.freq, def.initialValue, this.region().values, info.valueIndex);
    return handle;
  }

  /**
   * Adds a threshold (uWSGI's --metric-threshold): when the metric's value is >= `value` at its collection,
   * it is set to `reset` (if given) and `alarm` (if given) fires, at most once per `rate` seconds; the
   * 'alarm' event is emitted either way. Needs this process to collect (the `collect` option).
   */
  threshold(spec: string | ThresholdDefinitionInput): void {
    const def = typeof spec === 'string' ? parseThresholdSpec(spec) : normalizeThresholdDefinition(spec);
    const { native } = this.region();
    if (!this.collection)
      throw new ThresholdSpecError(
        typeof spec === 'string' ? spec : JSON.stringify(def, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
        'thresholds are checked by the collecting process: open the region with collect: true (or "standby")',
      );
    const slot = native.lookup(def.key);
    if (slot < 0) throw new ThresholdSpecError(formatThresholdSpec(def), `unknown metric "${def.key}"`, 'key');
    this.collection.addThreshold(def, { slot, valueIndex: this.infoAt(slot).valueIndex });
  }

  /** Defines an alarm (uWSGI's --alarm "NAME PLUGIN:ARGS"): plugins `log` and `cmd`. Needs `collect`. */
  alarm(spec: string): void {
    this.region();
    if (!this.collection)
      throw new ShmetricsError(`alarm ${JSON.stringify(spec)}: alarms run in the collecting process: open the region with collect`);
    this.collection.addAlarm(spec);
  }

  private collectionListener() {
    return {
      collecting: (tookOver: boolean) => this.emit('collecting', { tookOver }),
      log: (message: string) => this.log(message),
      alarm: (event: AlarmEvent) => this.emit('alarm', event),
    };
  }

  private log(message: string): void {
    if (this.listenerCount('log') > 0) this.emit('log', message);
    else process.stderr.write(`shmetrics: ${message}\n`);
  }

  /** The counter `name`, defined as a manual counter if it does not exist yet. */
  counter(name: string): Metric {
    return this.typed(name, 'counter');
  }

  gauge(name: string): Metric {
    return this.typed(name, 'gauge');
  }

  absolute(name: string): Metric {
    return this.typed(name, 'absolute');
  }

  /**
   * The histogram `name`, defined with `buckets` (a list of bounds or a generator such as
   * "exponential:100:2:20") if it does not exist yet.
   */
  histogram(name: string, buckets?: number[] | string): Histogram {
    const existing = this.handles.get(name) ?? (this.has(name) ? this.resolve(name, undefined) : undefined);
    const handle = existing ?? this.define({ name, type: 'histogram', buckets });
    if (!(handle instanceof Histogram)) throw new MetricConflictError(`metric "${name}" is a ${handle.type}, not a histogram`);
    return handle;
  }

  /** Records an observation into the histogram `name`. */
  observe(name: string, v: number): void {
    const handle = this.handles.get(name) ?? this.resolve(name, undefined);
    if (!(handle instanceof Histogram)) throw new MetricWriteError(`observe: "${name}" is a ${handle.type}, not a histogram`);
    handle.observe(v);
  }

  /** The existing metric `name`, of any type. */
  metric(name: string): Metric {
    return this.handles.get(name) ?? this.resolve(name, undefined);
  }

  has(name: string): boolean {
    if (this.handles.has(name)) return true;
    const { native } = this.region();
    return native.lookup(name) >= 0;
  }

  get(name: string): number {
    return (this.handles.get(name) ?? this.resolve(name, undefined)).get();
  }

  getBigInt(name: string): bigint {
    return (this.handles.get(name) ?? this.resolve(name, undefined)).getBigInt();
  }

  inc(name: string, delta: MetricNumber = 1): void {
    (this.handles.get(name) ?? this.resolve(name, 'counter')).inc(delta);
  }

  dec(name: string, delta: MetricNumber = 1): void {
    (this.handles.get(name) ?? this.resolve(name, 'counter')).dec(delta);
  }

  set(name: string, x: MetricNumber): void {
    (this.handles.get(name) ?? this.resolve(name, 'gauge')).set(x);
  }

  mul(name: string, factor: MetricNumber): void {
    (this.handles.get(name) ?? this.resolve(name, 'gauge')).mul(factor);
  }

  div(name: string, divisor: MetricNumber): void {
    (this.handles.get(name) ?? this.resolve(name, 'gauge')).div(divisor);
  }

  setMax(name: string, x: MetricNumber): void {
    (this.handles.get(name) ?? this.resolve(name, 'gauge')).setMax(x);
  }

  setMin(name: string, x: MetricNumber): void {
    (this.handles.get(name) ?? this.resolve(name, 'gauge')).setMin(x);
  }

  /**
   * Sets a metric to a saved value whatever drives it (an accumulator, too): for restoring state, as
   * --metrics-dir-restore does. Everything else should use the handles, which refuse to write what a
   * collector computes.
   */
  restoreValue(name: string, value: bigint): void {
    const { values } = this.region();
    const info = this.list().find((m) => m.name === name);
    if (!info) throw new UnknownMetricError(name);
    if (info.type === 'alias') throw new MetricWriteError(`restoreValue: "${name}" is an alias`);
    values.setBigInt(info.valueIndex, BigInt.asIntN(64, value));
  }

  /** Sets a histogram's bucket counts (the +Inf one last) and sum to saved values, for restoring state. */
  restoreHistogram(name: string, counts: readonly bigint[], sum: bigint): void {
    const { values } = this.region();
    const info = this.list().find((m) => m.name === name);
    if (!info) throw new UnknownMetricError(name);
    if (info.type !== 'histogram' || counts.length !== info.buckets!.length + 1)
      throw new MetricWriteError(`restoreHistogram: "${name}" is not a histogram of ${counts.length - 1} bounds`);
    counts.forEach((count, i) => values.setBigInt(info.valueIndex + i, count));
    values.setBigInt(info.valueIndex + counts.length, counts.reduce((a, b) => a + b, 0n));
    values.setBigInt(info.valueIndex + counts.length + 1, sum);
  }

  /** Every metric's definition, in registration order. */
  list(): readonly MetricInfo[] {
    const { native } = this.region();
    for (let slot = this.catalog.length, count = native.count(); slot < count; slot++) this.catalog.push(this.infoAt(slot));
    return this.catalog;
  }

  /** Every value at once: one pass over the region, for outputs that publish everything. */
  snapshot(): MetricsSnapshot {
    const metrics = this.list();
    const { native, values } = this.region();
    if (!this.snapshotBuffer) this.snapshotBuffer = new BigInt64Array(native.info().valueCapacity);
    const n = values.snapshot(this.snapshotBuffer);
    return new MetricsSnapshot(metrics, this.snapshotBuffer.slice(0, n), Date.now());
  }

  /** Detaches: gives this process's lane back (its numbers stay in the region). */
  close(): void {
    if (!this.opened) return;
    this.jsCollectors.close();
    void this.collection?.stop();
    this.collection = undefined;
    const closed = new ClosedValues(this.opened.path);
    for (const handle of this.handles.values()) handle.detach(closed);
    this.opened.native.close();
    this.closedPath = this.opened.path;
    this.opened = undefined;
    this.handles.clear();
    this.catalog = [];
  }

  private typed(name: string, type: MetricType): Metric {
    const existing = this.handles.get(name) ?? (this.has(name) ? this.resolve(name, undefined) : undefined);
    if (!existing) return this.define({ name, type });
    if (existing.type !== type)
      throw new MetricConflictError(`metric "${name}" is a ${existing.type}, not a ${type}`);
    return existing;
  }

  /** Cache miss on a by-name call: find the metric in the region, or create it when allowed. */
  private resolve(name: string, createAs: MetricType | undefined): Metric {
    const { native } = this.region();
    const slot = native.lookup(name);
    if (slot >= 0) return this.handleAt(slot);
    if (createAs && this.autoCreate) return this.define({ name, type: createAs });
    throw new UnknownMetricError(name);
  }

  private handleAt(slot: number): Metric {
    const info = this.infoAt(slot);
    let handle = this.handles.get(info.name);
    if (!handle) {
      const { values } = this.region();
      handle =
        info.type === 'histogram'
          ? new Histogram(info.name, values, info.valueIndex, info.buckets!)
          : createMetric(info.name, info.type, info.collector, values, info.valueIndex);
      this.handles.set(info.name, handle);
    }
    return handle;
  }

  private infoAt(slot: number): MetricInfo {
    const { native, path } = this.region();
    return { slot, ...definitionFromMeta(callNative(path, () => native.meta(slot))) };
  }
}

function resolvePath(options: OpenOptions): string {
  if (options.path) return options.path;
  if (options.name) return defaultRegionPath(options.name);
  const fromEnv = process.env.SHMETRICS_REGION;
  if (fromEnv) return fromEnv;
  throw new TypeError('no region: pass { path } or { name }, or set SHMETRICS_REGION');
}

function definitionFromMeta(meta: NativeMeta): MetricDefinition & { valueIndex: number } {
  const def: MetricDefinition & { valueIndex: number } = {
    name: meta.name,
    type: METRIC_TYPES[meta.type],
    collector: COLLECTORS[meta.collector],
    freq: meta.freq,
    initialValue: meta.initialValue,
    resetAfterPush: meta.resetAfterPush,
    children: meta.children,
    valueIndex: meta.valueIndex,
  };
  if (meta.oid) def.oid = meta.oid;
  if (meta.alias !== undefined) def.alias = meta.alias;
  if (meta.arg1) def.arg1 = meta.arg1;
  if (meta.arg2) def.arg2 = meta.arg2;
  if (meta.arg3) def.arg3 = meta.arg3;
  if (meta.arg1n) def.arg1n = meta.arg1n;
  if (meta.arg2n) def.arg2n = meta.arg2n;
  if (meta.arg3n) def.arg3n = meta.arg3n;
  if (meta.buckets.length) def.buckets = meta.buckets;
  return def;
}

/** An identical redefinition is a no-op; any difference is an error naming the first differing key. */
function assertSameDefinition(requested: MetricDefinition, existing: MetricDefinition): void {
  const canonical = (d: MetricDefinition) => formatMetricSpec({ ...d, arg1n: d.arg1n || undefined, arg2n: d.arg2n || undefined, arg3n: d.arg3n || undefined });
  const want = canonical(requested);
  const have = canonical(existing);
  if (want === have) return;
  if (requested.type !== existing.type)
    throw new MetricConflictError(
      `metric "${requested.name}" is already defined as a ${existing.type}; cannot redefine it as a ${requested.type}`,
    );
  throw new MetricConflictError(
    `metric "${requested.name}" is already defined differently: existing ${JSON.stringify(have)}, requested ${JSON.stringify(want)}`,
  );
}
