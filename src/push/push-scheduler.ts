/**
 * Runs the stats pushers of one process: uWSGI's stats pusher thread, without a thread. A timer (unref'd:
 * it never keeps the process alive) wakes when the next pusher is due; each cycle reads every value once
 * (one `metrics.snapshot()`), hands that same snapshot, filtered per pusher, to every pusher due in the
 * cycle, and then resets the reset_after_push metrics they pushed — once, after all of them read the value.
 * (uWSGI lets each pusher reset such a metric, so only the first pusher on the command line sees it.)
 *
 * The synchronous part of a cycle is the snapshot, one small object per metric and the filters; pushers
 * format and send afterwards, in slices of at most a millisecond per turn of the event loop. Nothing a
 * pusher does is thrown into the application: failures are logged once per change of state.
 */

import { PushSpecError, ShmetricsError } from '../errors';
import { deriveSeries } from '../histogram/derived-series';
import type { HistogramSnapshot } from '../histogram/histogram-snapshot';
import type { Metric } from '../metric';
import type { MetricInfo, Metrics, MetricsSnapshot } from '../metrics';
import type { PushSample, Pusher, PusherContext, PusherFactory } from './pusher';
import { formatPushSpec, normalizePushSpec, parsePushSpec, passesFilters, type PushSpecInput } from './push-spec';
import { PUSHERS } from './pushers';

/**
 * The samples a PushScheduler hands out: a PushSample plus what a pusher needs to send counters as deltas.
 * Pushers that read these fields must accept plain PushSamples too (then: 0n and false).
 */
export interface ScheduledSample extends PushSample {
  readonly initialValue: bigint;
  readonly resetAfterPush: boolean;
}

export interface PushSchedulerOptions {
  /** uWSGI's --stats-pusher-default-freq: seconds between pushes of a pusher without its own freq. Default 3. */
  defaultFreqSeconds?: number;
  /** Receives one line per message (no newline). Default: stderr, prefixed with "shmetrics: ". */
  log?: (message: string) => void;
}

/** uWSGI's default for --stats-pusher-default-freq. */
export const DEFAULT_PUSH_FREQ_SECONDS = 3;
/**
 * How long close() waits for one pusher's close(). Pushers bound their own close (2 s for UDP, 5 s for a
 * file); this only guards against one that never settles.
 */
export const PUSHER_CLOSE_GUARD_MS = 10_000;
/** A timer may fire a fraction of a millisecond before the due time it was set for. */
const DUE_TOLERANCE_MS = 1;

interface Instance {
  readonly name: string;
  readonly pusher: Pusher;
  readonly freqMs: number;
  readonly allow: readonly string[];
  readonly forbid: readonly string[];
  /** By catalog index: whether the metric passes allow/forbid. Grows with the catalog. */
  readonly passes: boolean[];
  readonly dropped: Metric;
  nextAt: number;
  /** push() threw last time (logged once until it works again). */
  failing: boolean;
}

export class PushScheduler {
  private readonly instances: Instance[] = [];
  private readonly defaultFreqSeconds: number;
  private readonly log: (message: string) => void;
  private started = false;
  private closing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** Catalog indexes of reset_after_push metrics, and how much of the catalog was scanned for them. */
  private readonly resetIndexes: number[] = [];
  private scannedForResets = 0;
  private readonly notResettable = new Set<string>();
  private snapshotFailing = false;
  /** The previous cycle's samples and raw values: an unchanged value reuses its (immutable) sample. */
  private previousSamples: ScheduledSample[] = [];
  /** This cycle's histograms: the derived series each pusher gets in place of the histogram's sample. */
  private readonly derived = new Map<ScheduledSample, ScheduledSample[]>();
  private hasHistograms = false;
  private previousRaw: Int32Array<ArrayBufferLike> = new Int32Array(0);

  constructor(
    private readonly metrics: Metrics,
    options: PushSchedulerOptions = {},
  ) {
    const { defaultFreqSeconds = DEFAULT_PUSH_FREQ_SECONDS, log } = options;
    if (typeof defaultFreqSeconds !== 'number' || !(defaultFreqSeconds > 0) || !Number.isFinite(defaultFreqSeconds))
      throw new RangeError(`defaultFreqSeconds must be a number of seconds > 0, not ${String(defaultFreqSeconds)}`);
    if (log !== undefined && typeof log !== 'function') throw new TypeError('log must be a function');
    this.defaultFreqSeconds = defaultFreqSeconds;
    const write = log ?? ((message: string) => process.stderr.write(`shmetrics: ${message}\n`));
    this.log = (message) => {
      try {
        write(message);
      } catch {
        // A log function that throws must not take the pushers down with it.
      }
    };
  }

