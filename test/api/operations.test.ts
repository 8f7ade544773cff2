import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics, MetricWriteError, ShmetricsError } from '../../src';
import { tempRegionPath } from '../helpers/regions';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

// Every behaviour holds on both value paths: the typed-array fast path and the native-call fallback that
// runtimes refusing external ArrayBuffers get (forced here with SHMETRICS_FORCE_NATIVE_VALUES).
describe.each(['typed-array', 'native'] as const)('on the %s value path', (access) => {
  let m: Metrics;
  beforeEach(() => {
    if (access === 'native') process.env.SHMETRICS_FORCE_NATIVE_VALUES = '1';
    m = Metrics.open({ path: tempRegionPath('ops'), capacity: 256 });
    delete process.env.SHMETRICS_FORCE_NATIVE_VALUES;
    expect(m.valueAccess).toBe(access);
  });
  afterEach(() => m.close());

  describe('arithmetic', () => {
    it('inc adds 1 by default and any delta otherwise', () => {
      const c = m.counter('c');
      c.inc();
      c.inc(41);
      c.inc(-2);
      expect(c.get()).toBe(40);
    });

    it('dec subtracts 1 by default and any delta otherwise', () => {
      const c = m.counter('c');
      c.dec();
      c.dec(9);
      c.dec(-3);
      expect(c.get()).toBe(-7);
    });

    it('accepts deltas beyond 32 bits as Numbers and BigInts', () => {
      const c = m.counter('big');
      c.inc(2 ** 40);
      c.inc(2n ** 50n);
      c.dec(2 ** 33);
      c.dec(-(2 ** 33));
      expect(c.getBigInt()).toBe(2n ** 40n + 2n ** 50n);
    });

    it('the int32 edges take the right path', () => {
      const c = m.counter('edges');
      c.inc(2147483647);
      c.inc(-2147483648);
      c.dec(-2147483648);
      expect(c.get()).toBe(2147483647);
    });

    it('wraps at 64 bits in both directions, as uWSGI does', () => {
      const c = m.counter('wrap');
      c.set(INT64_MAX);
      c.inc();
      expect(c.getBigInt()).toBe(INT64_MIN);
      c.dec();
      expect(c.getBigInt()).toBe(INT64_MAX);
      c.set(0);
      c.dec(INT64_MIN);
      expect(c.getBigInt()).toBe(INT64_MIN);
      const g = m.gauge('wrapmul');
      g.set(2n ** 62n);
      g.mul(4);
      expect(g.getBigInt()).toBe(0n);
    });

    it('get returns a Number, exact to 2^53; getBigInt is exact everywhere', () => {
      const g = m.gauge('g');
      g.set(2n ** 60n + 1n);
      expect(g.getBigInt()).toBe(2n ** 60n + 1n);
      expect(g.get()).toBe(2 ** 60);
      g.set(Number.MAX_SAFE_INTEGER);
      expect(g.get()).toBe(Number.MAX_SAFE_INTEGER);
      g.set(-Number.MAX_SAFE_INTEGER);
      expect(g.get()).toBe(-Number.MAX_SAFE_INTEGER);
    });

    it('set replaces the value even after increments went into lanes', () => {
      const c = m.counter('c');
      c.inc(5);
      c.set(100);
      expect(c.get()).toBe(100);
      c.inc();
      expect(c.get()).toBe(101);
      c.set(-3);
      expect(c.getBigInt()).toBe(-3n);
    });

    it('a gauge that is set and incremented keeps both right', () => {
      const g = m.gauge('inflight');
      g.set(10);
      g.inc();
      g.inc();
      g.dec(5);
      expect(g.get()).toBe(7);
      g.set(1);
      g.inc();
      expect(g.get()).toBe(2);
    });

    it('mul multiplies, including a value that lives partly in lanes', () => {
      const c = m.counter('c');
      c.inc(7);
      c.mul(-3);
      expect(c.get()).toBe(-21);
      c.inc(1);
      expect(c.get()).toBe(-20);
    });

    it('div truncates toward zero (15 / -4 = -3, -7 / 2 = -3)', () => {
      const g = m.gauge('g');
      g.set(15);
      g.div(-4);
      expect(g.get()).toBe(-3);
      g.set(-7);
      g.div(2);
      expect(g.get()).toBe(-3);
    });

    it('div by zero throws and leaves the value alone', () => {
      const g = m.gauge('g');
      g.set(9);
      expect(() => g.div(0)).toThrow(/division by zero/);
      expect(() => m.div('g', 0n)).toThrow(RangeError);
      expect(g.get()).toBe(9);
    });

    it('INT64_MIN / -1 throws instead of trapping (uWSGI deadlocks here) and leaves the value alone', () => {
      const g = m.gauge('g');
      g.set(INT64_MIN);
      expect(() => g.div(-1)).toThrow(/does not fit in 64 bits/);
      expect(g.getBigInt()).toBe(INT64_MIN);
      g.div(1);
      expect(g.getBigInt()).toBe(INT64_MIN);
    });

    it('setMax only ever raises the value', () => {
      const g = m.gauge('g');
      g.setMax(5);
      g.setMax(3);
      expect(g.get()).toBe(5);
      g.setMax(2n ** 40n);
      expect(g.getBigInt()).toBe(2n ** 40n);
    });

    it('setMin lowers the value whenever x is smaller, unlike uWSGI (which never goes to or below initial_value)', () => {
      const g = m.gauge('g'); // uWSGI: set_min(-5) on a fresh 0 metric does nothing
      g.setMin(-5);
      expect(g.get()).toBe(-5);
      g.setMin(0);
      expect(g.get()).toBe(-5);
      const withInitial = m.define('name=iv,type=gauge,initial_value=100');
      withInitial.set(500);
      withInitial.setMin(50); // uWSGI ignores this: 50 is below initial_value
      expect(withInitial.get()).toBe(50);
    });

    it('setMax and setMin see increments that live in lanes', () => {
      const c = m.counter('c');
      c.inc(10);
      c.setMax(8);
      expect(c.get()).toBe(10);
      c.setMin(4);
      expect(c.get()).toBe(4);
      c.setMax(12);
      expect(c.get()).toBe(12);
    });

    it('initial_value is the starting value', () => {
      expect(m.define('name=start,initial_value=-42').get()).toBe(-42);
      expect(m.define('name=huge,type=gauge,initial_value=9223372036854775807').getBigInt()).toBe(INT64_MAX);
    });
  });

  describe('argument checking', () => {
    it.each([
      ['a fraction', 1.5, RangeError, /inc\("c", 1.5\): values are 64-bit integers/],
      ['NaN', NaN, RangeError, /inc\("c", NaN\)/],
      ['beyond 2^53', 2 ** 60, RangeError, /pass a safe integer Number or a BigInt/],
      ['a string', '3', TypeError, /expected a number or a bigint, got string/],
      ['a BigInt beyond int64', 2n ** 63n, RangeError, /outside the 64-bit signed range/],
    ])('inc refuses %s and names the metric and the value', (_label, delta, kind, message) => {
      const c = m.counter('c');
      expect(() => c.inc(delta as never)).toThrow(kind);
      expect(() => c.inc(delta as never)).toThrow(message);
      expect(c.get()).toBe(0);
    });

    it('set refuses what is not a 64-bit integer', () => {
      const g = m.gauge('g');
      expect(() => g.set(0.5)).toThrow(/set\("g", 0.5\)/);
      expect(() => g.set(INT64_MIN - 1n)).toThrow(RangeError);
      expect(() => g.set(undefined as never)).toThrow(TypeError);
      expect(g.get()).toBe(0);
    });
  });

  describe('read-only metrics', () => {
    it('an alias reads its target and refuses every write (as uWSGI)', () => {
      const g = m.gauge('rss');
      const alias = m.define('name=rss_size,type=alias,alias=rss');
      g.set(1234);
      expect(alias.get()).toBe(1234);
      expect(m.get('rss_size')).toBe(1234);
      for (const write of [() => alias.inc(), () => alias.dec(), () => alias.set(1), () => alias.mul(2), () => alias.div(2), () => alias.setMax(9), () => alias.setMin(0), () => m.inc('rss_size')])
        expect(write).toThrow(MetricWriteError);
      expect(() => alias.inc()).toThrow('inc: "rss_size" is an alias; write to the metric it points to');
      expect(g.get()).toBe(1234);
    });

    it('a collector-driven metric refuses writes through the API (as uWSGI)', () => {
      m.define('a');
      m.define('b');
      const sum = m.define('name=total,collector=sum,children=a;b');
      expect(() => sum.inc()).toThrow('inc: "total" is computed by its sum collector');
      expect(() => m.set('total', 1)).toThrow(MetricWriteError);
    });
  });

  describe('after close', () => {
    it('handles refuse to write instead of writing into a lane they no longer own', () => {
      const c = m.counter('c');
      const g = m.gauge('g');
      c.inc();
      m.close();
      expect(() => c.inc()).toThrow(/was closed/);
      expect(() => g.set(1)).toThrow(ShmetricsError);
      expect(() => m.inc('c')).toThrow(/was closed/);
    });
  });
});
