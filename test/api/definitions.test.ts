import fs from 'node:fs';
import os from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Metrics,
  MetricConflictError,
  MetricSpecError,
  UnknownMetricError,
  formatMetricSpec,
} from '../../src';
import { runWorker } from '../helpers/processes';
import { tempRegionPath } from '../helpers/regions';

let m: Metrics;
beforeEach(() => {
  m = Metrics.open({ path: tempRegionPath('defs'), capacity: 64 });
});
afterEach(() => m.close());

describe('define', () => {
  it('takes the --metric string syntax and the object form, and stores every field', () => {
    m.define('a');
    m.define({ name: 'b', type: 'gauge' });
    m.define('name=s,type=gauge,oid=100.1,collector=sum,children=a;b,freq=5,reset_after_push=1,initial_value=7');
    m.define('name=f,collector=file,arg1=/proc/loadavg,arg1n=1,arg2=x\\,y,arg3=z,arg2n=-4,arg3n=9');
    const info = Object.fromEntries(m.list().map((i) => [i.name, i]));
    expect(info.a).toMatchObject({ slot: 0, type: 'counter', collector: 'manual', freq: 1, initialValue: 0n, children: [] });
    expect(info.b).toMatchObject({ slot: 1, type: 'gauge' });
    expect(info.s).toMatchObject({
      type: 'gauge', oid: '100.1', collector: 'sum', children: ['a', 'b'], freq: 5, resetAfterPush: true, initialValue: 7n,
    });
    expect(info.f).toMatchObject({ arg1: '/proc/loadavg', arg1n: 1n, arg2: 'x,y', arg3: 'z', arg2n: -4n, arg3n: 9n });
    expect(formatMetricSpec(info.f)).toBe('name=f,collector=file,arg1=/proc/loadavg,arg2=x\\,y,arg3=z,arg1n=1,arg2n=-4,arg3n=9');
  });

  it('an identical redefinition is a no-op returning the same handle and slot', () => {
    const first = m.define('name=x,type=gauge,oid=1.2.3');
    expect(m.define('name=x,type=gauge,oid=1.2.3')).toBe(first);
    expect(m.define({ name: 'x', type: 'gauge', oid: '1.2.3' })).toBe(first);
    expect(m.list()).toHaveLength(1);
  });

  it('a redefinition with another type is an error naming both types', () => {
    m.define('name=x,type=gauge');
    expect(() => m.define('x')).toThrow(MetricConflictError);
    expect(() => m.define('x')).toThrow('metric "x" is already defined as a gauge; cannot redefine it as a counter');
  });

  it('a redefinition that differs in any other key is an error showing both definitions', () => {
    m.define('name=x,oid=5.1');
    expect(() => m.define('name=x,oid=5.2')).toThrow(
      'metric "x" is already defined differently: existing "name=x,oid=5.1", requested "name=x,oid=5.2"',
    );
  });

  it('children and alias must name existing metrics (uWSGI exits on these)', () => {
    expect(() => m.define('name=s,collector=sum,children=nope')).toThrow(MetricSpecError);
    expect(() => m.define('name=s,collector=sum,children=nope')).toThrow('children: unknown metric "nope"');
    expect(() => m.define('name=al,type=alias,alias=nope')).toThrow('alias: unknown metric "nope"');
    expect(m.list()).toHaveLength(0);
  });

  it('spec errors from the parser reach the caller unchanged', () => {
    expect(() => m.define('name=x,type=GAUGE')).toThrow(/type "GAUGE"/);
    expect(() => m.define('name=x,bogus=1')).toThrow(/unknown key "bogus"/);
    expect(m.list()).toHaveLength(0);
  });
});

describe('handles by type', () => {
  it('counter/gauge/absolute define on first use and return the same handle afterwards', () => {
    const c = m.counter('c');
    expect(m.counter('c')).toBe(c);
    expect(m.gauge('g').type).toBe('gauge');
    expect(m.absolute('ab').type).toBe('absolute');
    expect(m.metric('c')).toBe(c);
  });

  it('asking for a handle of another type than the stored one is an error', () => {
    m.gauge('g');
    expect(() => m.counter('g')).toThrow('metric "g" is a gauge, not a counter');
  });

  it('a handle made in another Metrics instance sees the same value', () => {
    const other = Metrics.open({ path: m.path, create: false });
    m.counter('shared').inc(3);
    other.counter('shared').inc(4);
    expect(m.get('shared')).toBe(7);
    expect(other.get('shared')).toBe(7);
    other.close();
  });
});

describe('metrics that do not exist', () => {
  it('updating or reading one by name throws UnknownMetricError naming it', () => {
    for (const call of [() => m.inc('worker.9.requests'), () => m.set('worker.9.requests', 1), () => m.get('worker.9.requests'), () => m.metric('worker.9.requests')]) {
      expect(call).toThrow(UnknownMetricError);
      expect(call).toThrow('worker.9.requests');
    }
    expect(m.has('worker.9.requests')).toBe(false);
  });

  it('with autoCreate, inc/dec create a counter and set/setMax a gauge; get still throws', () => {
    const auto = Metrics.open({ path: m.path, create: false, autoCreate: true });
    auto.inc('hits');
    auto.dec('down');
    auto.set('temperature', 21);
    auto.setMax('peak', 9);
    expect(auto.metric('hits').type).toBe('counter');
    expect(auto.metric('down').type).toBe('counter');
    expect(auto.metric('temperature').type).toBe('gauge');
    expect(auto.get('peak')).toBe(9);
    expect(() => auto.get('never.written')).toThrow(UnknownMetricError);
    auto.close();
  });

  it('a metric defined by another process is found by name on first use', () => {
    const other = Metrics.open({ path: m.path, create: false });
    other.define('late').inc(2);
    expect(m.get('late')).toBe(2);
    other.close();
  });
});

describe('snapshot', () => {
  it('reads every value in registration order, aliases included', () => {
    m.counter('a').inc(3);
    m.gauge('b').set(-4);
    m.define('name=al,type=alias,alias=b');
    m.gauge('huge').set(2n ** 62n);
    const snap = m.snapshot();
    expect(snap.metrics.map((i) => [i.name, snap.value(i)])).toEqual([
      ['a', 3],
      ['b', -4],
      ['al', -4],
      ['huge', 2 ** 62],
    ]);
    expect(snap.valueBigInt(snap.metrics[3])).toBe(2n ** 62n);
  });

  it('is a copy: later updates do not change it', () => {
    const c = m.counter('a');
    c.inc();
    const snap = m.snapshot();
    c.inc();
    expect(snap.value(snap.metrics[0])).toBe(1);
  });
});

describe('the ready-made `metrics` instance', () => {
  it('works with no setup (auto-creating metrics), is shared with child processes, and is removed at exit', async () => {
    const out = JSON.parse(await runWorker('default-instance.js', [], { SHMETRICS_REGION: '' }));
    expect(out.region).toMatch(new RegExp(`^/dev/shm/shmetrics-${os.userInfo().username}-\\d+$`));
    expect(out.env).toBe(out.region);
    expect(out).toMatchObject({ existed: true, requests: 2, fromChild: 5, childStatus: 0 });
    expect(fs.existsSync(out.region)).toBe(false);
  });

  it('attaches to $SHMETRICS_REGION when it is set', async () => {
    m.counter('worker.1.requests').inc(10);
    m.counter('from.child');
    const out = JSON.parse(await runWorker('default-instance.js', [], { SHMETRICS_REGION: m.path }));
    expect(out.region).toBe(m.path);
    expect(m.get('worker.1.requests')).toBe(12);
    expect(m.get('from.child')).toBe(5);
  });
});