  /**
   * Adds a pusher from a `--stats-push NAME:ARGS` spec or its object form, and defines its
   * `shmetrics.push.<instance>.dropped` counter. Returns the instance name: the pusher's name, then
   * `<name>.2`, `<name>.3`... for more of the same kind. Bad specs throw PushSpecError; nothing is opened or
   * sent before the first push.
   */
  add(spec: string | PushSpecInput): string {
    if (this.closing) throw new ShmetricsError('this PushScheduler is closed');
    const def = typeof spec === 'string' ? parsePushSpec(spec) : normalizePushSpec(spec);
    const text = typeof spec === 'string' ? spec : formatPushSpec(spec);
    const factory: PusherFactory = typeof def.pusher === 'function' ? def.pusher : PUSHERS[def.pusher];
    const base = 'name' in def ? def.name : (def.pusher as string);
    const name = this.instanceName(base);
    let instance: Instance | undefined;
    const context: PusherContext = {
      instance: name,
      log: (message) => this.log(`stats pusher ${name}: ${message}`),
      dropped: (count) => countDropped(instance, count),
    };
    let pusher: Pusher;
    try {
      pusher = factory(def.args, context);
    } catch (error) {
      if (error instanceof PushSpecError) throw new PushSpecError(text, error.detail);
      throw error;
    }
    instance = {
      name,
      pusher,
      freqMs: (def.freq ?? this.defaultFreqSeconds) * 1000,
      allow: def.allow,
      forbid: def.forbid,
      passes: [],
      dropped: this.metrics.counter(`shmetrics.push.${name}.dropped`),
      nextAt: performance.now(),
      failing: false,
    };
    this.instances.push(instance);
    // Reading the definitions of metrics this process has not listed yet costs ~4 µs each (40 ms for
    // 10,000): done here, at configuration time, rather than in the first cycle.
    this.metrics.list();
    this.schedule();
    return name;
  }

  /** Instance names, in the order they were added. */
  names(): string[] {
    return this.instances.map((instance) => instance.name);
  }

  /** The pusher of an instance, for diagnostics. */
  pusher(name: string): Pusher | undefined {
    return this.instances.find((instance) => instance.name === name)?.pusher;
  }

  /** Pushes now (every pusher, as uWSGI does at start-up), then each pusher every `freq` seconds. */
  start(): void {
    if (this.closing) throw new ShmetricsError('this PushScheduler is closed');
    if (this.started) return;
    this.started = true;
    const now = performance.now();
    for (const instance of this.instances) instance.nextAt = now;
    this.tick();
  }

  /** One cycle with every pusher, whether due or not; each pusher's next push is then `freq` from now. */
  pushNow(): void {
    if (this.closing) return;
    this.cycle(this.instances);
    const now = performance.now();
    for (const instance of this.instances) instance.nextAt = now + instance.freqMs;
    this.schedule();
  }

