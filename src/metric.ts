import { MetricWriteError } from './errors';
import { UpdateOp, UpdateResult } from './native';
import type { ValueStore } from './region/value-store';
import type { CollectorName, MetricType } from './spec/metric-spec';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NO_LANE = new BigInt64Array(0);

/** A number argument of the API: a safe-integer Number or a BigInt within int64. */
export type MetricNumber = number | bigint;

/**
 * A handle on one metric: the fastest way to update it. Get one with `metrics.counter(name)`,
 * `metrics.gauge(name)`, `metrics.define(spec)` or `metrics.metric(name)` and keep it.
 *
 * Every operation is atomic with respect to every other process attached to the region. Arithmetic
 * wraps at 64 bits (two's complement), as in uWSGI.
 */
export class Metric {
  /** Why writes are refused (alias, collector-driven), or undefined when the metric is writable. */
  private readonly readOnly: string | undefined;
  /**
   * Where this thread's lane part of the value lives. A handle is "armed" once the value is flagged as
   * laned; from then on an int32 increment is one add into `lane[laneIndex]`.
   */
  protected lane: BigInt64Array = NO_LANE;
  protected laneIndex = -1;
  private armed = false;
  /** armLane found no lane (native value access, or every lane taken): never ask again. */
  private laneless = false;

  /** @internal use Metrics.counter/gauge/define/metric */
  constructor(
    readonly name: string,
    readonly type: MetricType,
    readonly collector: CollectorName,
    protected values: ValueStore,
    protected readonly value: number,
  ) {
    if (type === 'alias') this.readOnly = `"${name}" is an alias; write to the metric it points to`;
    else if (type === 'histogram') this.readOnly = `"${name}" is a histogram; record with observe()`;
    else if (collector !== 'manual') this.readOnly = `"${name}" is computed by its ${collector} collector`;
  }

  /** Adds `delta` (default 1). */
  inc(delta: MetricNumber = 1): void {
    if (this.armed && typeof delta === 'number' && (delta | 0) === delta) {
      this.lane[this.laneIndex] += BigInt(delta | 0);
      return;
    }
    this.add(delta, 'inc');
  }

  /** Subtracts `delta` (default 1). */
  dec(delta: MetricNumber = 1): void {
    if (this.armed && typeof delta === 'number' && (delta | 0) === delta) {
      this.lane[this.laneIndex] -= BigInt(delta | 0);
      return;
    }
    this.add(negate(delta, this.name), 'dec');
  }

  set(x: MetricNumber): void {
    if (this.readOnly !== undefined) this.refuse('set');
    if (typeof x === 'number' && Number.isSafeInteger(x)) this.values.setSafe(this.value, x);
    else this.values.setBigInt(this.value, toInt64(x, 'set', this.name));
  }

  /** The value as a Number: exact up to 2^53 (Number.MAX_SAFE_INTEGER); use getBigInt beyond. */
  get(): number {
    return this.values.get(this.value);
  }

  getBigInt(): bigint {
    return this.values.getBigInt(this.value);
  }

  mul(factor: MetricNumber): void {
    this.update(UpdateOp.Mul, factor, 'mul');
  }

  /** Integer division truncating toward zero. Division by zero and INT64_MIN / -1 throw. */
  div(divisor: MetricNumber): void {
    if (divisor === 0 || divisor === 0n) throw new RangeError(`div("${this.name}", 0): division by zero`);
    this.update(UpdateOp.Div, divisor, 'div');
  }

  /** Sets the value to `x` when `x` is greater than the current value. */
  setMax(x: MetricNumber): void {
    this.update(UpdateOp.Max, x, 'setMax');
  }

  /** Sets the value to `x` when `x` is smaller than the current value (uWSGI's set_min is broken; see README). */
  setMin(x: MetricNumber): void {
    this.update(UpdateOp.Min, x, 'setMin');
  }

  /**
   * @internal Called by Metrics.close(): from now on every call throws, instead of writing into a lane
   * this thread no longer owns (another process may have claimed it).
   */
  detach(closed: ValueStore): void {
    if (Object.getPrototypeOf(this) === ArmedMetric.prototype) Object.setPrototypeOf(this, Metric.prototype); // loses its unchecked fast path
    this.values = closed;
    this.armed = false;
    this.lane = NO_LANE;
    this.laneIndex = -1;
  }

