import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics, ThresholdSpecError, type AlarmEvent } from '../../src';
import { tempDir, tempRegionPath } from '../helpers/regions';
import { captureLog, eventually, sleep } from './helpers';

const open: Metrics[] = [];
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

function collecting(): Metrics {
  const m = Metrics.open({ path: tempRegionPath('thresholds'), collect: true });
  open.push(m);
  return m;
}

describe('thresholds and alarms (the fact sheet scenario: every metric at 20)', () => {
  it('log alarm, cmd alarm with rate, reset without alarm, reset with alarm; the anti-loop drops repeats within 3 s', async () => {
    const m = collecting();
    const log = captureLog(m);
    const alarms: AlarmEvent[] = [];
    m.on('alarm', (e) => alarms.push(e));
    const out = path.join(tempDir('alarm'), 'cmd.txt');
    m.alarm('logit log:');
    m.alarm('logpfx log:PFX here');
    m.alarm(`cmdit cmd:(cat; echo '<EOF>') >> ${out}`);
    for (const name of ['t1', 't2', 't3', 't4']) m.gauge(name).set(20);
    m.threshold('key=t1,value=5,alarm=logit');
    m.threshold('key=t2,value=10,alarm=cmdit,msg=t2 is too high\\, really,rate=4');
    m.threshold('key=t3,value=3,reset=0');
    m.threshold('key=t4,value=3,reset=1,alarm=logpfx');
    await sleep(4600);
    expect(m.get('t3')).toBe(0);
    expect(m.get('t4')).toBe(1);
    // t1 fires every tick, but identical messages within --alarm-freq (3 s) are dropped: 2 in 4.6 s.
    expect(log.filter((l) => l === 'ALARM: t1')).toHaveLength(2);
    expect(log.filter((l) => l === 'ALARM: PFX here t4')).toHaveLength(1);
    // rate=4: at 0 s and 4 s; the command gets the message on stdin with no newline added.
    await eventually(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8'), (text) => text === 't2 is too high, really<EOF>\n'.repeat(2), 2000);
    expect(alarms.filter((a) => a.metric === 't1').length).toBeGreaterThanOrEqual(4); // the API event is not anti-looped
    expect(alarms.find((a) => a.metric === 't3')).toEqual({ metric: 't3', value: 20n, threshold: 3n, msg: 't3' });
    expect(alarms.find((a) => a.metric === 't2')).toMatchObject({ alarm: 'cmdit', msg: 't2 is too high, really' });
  });

  it('fires for >= the value and not below', async () => {
    const m = collecting();
    const alarms: AlarmEvent[] = [];
    m.on('alarm', (e) => alarms.push(e));
    const g = m.gauge('g');
    g.set(9);
    m.threshold({ key: 'g', value: 10 });
    await sleep(1300);
    expect(alarms).toEqual([]);
    g.set(10);
    await eventually(() => alarms.length, (n) => n > 0, 2000);
    expect(alarms[0]).toMatchObject({ metric: 'g', value: 10n, threshold: 10n });
  });

  it('refuses a threshold on an unknown metric or naming an unknown alarm (uWSGI ignores the alarm silently)', () => {
    const m = collecting();
    m.gauge('g');
    expect(() => m.threshold('key=nope,value=1')).toThrow(ThresholdSpecError);
    expect(() => m.threshold('key=nope,value=1')).toThrow('unknown metric "nope"');
    expect(() => m.threshold('key=g,value=1,alarm=nonexistent_alarm')).toThrow(/alarm "nonexistent_alarm" is not defined/);
    expect(() => m.threshold('key=g')).toThrow(ThresholdSpecError);
  });

  it('needs the collecting process', () => {
    const m = Metrics.open({ path: tempRegionPath('nocollect') });
    open.push(m);
    m.gauge('g');
    expect(() => m.threshold('key=g,value=1')).toThrow(/open the region with collect/);
    expect(() => m.alarm('a log:')).toThrow(/open the region with collect/);
  });
});