  /** Stops the timer, pushes one last time with every pusher, and closes them (each bounded in time). */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.cycle(this.instances);
    await Promise.all(this.instances.map((instance) => this.closeInstance(instance)));
  }

  private closeInstance(instance: Instance): Promise<void> {
    return new Promise((resolve) => {
      const guard = setTimeout(() => {
        this.log(`stats pusher ${instance.name}: close() did not finish within ${PUSHER_CLOSE_GUARD_MS / 1000} s; no longer waiting for it`);
        resolve();
      }, PUSHER_CLOSE_GUARD_MS);
      let closed: Promise<void>;
      try {
        closed = Promise.resolve(instance.pusher.close());
      } catch (error) {
        closed = Promise.reject(error);
      }
      closed
        .catch((error: unknown) => this.log(`stats pusher ${instance.name}: close() failed: ${messageOf(error)}`))
        .finally(() => {
          clearTimeout(guard);
          resolve();
        });
    });
  }

  private instanceName(base: string): string {
    const taken = new Set(this.instances.map((instance) => instance.name));
    if (!taken.has(base)) return base;
    let n = 2;
    while (taken.has(`${base}.${n}`)) n++;
    return `${base}.${n}`;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.started || this.closing || this.instances.length === 0) return;
    let next = Infinity;
    for (const instance of this.instances) next = Math.min(next, instance.nextAt);
    this.timer = setTimeout(this.tick, Math.max(0, next - performance.now()));
    this.timer.unref();
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const due: Instance[] = [];
    for (const instance of this.instances) {
      if (instance.nextAt > now + DUE_TOLERANCE_MS) continue;
      due.push(instance);
      // Keep the phase; after a stall, skip the missed pushes instead of catching up in a burst.
      instance.nextAt += instance.freqMs;
      if (instance.nextAt <= now) instance.nextAt = now + instance.freqMs;
    }
    this.cycle(due);
    this.schedule();
  };

  /** One snapshot, handed to every pusher in `due`, then the resets. Never throws. */
  private cycle(due: readonly Instance[]): void {
    if (due.length === 0) return;
    let snapshot: MetricsSnapshot;
    try {
      snapshot = this.metrics.snapshot();
    } catch (error) {
      if (!this.snapshotFailing) this.log(`stats pushers: cannot read the metrics (${messageOf(error)}); nothing is pushed until they can be read`);
      this.snapshotFailing = true;
      return;
    }
    if (this.snapshotFailing) this.log('stats pushers: the metrics can be read again');
    this.snapshotFailing = false;
    const all = this.samplesOf(snapshot);
    for (const instance of due) {
      const chosen = instance.allow.length === 0 && instance.forbid.length === 0 ? all : this.filter(instance, snapshot.metrics, all);
      const samples = this.hasHistograms ? chosen.flatMap((sample) => this.derived.get(sample) ?? [sample]) : chosen;
      try {
        instance.pusher.push({ takenAtMs: snapshot.takenAtMs, samples });
        if (instance.failing) this.log(`stats pusher ${instance.name}: push() works again`);
        instance.failing = false;
      } catch (error) {
        if (!instance.failing) this.log(`stats pusher ${instance.name}: push() threw (${messageOf(error)}); it stays scheduled`);
        instance.failing = true;
      }
    }
    this.resetPushed(snapshot, due);
  }

  /**
   * The whole catalog as samples, by catalog index. Pushers format them after the cycle, so a sample is
   * never changed once handed out; one whose value did not change since the previous cycle is handed out
   * again instead of a new one, which spares the garbage collector most of the work at 10,000 metrics.
   */
  private samplesOf(snapshot: MetricsSnapshot): ScheduledSample[] {
    const { metrics, values } = snapshot;
    // Compared as 32-bit halves: reading a BigInt64Array element allocates a BigInt.
    const raw = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    const previous = this.previousSamples;
    const previousRaw = this.previousRaw;
    const samples = new Array<ScheduledSample>(metrics.length);
    this.derived.clear();
    for (let i = 0; i < metrics.length; i++) {
      const info = metrics[i];
      const at = info.valueIndex * 2;
      const old = previous[i];
      if (old !== undefined && info.type !== 'histogram' && raw[at] === previousRaw[at] && raw[at + 1] === previousRaw[at + 1]) {
        samples[i] = old;
        continue;
      }
      samples[i] = {
        name: info.name,
        type: info.type,
        oid: info.oid,
        value: snapshot.valueBigInt(info),
        initialValue: info.initialValue,
        resetAfterPush: info.resetAfterPush,
      };
      if (info.type === 'histogram') this.derived.set(samples[i], derivedSamples(info.name, snapshot.histogram(info)));
    }
    this.hasHistograms = this.derived.size > 0;
    this.previousSamples = samples;
    this.previousRaw = raw;
    return samples;
  }

  private filter(instance: Instance, metrics: readonly MetricInfo[], all: readonly ScheduledSample[]): ScheduledSample[] {
    const { passes } = instance;
    for (let i = passes.length; i < metrics.length; i++) passes.push(passesFilters(metrics[i].name, instance.allow, instance.forbid));
    const samples: ScheduledSample[] = [];
    for (let i = 0; i < all.length; i++) if (passes[i]) samples.push(all[i]);
    return samples;
  }

  /**
   * Brings every reset_after_push metric that at least one pusher of this cycle was given back to its
   * initial_value, by subtracting what was pushed (value - initial_value) rather than storing
   * initial_value: an increment that landed after the snapshot stays for the next push.
   */
  private resetPushed(snapshot: MetricsSnapshot, due: readonly Instance[]): void {
    const { metrics } = snapshot;
    for (; this.scannedForResets < metrics.length; this.scannedForResets++)
      if (metrics[this.scannedForResets].resetAfterPush) this.resetIndexes.push(this.scannedForResets);
    for (const index of this.resetIndexes) {
      if (index >= metrics.length) break;
      const info = metrics[index];
      if (!due.some((instance) => instance.allow.length + instance.forbid.length === 0 || instance.passes[index])) continue;
      const delta = BigInt.asIntN(64, snapshot.valueBigInt(info) - info.initialValue);
      if (delta === 0n) continue;
      if (info.type === 'alias' || info.collector !== 'manual') {
        if (!this.notResettable.has(info.name)) {
          this.notResettable.add(info.name);
          this.log(
            `stats pushers: "${info.name}" has reset_after_push but ${info.type === 'alias' ? 'is an alias' : `is computed by its ${info.collector} collector`}; it is pushed, never reset`,
          );
        }
        continue;
      }
      try {
        this.metrics.metric(info.name).dec(delta);
      } catch (error) {
        if (!this.notResettable.has(info.name)) {
          this.notResettable.add(info.name);
          this.log(`stats pushers: cannot reset "${info.name}" after the push (${messageOf(error)})`);
        }
      }
    }
  }
}

function countDropped(instance: Instance | undefined, count: number): void {
  if (!instance || !(count > 0)) return;
  try {
    instance.dropped.inc(count);
  } catch {
    // The region is closed (the application closed it before the pushers): nothing left to count into.
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A histogram as the scalar series every pusher can send (README "Histograms"); `.count` carries the buckets. */
function derivedSamples(name: string, histogram: HistogramSnapshot): ScheduledSample[] {
  return deriveSeries(histogram).map((series) => ({
    name: `${name}.${series.suffix}`,
    type: series.type,
    value: series.value,
    initialValue: 0n,
    resetAfterPush: false,
    derivedFrom: name,
    histogram: series.suffix === 'count' ? histogram : undefined,
  }));
}