  /** The lane is flagged for this value; int32 increments may go straight into it. */
  protected arm(): void {
    const slot = this.readOnly === undefined ? this.values.armLane(this.value) : undefined;
    if (!slot) {
      this.laneless = true;
      return;
    }
    this.lane = slot.array;
    this.laneIndex = slot.index;
    this.armed = true;
  }

  /** Every increment the fast path does not take: the first one, non-int32 deltas, BigInts, errors. */
  protected add(delta: MetricNumber, what: string): void {
    if (this.readOnly !== undefined) this.refuse(what);
    if (typeof delta === 'number' && (delta | 0) === delta) {
      this.values.add32(this.value, delta);
      if (!this.armed && !this.laneless) this.arm();
    } else if (typeof delta === 'bigint') {
      this.values.addBigInt(this.value, BigInt.asIntN(64, toInt64(delta, what, this.name)));
    } else {
      this.values.addSafe(this.value, checkNumber(delta, what, this.name));
    }
  }

  private update(op: UpdateOp, x: MetricNumber, what: string): void {
    if (this.readOnly !== undefined) this.refuse(what);
    const result = this.values.update(this.value, op, toInt64(x, what, this.name));
    if (result === UpdateResult.Overflow)
      throw new RangeError(`div("${this.name}"): -9223372036854775808 / -1 does not fit in 64 bits; value unchanged`);
    if (result === UpdateResult.DivideByZero) throw new RangeError(`div("${this.name}", 0): division by zero`);
  }

  private refuse(what: string): never {
    throw new MetricWriteError(`${what}: ${this.readOnly}`);
  }
}

/**
 * A writable counter or absolute in a thread that has a lane. Such a value is made to be incremented,
 * so the handle arms itself when it is created and its increments skip even the "armed yet?" check
 * (a third of the cost of an increment; see README "Performance"). Gauges stay lazily armed so that a
 * gauge that is only ever set keeps its one-store set.
 */
class ArmedMetric extends Metric {
  override inc(delta: MetricNumber = 1): void {
    if (typeof delta === 'number' && (delta | 0) === delta) {
      this.lane[this.laneIndex] += BigInt(delta | 0);
      return;
    }
    this.add(delta, 'inc');
  }

  override dec(delta: MetricNumber = 1): void {
    if (typeof delta === 'number' && (delta | 0) === delta) {
      this.lane[this.laneIndex] -= BigInt(delta | 0);
      return;
    }
    this.add(negate(delta, this.name), 'dec');
  }
}

/** Makes the right kind of handle for a metric. */
export function createMetric(
  name: string,
  type: MetricType,
  collector: CollectorName,
  values: ValueStore,
  value: number,
): Metric {
  const incremented = (type === 'counter' || type === 'absolute') && collector === 'manual';
  if (incremented && values.kind === 'typed-array') {
    const armed = new ArmedMetric(name, type, collector, values, value);
    armed['arm']();
    if (armed['laneIndex'] >= 0) return armed;
  }
  return new Metric(name, type, collector, values, value);
}

/** -delta, wrapping at 64 bits like every other operation (dec(INT64_MIN) adds INT64_MIN). */
function negate(delta: MetricNumber, name: string): MetricNumber {
  return typeof delta === 'bigint' ? BigInt.asIntN(64, -toInt64(delta, 'dec', name)) : -checkNumber(delta, 'dec', name);
}

export function checkNumber(x: unknown, what: string, name: string): number {
  if (typeof x === 'number' && Number.isSafeInteger(x)) return x;
  if (typeof x === 'number')
    throw new RangeError(`${what}("${name}", ${x}): values are 64-bit integers; pass a safe integer Number or a BigInt`);
  throw new TypeError(`${what}("${name}", ${String(x)}): expected a number or a bigint, got ${typeof x}`);
}

function toInt64(x: MetricNumber, what: string, name: string): bigint {
  if (typeof x === 'bigint') {
    if (x < INT64_MIN || x > INT64_MAX) throw new RangeError(`${what}("${name}", ${x}n): outside the 64-bit signed range`);
    return x;
  }
  return BigInt(checkNumber(x, what, name));
}
